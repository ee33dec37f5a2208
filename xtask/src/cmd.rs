//! Running commands, with what ran said on stderr.

use std::process::{Command, Stdio};

fn describe(cmd: &Command) -> String {
    let mut line = cmd.get_program().to_string_lossy().into_owned();
    for arg in cmd.get_args() {
        line.push(' ');
        line.push_str(&arg.to_string_lossy());
    }
    line
}

/// Runs `cmd` with inherited output; whether it succeeded.
pub fn status(cmd: &mut Command) -> Result<bool, String> {
    eprintln!("xtask: $ {}", describe(cmd));
    cmd.status()
        .map(|s| s.success())
        .map_err(|e| format!("could not run `{}`: {e}", describe(cmd)))
}

/// Runs `cmd` and fails unless it succeeds.
pub fn run(cmd: &mut Command) -> Result<(), String> {
    if status(cmd)? {
        Ok(())
    } else {
        Err(format!("`{}` failed", describe(cmd)))
    }
}

/// The trimmed stdout of `cmd`, or `None` if it cannot run or fails.
pub fn output(cmd: &mut Command) -> Option<String> {
    let out = cmd.stderr(Stdio::null()).output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// Runs `cmd` like [`run`], but stops it and everything it started if it has not finished
/// within `limit`. For `node --test`, which waits for each test file's process to exit: a
/// file that leaves a handle open (an un-`unref`ed port) would otherwise hold the run up
/// for ever.
pub fn run_within(cmd: &mut Command, limit: std::time::Duration) -> Result<(), String> {
    let line = describe(cmd);
    eprintln!("xtask: $ {line} (within {} s)", limit.as_secs());
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("could not run `{line}`: {e}"))?;
    let deadline = std::time::Instant::now() + limit;
    loop {
        match child.try_wait() {
            Ok(Some(status)) if status.success() => return Ok(()),
            Ok(Some(_)) => return Err(format!("`{line}` failed")),
            Ok(None) if std::time::Instant::now() < deadline => {
                std::thread::sleep(std::time::Duration::from_millis(200));
            }
            Ok(None) => {
                // The files' processes and the browsers they launched go too.
                for pid in crate::procfs::descendants(child.id()) {
                    let _ = Command::new("kill")
                        .args(["-KILL", &pid.to_string()])
                        .status();
                }
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "`{line}` did not finish within {} s and was stopped",
                    limit.as_secs()
                ));
            }
            Err(e) => return Err(format!("waiting for `{line}`: {e}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    #[test]
    fn a_command_past_its_limit_is_stopped_with_what_it_started() {
        let pid_file =
            std::env::temp_dir().join(format!("xtask-run-within-{}", std::process::id()));
        let started = Instant::now();
        // The shell starts a sleeper and waits for it, as `node --test` waits for a file.
        let result = run_within(
            Command::new("sh")
                .args(["-c", "sleep 60 & echo $! > \"$0\"; wait"])
                .arg(&pid_file),
            Duration::from_secs(1),
        );
        let sleeper = std::fs::read_to_string(&pid_file).unwrap_or_default();
        let _ = std::fs::remove_file(&pid_file);
        assert!(result.is_err_and(|e| e.contains("did not finish within 1 s")));
        assert!(started.elapsed() < Duration::from_secs(10));
        let sleeper: u32 = sleeper.trim().parse().unwrap_or(0);
        assert!(sleeper > 0, "the shell wrote its sleeper's pid");
        // SIGKILL lands a moment after it is sent.
        let stopped = (0..100).any(|_| {
            std::thread::sleep(Duration::from_millis(20));
            !crate::procfs::runs(sleeper)
        });
        assert!(stopped, "the sleeper {sleeper} was stopped too");
    }

    #[test]
    fn descendants_are_found_through_proc() {
        let mut child = Command::new("sh")
            .args(["-c", "sleep 30 & wait"])
            .spawn()
            .map_err(|e| e.to_string());
        let Ok(child) = child.as_mut() else {
            panic!("sh did not start: {child:?}");
        };
        // The sleeper is up within a moment.
        let mut below = Vec::new();
        for _ in 0..50 {
            below = crate::procfs::descendants(child.id());
            if !below.is_empty() {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        for pid in &below {
            let _ = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
        }
        let _ = child.kill();
        let _ = child.wait();
        assert_eq!(below.len(), 1, "one sleeper below the shell: {below:?}");
    }

    #[test]
    fn a_command_within_its_limit_reports_its_status() {
        assert!(run_within(&mut Command::new("true"), Duration::from_secs(10)).is_ok());
        assert!(run_within(&mut Command::new("false"), Duration::from_secs(10)).is_err());
    }
}
