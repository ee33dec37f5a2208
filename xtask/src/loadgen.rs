//! The load generator of `cargo xtask bench broker`: MQTT 3.1.1 over loopback TCP with
//! TCP_NODELAY, the same for every broker. Publishers run closed loops: each keeps at
//! most `window` messages between its PUBLISH and their delivery to every subscriber.
//! Subscribers acknowledge as the QoS asks and time each message from the send time in its
//! first 8 bytes. Every run is bounded by a deadline.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Barrier;
use std::time::{Duration, Instant};
use tabmq_core::{
    decode, encode_to_vec, Ack, BytesMut, Connect, Packet, PacketId, ProtocolVersion, Publish, QoS,
    Subscribe, SubscribeFilter,
};

const V: ProtocolVersion = ProtocolVersion::V311;
const DEADLINE: Duration = Duration::from_secs(20);

/// One run's shape.
pub struct Load {
    pub qos: QoS,
    pub publishers: usize,
    pub subscribers: usize,
    pub payload: usize,
    /// Messages each publisher sends.
    pub messages: usize,
    pub window: usize,
}

/// What a run measured at the subscribers.
pub struct Outcome {
    /// Deliveries per second, over all subscribers.
    pub rate: f64,
    pub p99_ms: f64,
}

/// An MQTT connection with its read and write buffers. What a party answers to the packets
/// of one read leaves in one write, just before it waits for more: a generator that wrote
/// each acknowledgement on its own, and set its socket's timeout before every read, spent
/// more system calls per message than a broker (Mosquitto and tabmq broker alike) and set
/// the pace of the QoS 1 and 2 runs itself.
struct Conn {
    stream: TcpStream,
    inbox: BytesMut,
    /// Where reads land: allocated once, not per packet.
    scratch: Vec<u8>,
    /// Encoded packets not yet written.
    outbox: Vec<u8>,
}

/// How long one read waits before its caller looks at the clock and its stop flag again.
const READ_SLICE: Duration = Duration::from_millis(1);

impl Conn {
    fn open(addr: SocketAddr, client_id: &str, clean: bool) -> Result<Conn, String> {
        let stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5))
            .map_err(|e| format!("connect {addr}: {e}"))?;
        stream.set_nodelay(true).map_err(|e| e.to_string())?;
        stream
            .set_read_timeout(Some(READ_SLICE))
            .map_err(|e| e.to_string())?;
        let mut conn = Conn {
            stream,
            inbox: BytesMut::new(),
            scratch: vec![0; 65_536],
            outbox: Vec::new(),
        };
        conn.send(&Packet::Connect(Connect {
            protocol: V,
            client_id: client_id.to_owned(),
            clean_start: clean,
            keep_alive: 60,
            username: None,
            password: None,
            will: None,
            properties: Default::default(),
            ..Connect::default()
        }))?;
        match conn.next(Instant::now() + Duration::from_secs(5))? {
            Some(Packet::ConnAck(a)) if a.code.0 == 0 => Ok(conn),
            other => Err(format!("{client_id}: no CONNACK but {other:?}")),
        }
    }

    /// Writes `packet` now, with whatever was queued before it.
    fn send(&mut self, packet: &Packet) -> Result<(), String> {
        self.queue(packet)?;
        self.flush()
    }

    /// Queues `packet` for the next write.
    fn queue(&mut self, packet: &Packet) -> Result<(), String> {
        let bytes = encode_to_vec(packet, V).map_err(|e| e.to_string())?;
        self.outbox.extend_from_slice(&bytes);
        Ok(())
    }

    fn flush(&mut self) -> Result<(), String> {
        if self.outbox.is_empty() {
            return Ok(());
        }
        let result = self.stream.write_all(&self.outbox);
        self.outbox.clear();
        result.map_err(|e| e.to_string())
    }

    /// The next packet, or `None` at `deadline` (which a read may pass by up to
    /// [`READ_SLICE`]). What was queued is written before waiting for more to read.
    fn next(&mut self, deadline: Instant) -> Result<Option<Packet>, String> {
        loop {
            if let Some(p) = decode(&mut self.inbox, V, 1 << 20).map_err(|e| e.to_string())? {
                return Ok(Some(p));
            }
            self.flush()?;
            if Instant::now() >= deadline {
                return Ok(None);
            }
            match self.stream.read(&mut self.scratch) {
                Ok(0) => return Err("the broker closed the connection".into()),
                Ok(n) => self.inbox.extend_from_slice(&self.scratch[..n]),
                // A read timeout: try again until the deadline.
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) => {}
                Err(e) => return Err(e.to_string()),
            }
        }
    }

    /// One SUBSCRIBE, and its SUBACK.
    fn subscribe(&mut self, filter: String, qos: QoS) -> Result<(), String> {
        self.send(&Packet::Subscribe(Subscribe {
            packet_id: PacketId::MIN,
            filters: vec![SubscribeFilter::new(filter, qos)],
            properties: Default::default(),
        }))?;
        match self.next(Instant::now() + Duration::from_secs(5))? {
            Some(Packet::SubAck(_)) => Ok(()),
            other => Err(format!("no SUBACK but {other:?}")),
        }
    }

    /// A publisher's acknowledgement: PUBACK or PUBCOMP ends a flow, PUBREC gets its
    /// PUBREL.
    fn on_ack(&mut self, packet: Packet, unacked: &mut usize) -> Result<(), String> {
        match packet {
            Packet::PubAck(_) | Packet::PubComp(_) => *unacked = unacked.saturating_sub(1),
            Packet::PubRec(a) => self.queue(&Packet::PubRel(Ack::new(a.packet_id)))?,
            _ => {}
        }
        Ok(())
    }

    fn disconnect(mut self) {
        let _ = self.send(&Packet::disconnect());
    }
}

fn id(n: usize) -> PacketId {
    // 1..=65535 in turn; the windows are far smaller, so an id is free again by then.
    PacketId::new((n % 65_535 + 1) as u16).unwrap_or(PacketId::MIN)
}

struct Shared {
    epoch: Instant,
    /// Deliveries counted per publisher, over all subscribers.
    delivered: Vec<AtomicU64>,
    stop: AtomicBool,
}

fn subscriber(
    addr: SocketAddr,
    tag: &str,
    index: usize,
    load: &Load,
    shared: &Shared,
    ready: &Barrier,
) -> Result<Vec<f64>, String> {
    let setup = || {
        let mut conn = Conn::open(addr, &format!("{tag}-sub-{index}"), true)?;
        conn.subscribe(format!("bench/{tag}/#"), load.qos)?;
        Ok::<_, String>(conn)
    };
    let set_up = setup();
    // Every thread reaches the start line, failed or not, so that no one waits forever.
    ready.wait();
    let mut conn = set_up?;
    let expected = load.publishers * load.messages;
    let mut latencies = Vec::with_capacity(expected);
    let deadline = Instant::now() + DEADLINE;
    while latencies.len() < expected && !shared.stop.load(Ordering::Relaxed) {
        // Short waits, so that a failed peer's stop is seen.
        let Some(packet) = conn.next((Instant::now() + Duration::from_millis(50)).min(deadline))?
        else {
            if Instant::now() >= deadline {
                break;
            }
            continue;
        };
        match packet {
            Packet::Publish(p) => {
                // The send time, then the publisher's index: a broker that mangles them
                // fails the run rather than the generator.
                let (Some(stamp), Some(&from)) = (p.payload.get(..8), p.payload.get(8)) else {
                    return Err(format!(
                        "a delivery of {} bytes, too short",
                        p.payload.len()
                    ));
                };
                let mut sent = [0u8; 8];
                sent.copy_from_slice(stamp);
                let sent = u64::from_le_bytes(sent);
                let now = shared.epoch.elapsed().as_nanos() as u64;
                latencies.push(now.saturating_sub(sent) as f64 / 1e6);
                let from = usize::from(from);
                if let Some(counter) = shared.delivered.get(from) {
                    counter.fetch_add(1, Ordering::Relaxed);
                }
                match (p.qos, p.packet_id) {
                    (QoS::AtLeastOnce, Some(id)) => conn.queue(&Packet::PubAck(Ack::new(id)))?,
                    (QoS::ExactlyOnce, Some(id)) => conn.queue(&Packet::PubRec(Ack::new(id)))?,
                    _ => {}
                }
            }
            Packet::PubRel(a) => conn.queue(&Packet::PubComp(Ack::new(a.packet_id)))?,
            _ => {}
        }
    }
    conn.disconnect();
    Ok(latencies)
}

fn publisher(
    addr: SocketAddr,
    tag: &str,
    index: usize,
    load: &Load,
    shared: &Shared,
    ready: &Barrier,
) -> Result<(), String> {
    let set_up = Conn::open(addr, &format!("{tag}-pub-{index}"), true);
    ready.wait();
    let mut conn = set_up?;
    let mut payload = vec![0x61u8; load.payload.max(9)];
    payload[8] = index as u8;
    let deadline = Instant::now() + DEADLINE;
    let (mut sent, mut unacked) = (0usize, 0usize);
    let subscribers = load.subscribers as u64;
    while Instant::now() < deadline && !shared.stop.load(Ordering::Relaxed) {
        let delivered = shared.delivered[index].load(Ordering::Relaxed) / subscribers.max(1);
        if delivered >= load.messages as u64 {
            break;
        }
        let mut batch = Vec::new();
        while sent < load.messages
            && (sent as u64).saturating_sub(delivered) < load.window as u64
            && unacked < load.window
        {
            let stamp = shared.epoch.elapsed().as_nanos() as u64;
            payload[..8].copy_from_slice(&stamp.to_le_bytes());
            let publish = Publish {
                qos: load.qos,
                topic: format!("bench/{tag}/{index}").into(),
                packet_id: (load.qos != QoS::AtMostOnce).then(|| id(sent)),
                payload: payload.clone().into(),
                ..Publish::default()
            };
            batch.extend(encode_to_vec(&Packet::Publish(publish), V).map_err(|e| e.to_string())?);
            sent += 1;
            if load.qos != QoS::AtMostOnce {
                unacked += 1;
            }
        }
        let idle = batch.is_empty();
        if !idle {
            // After the PUBRELs queued since the last write.
            conn.outbox.extend_from_slice(&batch);
            conn.flush()?;
        }
        if load.qos == QoS::AtMostOnce {
            // Nothing comes back at QoS 0: wait a moment for deliveries to open the window,
            // rather than for a read to time out.
            if idle {
                std::thread::sleep(Duration::from_micros(20));
            }
            continue;
        }
        // Acknowledgements, or a short wait for deliveries to open the window.
        if let Some(packet) = conn.next(Instant::now() + Duration::from_millis(1))? {
            conn.on_ack(packet, &mut unacked)?;
        }
    }
    // Let the last acknowledgements in before DISCONNECT.
    let settle = Instant::now() + Duration::from_millis(200);
    while unacked > 0 && Instant::now() < settle {
        if let Some(packet) = conn.next(settle)? {
            conn.on_ack(packet, &mut unacked)?;
        }
    }
    conn.disconnect();
    Ok(())
}

/// A party's result; a failure stops the others.
fn stop_on_error<T>(shared: &Shared, result: Result<T, String>) -> Result<T, String> {
    if result.is_err() {
        shared.stop.store(true, Ordering::Relaxed);
    }
    result
}

/// Runs `load` against the broker at `addr`; `tag` keeps runs' topics and ids apart.
pub fn run(addr: SocketAddr, load: &Load, tag: &str) -> Result<Outcome, String> {
    let shared = Shared {
        epoch: Instant::now(),
        delivered: (0..load.publishers).map(|_| AtomicU64::new(0)).collect(),
        stop: AtomicBool::new(false),
    };
    let ready = Barrier::new(load.publishers + load.subscribers + 1);
    let (shared, ready) = (&shared, &ready);
    let (mut latencies, seconds) = std::thread::scope(|scope| {
        let subs: Vec<_> = (0..load.subscribers)
            .map(|i| {
                scope.spawn(move || {
                    stop_on_error(shared, subscriber(addr, tag, i, load, shared, ready))
                })
            })
            .collect();
        let pubs: Vec<_> = (0..load.publishers)
            .map(|i| {
                scope.spawn(move || {
                    stop_on_error(shared, publisher(addr, tag, i, load, shared, ready))
                })
            })
            .collect();
        ready.wait();
        let start = Instant::now();
        let mut latencies = Vec::new();
        for s in subs {
            latencies.extend(s.join().map_err(|_| "a subscriber panicked")??);
        }
        let seconds = start.elapsed().as_secs_f64();
        for p in pubs {
            p.join().map_err(|_| "a publisher panicked")??;
        }
        Ok::<_, String>((latencies, seconds))
    })?;
    if latencies.is_empty() {
        return Err("nothing was delivered".into());
    }
    latencies.sort_by(f64::total_cmp);
    let at = |q: f64| latencies[((q * latencies.len() as f64) as usize).min(latencies.len() - 1)];
    Ok(Outcome {
        rate: latencies.len() as f64 / seconds,
        p99_ms: at(0.99),
    })
}

/// Opens `count` persistent sessions (clean session off, one QoS 1 subscription each) and
/// leaves them idle, disconnected.
pub fn idle_sessions(addr: SocketAddr, count: usize, tag: &str) -> Result<(), String> {
    for i in 0..count {
        let mut conn = Conn::open(addr, &format!("{tag}-idle-{i}"), false)?;
        conn.subscribe(format!("idle/{i}/#"), QoS::AtLeastOnce)?;
        conn.disconnect();
        // rumqttd 0.20.0 reuses a connection id while it still tears the last one down,
        // and then closes the next connection ("no-connection id 0 is already gone" in its
        // log): a moment between sessions, for every broker alike. This run measures
        // memory, not how fast sessions come.
        std::thread::sleep(Duration::from_millis(1));
    }
    Ok(())
}

/// Opens `count` connections (clean session, no subscription) and holds them: the caller
/// measures the broker while they are open, and closes them by dropping the result.
pub fn idle_connections(
    addr: SocketAddr,
    count: usize,
    tag: &str,
) -> Result<Vec<TcpStream>, String> {
    (0..count)
        .map(|i| Conn::open(addr, &format!("{tag}-held-{i}"), true).map(|c| c.stream))
        .collect()
}
