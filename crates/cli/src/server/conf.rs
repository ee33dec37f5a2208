//! A Mosquitto-style configuration file, so users bring their `mosquitto.conf`. Keys we do
//! not support are refused by name rather than ignored: a setting that silently does
//! nothing is worse than an error.

use std::path::{Path, PathBuf};
use tabmq_broker::BrokerConfig;

/// What a listener speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    Mqtt,
    WebSockets,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listener {
    pub port: u16,
    pub address: String,
    pub protocol: Protocol,
}

/// Everything a configuration file says.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub listeners: Vec<Listener>,
    pub broker: BrokerConfig,
    pub password_file: Option<PathBuf>,
    pub acl_file: Option<PathBuf>,
    pub persistence: bool,
    pub persistence_location: PathBuf,
    pub persistence_file: String,
    pub tcp_nodelay: bool,
    /// Whether `allow_anonymous` was given; Mosquitto 2 defaults it to false once a
    /// listener is configured.
    pub allow_anonymous_set: bool,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listeners: Vec::new(),
            broker: BrokerConfig::default(),
            password_file: None,
            acl_file: None,
            persistence: false,
            persistence_location: PathBuf::from("."),
            persistence_file: "tabmq.db".into(),
            tcp_nodelay: false,
            allow_anonymous_set: false,
        }
    }
}

/// A line that cannot be used, with where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfError {
    pub line: usize,
    pub message: String,
}

impl std::fmt::Display for ConfError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

fn number<T: std::str::FromStr>(key: &str, value: &str, line: usize) -> Result<T, ConfError> {
    value.parse().map_err(|_| ConfError {
        line,
        message: format!("{key}: {value:?} is not a valid number"),
    })
}

fn boolean(key: &str, value: &str, line: usize) -> Result<bool, ConfError> {
    match value {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(ConfError {
            line,
            message: format!("{key}: expected true or false, not {value:?}"),
        }),
    }
}

/// Parses a configuration's text; relative paths are taken from `base`.
pub fn parse(text: &str, base: &Path) -> Result<ServerConfig, ConfError> {
    let mut conf = ServerConfig::default();
    for (index, raw) in text.lines().enumerate() {
        let line = index + 1;
        let trimmed = raw.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let (key, value) = trimmed
            .split_once(char::is_whitespace)
            .map_or((trimmed, ""), |(k, v)| (k, v.trim()));
        let need = |what: &str| -> Result<(), ConfError> {
            if value.is_empty() {
                Err(ConfError {
                    line,
                    message: format!("{key} needs {what}"),
                })
            } else {
                Ok(())
            }
        };
        let b = &mut conf.broker;
        match key {
            "listener" => {
                need("a port")?;
                let mut parts = value.split_whitespace();
                let port = number("listener", parts.next().unwrap_or(""), line)?;
                let address = parts.next().unwrap_or("127.0.0.1").to_owned();
                conf.listeners.push(Listener {
                    port,
                    address,
                    protocol: Protocol::Mqtt,
                });
            }
            "port" => {
                need("a port")?;
                conf.listeners.push(Listener {
                    port: number("port", value, line)?,
                    address: "127.0.0.1".into(),
                    protocol: Protocol::Mqtt,
                });
            }
            "protocol" => {
                let Some(last) = conf.listeners.last_mut() else {
                    return Err(ConfError {
                        line,
                        message: "protocol must follow a listener line".into(),
                    });
                };
                last.protocol = match value {
                    "mqtt" => Protocol::Mqtt,
                    "websockets" => Protocol::WebSockets,
                    other => {
                        return Err(ConfError {
                            line,
                            message: format!("protocol {other:?}: expected mqtt or websockets"),
                        })
                    }
                };
            }
            "allow_anonymous" => {
                b.allow_anonymous = boolean(key, value, line)?;
                conf.allow_anonymous_set = true;
            }
            "password_file" => {
                need("a path")?;
                conf.password_file = Some(base.join(value));
            }
            "acl_file" => {
                need("a path")?;
                conf.acl_file = Some(base.join(value));
            }
            "max_keepalive" => b.max_keepalive = number(key, value, line)?,
            "max_inflight_messages" => {
                // Mosquitto: 0 means no limit.
                let n: u16 = number(key, value, line)?;
                b.max_inflight = if n == 0 { u16::MAX } else { n };
            }
            "max_queued_messages" => {
                let n: usize = number(key, value, line)?;
                b.max_queued_messages = if n == 0 { usize::MAX } else { n };
            }
            "max_queued_bytes" => {
                let n: usize = number(key, value, line)?;
                b.max_queued_bytes = if n == 0 { usize::MAX } else { n };
            }
            "message_size_limit" | "max_packet_size" => {
                let n: usize = number(key, value, line)?;
                // Mosquitto's message_size_limit bounds the payload; leave room for the
                // header and topic. 0 is the protocol's own maximum.
                let limit = if n == 0 { 268_435_455 } else { n };
                b.max_packet_size = if key == "message_size_limit" {
                    limit.saturating_add(65_546).min(268_435_460)
                } else {
                    limit
                };
            }
            "max_connections" => {
                let n: i64 = number(key, value, line)?;
                b.max_connections = if n < 0 { usize::MAX } else { n as usize };
            }
            "retain_available" => b.retain_available = boolean(key, value, line)?,
            "queue_qos0_messages" => b.queue_qos0_messages = boolean(key, value, line)?,
            "max_topic_alias" => b.topic_alias_maximum = number(key, value, line)?,
            "sys_interval" => {
                let n: u64 = number(key, value, line)?;
                b.sys_interval = (n > 0).then(|| std::time::Duration::from_secs(n));
            }
            "persistence" => conf.persistence = boolean(key, value, line)?,
            "persistence_location" => {
                need("a path")?;
                conf.persistence_location = base.join(value);
            }
            "persistence_file" => {
                need("a file name")?;
                conf.persistence_file = value.to_owned();
            }
            "set_tcp_nodelay" => conf.tcp_nodelay = boolean(key, value, line)?,
            other => {
                return Err(ConfError {
                    line,
                    message: format!("unknown or unsupported option {other:?}"),
                })
            }
        }
    }
    if !conf.listeners.is_empty() && !conf.allow_anonymous_set {
        conf.broker.allow_anonymous = false;
    }
    Ok(conf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mosquitto_conf_with_two_listeners() -> Result<(), ConfError> {
        let text = "\
# comment
listener 1883 127.0.0.1
listener 9001
protocol websockets
allow_anonymous true
max_keepalive 120
max_inflight_messages 5
max_queued_messages 50
message_size_limit 1000
retain_available false
persistence true
persistence_location data/
set_tcp_nodelay true
";
        let conf = parse(text, Path::new("/etc/tabmq"))?;
        assert_eq!(conf.listeners.len(), 2);
        assert_eq!(conf.listeners[1].protocol, Protocol::WebSockets);
        assert_eq!(conf.listeners[1].address, "127.0.0.1");
        assert!(conf.broker.allow_anonymous);
        assert_eq!(conf.broker.max_keepalive, 120);
        assert_eq!(conf.broker.max_inflight, 5);
        assert_eq!(conf.broker.max_queued_messages, 50);
        assert!(conf.broker.max_packet_size > 1000);
        assert!(!conf.broker.retain_available);
        assert!(conf.persistence && conf.tcp_nodelay);
        assert_eq!(conf.persistence_location, Path::new("/etc/tabmq/data/"));
        Ok(())
    }

    #[test]
    fn unknown_keys_are_refused_by_name_and_line() {
        let err = parse(
            "listener 1883\nbridge_protocol_version mqttv50\n",
            Path::new("."),
        )
        .unwrap_err();
        assert_eq!(err.line, 2);
        assert!(err.message.contains("bridge_protocol_version"), "{err}");
    }

    #[test]
    fn like_mosquitto_2_a_listener_makes_anonymous_access_opt_in() -> Result<(), ConfError> {
        assert!(
            !parse("listener 1883\n", Path::new("."))?
                .broker
                .allow_anonymous
        );
        assert!(parse("", Path::new("."))?.broker.allow_anonymous);
        Ok(())
    }

    #[test]
    fn bad_values_name_their_key() {
        let err = parse("max_keepalive soon\n", Path::new(".")).unwrap_err();
        assert!(err.message.contains("max_keepalive"), "{err}");
        assert!(parse("protocol websockets\n", Path::new(".")).is_err());
    }
}
