//! What `tabmq broker` runs with: listeners, security files, logging and persistence, as
//! `conf.rs` reads them from a `mosquitto.conf` or the command line sets them.

use std::path::PathBuf;
use std::time::Duration;
use tabmq_broker::{BrokerConfig, ListenerConfig};

/// What a listener speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    Mqtt,
    WebSockets,
}

/// Which certificate field names a TLS client, when it is its username.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CertIdentity {
    /// `use_identity_as_username`: the subject's Common Name.
    CommonName,
    /// `use_subject_as_username`: the whole subject, as RFC 2253 writes it.
    Subject,
}

/// A listener's TLS settings (Mosquitto's certificate-based TLS options).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsFiles {
    pub certfile: Option<PathBuf>,
    pub keyfile: Option<PathBuf>,
    pub cafile: Option<PathBuf>,
    pub capath: Option<PathBuf>,
    pub crlfile: Option<PathBuf>,
    pub require_certificate: bool,
    pub identity: Option<CertIdentity>,
    /// `tls_version`: `None` offers TLS 1.2 and 1.3.
    pub version: Option<String>,
}

impl TlsFiles {
    fn is_set(&self) -> bool {
        self.certfile.is_some() || self.keyfile.is_some()
    }
}

/// Security options: global, or one listener's with `per_listener_settings`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SecurityFiles {
    pub allow_anonymous: Option<bool>,
    pub password_file: Option<PathBuf>,
    pub acl_file: Option<PathBuf>,
    pub allow_zero_length_clientid: Option<bool>,
    pub auto_id_prefix: Option<String>,
}

#[derive(Debug, Clone)]
pub struct Listener {
    pub port: u16,
    /// `None`: every interface, as in Mosquitto.
    pub address: Option<String>,
    pub protocol: Protocol,
    pub tls: TlsFiles,
    /// `socket_domain`: only IPv4 or only IPv6.
    pub ipv4_only: Option<bool>,
    /// The broker core's view of this listener (security filled in at load).
    pub settings: ListenerConfig,
    /// This listener's own security options (used with `per_listener_settings`).
    pub security: SecurityFiles,
}

impl Listener {
    pub fn new(port: u16, address: Option<String>) -> Listener {
        Listener {
            port,
            address,
            protocol: Protocol::Mqtt,
            tls: TlsFiles::default(),
            ipv4_only: None,
            settings: ListenerConfig::default(),
            security: SecurityFiles::default(),
        }
    }

    pub fn tls_enabled(&self) -> bool {
        self.tls.is_set()
    }
}

/// Where log lines go, and which.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogDest {
    Stderr,
    Stdout,
    File(PathBuf),
}

#[derive(Debug, Clone)]
pub struct LogSettings {
    /// Empty: nothing is logged (`log_dest none`).
    pub dest: Vec<LogDest>,
    pub types: Vec<String>,
    pub connection_messages: bool,
    pub timestamp: bool,
    pub timestamp_format: Option<String>,
}

impl Default for LogSettings {
    fn default() -> Self {
        LogSettings {
            dest: vec![LogDest::Stderr],
            types: vec![
                "error".into(),
                "warning".into(),
                "notice".into(),
                "information".into(),
            ],
            connection_messages: true,
            timestamp: true,
            timestamp_format: None,
        }
    }
}

/// Everything a configuration file says.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    pub listeners: Vec<Listener>,
    pub broker: BrokerConfig,
    pub per_listener_settings: bool,
    pub security: SecurityFiles,
    pub persistence: bool,
    pub persistence_location: PathBuf,
    pub persistence_file: String,
    pub autosave_interval: Option<Duration>,
    pub tcp_nodelay: bool,
    pub pid_file: Option<PathBuf>,
    pub log: LogSettings,
    /// Options given for the default listener before any `listener` line.
    pub default_listener: Listener,
    /// Whether `port` (or a listener option before any `listener`) asked for it.
    pub default_listener_used: bool,
    /// Mosquitto's `clientid_prefixes`, for every listener.
    pub clientid_prefixes: Option<String>,
    /// Whether any listener came from the file: without one, Mosquitto listens on
    /// localhost only and lets anonymous clients in.
    pub local_only: bool,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listeners: Vec::new(),
            broker: BrokerConfig::default(),
            per_listener_settings: false,
            security: SecurityFiles::default(),
            persistence: false,
            persistence_location: PathBuf::from("."),
            persistence_file: "mosquitto.db".into(),
            autosave_interval: None,
            tcp_nodelay: false,
            pid_file: None,
            log: LogSettings::default(),
            default_listener: Listener::new(1883, None),
            default_listener_used: false,
            clientid_prefixes: None,
            local_only: true,
        }
    }
}

/// A line that cannot be used, with where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfError {
    pub file: Option<PathBuf>,
    pub line: usize,
    pub message: String,
}

impl std::fmt::Display for ConfError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let Some(file) = &self.file {
            write!(f, "{}: ", file.display())?;
        }
        write!(f, "line {}: {}", self.line, self.message)
    }
}
