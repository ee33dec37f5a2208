//! `tabmq broker`: the broker core over TCP, so any MQTT tool can reach it. One thread, non-blocking
//! sockets; the core does the protocol, this file only moves bytes and time.

use crate::Failure;
use std::collections::BTreeMap;
use std::io::{ErrorKind, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant as StdInstant};
use tabmq_broker::{Broker, BrokerConfig, ConnId};
use tabmq_core::Instant;

struct Peer {
    stream: TcpStream,
    /// Bytes the socket did not take yet.
    pending: Vec<u8>,
}

/// Writes what it can without blocking; false if the socket failed.
fn write_some(peer: &mut Peer) -> bool {
    while !peer.pending.is_empty() {
        match peer.stream.write(&peer.pending) {
            Ok(0) => return false,
            Ok(n) => {
                peer.pending.drain(..n);
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => return true,
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(_) => return false,
        }
    }
    true
}

/// `tabmq broker [-h HOST] [-p PORT]`: serves until killed.
pub fn serve(args: &[String]) -> Result<(), Failure> {
    let mut host = "127.0.0.1".to_owned();
    let mut port: u16 = 1883;
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let mut value = || {
            it.next()
                .cloned()
                .ok_or_else(|| Failure::input(format!("{flag} needs a value")))
        };
        match flag.as_str() {
            "-h" | "--host" => host = value()?,
            "-p" | "--port" => {
                let v = value()?;
                port = v
                    .parse()
                    .map_err(|_| Failure::input(format!("-p: {v:?} is not a port")))?;
            }
            other => {
                return Err(Failure::input(format!(
                    "tabmq broker: unknown option {other:?}"
                )))
            }
        }
    }
    let listener = TcpListener::bind((host.as_str(), port)).map_err(|e| Failure {
        message: format!("cannot listen on {host}:{port}: {e}"),
        status: 1,
    })?;
    listener
        .set_nonblocking(true)
        .map_err(|e| Failure::input(e.to_string()))?;
    let bound = listener
        .local_addr()
        .map_err(|e| Failure::input(e.to_string()))?;
    println!("tabmq broker listening on {bound}");
    let _ = std::io::stdout().flush();

    let start = StdInstant::now();
    let now = || Instant::from_millis(start.elapsed().as_millis() as u64);
    let mut broker = Broker::new(BrokerConfig::default());
    // In accept order: when several sockets have bytes, older connections go first, so a
    // client's earlier packets are not overtaken by a newer connection's.
    let mut peers: BTreeMap<ConnId, Peer> = BTreeMap::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let mut busy = false;
        while let Ok((stream, _)) = listener.accept() {
            if stream.set_nonblocking(true).is_ok() {
                let _ = stream.set_nodelay(true);
                let conn = broker.accept(now());
                peers.insert(
                    conn,
                    Peer {
                        stream,
                        pending: Vec::new(),
                    },
                );
                busy = true;
            }
        }
        let mut gone = Vec::new();
        for (&conn, peer) in peers.iter_mut() {
            loop {
                match peer.stream.read(&mut buf) {
                    Ok(0) => {
                        gone.push(conn);
                        break;
                    }
                    Ok(n) => {
                        broker.handle_bytes(conn, &buf[..n], now());
                        busy = true;
                    }
                    Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == ErrorKind::Interrupted => {}
                    Err(_) => {
                        gone.push(conn);
                        break;
                    }
                }
            }
        }
        for conn in gone {
            peers.remove(&conn);
            broker.close(conn, now());
        }
        if broker.poll_timeout().is_some_and(|t| t <= now()) {
            broker.handle_timeout(now());
        }
        while let Some((conn, bytes)) = broker.poll_transmit() {
            if let Some(peer) = peers.get_mut(&conn) {
                peer.pending.extend_from_slice(&bytes);
            }
        }
        let mut failed = Vec::new();
        for (&conn, peer) in peers.iter_mut() {
            if !write_some(peer) {
                failed.push(conn);
            }
        }
        for conn in failed {
            peers.remove(&conn);
            broker.close(conn, now());
        }
        while let Some(conn) = broker.poll_close() {
            if let Some(mut peer) = peers.remove(&conn) {
                // Last words (CONNACK refusals, DISCONNECT reasons) go out before the close.
                let _ = peer.stream.set_nonblocking(false);
                let _ = peer
                    .stream
                    .set_write_timeout(Some(Duration::from_millis(200)));
                let _ = peer.stream.write_all(&peer.pending);
                let _ = peer.stream.shutdown(std::net::Shutdown::Both);
            }
        }
        if !busy {
            std::thread::sleep(Duration::from_millis(1));
        }
    }
}
