//! What /proc says of a process: its resident memory, its CPU time, its parent. The
//! benches, the hostile-client run and the test runner's watchdog read it alike.

/// Resident memory of `pid`, KiB; `None` once it is gone.
pub fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
}

/// The fields of /proc/PID/stat after the command's closing parenthesis (the command may
/// hold spaces and parentheses): the state is the first, the parent's pid the second,
/// utime and stime the 12th and 13th.
pub fn stat_fields(pid: u32) -> Option<Vec<String>> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = stat.rsplit_once(')')?.1;
    Some(rest.split_whitespace().map(str::to_owned).collect())
}

/// CPU time `pid` has used (user + system), seconds; 0 once it is gone.
pub fn cpu_seconds(pid: u32) -> f64 {
    let Some(fields) = stat_fields(pid) else {
        return 0.0;
    };
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (ticks(11) + ticks(12)) / 100.0
}

/// Whether `pid` still runs: not gone, and not a zombie (a killed process nobody reaped).
#[cfg(test)]
pub fn runs(pid: u32) -> bool {
    stat_fields(pid).is_some_and(|f| f.first().is_some_and(|state| state != "Z"))
}

/// The processes below `root` (children before their own).
pub fn descendants(root: u32) -> Vec<u32> {
    let parents: Vec<(u32, u32)> = std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .filter_map(|entry| {
            let pid: u32 = entry.ok()?.file_name().to_str()?.parse().ok()?;
            let ppid = stat_fields(pid)?.get(1)?.parse().ok()?;
            Some((pid, ppid))
        })
        .collect();
    let mut found = vec![root];
    let mut next = 0;
    while next < found.len() {
        let parent = found[next];
        found.extend(
            parents
                .iter()
                .filter(|(_, p)| *p == parent)
                .map(|(pid, _)| *pid),
        );
        next += 1;
    }
    found.remove(0);
    found
}
