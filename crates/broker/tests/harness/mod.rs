// Shared by several test binaries; each uses only part of it.
#![allow(dead_code)]

//! Client engines and the broker joined by a simulated network and a simulated clock.

use tabmq_broker::{Broker, BrokerConfig, ConnId};
use tabmq_core::*;

pub struct Sim {
    pub broker: Broker,
    pub now: Instant,
    pub clients: Vec<SimClient>,
}

pub struct SimClient {
    pub conn: ConnId,
    pub engine: ClientEngine,
    pub events: Vec<ClientEvent>,
    /// Closed by the broker or by us.
    pub closed: bool,
}

impl SimClient {
    pub fn messages(&self) -> Vec<&Publish> {
        self.events
            .iter()
            .filter_map(|e| match e {
                ClientEvent::Message(p) => Some(p),
                _ => None,
            })
            .collect()
    }

    pub fn payloads(&self) -> Vec<String> {
        self.messages()
            .iter()
            .map(|p| String::from_utf8_lossy(&p.payload).into_owned())
            .collect()
    }
}

impl Sim {
    pub fn new() -> Self {
        Sim::with_config(BrokerConfig::default())
    }

    pub fn with_config(config: BrokerConfig) -> Self {
        Sim {
            broker: Broker::new(config),
            now: Instant::from_millis(1_000),
            clients: Vec::new(),
        }
    }

    /// Connects a client and runs the network until quiet; returns its index.
    pub fn connect(&mut self, options: ClientOptions) -> usize {
        let conn = self.broker.accept(self.now);
        let mut engine = ClientEngine::new(options, ClientSession::new());
        engine.connect(self.now).unwrap();
        self.clients.push(SimClient {
            conn,
            engine,
            events: Vec::new(),
            closed: false,
        });
        self.run();
        self.clients.len() - 1
    }

    pub fn client(id: &str) -> ClientOptions {
        ClientOptions {
            client_id: id.into(),
            ..ClientOptions::default()
        }
    }

    pub fn subscribe(&mut self, c: usize, filter: &str, qos: QoS) {
        let now = self.now;
        self.clients[c]
            .engine
            .subscribe(vec![SubscribeFilter::new(filter, qos)], now)
            .unwrap();
        self.run();
    }

    pub fn publish(&mut self, c: usize, topic: &str, payload: &str, qos: QoS, retain: bool) {
        let now = self.now;
        self.clients[c]
            .engine
            .publish(topic, Bytes::from(payload.to_owned()), qos, retain, now)
            .unwrap();
        self.run();
    }

    /// Drops client `c`'s transport without DISCONNECT.
    pub fn cut(&mut self, c: usize) {
        self.clients[c].closed = true;
        let conn = self.clients[c].conn;
        self.broker.close(conn, self.now);
        self.run();
    }

    pub fn advance(&mut self, millis: u64) {
        self.now = Instant::from_millis(self.now.as_millis() + millis);
        let now = self.now;
        self.broker.handle_timeout(now);
        for c in &mut self.clients {
            if !c.closed {
                c.engine.handle_timeout(now);
            }
        }
        self.run();
    }

    /// Moves bytes both ways until nothing is left to move; bounded so a livelock fails.
    pub fn run(&mut self) {
        let now = self.now;
        for _ in 0..1_000 {
            let mut moved = false;
            for c in &mut self.clients {
                while let Some(bytes) = c.engine.poll_transmit() {
                    moved = true;
                    if !c.closed {
                        self.broker.handle_bytes(c.conn, &bytes, now);
                    }
                }
                while let Some(e) = c.engine.poll_event() {
                    if matches!(e, ClientEvent::Closed(_)) {
                        c.closed = true;
                    }
                    c.events.push(e);
                }
            }
            while let Some((conn, bytes)) = self.broker.poll_transmit() {
                moved = true;
                if let Some(c) = self.clients.iter_mut().find(|c| c.conn == conn) {
                    if !c.closed {
                        c.engine.handle_bytes(&bytes, now);
                    }
                }
            }
            while let Some(conn) = self.broker.poll_close() {
                moved = true;
                if let Some(c) = self.clients.iter_mut().find(|c| c.conn == conn) {
                    c.closed = true;
                }
            }
            if !moved {
                return;
            }
        }
        panic!("the network did not go quiet in 1000 rounds");
    }
}

/// Packets as bytes, MQTT 5-encoded.
pub fn wire(packets: &[Packet]) -> Vec<u8> {
    wire_as(ProtocolVersion::V5, packets)
}

pub fn wire_as(version: ProtocolVersion, packets: &[Packet]) -> Vec<u8> {
    let mut out = BytesMut::new();
    for p in packets {
        encode(p, version, &mut out).unwrap();
    }
    out.to_vec()
}

/// Every packet the broker sent on any connection, decoded as MQTT 5.
pub fn sent(broker: &mut Broker) -> Vec<Packet> {
    sent_by_conn(broker).into_iter().map(|(_, p)| p).collect()
}

/// Every packet the broker sent, with its connection, decoded as MQTT 5.
pub fn sent_by_conn(broker: &mut Broker) -> Vec<(ConnId, Packet)> {
    let mut packets = Vec::new();
    while let Some((conn, bytes)) = broker.poll_transmit() {
        let mut buf = BytesMut::from(&bytes[..]);
        while let Some(p) = decode(&mut buf, ProtocolVersion::V5, usize::MAX).unwrap() {
            packets.push((conn, p));
        }
    }
    packets
}

pub fn v5_connect(id: &str, properties: Properties) -> Packet {
    Packet::Connect(Connect {
        protocol: ProtocolVersion::V5,
        client_id: id.into(),
        clean_start: true,
        properties,
        ..Connect::default()
    })
}

/// A broker driven with raw packets: for what the client engine would never send, and for
/// MQTT 5 properties on SUBSCRIBE.
pub struct Raw {
    pub broker: Broker,
    pub now: Instant,
    /// Sent and not yet taken.
    pub pending: Vec<(ConnId, Packet)>,
    /// How to decode what each connection is sent.
    versions: std::collections::HashMap<ConnId, ProtocolVersion>,
}

impl Raw {
    pub fn new(config: BrokerConfig) -> Raw {
        Raw::over(Broker::new(config), Instant::from_millis(1_000))
    }

    pub fn over(broker: Broker, now: Instant) -> Raw {
        Raw {
            broker,
            now,
            pending: Vec::new(),
            versions: Default::default(),
        }
    }

    /// A new connection that sends `connect`; returns it with the CONNACK.
    pub fn connect(&mut self, connect: Packet) -> (ConnId, ConnAck) {
        let version = match &connect {
            Packet::Connect(c) => c.protocol,
            _ => ProtocolVersion::V5,
        };
        let conn = self.broker.accept(self.now);
        self.versions.insert(conn, version);
        self.broker
            .handle_bytes(conn, &wire_as(version, &[connect]), self.now);
        let mut answers = self.take(conn);
        // What follows CONNACK (a resumed session's messages) stays for the test to take.
        let rest: Vec<(ConnId, Packet)> = answers
            .drain(1.min(answers.len())..)
            .map(|p| (conn, p))
            .collect();
        self.pending.splice(0..0, rest);
        match answers.first() {
            Some(Packet::ConnAck(ack)) => (conn, ack.clone()),
            other => panic!("no CONNACK: {other:?}"),
        }
    }

    pub fn send(&mut self, conn: ConnId, packets: &[Packet]) {
        self.broker.handle_bytes(conn, &wire(packets), self.now);
    }

    /// What the broker sent to `conn`; what it sent to others stays.
    pub fn take(&mut self, conn: ConnId) -> Vec<Packet> {
        let all = self.take_all();
        let (mine, others): (Vec<_>, Vec<_>) = all.into_iter().partition(|(c, _)| *c == conn);
        self.pending = others;
        mine.into_iter().map(|(_, p)| p).collect()
    }

    /// Everything sent, per connection.
    pub fn take_all(&mut self) -> Vec<(ConnId, Packet)> {
        let mut all = std::mem::take(&mut self.pending);
        while let Some((conn, bytes)) = self.broker.poll_transmit() {
            let version = self
                .versions
                .get(&conn)
                .copied()
                .unwrap_or(ProtocolVersion::V5);
            let mut buf = BytesMut::from(&bytes[..]);
            while let Some(p) = decode(&mut buf, version, usize::MAX).unwrap() {
                all.push((conn, p));
            }
        }
        all
    }

    pub fn advance(&mut self, millis: u64) {
        self.now = Instant::from_millis(self.now.as_millis() + millis);
        self.broker.handle_timeout(self.now);
    }

    pub fn closed(&mut self) -> Vec<ConnId> {
        std::iter::from_fn(|| self.broker.poll_close()).collect()
    }
}

pub fn pid(n: u16) -> PacketId {
    PacketId::new(n).unwrap()
}

pub fn subscribe_packet(n: u16, filters: Vec<SubscribeFilter>, properties: Properties) -> Packet {
    Packet::Subscribe(Subscribe {
        packet_id: pid(n),
        filters,
        properties,
    })
}

pub fn publish_packet(topic: &str, payload: &str, qos: QoS, id: Option<u16>) -> Publish {
    Publish {
        dup: false,
        qos,
        retain: false,
        topic: topic.into(),
        packet_id: id.map(pid),
        payload: Bytes::from(payload.to_owned()),
        properties: Properties::default(),
    }
}

/// The PUBLISH packets among `packets`.
pub fn publishes(packets: &[Packet]) -> Vec<&Publish> {
    packets
        .iter()
        .filter_map(|p| match p {
            Packet::Publish(p) => Some(p),
            _ => None,
        })
        .collect()
}
