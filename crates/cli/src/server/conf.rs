//! A Mosquitto 2.0 configuration file, so users bring their `mosquitto.conf`. Every key of
//! `mosquitto.conf(5)` is either supported or refused by name and line, with the reason:
//! a setting that silently does nothing is worse than an error.
//!
//! As in Mosquitto, listener options apply to the listener above them (or, before the
//! first `listener`, to the default listener that `port` opens), and security options
//! are global unless `per_listener_settings true` makes them the listener's.

use std::path::{Path, PathBuf};
use std::time::Duration;
use tabmq_core::QoS;

pub use super::settings::{
    CertIdentity, ConfError, Listener, LogDest, LogSettings, Protocol, SecurityFiles, ServerConfig,
    TlsFiles,
};

/// Keys refused by name, with why.
fn refused(key: &str) -> Option<&'static str> {
    const BRIDGE: &[&str] = &[
        "connection",
        "address",
        "addresses",
        "topic",
        "bridge_alpn",
        "bridge_attempt_unsubscribe",
        "bridge_bind_address",
        "bridge_cafile",
        "bridge_capath",
        "bridge_certfile",
        "bridge_identity",
        "bridge_insecure",
        "bridge_keyfile",
        "bridge_max_packet_size",
        "bridge_outgoing_retain",
        "bridge_protocol_version",
        "bridge_psk",
        "bridge_require_ocsp",
        "bridge_tls_version",
        "cleansession",
        "idle_timeout",
        "keepalive_interval",
        "local_cleansession",
        "local_clientid",
        "local_password",
        "local_username",
        "notification_topic",
        "notifications",
        "notifications_local_only",
        "remote_clientid",
        "remote_password",
        "remote_username",
        "restart_timeout",
        "round_robin",
        "start_type",
        "threshold",
        "try_private",
    ];
    if BRIDGE.contains(&key) {
        return Some("bridges are not supported yet");
    }
    if key == "plugin"
        || key == "auth_plugin"
        || key.starts_with("plugin_opt_")
        || key.starts_with("auth_opt_")
        || key == "auth_plugin_deny_special_chars"
    {
        return Some("tabmq does not load Mosquitto's C plugins");
    }
    Some(match key {
        "psk_file" | "psk_hint" => "TLS-PSK is not supported (rustls has no PSK suites)",
        "tls_engine" | "tls_engine_kpass_sha1" | "tls_keyform" => {
            "OpenSSL engines are not supported: tabmq's TLS is rustls"
        }
        "ciphers" | "ciphers_tls1.3" => {
            "cipher lists are OpenSSL's; rustls offers only its own safe suites"
        }
        "bind_interface" => "binding to an interface is not supported; use listener PORT ADDRESS",
        "http_dir" => "serving files over the websockets listener is not supported",
        "memory_limit" => "a heap limit is not supported; the per-client limits bound memory",
        "log_facility" => "syslog is not supported",
        _ => return None,
    })
}

struct Parser {
    conf: ServerConfig,
    /// Index into `conf.listeners` of the listener options apply to; `None` is the
    /// default listener.
    current: Option<usize>,
    file: Option<PathBuf>,
    depth: usize,
    /// The first `log_dest` / `log_type` line replaces the defaults; later ones add.
    log_dest_set: bool,
    log_type_set: bool,
}

fn number<T: std::str::FromStr>(key: &str, value: &str) -> Result<T, String> {
    value
        .parse()
        .map_err(|_| format!("{key}: {value:?} is not a valid number"))
}

fn boolean(key: &str, value: &str) -> Result<bool, String> {
    match value {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(format!("{key}: expected true or false, not {value:?}")),
    }
}

impl Parser {
    fn listener(&mut self) -> &mut Listener {
        match self.current {
            Some(i) => &mut self.conf.listeners[i],
            None => {
                self.conf.default_listener_used = true;
                &mut self.conf.default_listener
            }
        }
    }

    fn security(&mut self) -> &mut SecurityFiles {
        if self.conf.per_listener_settings {
            &mut self.listener().security
        } else {
            &mut self.conf.security
        }
    }

    fn parse(&mut self, text: &str, base: &Path) -> Result<(), ConfError> {
        for (index, raw) in text.lines().enumerate() {
            let trimmed = raw.trim();
            if trimmed.is_empty() || trimmed.starts_with('#') {
                continue;
            }
            let (key, value) = trimmed
                .split_once(char::is_whitespace)
                .map_or((trimmed, ""), |(k, v)| (k, v.trim()));
            self.line(key, value, base).map_err(|message| ConfError {
                file: self.file.clone(),
                line: index + 1,
                message,
            })?;
        }
        Ok(())
    }

    fn line(&mut self, key: &str, value: &str, base: &Path) -> Result<(), String> {
        if let Some(reason) = refused(key) {
            return Err(format!("{key}: {reason}"));
        }
        let need = |what: &str| -> Result<(), String> {
            if value.is_empty() {
                Err(format!("{key} needs {what}"))
            } else {
                Ok(())
            }
        };
        let path = |v: &str| base.join(v);
        let b = &mut self.conf.broker;
        match key {
            // Listeners.
            "listener" => {
                need("a port")?;
                let mut parts = value.split_whitespace();
                let port = number("listener", parts.next().unwrap_or(""))?;
                let address = parts.next().map(str::to_owned);
                self.conf.listeners.push(Listener::new(port, address));
                self.current = Some(self.conf.listeners.len() - 1);
                self.conf.local_only = false;
            }
            "port" => {
                need("a port")?;
                self.conf.default_listener.port = number(key, value)?;
                self.conf.default_listener_used = true;
                self.conf.local_only = false;
            }
            "bind_address" => {
                need("an address")?;
                self.conf.default_listener.address = Some(value.to_owned());
            }
            "protocol" => {
                self.listener().protocol = match value {
                    "mqtt" => Protocol::Mqtt,
                    "websockets" => Protocol::WebSockets,
                    other => {
                        return Err(format!("protocol {other:?}: expected mqtt or websockets"))
                    }
                };
            }
            "socket_domain" => {
                self.listener().ipv4_only = Some(match value {
                    "ipv4" => true,
                    "ipv6" => false,
                    other => return Err(format!("socket_domain {other:?}: expected ipv4 or ipv6")),
                });
            }
            "max_connections" => {
                let n: i64 = number(key, value)?;
                self.listener().settings.max_connections = usize::try_from(n).ok();
            }
            "max_qos" | "maximum_qos" => {
                let n: u8 = number(key, value)?;
                self.listener().settings.maximum_qos =
                    QoS::from_u8(n).ok_or_else(|| format!("{key}: {n} is not 0, 1 or 2"))?;
            }
            "max_topic_alias" => {
                self.listener().settings.topic_alias_maximum = number(key, value)?;
            }
            "mount_point" => {
                need("a topic prefix")?;
                if value.contains(['+', '#']) {
                    return Err("mount_point may not contain + or #".into());
                }
                self.listener().settings.mount_point = Some(value.to_owned());
            }
            "use_username_as_clientid" => {
                self.listener().settings.use_username_as_clientid = boolean(key, value)?;
            }
            // TLS, per listener.
            "certfile" => self.listener().tls.certfile = Some(path(value)),
            "keyfile" => self.listener().tls.keyfile = Some(path(value)),
            "cafile" => self.listener().tls.cafile = Some(path(value)),
            "capath" => self.listener().tls.capath = Some(path(value)),
            "crlfile" => self.listener().tls.crlfile = Some(path(value)),
            "require_certificate" => self.listener().tls.require_certificate = boolean(key, value)?,
            "use_identity_as_username" | "use_subject_as_username" => {
                let field = if key == "use_identity_as_username" {
                    CertIdentity::CommonName
                } else {
                    CertIdentity::Subject
                };
                let on = boolean(key, value)?;
                let l = self.listener();
                l.tls.identity = on.then_some(field);
                l.settings.identity_as_username = on;
            }
            "tls_version" => match value {
                "tlsv1.2" | "tlsv1.3" => self.listener().tls.version = Some(value.to_owned()),
                other => {
                    return Err(format!(
                        "tls_version {other:?}: rustls speaks tlsv1.2 and tlsv1.3 only"
                    ))
                }
            },
            "dhparamfile" => {
                // rustls uses ephemeral elliptic-curve key exchange only, so there are
                // no finite-field DH parameters to load; the file is only checked.
                std::fs::metadata(path(value)).map_err(|e| format!("dhparamfile: {e}"))?;
            }
            "websockets_log_level" => {
                number::<i64>(key, value)?;
            }
            "websockets_headers_size" => {
                number::<u32>(key, value)?;
            }
            // Security: global, or per listener.
            "per_listener_settings" => self.conf.per_listener_settings = boolean(key, value)?,
            "allow_anonymous" => self.security().allow_anonymous = Some(boolean(key, value)?),
            "password_file" => {
                need("a path")?;
                self.security().password_file = Some(path(value));
            }
            "acl_file" => {
                need("a path")?;
                self.security().acl_file = Some(path(value));
            }
            "allow_zero_length_clientid" => {
                self.security().allow_zero_length_clientid = Some(boolean(key, value)?);
            }
            "auto_id_prefix" => self.security().auto_id_prefix = Some(value.to_owned()),
            "clientid_prefixes" => {
                need("a prefix")?;
                self.conf.clientid_prefixes = Some(value.to_owned());
            }
            // Limits and behaviour.
            "max_keepalive" => b.max_keepalive = number(key, value)?,
            "max_inflight_messages" => {
                // Mosquitto: 0 means no limit.
                let n: u16 = number(key, value)?;
                b.max_inflight = if n == 0 { u16::MAX } else { n };
            }
            "max_inflight_bytes" => {
                let n: usize = number(key, value)?;
                b.max_inflight_bytes = (n > 0).then_some(n);
            }
            "max_queued_messages" => {
                let n: usize = number(key, value)?;
                b.max_queued_messages = if n == 0 { usize::MAX } else { n };
            }
            "max_queued_bytes" => {
                let n: usize = number(key, value)?;
                b.max_queued_bytes = (n > 0).then_some(n);
            }
            "message_size_limit" => {
                let n: usize = number(key, value)?;
                if n > 268_435_455 {
                    return Err(format!("{key}: {n} is more than MQTT can carry"));
                }
                b.message_size_limit = (n > 0).then_some(n);
            }
            "max_packet_size" => {
                let n: u32 = number(key, value)?;
                if n > 0 && n < 20 {
                    return Err(format!("{key}: {n} is too small for any useful packet"));
                }
                b.max_packet_size = (n > 0).then_some(n);
            }
            "retain_available" => b.retain_available = boolean(key, value)?,
            "queue_qos0_messages" => b.queue_qos0_messages = boolean(key, value)?,
            "upgrade_outgoing_qos" => b.upgrade_outgoing_qos = boolean(key, value)?,
            "check_retain_source" => b.check_retain_source = boolean(key, value)?,
            "allow_duplicate_messages" => {
                // Deprecated in Mosquitto 2.0, where it has no effect: a client with
                // overlapping subscriptions always gets each message once (3.1.1), or
                // once per subscription (5.0).
                boolean(key, value)?;
            }
            "sys_interval" => {
                let n: u64 = number(key, value)?;
                b.sys_interval = (n > 0).then(|| Duration::from_secs(n));
            }
            "persistent_client_expiration" => {
                b.persistent_client_expiration = Some(parse_duration(value)?);
            }
            "set_tcp_nodelay" => self.conf.tcp_nodelay = boolean(key, value)?,
            // Persistence.
            "persistence" | "retained_persistence" => self.conf.persistence = boolean(key, value)?,
            "persistence_location" => {
                need("a path")?;
                self.conf.persistence_location = path(value);
            }
            "persistence_file" => {
                need("a file name")?;
                self.conf.persistence_file = value.to_owned();
            }
            "autosave_interval" => {
                let n: u64 = number(key, value)?;
                self.conf.autosave_interval = (n > 0).then(|| Duration::from_secs(n));
            }
            "autosave_on_changes" => {
                // tabmq saves before it acknowledges anything, which is stricter than
                // either setting.
                boolean(key, value)?;
            }
            // Process.
            "pid_file" => self.conf.pid_file = Some(path(value)),
            "user" => {
                if is_root() && value != "root" {
                    return Err(format!(
                        "user {value}: tabmq does not drop privileges; run it as that user"
                    ));
                }
            }
            "include_dir" => {
                need("a directory")?;
                self.include_dir(&path(value))?;
            }
            // Logging.
            "log_dest" => self.log_dest(value, base)?,
            "log_type" => {
                let known = [
                    "debug",
                    "error",
                    "warning",
                    "notice",
                    "information",
                    "subscribe",
                    "unsubscribe",
                    "websockets",
                    "none",
                    "all",
                ];
                if !known.contains(&value) {
                    return Err(format!("log_type {value:?} is not a log type"));
                }
                if !self.log_type_set {
                    self.conf.log.types.clear();
                    self.log_type_set = true;
                }
                self.conf.log.types.push(value.to_owned());
            }
            "connection_messages" => self.conf.log.connection_messages = boolean(key, value)?,
            "log_timestamp" => self.conf.log.timestamp = boolean(key, value)?,
            "log_timestamp_format" => self.conf.log.timestamp_format = Some(value.to_owned()),
            other => return Err(format!("unknown option {other:?}")),
        }
        Ok(())
    }

    fn log_dest(&mut self, value: &str, base: &Path) -> Result<(), String> {
        if !self.log_dest_set {
            self.conf.log.dest.clear();
            self.log_dest_set = true;
        }
        let (kind, rest) = value
            .split_once(char::is_whitespace)
            .map_or((value, ""), |(k, r)| (k, r.trim()));
        match kind {
            "stderr" => self.conf.log.dest.push(LogDest::Stderr),
            "stdout" => self.conf.log.dest.push(LogDest::Stdout),
            "file" if !rest.is_empty() => self.conf.log.dest.push(LogDest::File(base.join(rest))),
            "file" => return Err("log_dest file needs a path".into()),
            "none" => self.conf.log.dest.clear(),
            "syslog" | "dlt" | "topic" => return Err(format!("log_dest {kind} is not supported")),
            other => return Err(format!("log_dest {other:?} is not a destination")),
        }
        Ok(())
    }

    /// Mosquitto's `include_dir`: every `*.conf` in the directory, in name order.
    fn include_dir(&mut self, dir: &Path) -> Result<(), String> {
        if self.depth > 8 {
            return Err("include_dir nests too deep".into());
        }
        let entries =
            std::fs::read_dir(dir).map_err(|e| format!("include_dir {}: {e}", dir.display()))?;
        let mut files: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "conf"))
            .collect();
        files.sort_by_key(|p| p.to_string_lossy().to_lowercase());
        for file in files {
            let text =
                std::fs::read_to_string(&file).map_err(|e| format!("{}: {e}", file.display()))?;
            let outer = self.file.replace(file.clone());
            self.depth += 1;
            let result = self.parse(&text, dir);
            self.depth -= 1;
            self.file = outer;
            result.map_err(|e| e.to_string())?;
        }
        Ok(())
    }
}

fn parse_duration(value: &str) -> Result<Duration, String> {
    let (digits, unit) = value.split_at(value.len().saturating_sub(1));
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("persistent_client_expiration: {value:?} is not like 2d or 1h"))?;
    let seconds = match unit {
        "h" => 3600,
        "d" => 86_400,
        "w" => 7 * 86_400,
        "m" => 30 * 86_400,
        "y" => 365 * 86_400,
        _ => {
            return Err(format!(
                "persistent_client_expiration: unit of {value:?} is not h, d, w, m or y"
            ))
        }
    };
    Ok(Duration::from_secs(n * seconds))
}

fn is_root() -> bool {
    std::env::var("USER").is_ok_and(|u| u == "root")
        || std::fs::read_to_string("/proc/self/status").is_ok_and(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .is_some_and(|l| l.split_whitespace().nth(1) == Some("0"))
        })
}

/// Parses a configuration's text; relative paths are taken from `base`.
pub fn parse(text: &str, base: &Path) -> Result<ServerConfig, ConfError> {
    let mut parser = Parser {
        conf: ServerConfig::default(),
        current: None,
        file: None,
        depth: 0,
        log_dest_set: false,
        log_type_set: false,
    };
    parser.parse(text, base)?;
    let mut conf = parser.conf;
    if conf.default_listener_used {
        let default = conf.default_listener.clone();
        conf.listeners.insert(0, default);
    }
    Ok(conf)
}

#[cfg(test)]
#[path = "conf_tests.rs"]
mod tests;
