//! `tabmq broker`: the broker core over TCP and WebSocket, so any MQTT tool can reach it.
//! One task owns the core; connection tasks only move bytes, and the core's clock is the
//! wall clock (ms since the Unix epoch) so persisted expiry deadlines survive restarts.

mod conf;
mod net;
mod passwords;

use crate::Failure;
use conf::{Listener, Protocol, ServerConfig};
use net::{Event, Out};
use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tabmq_broker::{Acl, Broker, ConnId};
use tabmq_core::Instant;
use tokio::net::TcpListener;
use tokio::sync::mpsc;

pub const USAGE: &str = "tabmq broker [-c FILE] [-p PORT]... [--ws-port PORT]... [-h HOST] [-v]";

fn now() -> Instant {
    let ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    Instant::from_millis(ms)
}

fn read(path: &Path) -> Result<String, Failure> {
    std::fs::read_to_string(path).map_err(|e| Failure::input(format!("{}: {e}", path.display())))
}

/// The configuration from the command line and any `-c` file.
fn configure(args: &[String]) -> Result<(ServerConfig, bool), Failure> {
    let mut conf_file: Option<PathBuf> = None;
    let mut host = "127.0.0.1".to_owned();
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
            "-h" | "--host" => host = value()?,
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
    let mut conf = match &conf_file {
        Some(path) => {
            let base = path.parent().unwrap_or(Path::new("."));
            conf::parse(&read(path)?, base)
                .map_err(|e| Failure::input(format!("{}: {e}", path.display())))?
        }
        None => ServerConfig::default(),
    };
    // Like Mosquitto, -p replaces the configured listeners' default port.
    if !ports.is_empty() {
        conf.listeners
            .retain(|l| !ports.iter().any(|(p, _)| *p == l.port));
        for (port, protocol) in ports {
            conf.listeners.push(Listener {
                port,
                address: host.clone(),
                protocol,
            });
        }
    }
    if conf.listeners.is_empty() {
        conf.listeners.push(Listener {
            port: 1883,
            address: host,
            protocol: Protocol::Mqtt,
        });
    }
    if let Some(path) = &conf.password_file {
        let file = passwords::PasswordFile::parse(&read(path)?)
            .map_err(|e| Failure::input(format!("{}: {e}", path.display())))?;
        conf.broker.authenticator = Some(Arc::new(file));
    }
    if let Some(path) = &conf.acl_file {
        let acl = Acl::parse(&read(path)?)
            .map_err(|e| Failure::input(format!("{}: {e}", path.display())))?;
        conf.broker.acl = Some(Arc::new(acl));
    }
    Ok((conf, verbose))
}

/// `tabmq broker`: serves until SIGINT or SIGTERM, then shuts down gracefully.
pub fn serve(args: &[String]) -> Result<(), Failure> {
    let (conf, verbose) = configure(args)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::input(e.to_string()))?;
    runtime.block_on(run(conf, verbose))
}

fn store_path(conf: &ServerConfig) -> Option<PathBuf> {
    conf.persistence
        .then(|| conf.persistence_location.join(&conf.persistence_file))
}

/// Writes the snapshot beside the file and renames it over, so a crash mid-write leaves
/// the previous state whole.
fn save(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension("tmp");
    let mut file = std::fs::File::create(&tmp)?;
    file.write_all(bytes)?;
    file.sync_data()?;
    std::fs::rename(&tmp, path)
}

async fn run(conf: ServerConfig, verbose: bool) -> Result<(), Failure> {
    let store = store_path(&conf);
    let mut broker = match store.as_ref().filter(|p| p.exists()) {
        Some(path) => {
            let bytes = std::fs::read(path)
                .map_err(|e| Failure::input(format!("{}: {e}", path.display())))?;
            Broker::restore(conf.broker.clone(), &bytes).map_err(|e| Failure {
                message: format!("{}: {e}", path.display()),
                status: 1,
            })?
        }
        None => Broker::new(conf.broker.clone()),
    };
    let (events_tx, mut events) = mpsc::unbounded_channel::<Event>();
    for listener in &conf.listeners {
        let socket = TcpListener::bind((listener.address.as_str(), listener.port))
            .await
            .map_err(|e| Failure {
                message: format!(
                    "cannot listen on {}:{}: {e}",
                    listener.address, listener.port
                ),
                status: 1,
            })?;
        let bound = socket
            .local_addr()
            .map_err(|e| Failure::input(e.to_string()))?;
        let kind = match listener.protocol {
            Protocol::Mqtt => "mqtt",
            Protocol::WebSockets => "websockets",
        };
        println!("tabmq broker listening on {bound} ({kind})");
        let (protocol, nodelay, tx) = (listener.protocol, conf.tcp_nodelay, events_tx.clone());
        tokio::spawn(async move {
            while let Ok((stream, _)) = socket.accept().await {
                let _ = stream.set_nodelay(nodelay || protocol == Protocol::WebSockets);
                let tx = tx.clone();
                match protocol {
                    Protocol::Mqtt => tokio::spawn(net::serve_tcp(stream, tx)),
                    Protocol::WebSockets => tokio::spawn(net::serve_websocket(stream, tx)),
                };
            }
        });
    }
    let _ = std::io::stdout().flush();
    drop(events_tx);

    let mut conns: HashMap<ConnId, mpsc::UnboundedSender<Out>> = HashMap::new();
    let mut stop = shutdown_signal();
    loop {
        let wait = broker
            .poll_timeout()
            .map_or(Duration::from_secs(3600), |at| at - now());
        let mut changed = false;
        tokio::select! {
            event = events.recv() => {
                let Some(event) = event else { break };
                changed |= handle(&mut broker, &mut conns, event, verbose);
                // Take what else has arrived, so it is saved and answered in one go.
                for _ in 0..256 {
                    match events.try_recv() {
                        Ok(event) => changed |= handle(&mut broker, &mut conns, event, verbose),
                        Err(_) => break,
                    }
                }
            }
            _ = tokio::time::sleep(wait) => {
                broker.handle_timeout(now());
                changed = true;
            }
            _ = &mut stop => {
                broker.shutdown(now());
                transmit(&mut broker, &mut conns);
                if let Some(path) = &store {
                    save(path, &broker.snapshot()).map_err(|e| Failure::input(format!("{}: {e}", path.display())))?;
                }
                // Let the writers send the DISCONNECTs.
                tokio::time::sleep(Duration::from_millis(100)).await;
                eprintln!("tabmq broker: shut down");
                return Ok(());
            }
        }
        // Saved before anything is acknowledged: a PUBACK is a promise that survives a
        // restart.
        if let (Some(path), true) = (&store, changed) {
            if let Err(e) = save(path, &broker.snapshot()) {
                eprintln!("tabmq broker: cannot save {}: {e}", path.display());
            }
        }
        transmit(&mut broker, &mut conns);
    }
    Ok(())
}

fn handle(
    broker: &mut Broker,
    conns: &mut HashMap<ConnId, mpsc::UnboundedSender<Out>>,
    event: Event,
    verbose: bool,
) -> bool {
    match event {
        Event::Open { peer, out, id } => {
            let conn = broker.accept(now());
            if verbose {
                eprintln!("tabmq broker: connection {} from {peer}", conn.0);
            }
            conns.insert(conn, out);
            let _ = id.send(conn);
            false
        }
        Event::Data(conn, bytes) => {
            broker.handle_bytes(conn, &bytes, now());
            true
        }
        Event::Closed(conn) => {
            if verbose && conns.contains_key(&conn) {
                eprintln!("tabmq broker: connection {} closed", conn.0);
            }
            conns.remove(&conn);
            broker.close(conn, now());
            true
        }
    }
}

fn transmit(broker: &mut Broker, conns: &mut HashMap<ConnId, mpsc::UnboundedSender<Out>>) {
    while let Some((conn, bytes)) = broker.poll_transmit() {
        if let Some(out) = conns.get(&conn) {
            let _ = out.send(Out::Bytes(bytes));
        }
    }
    while let Some(conn) = broker.poll_close() {
        if let Some(out) = conns.remove(&conn) {
            let _ = out.send(Out::Close);
        }
    }
}

/// Resolves on SIGINT or SIGTERM.
fn shutdown_signal() -> std::pin::Pin<Box<dyn std::future::Future<Output = ()>>> {
    Box::pin(async {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            match signal(SignalKind::terminate()) {
                Ok(mut term) => {
                    tokio::select! {
                        _ = tokio::signal::ctrl_c() => {}
                        _ = term.recv() => {}
                    }
                }
                Err(_) => {
                    let _ = tokio::signal::ctrl_c().await;
                }
            }
        }
        #[cfg(not(unix))]
        {
            let _ = tokio::signal::ctrl_c().await;
        }
    })
}
