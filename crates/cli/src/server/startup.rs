//! From the command line and a `mosquitto.conf` to what the broker runs with: listeners,
//! and each listener's security with its password and ACL files loaded. Loading is also
//! what SIGHUP repeats.

use super::conf::{self, Listener, Protocol, SecurityFiles, ServerConfig};
use super::passwords::PasswordFile;
use crate::Failure;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tabmq_broker::{Acl, Security};

pub const USAGE: &str = "tabmq broker [-c FILE] [-p PORT]... [--ws-port PORT]... [-h HOST] [-v]";

/// What the command line says beside the configuration.
pub struct Options {
    pub verbose: bool,
    pub conf_file: Option<PathBuf>,
}

fn read(path: &Path) -> Result<String, Failure> {
    std::fs::read_to_string(path).map_err(|e| Failure::input(format!("{}: {e}", path.display())))
}

/// Parses the configuration file, if any.
pub fn read_conf(path: Option<&Path>) -> Result<ServerConfig, Failure> {
    match path {
        Some(path) => {
            let base = path.parent().unwrap_or(Path::new("."));
            conf::parse(&read(path)?, base)
                .map_err(|e| Failure::input(format!("{}: {e}", path.display())))
        }
        None => Ok(ServerConfig::default()),
    }
}

/// The configuration from the command line and any `-c` file.
pub fn configure(args: &[String]) -> Result<(ServerConfig, Options), Failure> {
    let mut conf_file: Option<PathBuf> = None;
    let mut host: Option<String> = None;
    let mut ports: Vec<(u16, Protocol)> = Vec::new();
    let mut verbose = false;
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let mut value = || {
            it.next()
                .cloned()
                .ok_or_else(|| Failure::input(format!("{flag} needs a value\nusage: {USAGE}")))
        };
        let port = |v: String| -> Result<u16, Failure> {
            v.parse()
                .map_err(|_| Failure::input(format!("{v:?} is not a port")))
        };
        match flag.as_str() {
            "-c" | "--config-file" => conf_file = Some(PathBuf::from(value()?)),
            "-h" | "--host" => host = Some(value()?),
            "-p" | "--port" => ports.push((port(value()?)?, Protocol::Mqtt)),
            "--ws-port" => ports.push((port(value()?)?, Protocol::WebSockets)),
            "-v" | "--verbose" => verbose = true,
            other => {
                return Err(Failure::input(format!(
                    "tabmq broker: unknown option {other:?}\nusage: {USAGE}"
                )))
            }
        }
    }
    let mut conf = read_conf(conf_file.as_deref())?;
    // Like Mosquitto, -p replaces the configured listeners' default port. Without a
    // listener in the file, -p listens on this machine only (Mosquitto's local mode).
    let local = host.or_else(|| conf.local_only.then(|| "127.0.0.1".to_owned()));
    if !ports.is_empty() {
        conf.listeners
            .retain(|l| !ports.iter().any(|(p, _)| *p == l.port));
        for (port, protocol) in ports {
            let mut listener = Listener::new(port, local.clone());
            listener.protocol = protocol;
            conf.listeners.push(listener);
        }
    }
    if conf.listeners.is_empty() {
        conf.listeners.push(Listener::new(1883, local));
    }
    load_security(&mut conf)?;
    Ok((conf, Options { verbose, conf_file }))
}

/// Builds each listener's [`Security`] from its files (or the global ones), and the
/// broker's listener list.
pub fn load_security(conf: &mut ServerConfig) -> Result<(), Failure> {
    let global = if conf.per_listener_settings {
        None
    } else {
        Some(security(&conf.security, conf.local_only)?)
    };
    let mut settings = Vec::with_capacity(conf.listeners.len());
    for listener in &mut conf.listeners {
        listener.settings.security = match &global {
            Some(global) => global.clone(),
            None => security(&listener.security, conf.local_only)?,
        };
        listener.settings.security.clientid_prefixes = conf.clientid_prefixes.clone();
        settings.push(listener.settings.clone());
    }
    conf.broker.listeners = settings;
    Ok(())
}

fn security(files: &SecurityFiles, local_only: bool) -> Result<Security, Failure> {
    let mut security = Security {
        // Mosquitto 2: anonymous access is on only in local mode, unless configured.
        allow_anonymous: files.allow_anonymous.unwrap_or(local_only),
        ..Security::default()
    };
    if let Some(allow) = files.allow_zero_length_clientid {
        security.allow_zero_length_clientid = allow;
    }
    if let Some(prefix) = &files.auto_id_prefix {
        security.auto_id_prefix = prefix.clone();
    }
    if let Some(path) = &files.password_file {
        let (file, warnings) = PasswordFile::parse(&read(path)?);
        for warning in warnings {
            eprintln!("tabmq broker: {}: {warning}", path.display());
        }
        security.authenticator = Some(Arc::new(file));
    }
    if let Some(path) = &files.acl_file {
        let acl = Acl::parse(&read(path)?)
            .map_err(|e| Failure::input(format!("{}: {e}", path.display())))?;
        security.acl = Some(Arc::new(acl));
    }
    Ok(security)
}
