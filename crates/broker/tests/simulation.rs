//! Deterministic simulation of the QoS promises: client engines and the broker core joined
//! by a simulated network and clock, with connections cut at every packet boundary of small
//! scenarios and at random points over 10,000 seeded schedules, with reconnects, half-open
//! connections, and client and broker restarts from serialized state.
//!
//! For every schedule: QoS 0 arrives at most once, QoS 1 at least once, QoS 2 exactly once;
//! every packet id is free at the end; nothing grows without bound.
//!
//! A failing seed reproduces alone: `TABMQ_SIM_SEED=<seed> cargo test -p tabmq-broker --test simulation`.

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;
#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

use std::collections::{BTreeMap, VecDeque};
use tabmq_broker::{Broker, BrokerConfig, ConnId};
use tabmq_core::*;

mod support;

use support::{env_seed, Rng};

/// One client and its link to the broker.
struct Node {
    options: ClientOptions,
    engine: ClientEngine,
    /// The broker's id for the live connection, if any.
    conn: Option<ConnId>,
    to_broker: VecDeque<u8>,
    to_client: VecDeque<u8>,
    events: Vec<ClientEvent>,
}

impl Node {
    fn new(id: &str, protocol: ProtocolVersion) -> Node {
        let options = ClientOptions {
            protocol,
            client_id: id.into(),
            clean_session: false,
            session_expiry_interval: Some(u32::MAX),
            keep_alive: 0,
            ..ClientOptions::default()
        };
        Node {
            engine: ClientEngine::new(options.clone(), ClientSession::new()),
            options,
            conn: None,
            to_broker: VecDeque::new(),
            to_client: VecDeque::new(),
            events: Vec::new(),
        }
    }
}

struct World {
    broker: Broker,
    nodes: Vec<Node>,
    now: u64,
}

const PUBLISHER: usize = 0;
const SUBSCRIBER: usize = 1;
/// Stands for the broker where a test picks what to restart.
const BROKER: usize = 2;

impl World {
    fn new(protocol: ProtocolVersion) -> World {
        let mut world = World {
            broker: Broker::new(BrokerConfig::default()),
            nodes: vec![
                Node::new("publisher", protocol),
                Node::new("subscriber", protocol),
            ],
            now: 1_000,
        };
        for n in 0..2 {
            world.reconnect(n);
        }
        world.settle();
        let now = world.at();
        world.nodes[SUBSCRIBER]
            .engine
            .subscribe(vec![SubscribeFilter::new("sim/#", QoS::ExactlyOnce)], now)
            .expect("subscribe");
        world.collect();
        world.settle();
        assert!(
            world.nodes[SUBSCRIBER]
                .events
                .iter()
                .any(|e| matches!(e, ClientEvent::Subscribed { .. })),
            "the subscription is in place before anything is published"
        );
        world
    }

    fn at(&self) -> Instant {
        Instant::from_millis(self.now)
    }

    /// Moves what each engine and the broker produced onto the wires.
    fn collect(&mut self) {
        for node in &mut self.nodes {
            while let Some(bytes) = node.engine.poll_transmit() {
                if node.conn.is_some() {
                    node.to_broker.extend(bytes.iter());
                }
            }
            while let Some(e) = node.engine.poll_event() {
                node.events.push(e);
            }
        }
        while let Some((conn, bytes)) = self.broker.poll_transmit() {
            if let Some(node) = self.nodes.iter_mut().find(|n| n.conn == Some(conn)) {
                node.to_client.extend(bytes.iter());
            }
        }
        while let Some(conn) = self.broker.poll_close() {
            if let Some(node) = self.nodes.iter_mut().find(|n| n.conn == Some(conn)) {
                // The broker closed it: whatever is on the wire still arrives first.
                let pending: Vec<u8> = node.to_client.drain(..).collect();
                node.engine
                    .handle_bytes(&pending, Instant::from_millis(self.now));
                node.engine.connection_lost(Instant::from_millis(self.now));
                node.conn = None;
                node.to_broker.clear();
            }
        }
    }

    /// Delivers up to `max` bytes one way on node `n`'s link.
    fn deliver(&mut self, n: usize, to_broker: bool, max: usize) {
        let now = self.at();
        let node = &mut self.nodes[n];
        let Some(conn) = node.conn else { return };
        let wire = if to_broker {
            &mut node.to_broker
        } else {
            &mut node.to_client
        };
        let take = max.min(wire.len());
        if take == 0 {
            return;
        }
        let chunk: Vec<u8> = wire.drain(..take).collect();
        if to_broker {
            self.broker.handle_bytes(conn, &chunk, now);
        } else {
            node.engine.handle_bytes(&chunk, now);
        }
        self.collect();
    }

    /// Cuts node `n`'s connection. `half_open`: only the client notices; the broker finds
    /// out when the client comes back and takes the session over.
    fn cut(&mut self, n: usize, half_open: bool) {
        let now = self.at();
        let node = &mut self.nodes[n];
        let Some(conn) = node.conn.take() else { return };
        node.to_broker.clear();
        node.to_client.clear();
        node.engine.connection_lost(now);
        if !half_open {
            self.broker.close(conn, now);
        }
        self.collect();
    }

    fn reconnect(&mut self, n: usize) {
        if self.nodes[n].conn.is_some() {
            return;
        }
        let now = self.at();
        let conn = self.broker.accept(now);
        let node = &mut self.nodes[n];
        node.conn = Some(conn);
        node.engine
            .connect(now)
            .expect("connect while disconnected");
        self.collect();
    }

    /// Replaces node `n`'s engine with one restored from its serialized session.
    fn restart(&mut self, n: usize) {
        self.cut(n, false);
        let node = &mut self.nodes[n];
        let bytes = node.engine.session().to_bytes();
        let session = ClientSession::from_bytes(&bytes).expect("a stored session loads");
        node.engine = ClientEngine::new(node.options.clone(), session);
    }

    /// Restarts the broker from its snapshot: every connection ends, both sides notice.
    fn restart_broker(&mut self) {
        let snapshot = self.broker.snapshot();
        let now = self.at();
        for node in &mut self.nodes {
            if node.conn.take().is_some() {
                node.to_broker.clear();
                node.to_client.clear();
                node.engine.connection_lost(now);
            }
        }
        self.broker =
            Broker::restore(BrokerConfig::default(), &snapshot).expect("a broker snapshot loads");
        self.collect();
    }

    /// Runs until no bytes move; bounded.
    fn settle(&mut self) {
        for _ in 0..10_000 {
            let moving = self
                .nodes
                .iter()
                .position(|n| !n.to_broker.is_empty() || !n.to_client.is_empty());
            let Some(n) = moving else { return };
            let to_broker = !self.nodes[n].to_broker.is_empty();
            self.deliver(n, to_broker, usize::MAX);
        }
        panic!("the network did not settle");
    }

    fn publish(&mut self, seq: usize, qos: QoS) -> Result<(), ClientError> {
        let now = self.at();
        let payload = Bytes::from(format!("{seq}"));
        self.nodes[PUBLISHER]
            .engine
            .publish(&format!("sim/{seq}"), payload, qos, false, now)?;
        self.collect();
        Ok(())
    }

    /// Memory stays bounded at every step: windows, queues, wires and connections.
    fn assert_bounded(&self, seed: u64) {
        for node in &self.nodes {
            let session = node.engine.session();
            let limit = usize::from(node.options.max_inflight);
            assert!(
                session.in_flight() <= limit,
                "seed {seed}: client in flight {}",
                session.in_flight()
            );
            assert!(
                session.queued() <= node.options.max_queued,
                "seed {seed}: client queue"
            );
            assert!(
                node.to_broker.len() + node.to_client.len() < 1 << 20,
                "seed {seed}: wires"
            );
            if let Some((in_flight, queued)) = self.broker.session_pending(&node.options.client_id)
            {
                assert!(in_flight <= 20, "seed {seed}: broker in flight {in_flight}");
                assert!(queued <= 1_000, "seed {seed}: broker queue {queued}");
            }
        }
        // Half-open connections linger until takeover or the connect timeout, no longer.
        assert!(
            self.broker.connection_count() <= 40,
            "seed {seed}: {} connections",
            self.broker.connection_count()
        );
    }

    /// Lets time pass: the broker reaps connections that never sent CONNECT.
    fn advance(&mut self, millis: u64) {
        self.now += millis;
        let now = self.at();
        self.broker.handle_timeout(now);
        self.collect();
    }

    /// Heals every link and runs to quiescence.
    fn heal(&mut self) {
        // Half-open connections that never sent CONNECT time out first.
        self.advance(11_000);
        for round in 0..20 {
            for n in 0..self.nodes.len() {
                self.reconnect(n);
            }
            self.settle();
            if self.nodes.iter().all(|n| n.conn.is_some()) {
                return;
            }
            assert!(round < 19, "links do not stay up");
        }
    }

    /// How often each payload arrived at the subscriber.
    fn deliveries(&self) -> BTreeMap<usize, usize> {
        let mut seen = BTreeMap::new();
        for e in &self.nodes[SUBSCRIBER].events {
            if let ClientEvent::Message(p) = e {
                let seq: usize = std::str::from_utf8(&p.payload).unwrap().parse().unwrap();
                *seen.entry(seq).or_insert(0) += 1;
            }
        }
        seen
    }
}

/// Checks the promises for messages `published` (sequence number to QoS).
fn check(world: &World, published: &BTreeMap<usize, QoS>, label: &str) {
    let seen = world.deliveries();
    for (seq, qos) in published {
        let n = seen.get(seq).copied().unwrap_or(0);
        match qos {
            QoS::AtMostOnce => assert!(n <= 1, "{label}: QoS 0 message {seq} arrived {n} times"),
            QoS::AtLeastOnce => assert!(n >= 1, "{label}: QoS 1 message {seq} was lost"),
            QoS::ExactlyOnce => assert_eq!(n, 1, "{label}: QoS 2 message {seq} arrived {n} times"),
        }
    }
    for node in &world.nodes {
        let lost = node
            .events
            .iter()
            .filter(|e| {
                matches!(
                    e,
                    ClientEvent::Lost {
                        reason: LostReason::SessionLost,
                        ..
                    }
                )
            })
            .count();
        assert_eq!(
            lost, 0,
            "{label}: the broker kept every session, so nothing is lost"
        );
        assert_eq!(
            node.engine.packet_ids_in_use(),
            0,
            "{label}: packet ids still taken"
        );
        assert!(
            node.engine.session().is_idle(),
            "{label}: {:?}",
            node.engine.session()
        );
        let (in_flight, queued) = world
            .broker
            .session_pending(&node.options.client_id)
            .expect("persistent session");
        assert_eq!(
            (in_flight, queued),
            (0, 0),
            "{label}: broker still holds messages"
        );
    }
    assert!(
        world.broker.connection_count() <= world.nodes.len(),
        "{label}: connections leak"
    );
}

fn qos_of(k: usize) -> QoS {
    QoS::from_u8((k % 3) as u8).unwrap()
}

/// One seeded schedule: publishes, partial deliveries, cuts, reconnects and restarts in a
/// random order, then healing.
fn run_schedule(seed: u64) {
    let mut rng = Rng(seed);
    let protocol = if rng.chance(50) {
        ProtocolVersion::V5
    } else {
        ProtocolVersion::V311
    };
    let mut world = World::new(protocol);
    let mut published = BTreeMap::new();
    let messages = 1 + rng.below(12) as usize;
    let mut next = 0;
    for _ in 0..400 {
        if next == messages && rng.chance(5) {
            break;
        }
        match rng.below(100) {
            0..=19 if next < messages => {
                let qos = QoS::from_u8(rng.below(3) as u8).unwrap();
                world.publish(next, qos).expect("publish");
                published.insert(next, qos);
                next += 1;
            }
            20..=69 => {
                let n = rng.below(2) as usize;
                let to_broker = rng.chance(50);
                let max = 1 + rng.below(40) as usize;
                world.deliver(n, to_broker, max);
            }
            70..=79 => {
                let n = rng.below(2) as usize;
                let half_open = rng.chance(30);
                world.cut(n, half_open);
            }
            80..=91 => {
                let n = rng.below(2) as usize;
                world.reconnect(n);
            }
            92..=95 => {
                let n = rng.below(2) as usize;
                world.restart(n);
            }
            96 => world.restart_broker(),
            _ => world.advance(rng.below(5_000)),
        }
        world.assert_bounded(seed);
    }
    while next < messages {
        let qos = QoS::from_u8(rng.below(3) as u8).unwrap();
        world.publish(next, qos).expect("publish");
        published.insert(next, qos);
        next += 1;
    }
    world.heal();
    let label = format!(
        "seed {seed} ({protocol:?}); reproduce with TABMQ_SIM_SEED={seed} cargo test -p tabmq-broker --test simulation"
    );
    check(&world, &published, &label);
}

#[test]
fn qos_promises_hold_over_seeded_random_schedules() {
    if let Some(seed) = env_seed() {
        return run_schedule(seed);
    }
    for seed in 0..10_000 {
        run_schedule(seed);
    }
}

/// A small scenario stepped one packet at a time, so a cut can be placed at each packet
/// boundary: three messages (QoS 0, 1, 2) from the publisher to the subscriber.
fn scenario_with_cut(
    protocol: ProtocolVersion,
    cut_node: usize,
    cut_after: usize,
    restart: bool,
) -> bool {
    let mut world = World::new(protocol);
    let mut published = BTreeMap::new();
    for k in 0..3 {
        world.publish(k, qos_of(k)).expect("publish");
        published.insert(k, qos_of(k));
    }
    let mut delivered = 0;
    let mut did_cut = false;
    for _ in 0..1_000 {
        // One whole packet at a time, alternating directions, publisher first.
        let moving = (0..2)
            .flat_map(|n| [(n, true), (n, false)])
            .find(|&(n, to_broker)| {
                let node = &world.nodes[n];
                if to_broker {
                    !node.to_broker.is_empty()
                } else {
                    !node.to_client.is_empty()
                }
            });
        let Some((n, to_broker)) = moving else { break };
        let node = &world.nodes[n];
        let wire = if to_broker {
            &node.to_broker
        } else {
            &node.to_client
        };
        let bytes: Vec<u8> = wire.iter().copied().collect();
        let len = decode_fixed_header(&bytes)
            .ok()
            .flatten()
            .map_or(bytes.len(), |h| h.frame_len());
        world.deliver(n, to_broker, len);
        delivered += 1;
        if delivered == cut_after && !did_cut {
            did_cut = true;
            if cut_node == BROKER {
                world.restart_broker();
            } else if restart {
                world.restart(cut_node);
            } else {
                world.cut(cut_node, false);
            }
        }
    }
    world.heal();
    let label =
        format!("{protocol:?}: cut of node {cut_node} after packet {cut_after}, restart {restart}");
    check(&world, &published, &label);
    did_cut
}

#[test]
fn qos_promises_hold_with_a_cut_at_every_packet_boundary() {
    for protocol in [ProtocolVersion::V311, ProtocolVersion::V5] {
        for cut_node in [PUBLISHER, SUBSCRIBER, BROKER] {
            for restart in [false, true] {
                let mut boundary = 1;
                // Until the scenario ends before the cut point: every boundary was tried.
                while scenario_with_cut(protocol, cut_node, boundary, restart) {
                    boundary += 1;
                    assert!(boundary < 200, "the scenario does not end");
                }
                assert!(
                    boundary > 8,
                    "the scenario should cross many packets, got {boundary}"
                );
            }
        }
    }
}
