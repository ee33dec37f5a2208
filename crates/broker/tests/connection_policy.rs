//! Deterministic simulation of the client's connection policy: two [`ClientMachine`]s and
//! the broker core on a simulated clock and network, driven exactly as the npm package,
//! the web-sys client and `tabmq pub/sub` drive them (store, transmit and act, events,
//! one timer). Seeded schedules throw at them reconnect storms, online/offline flapping,
//! brokers that keep the session and brokers that lose it, commands of every kind while
//! offline, page reloads (with a crash between storing the session and sending), and clock
//! jumps.
//!
//! For every schedule: every command completes exactly once; a completed QoS 1 message
//! arrives at least once and QoS 2 exactly once while the broker keeps sessions; timers
//! never spin; a subscription survives a broker that lost it.
//!
//! A failing seed reproduces alone: `TABMQ_SIM_SEED=<seed> cargo test -p tabmq-broker --test connection_policy`.

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;
#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;
use tabmq_broker::{Broker, BrokerConfig, ConnId};
use tabmq_core::*;

mod support;

use support::{env_seed, Rng};

/// One page: a machine, its storage, and its transport to the broker.
struct Host {
    options: ClientOptions,
    policy: ConnectionPolicy,
    machine: ClientMachine,
    /// What IndexedDB holds.
    stored: Option<Vec<u8>>,
    /// A write under way: durable once it completes, lost if the page dies first.
    writing: Option<(u64, Vec<u8>)>,
    opening: Vec<TransportId>,
    link: Option<(TransportId, ConnId)>,
    /// Tokens issued by this page's life, and their outcomes.
    issued: BTreeMap<u64, (QoS, Option<u64>)>,
    outcomes: BTreeMap<u64, Vec<Outcome>>,
    /// The application's log of messages, which survives a reload.
    received: Vec<Publish>,
    connected: u32,
    /// Local clock offset, for clock jumps.
    skew: i64,
}

impl Host {
    fn new(id: &str, seed: u64) -> Host {
        let options = ClientOptions {
            protocol: ProtocolVersion::V5,
            client_id: id.into(),
            clean_session: false,
            session_expiry_interval: Some(u32::MAX),
            keep_alive: 30,
            ..ClientOptions::default()
        };
        let policy = ConnectionPolicy {
            reconnect: Some(Backoff::new(
                Duration::from_millis(100),
                Duration::from_secs(5),
            )),
            connect_timeout: Some(Duration::from_secs(3)),
            persist: true,
            seed,
            ..ConnectionPolicy::default()
        };
        let machine = ClientMachine::new(
            options.clone(),
            policy.clone(),
            BrokerUrl::parse("ws://sim").unwrap(),
            ClientSession::new(),
        );
        Host {
            options,
            policy,
            machine,
            stored: None,
            writing: None,
            opening: Vec::new(),
            link: None,
            issued: BTreeMap::new(),
            outcomes: BTreeMap::new(),
            received: Vec::new(),
            connected: 0,
            skew: 0,
        }
    }

    /// The page reloads: the machine is gone, its storage stays. Commands it had taken
    /// died with the page.
    fn reload(&mut self, broker: &mut Broker, now: Instant, write_landed: bool) {
        if let Some((_, conn)) = self.link.take() {
            broker.close(conn, now);
        }
        self.opening.clear();
        if let Some((_, bytes)) = self.writing.take() {
            if write_landed {
                // The store finished, the page died before hearing so: before sending.
                self.stored = Some(bytes);
            }
        }
        let session = match &self.stored {
            Some(bytes) => ClientSession::from_bytes(bytes).expect("stored session decodes"),
            None => ClientSession::new(),
        };
        self.policy.seed = self.policy.seed.wrapping_add(1);
        self.machine = ClientMachine::new(
            self.options.clone(),
            self.policy.clone(),
            BrokerUrl::parse("ws://sim").unwrap(),
            session,
        );
        for (token, _) in std::mem::take(&mut self.issued) {
            assert!(
                self.outcomes.remove(&token).is_none_or(|o| o.len() <= 1),
                "token {token} completed twice"
            );
        }
        self.outcomes.clear();
    }
}

struct World {
    rng: Rng,
    broker: Broker,
    broker_up: bool,
    hosts: Vec<Host>,
    now: u64,
    next_token: u64,
    next_message: u64,
    /// Message number -> QoS, for publishes whose command succeeded.
    acked: BTreeMap<u64, QoS>,
    /// A broker restart lost sessions: QoS promises are void for what was in flight.
    sessions_lost: bool,
    log: Vec<String>,
}

const PUB: usize = 0;
const SUB: usize = 1;

impl World {
    fn new(seed: u64) -> World {
        let mut world = World {
            rng: Rng(seed),
            broker: Broker::new(BrokerConfig::default()),
            broker_up: true,
            hosts: vec![Host::new("pub", seed), Host::new("sub", seed ^ 1)],
            now: 1_000_000,
            next_token: 1,
            next_message: 0,
            acked: BTreeMap::new(),
            sessions_lost: false,
            log: Vec::new(),
        };
        for h in 0..2 {
            let now = world.host_now(h);
            world.hosts[h].machine.connect(now);
        }
        world.settle();
        world.subscribe_sim();
        world.settle();
        world
    }

    fn subscribe_sim(&mut self) {
        self.command(
            SUB,
            Command::Subscribe {
                filters: vec![SubscribeFilter::new("sim/#", QoS::ExactlyOnce)],
                properties: Properties::default(),
            },
        );
    }

    fn host_now(&self, h: usize) -> Instant {
        Instant::from_millis(self.now.saturating_add_signed(self.hosts[h].skew))
    }

    fn command(&mut self, h: usize, command: Command) {
        let token = self.next_token;
        self.next_token += 1;
        let message = match &command {
            Command::Publish(p) => Some((p.qos, p.payload.clone())),
            _ => None,
        };
        let now = self.host_now(h);
        let host = &mut self.hosts[h];
        match host.machine.command(Token(token), command, now) {
            Ok(()) => {
                let number = message
                    .as_ref()
                    .map(|(_, p)| u64::from_be_bytes(p[..8].try_into().unwrap()));
                let qos = message.map_or(QoS::AtMostOnce, |(q, _)| q);
                host.issued.insert(token, (qos, number));
            }
            Err(e) => self.log.push(format!("command refused: {e}")),
        }
        self.drive(h);
    }

    fn publish(&mut self, qos: QoS) {
        let n = self.next_message;
        self.next_message += 1;
        let publish = Publish {
            topic: format!("sim/{}", n % 3).into(),
            qos,
            payload: Bytes::copy_from_slice(&n.to_be_bytes()),
            ..Publish::default()
        };
        self.command(PUB, Command::Publish(publish));
    }

    /// Carries out host `h`'s outputs, in the documented order.
    fn drive(&mut self, h: usize) {
        let now = self.host_now(h);
        for _ in 0..10_000 {
            let host = &mut self.hosts[h];
            if let Some(write) = host.machine.poll_persist() {
                host.writing = Some(write);
            }
            if let Some(Transmit {
                transport: t,
                bytes,
                ..
            }) = host.machine.poll_transmit()
            {
                match host.link {
                    Some((lt, conn)) if lt == t && self.broker_up => {
                        self.broker.handle_bytes(conn, &bytes, now)
                    }
                    _ => {}
                }
                continue;
            }
            let Some(action) = host.machine.poll_action() else {
                break;
            };
            match action {
                Action::Open { transport, .. } => host.opening.push(transport),
                Action::Close { transport } | Action::Cut { transport } => {
                    if let Some((lt, conn)) = host.link {
                        if lt == transport {
                            host.link = None;
                            if self.broker_up {
                                self.broker.close(conn, now);
                            }
                            host.machine.handle_closed(transport, now);
                        }
                    }
                    host.opening.retain(|t| *t != transport);
                }
            }
        }
        let host = &mut self.hosts[h];
        while let Some(event) = host.machine.poll_event() {
            match event {
                MachineEvent::Completed { token, outcome } => {
                    if let (Ok(Done::Published(_)), Some((qos, Some(n)))) =
                        (&outcome, host.issued.get(&token.0))
                    {
                        if *qos != QoS::AtMostOnce {
                            self.acked.insert(*n, *qos);
                        }
                    }
                    host.outcomes.entry(token.0).or_default().push(outcome);
                }
                MachineEvent::Message(p) => host.received.push(p),
                MachineEvent::Connected { .. } => host.connected += 1,
                _ => {}
            }
        }
    }

    /// Moves everything until the world is quiet: opens, persists, the broker's output.
    fn settle(&mut self) {
        for _ in 0..1_000 {
            let mut moved = false;
            for h in 0..2 {
                let now = self.host_now(h);
                if let Some((seq, bytes)) = self.hosts[h].writing.take() {
                    self.hosts[h].stored = Some(bytes);
                    self.hosts[h].machine.handle_persisted(seq, now);
                    moved = true;
                }
                for t in std::mem::take(&mut self.hosts[h].opening) {
                    moved = true;
                    if self.broker_up {
                        let conn = self.broker.accept(now);
                        self.hosts[h].link = Some((t, conn));
                        self.hosts[h].machine.handle_opened(t, now);
                    } else {
                        self.hosts[h].machine.handle_closed(t, now);
                    }
                }
                self.drive(h);
            }
            let now = Instant::from_millis(self.now);
            while let Some((conn, bytes)) = self.broker.poll_transmit() {
                if let Some(h) = self.host_of(conn) {
                    moved = true;
                    let (t, _) = self.hosts[h].link.unwrap();
                    let hn = self.host_now(h);
                    self.hosts[h].machine.handle_bytes(t, &bytes, hn);
                    self.drive(h);
                }
            }
            while let Some(conn) = self.broker.poll_close() {
                if let Some(h) = self.host_of(conn) {
                    moved = true;
                    let (t, _) = self.hosts[h].link.take().unwrap();
                    let hn = self.host_now(h);
                    self.hosts[h].machine.handle_closed(t, hn);
                    self.drive(h);
                }
            }
            let _ = now;
            if !moved {
                return;
            }
        }
        panic!("the world did not settle in 1,000 rounds");
    }

    fn host_of(&self, conn: ConnId) -> Option<usize> {
        self.hosts
            .iter()
            .position(|h| h.link.is_some_and(|(_, c)| c == conn))
    }

    /// Time passes by `ms`: every timer due fires, in order.
    fn advance(&mut self, ms: u64) {
        let end = self.now + ms;
        for _ in 0..10_000 {
            let next = (0..2)
                .filter_map(|h| {
                    let at = self.hosts[h].machine.poll_timeout()?.as_millis();
                    Some(at.saturating_add_signed(-self.hosts[h].skew))
                })
                .chain(self.broker.poll_timeout().map(|t| t.as_millis()))
                .filter(|&at| at <= end)
                .min();
            let Some(at) = next else { break };
            self.now = self.now.max(at);
            let now = Instant::from_millis(self.now);
            self.broker.handle_timeout(now);
            for h in 0..2 {
                let hn = self.host_now(h);
                if self.hosts[h]
                    .machine
                    .poll_timeout()
                    .is_some_and(|t| t <= hn)
                {
                    self.hosts[h].machine.handle_timeout(hn);
                    self.drive(h);
                    let after = self.hosts[h].machine.poll_timeout();
                    assert!(
                        after.is_none_or(|t| t > hn),
                        "host {h}'s timer spins: due {after:?} at {hn:?}"
                    );
                }
            }
            self.settle();
        }
        self.now = end;
    }

    fn cut(&mut self, h: usize, half_open: bool) {
        let now = self.host_now(h);
        if let Some((t, conn)) = self.hosts[h].link.take() {
            if !half_open && self.broker_up {
                self.broker.close(conn, Instant::from_millis(self.now));
            }
            self.hosts[h].machine.handle_closed(t, now);
            self.drive(h);
        }
    }

    fn restart_broker(&mut self, keep: bool) {
        let now = Instant::from_millis(self.now);
        let snapshot = self.broker.snapshot();
        for h in 0..2 {
            self.cut(h, true);
        }
        self.broker = if keep {
            Broker::restore(BrokerConfig::default(), &snapshot).expect("snapshot")
        } else {
            self.sessions_lost = true;
            Broker::new(BrokerConfig::default())
        };
        self.broker.handle_timeout(now);
    }

    fn step(&mut self) {
        let roll = self.rng.below(100);
        let h = self.rng.below(2) as usize;
        match roll {
            0..=29 => {
                let qos = QoS::from_u8(self.rng.below(3) as u8).unwrap();
                self.publish(qos);
            }
            30..=34 => {
                let filter = format!("other/{}", self.rng.below(3));
                let command = if self.rng.chance(50) {
                    Command::Subscribe {
                        filters: vec![SubscribeFilter::new(filter, QoS::AtLeastOnce)],
                        properties: Properties::default(),
                    }
                } else {
                    Command::Unsubscribe {
                        filters: vec![filter],
                        properties: Properties::default(),
                    }
                };
                self.command(h, command);
            }
            35..=49 => {
                let half_open = self.rng.chance(30);
                self.cut(h, half_open);
            }
            50..=57 => {
                let online = self.rng.chance(50);
                let now = self.host_now(h);
                self.hosts[h].machine.set_online(online, now);
                self.drive(h);
            }
            58..=62 => {
                // A reload, possibly between storing the session and sending what it covers.
                let now = Instant::from_millis(self.now);
                let landed = self.rng.chance(50);
                self.hosts[h].reload(&mut self.broker, now, landed);
                let hn = self.host_now(h);
                self.hosts[h].machine.connect(hn);
                self.drive(h);
                if h == SUB {
                    // The page's code runs again and subscribes, as a page does on load.
                    self.subscribe_sim();
                }
            }
            63..=64 => {
                let keep = self.rng.chance(80);
                self.restart_broker(keep);
            }
            65..=66 => {
                // Clock jumps: forward an hour, or back ten seconds (Date.now() can).
                let jump: i64 = if self.rng.chance(50) {
                    3_600_000
                } else {
                    -10_000
                };
                self.hosts[h].skew += jump;
            }
            67..=69 => {
                if self.broker_up {
                    for h in 0..2 {
                        self.cut(h, false);
                    }
                }
                self.broker_up = !self.broker_up;
            }
            _ => {
                let ms = self.rng.below(4_000);
                self.advance(ms);
                return;
            }
        }
        if self.rng.chance(70) {
            self.settle();
        }
    }

    /// Faults stop; the world runs until every command has completed.
    fn heal(&mut self) {
        self.broker_up = true;
        for h in 0..2 {
            let now = self.host_now(h);
            self.hosts[h].machine.set_online(true, now);
            self.hosts[h].machine.connect(now);
            self.drive(h);
        }
        for _ in 0..200 {
            self.settle();
            let open = self
                .hosts
                .iter()
                .any(|h| h.machine.commands_in_flight() > 0);
            let connected = self
                .hosts
                .iter()
                .all(|h| h.machine.state() == ConnectionState::Connected);
            if !open && connected {
                return;
            }
            self.advance(1_000);
        }
        panic!("commands still open after healing: {:?}", self.log.last());
    }

    fn check(&mut self, seed: u64) {
        for host in &self.hosts {
            for token in host.issued.keys() {
                let n = host.outcomes.get(token).map_or(0, Vec::len);
                assert_eq!(n, 1, "seed {seed}: token {token} completed {n} times");
            }
        }
        let mut counts: BTreeMap<u64, usize> = BTreeMap::new();
        for p in &self.hosts[SUB].received {
            let n = u64::from_be_bytes(p.payload[..8].try_into().unwrap());
            *counts.entry(n).or_default() += 1;
        }
        for (n, qos) in &self.acked {
            let got = counts.get(n).copied().unwrap_or(0);
            if self.sessions_lost {
                assert!(
                    *qos != QoS::ExactlyOnce || got <= 1,
                    "seed {seed}: QoS 2 message {n} arrived {got} times"
                );
                continue;
            }
            match qos {
                QoS::AtLeastOnce => assert!(got >= 1, "seed {seed}: QoS 1 message {n} lost"),
                _ => assert_eq!(got, 1, "seed {seed}: QoS 2 message {n} arrived {got} times"),
            }
        }
        // The subscription stands, whatever the broker forgot: a last message arrives.
        let before = self.hosts[SUB].received.len();
        self.publish(QoS::AtLeastOnce);
        self.heal();
        let last = self.next_message - 1;
        assert!(
            self.hosts[SUB].received[before..]
                .iter()
                .any(|p| u64::from_be_bytes(p.payload[..8].try_into().unwrap()) == last),
            "seed {seed}: the subscription did not survive"
        );
    }
}

fn run(seed: u64, steps: usize) {
    let mut world = World::new(seed);
    for _ in 0..steps {
        world.step();
    }
    world.heal();
    world.check(seed);
}

/// Built for wasm32 too, and run in Chromium by `cargo xtask test`: the machine the npm
/// package and the web-sys client run is checked as they run it (fewer seeds there, as
/// debug wasm is slower).
#[test]
fn seeded_schedules_keep_every_promise() {
    if let Some(seed) = env_seed() {
        return run(seed, 300);
    }
    let seeds = if cfg!(target_arch = "wasm32") {
        40
    } else {
        300
    };
    for seed in 0..seeds {
        run(seed, 300);
    }
}

#[test]
fn reconnects_back_off_with_jitter_and_reset_on_connack() {
    let mut world = World::new(7);
    world.broker_up = false;
    world.cut(PUB, false);
    let mut opens = Vec::new();
    let start = world.now;
    for _ in 0..8 {
        let wait = world.hosts[PUB].machine.poll_timeout().unwrap().as_millis() - world.now;
        opens.push(wait);
        world.advance(wait);
        world.settle();
    }
    assert_eq!(world.hosts[PUB].machine.failures(), 9);
    assert!(opens.iter().all(|&w| w < 5_000), "capped at 5 s: {opens:?}");
    assert!(world.now - start > 1_000, "the waits grew: {opens:?}");
    world.broker_up = true;
    world.heal();
    assert_eq!(world.hosts[PUB].machine.failures(), 0);
}

#[test]
fn offline_holds_attempts_back_and_online_tries_at_once() {
    let mut world = World::new(3);
    let now = world.host_now(PUB);
    world.hosts[PUB].machine.set_online(false, now);
    world.cut(PUB, false);
    world.advance(60_000);
    assert_eq!(
        world.hosts[PUB].machine.state(),
        ConnectionState::Disconnected
    );
    assert_eq!(
        world.hosts[PUB].machine.poll_timeout(),
        None,
        "no timer while offline"
    );
    // Commands of every kind while offline: queued, and sent once online.
    world.publish(QoS::AtMostOnce);
    world.publish(QoS::AtLeastOnce);
    world.publish(QoS::ExactlyOnce);
    for command in [
        Command::Subscribe {
            filters: vec![SubscribeFilter::new("x/#", QoS::AtLeastOnce)],
            properties: Properties::default(),
        },
        Command::Unsubscribe {
            filters: vec!["x/#".into()],
            properties: Properties::default(),
        },
    ] {
        world.command(PUB, command);
    }
    assert!(
        world.hosts[PUB].outcomes.is_empty(),
        "nothing completes offline"
    );
    let now = world.host_now(PUB);
    world.hosts[PUB].machine.set_online(true, now);
    world.drive(PUB);
    world.settle();
    let outcomes = &world.hosts[PUB].outcomes;
    assert_eq!(outcomes.len(), 5, "{outcomes:?}");
    assert!(
        outcomes.values().all(|o| o.len() == 1 && o[0].is_ok()),
        "{outcomes:?}"
    );
    let got: BTreeSet<u64> = world.hosts[SUB]
        .received
        .iter()
        .map(|p| u64::from_be_bytes(p.payload[..8].try_into().unwrap()))
        .collect();
    assert_eq!(got, BTreeSet::from([0, 1, 2]));
}

#[test]
fn nothing_leaves_before_the_session_that_expects_its_answer_is_stored() {
    for landed in [false, true] {
        let mut world = World::new(11);
        world.publish(QoS::ExactlyOnce);
        // The store finishes: PUBLISH leaves, and PUBREC comes back.
        let now = world.host_now(PUB);
        let (seq, bytes) = world.hosts[PUB].writing.take().expect("a write");
        world.hosts[PUB].stored = Some(bytes);
        world.hosts[PUB].machine.handle_persisted(seq, now);
        world.drive(PUB);
        while let Some((_, bytes)) = world.broker.poll_transmit() {
            if let Some((t, _)) = world.hosts[PUB].link {
                world.hosts[PUB].machine.handle_bytes(t, &bytes, now);
            }
        }
        world.drive(PUB);
        // "Released" is being stored; the page dies before PUBREL may leave.
        assert!(
            world.hosts[PUB].writing.is_some(),
            "the release is being stored"
        );
        let now = Instant::from_millis(world.now);
        world.hosts[PUB].reload(&mut world.broker, now, landed);
        let hn = world.host_now(PUB);
        world.hosts[PUB].machine.connect(hn);
        world.drive(PUB);
        world.heal();
        let got: Vec<u64> = world.hosts[SUB]
            .received
            .iter()
            .map(|p| u64::from_be_bytes(p.payload[..8].try_into().unwrap()))
            .collect();
        assert_eq!(got, vec![0], "write landed: {landed}");
    }
}

#[test]
fn a_subscribe_given_offline_goes_ahead_of_the_messages_queued_offline() {
    let mut world = World::new(5);
    let now = world.host_now(PUB);
    world.hosts[PUB].machine.set_online(false, now);
    world.cut(PUB, false);
    world.advance(60_000);
    // Subscribed to its own topics, then publishing, both before the connection exists:
    // it hears its own messages only if the SUBSCRIBE reaches the broker first.
    world.command(
        PUB,
        Command::Subscribe {
            filters: vec![SubscribeFilter::new("sim/#", QoS::AtLeastOnce)],
            properties: Properties::default(),
        },
    );
    world.publish(QoS::AtLeastOnce);
    world.publish(QoS::ExactlyOnce);
    let now = world.host_now(PUB);
    world.hosts[PUB].machine.set_online(true, now);
    world.drive(PUB);
    world.settle();
    let heard: BTreeSet<u64> = world.hosts[PUB]
        .received
        .iter()
        .map(|p| u64::from_be_bytes(p.payload[..8].try_into().unwrap()))
        .collect();
    assert_eq!(heard, BTreeSet::from([0, 1]), "the publisher heard itself");
}

#[test]
fn from_end_on_commands_are_refused_at_once_even_while_the_disconnect_closes_the_link() {
    let mut world = World::new(9);
    world.settle();
    let now = world.host_now(PUB);
    assert_eq!(world.hosts[PUB].machine.state(), ConnectionState::Connected);
    // Nothing in flight: DISCONNECT goes now, and the link waits for its close.
    world.hosts[PUB].machine.end(End::default(), now);
    assert!(
        !world.hosts[PUB].machine.is_ended(),
        "still closing the link"
    );
    let publish = Publish {
        topic: "late".into(),
        qos: QoS::AtLeastOnce,
        payload: vec![0; 8].into(),
        ..Publish::default()
    };
    assert_eq!(
        world.hosts[PUB]
            .machine
            .command(Token(900), Command::Publish(publish), now),
        Err(ClientError::Ended),
        "refused now, not taken and lost at the close"
    );
}
