//! `tabmq broker`: the broker core over TCP, WebSocket and TLS, so any MQTT tool can
//! reach it. One task owns the core; connection tasks only move bytes, and the core's
//! clock is the wall clock (ms since the Unix epoch) so persisted expiry deadlines survive
//! restarts. State is saved before anything that follows from it is sent.

mod conf;
mod conn_link;
mod log;
mod net;
mod passwords;
mod settings;
mod startup;
mod tls;

use crate::Failure;
use conf::{Listener, Protocol, ServerConfig};
use log::{Kind, Log};
use net::{Event, Link};
use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tabmq_broker::{Broker, ConnId, Flow};
use tabmq_core::Instant;
use tokio::net::TcpListener;
use tokio::sync::mpsc;

fn now() -> Instant {
    let ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    Instant::from_millis(ms)
}

/// `tabmq broker`: serves until SIGINT or SIGTERM, then shuts down gracefully; SIGHUP
/// reloads the password and ACL files.
pub fn serve(args: &[String]) -> Result<(), Failure> {
    let (conf, options) = startup::configure(args)?;
    without_thread_cache();
    keep_large_allocations_apart();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::input(e.to_string()))?;
    runtime.block_on(run(conf, options))
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

/// A connection, as the broker task holds it.
struct Handle {
    link: conn_link::BrokerEnd,
    /// Bytes handed to the connection task and not yet written.
    unwritten: usize,
}

/// Binds a listener: its address, or every interface (IPv6 with IPv4 beside it, or
/// IPv4 alone where IPv6 is off), as Mosquitto does without one.
async fn bind(listener: &Listener) -> std::io::Result<TcpListener> {
    match (&listener.address, listener.ipv4_only) {
        (Some(address), _) => TcpListener::bind((address.as_str(), listener.port)).await,
        (None, Some(true)) => TcpListener::bind(("0.0.0.0", listener.port)).await,
        (None, Some(false)) => TcpListener::bind(("::", listener.port)).await,
        (None, None) => match TcpListener::bind(("::", listener.port)).await {
            Ok(socket) => Ok(socket),
            Err(_) => TcpListener::bind(("0.0.0.0", listener.port)).await,
        },
    }
}

async fn listen(
    index: usize,
    listener: &Listener,
    nodelay: bool,
    events: &mpsc::UnboundedSender<Event>,
) -> Result<String, Failure> {
    let socket = bind(listener).await.map_err(|e| Failure {
        message: format!(
            "cannot listen on {}:{}: {e}",
            listener.address.as_deref().unwrap_or("*"),
            listener.port
        ),
        status: 1,
    })?;
    let bound = socket
        .local_addr()
        .map_err(|e| Failure::input(e.to_string()))?;
    let acceptor = if listener.tls_enabled() {
        let config = tls::server_config(&listener.tls).map_err(|e| Failure {
            message: format!("listener {}: {e}", listener.port),
            status: 1,
        })?;
        Some(tokio_rustls::TlsAcceptor::from(config))
    } else {
        None
    };
    let kind = match (listener.protocol, acceptor.is_some()) {
        (Protocol::Mqtt, false) => "mqtt",
        (Protocol::Mqtt, true) => "mqtt over TLS",
        (Protocol::WebSockets, false) => "websockets",
        (Protocol::WebSockets, true) => "websockets over TLS",
    };
    let (protocol, identity, tx) = (listener.protocol, listener.tls.identity, events.clone());
    tokio::spawn(async move {
        while let Ok((stream, peer)) = socket.accept().await {
            let _ = stream.set_nodelay(nodelay || protocol == Protocol::WebSockets);
            let link = Link {
                events: tx.clone(),
                peer: peer.to_string(),
                listener: index,
                identity: None,
            };
            // Each kind of connection is a task of its own type: one future covering all
            // four (with TLS's and WebSocket's handshakes) took 12 KB per connection, the
            // size of the largest, where a plain MQTT one needs a fraction of that.
            let task = match (&acceptor, protocol) {
                (None, Protocol::Mqtt) => tokio::spawn(net::serve_tcp(stream, link)),
                (None, Protocol::WebSockets) => tokio::spawn(net::serve_websocket(stream, link)),
                (Some(acceptor), _) => {
                    let acceptor = acceptor.clone();
                    tokio::spawn(serve_tls(acceptor, stream, link, protocol, identity))
                }
            };
            // Detached: the task ends with its connection.
            drop(task);
        }
    });
    Ok(format!("listening on {bound} ({kind})"))
}

/// A TLS connection: the handshake, then MQTT or WebSocket over it.
async fn serve_tls(
    acceptor: tokio_rustls::TlsAcceptor,
    stream: tokio::net::TcpStream,
    mut link: Link,
    protocol: Protocol,
    identity: Option<conf::CertIdentity>,
) {
    // A handshake that does not finish in time is dropped, like a CONNECT.
    let handshake = tokio::time::timeout(Duration::from_secs(10), acceptor.accept(stream));
    let Ok(Ok(stream)) = handshake.await else {
        return;
    };
    if let Some(field) = identity {
        link.identity = stream
            .get_ref()
            .1
            .peer_certificates()
            .and_then(|chain| chain.first())
            .and_then(|cert| tls::identity(cert, field));
    }
    match protocol {
        Protocol::Mqtt => {
            let (rd, wr) = tokio::io::split(stream);
            net::serve_stream(rd, wr, link).await;
        }
        Protocol::WebSockets => net::serve_websocket(stream, link).await,
    }
}

async fn run(conf: ServerConfig, options: startup::Options) -> Result<(), Failure> {
    let mut log = Log::new(conf.log.clone(), options.verbose).map_err(Failure::input)?;
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
    for (index, listener) in conf.listeners.iter().enumerate() {
        let line = listen(index, listener, conf.tcp_nodelay, &events_tx).await?;
        // Printed on stdout too: scripts and tests wait for it.
        println!("tabmq broker {line}");
        log.line(Kind::Notice, &line);
    }
    let _ = std::io::stdout().flush();
    drop(events_tx);
    if let Some(pid_file) = &conf.pid_file {
        std::fs::write(pid_file, format!("{}\n", std::process::id()))
            .map_err(|e| Failure::input(format!("pid_file {}: {e}", pid_file.display())))?;
    }

    let mut conns: HashMap<ConnId, Handle> = HashMap::new();
    let mut trim = tokio::time::interval(Duration::from_secs(2));
    trim.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut busy_since_trim = false;
    let mut stop = signals::shutdown();
    let mut hangup = signals::hangup();
    loop {
        let wait = broker
            .poll_timeout()
            .map_or(Duration::from_secs(3600), |at| at - now());
        let mut changed = false;
        tokio::select! {
            event = events.recv() => {
                let Some(event) = event else { break };
                changed |= handle(&mut broker, &mut conns, event, &mut log);
                // Take what else has arrived, so it is saved and answered in one go.
                for _ in 0..256 {
                    match events.try_recv() {
                        Ok(event) => changed |= handle(&mut broker, &mut conns, event, &mut log),
                        Err(_) => break,
                    }
                }
            }
            _ = tokio::time::sleep(wait) => {
                broker.handle_timeout(now());
                changed = true;
            }
            _ = hangup.recv() => {
                reload(&mut broker, options.conf_file.as_deref(), &mut log);
                changed = true;
            }
            _ = trim.tick() => {
                if std::mem::take(&mut busy_since_trim) {
                    broker.shrink();
                    conns.shrink_to_fit();
                    release_free_memory();
                }
            }
            _ = &mut stop => {
                // What already arrived is handled first, as Mosquitto reads its ready
                // sockets before it stops: a PUBACK sent just before the signal must not
                // come back as a resend after the restart. The connection tasks get a few
                // short turns to read what their sockets hold.
                for _ in 0..5 {
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    let mut handled = 0;
                    while let Ok(event) = events.try_recv() {
                        handle(&mut broker, &mut conns, event, &mut log);
                        handled += 1;
                        if handled >= 100_000 {
                            break;
                        }
                    }
                    if handled == 0 {
                        break;
                    }
                }
                broker.shutdown(now());
                transmit(&mut broker, &mut conns);
                if let Some(path) = &store {
                    save(path, &broker.snapshot()).map_err(|e| Failure::input(format!("{}: {e}", path.display())))?;
                }
                // Let the writers send the DISCONNECTs.
                tokio::time::sleep(Duration::from_millis(100)).await;
                if let Some(pid_file) = &conf.pid_file {
                    let _ = std::fs::remove_file(pid_file);
                }
                log.line(Kind::Notice, "tabmq broker shut down");
                return Ok(());
            }
        }
        busy_since_trim |= changed;
        // Saved before anything is acknowledged: a PUBACK is a promise that survives a
        // restart.
        if let (Some(path), true) = (&store, changed) {
            if let Err(e) = save(path, &broker.snapshot()) {
                log.line(Kind::Error, &format!("cannot save {}: {e}", path.display()));
            }
        }
        transmit(&mut broker, &mut conns);
    }
    Ok(())
}

/// Runs the broker with glibc's per-thread cache off. That cache keeps freed blocks
/// scattered through the heap, out of `malloc_trim`'s reach: after a burst (100,000
/// subscriptions come and gone) about 0.5 MB stayed resident for good, 13% over the
/// start. glibc reads its tunables only when a process starts, so the broker sets the
/// tunable and executes itself again (same pid, same arguments). Measured cost: about 7%
/// more CPU under a flood of 200,000 messages.
fn without_thread_cache() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        use std::os::unix::process::CommandExt;
        const TUNABLE: &str = "glibc.malloc.tcache_count=0";
        let current = std::env::var("GLIBC_TUNABLES").unwrap_or_default();
        if current.contains("glibc.malloc.tcache_count") {
            return;
        }
        let Ok(exe) = std::env::current_exe() else {
            return;
        };
        let value = if current.is_empty() {
            TUNABLE.to_owned()
        } else {
            format!("{current}:{TUNABLE}")
        };
        let error = std::process::Command::new(exe)
            .args(std::env::args_os().skip(1))
            .env("GLIBC_TUNABLES", value)
            .exec();
        // exec returns only when it failed: the broker runs on as it is.
        eprintln!("tabmq broker: running with glibc's thread cache on ({error})");
    }
}

/// Large allocations (a session's 10,000 subscriptions, a queue of 50,000 messages) get
/// pages of their own, handed back whole when freed. glibc would otherwise raise this
/// threshold as large blocks are freed and serve the next from its heap, where what
/// lives on beside them keeps the pages.
fn keep_large_allocations_apart() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt sets a glibc allocator parameter; it takes no pointers.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 128 * 1024);
    }
}

/// Hands memory freed since the last call back to the system. glibc's allocator keeps
/// freed memory for reuse, so after a burst (a flood, 100,000 subscriptions gone) the
/// broker would otherwise stay at its peak; this runs at most every 2 s, after activity.
fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only walks glibc's own heap; it takes no pointers of ours.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// SIGHUP: the configuration file is read again and its security options (password
/// and ACL files, anonymous access) replace the running ones; clients they no longer
/// admit are disconnected, as Mosquitto does.
fn reload(broker: &mut Broker, conf_file: Option<&Path>, log: &mut Log) {
    let result = startup::read_conf(conf_file).and_then(|mut conf| {
        if conf.listeners.is_empty() {
            conf.listeners.push(Listener::new(1883, None));
        }
        startup::load_security(&mut conf)?;
        Ok(conf)
    });
    match result {
        Ok(conf) => {
            let securities = conf
                .broker
                .listeners
                .into_iter()
                .map(|l| l.security)
                .collect();
            broker.reload_security(securities, now());
            log.line(Kind::Notice, "reloaded the security configuration");
        }
        Err(e) => log.line(
            Kind::Warning,
            &format!(
                "reload failed, keeping the running configuration: {}",
                e.message
            ),
        ),
    }
}

fn handle(
    broker: &mut Broker,
    conns: &mut HashMap<ConnId, Handle>,
    event: Event,
    log: &mut Log,
) -> bool {
    match event {
        Event::Open {
            peer,
            listener,
            identity,
            link,
            id,
        } => {
            let conn = broker.accept_on(listener, identity, now());
            if log.connection_messages() {
                log.line(
                    Kind::Notice,
                    &format!(
                        "New connection {} from {peer} on listener {listener}.",
                        conn.0
                    ),
                );
            }
            conns.insert(conn, Handle { link, unwritten: 0 });
            let _ = id.send(conn);
            false
        }
        Event::Data(conn, bytes, _credit) => {
            broker.handle_bytes(conn, &bytes, now());
            true
        }
        Event::Written(conn, n) => {
            if let Some(handle) = conns.get_mut(&conn) {
                handle.unwritten = handle.unwritten.saturating_sub(n);
                broker.handle_backlog(conn, handle.unwritten, now());
            }
            false
        }
        Event::Closed(conn) => {
            if conns.remove(&conn).is_some() && log.connection_messages() {
                log.line(Kind::Notice, &format!("Connection {} closed.", conn.0));
            }
            broker.close(conn, now());
            true
        }
    }
}

fn transmit(broker: &mut Broker, conns: &mut HashMap<ConnId, Handle>) {
    while let Some((conn, bytes)) = broker.poll_transmit() {
        if let Some(handle) = conns.get_mut(&conn) {
            handle.unwritten += bytes.len();
            handle.link.send(bytes);
        }
    }
    while let Some((conn, flow)) = broker.poll_flow() {
        if let Some(handle) = conns.get(&conn) {
            handle.link.set_paused(flow == Flow::Pause);
        }
    }
    while let Some(conn) = broker.poll_close() {
        // Dropping its link ends the connection once what is queued is written.
        conns.remove(&conn);
    }
}

mod signals {
    use std::future::Future;
    use std::pin::Pin;

    /// Resolves on SIGINT or SIGTERM.
    pub fn shutdown() -> Pin<Box<dyn Future<Output = ()>>> {
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

    /// SIGHUPs, as a stream of wake-ups (never, where there are no signals).
    pub struct Hangup {
        #[cfg(unix)]
        inner: Option<tokio::signal::unix::Signal>,
    }

    impl Hangup {
        pub async fn recv(&mut self) {
            #[cfg(unix)]
            if let Some(signal) = &mut self.inner {
                if signal.recv().await.is_some() {
                    return;
                }
            }
            std::future::pending::<()>().await
        }
    }

    pub fn hangup() -> Hangup {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{signal, SignalKind};
            Hangup {
                inner: signal(SignalKind::hangup()).ok(),
            }
        }
        #[cfg(not(unix))]
        {
            Hangup {}
        }
    }
}
