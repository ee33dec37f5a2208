//! The broker's log, as `log_dest`, `log_type`, `connection_messages`, `log_timestamp`
//! and `log_timestamp_format` configure it. Times are UTC.

use super::conf::{LogDest, LogSettings};
use std::io::Write;
use std::time::{SystemTime, UNIX_EPOCH};

/// The kinds of line, by Mosquitto's `log_type` names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Error,
    Warning,
    Notice,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Error => "error",
            Kind::Warning => "warning",
            Kind::Notice => "notice",
        }
    }
}

pub struct Log {
    settings: LogSettings,
    files: Vec<std::fs::File>,
}

impl Log {
    pub fn new(settings: LogSettings, verbose: bool) -> Result<Log, String> {
        let mut settings = settings;
        if verbose {
            // Like Mosquitto's -v: every type.
            settings.types = vec!["all".into()];
        }
        let mut files = Vec::new();
        for dest in &settings.dest {
            if let LogDest::File(path) = dest {
                let file = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .map_err(|e| format!("log file {}: {e}", path.display()))?;
                files.push(file);
            }
        }
        Ok(Log { settings, files })
    }

    pub fn connection_messages(&self) -> bool {
        self.settings.connection_messages
    }

    pub fn enabled(&self, kind: Kind) -> bool {
        let types = &self.settings.types;
        !types.iter().any(|t| t == "none") && types.iter().any(|t| t == "all" || t == kind.name())
    }

    pub fn line(&mut self, kind: Kind, message: &str) {
        if !self.enabled(kind) {
            return;
        }
        let text = if self.settings.timestamp {
            let now = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_secs());
            match &self.settings.timestamp_format {
                Some(format) => format!("{}: {message}\n", strftime(format, now)),
                None => format!("{now}: {message}\n"),
            }
        } else {
            format!("{message}\n")
        };
        let mut files = self.files.iter_mut();
        for dest in &self.settings.dest {
            let _ = match dest {
                LogDest::Stderr => std::io::stderr().write_all(text.as_bytes()),
                LogDest::Stdout => std::io::stdout().write_all(text.as_bytes()),
                LogDest::File(_) => match files.next() {
                    Some(f) => f.write_all(text.as_bytes()),
                    None => Ok(()),
                },
            };
        }
    }
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian.
fn civil(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// The strftime conversions log formats use: %Y %m %d %H %M %S %s %T %F %%.
pub fn strftime(format: &str, epoch_seconds: u64) -> String {
    let secs = epoch_seconds as i64;
    let (year, month, day) = civil(secs.div_euclid(86_400));
    let tod = secs.rem_euclid(86_400);
    let (h, m, s) = (tod / 3600, tod / 60 % 60, tod % 60);
    let mut out = String::new();
    let mut chars = format.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('Y') => out.push_str(&year.to_string()),
            Some('m') => out.push_str(&format!("{month:02}")),
            Some('d') => out.push_str(&format!("{day:02}")),
            Some('H') => out.push_str(&format!("{h:02}")),
            Some('M') => out.push_str(&format!("{m:02}")),
            Some('S') => out.push_str(&format!("{s:02}")),
            Some('s') => out.push_str(&secs.to_string()),
            Some('T') => out.push_str(&format!("{h:02}:{m:02}:{s:02}")),
            Some('F') => out.push_str(&format!("{year}-{month:02}-{day:02}")),
            Some('%') => out.push('%'),
            Some(other) => {
                out.push('%');
                out.push(other);
            }
            None => out.push('%'),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strftime_writes_utc_dates() {
        // 2026-11-30T23:20:48Z
        assert_eq!(strftime("%F %T", 1_796_080_848), "2026-11-30 23:20:48");
        assert_eq!(strftime("%Y%m%d-%%", 0), "19700101-%");
        assert_eq!(strftime("%s", 42), "42");
    }
}
