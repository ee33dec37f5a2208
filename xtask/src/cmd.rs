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
