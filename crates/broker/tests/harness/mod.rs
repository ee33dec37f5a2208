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
