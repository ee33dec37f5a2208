//! The client's connection policy, sans-IO, once for every driver: when to open a
//! transport and when to give up on one, backoff, online/offline, the connect timeout,
//! what to resubscribe, what to queue while offline, what must be stored before a packet
//! may leave, and which command completes on which acknowledgement.
//!
//! The npm package (`web/npm/connection.js`), the web-sys client and `tabmq pub/sub` are
//! shells around a [`ClientMachine`]: they open and close transports when told, move
//! bytes, arm one timer and store what they are given, and decide nothing.
//!
//! # Driving it
//! Feed it with the inputs: [`connect`](ClientMachine::connect) (start, or reconnect now),
//! [`handle_opened`](ClientMachine::handle_opened), [`handle_bytes`](ClientMachine::handle_bytes),
//! [`handle_closed`](ClientMachine::handle_closed), [`handle_timeout`](ClientMachine::handle_timeout),
//! [`handle_persisted`](ClientMachine::handle_persisted), [`set_online`](ClientMachine::set_online),
//! [`command`](ClientMachine::command) and [`end`](ClientMachine::end). After each, in this
//! order:
//! 1. store what [`poll_persist`](ClientMachine::poll_persist) gives, and report it with
//!    `handle_persisted` once stored (bytes that depend on it wait until then);
//! 2. until both give `None`: send what [`poll_transmit`](ClientMachine::poll_transmit)
//!    gives on its transport, and carry out what [`poll_action`](ClientMachine::poll_action)
//!    gives (open a transport to a URL, close one gracefully, cut one);
//! 3. handle every [`poll_event`](ClientMachine::poll_event);
//! 4. arm one timer for [`poll_timeout`](ClientMachine::poll_timeout), which covers
//!    keepalive, the connect timeout, the backoff's wait, retransmission and the wait for a
//!    closing transport.
//!
//! A host may put off step 2 to gather a burst into one frame, or to let the application
//! answer the events first; bytes wait, in order. Steps 3 and 4 then follow it again. How
//! long to hold them is the machine's call: [`Transmit::hold_turns`].
//! Every [`command`](ClientMachine::command) either returns an error at once or ends in
//! exactly one [`MachineEvent::Completed`] with its token.

use crate::prelude::*;
mod commands;
mod links;
mod transmit;

use crate::backoff::Backoff;
use crate::broker_url::BrokerUrl;
use crate::client::ClientEngine;
use crate::client_events::{ClientEvent, ClientOptions, CloseReason, ConnectionState};
use crate::id_map::IdMap;
use crate::packet::{PacketId, Publish, SubscribeFilter};
use crate::properties::Properties;
use crate::session::ClientSession;
use crate::time::Instant;
use alloc::collections::VecDeque;
use bytes::Bytes;
use core::time::Duration;

pub use commands::{Command, CommandFailure, Done, End, Outcome};
pub use transmit::{Transmit, ANSWER_TURNS};

/// One transport the machine asked for; inputs about an older one are ignored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TransportId(pub u64);

/// The host's name for a command, given back when it completes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Token(pub u64);

/// How the machine keeps a connection: MQTT.js's defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionPolicy {
    /// The wait between attempts; `None` makes one attempt and stops when it ends
    /// (MQTT.js's `reconnectPeriod: 0`).
    pub reconnect: Option<Backoff>,
    /// How long an attempt may take to get its CONNACK (MQTT.js's `connectTimeout`).
    pub connect_timeout: Option<Duration>,
    /// Subscribe again when a reconnect finds the broker lost the session.
    pub resubscribe: bool,
    /// Hand out the session through `poll_persist`, and hold bytes that depend on it.
    pub persist: bool,
    /// How long a graceful end waits for the transport to close after DISCONNECT.
    pub close_wait: Duration,
    /// Seeds the backoff's jitter.
    pub seed: u64,
}

impl Default for ConnectionPolicy {
    fn default() -> Self {
        ConnectionPolicy {
            reconnect: Some(Backoff::default()),
            connect_timeout: Some(Duration::from_secs(30)),
            resubscribe: true,
            persist: false,
            close_wait: Duration::from_secs(1),
            seed: 0,
        }
    }
}

/// What the host must do to a transport.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Open a transport to `url`; report `handle_opened` or `handle_closed` for `transport`.
    Open {
        transport: TransportId,
        url: BrokerUrl,
    },
    /// Close it gracefully, once what was transmitted on it has left.
    Close { transport: TransportId },
    /// Drop it at once, as a network failure would (the broker sends the will).
    Cut { transport: TransportId },
}

/// Something the application should know.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum MachineEvent {
    /// CONNACK accepted the connection.
    Connected {
        session_present: bool,
    },
    /// A message arrived. QoS 2 is reported once, however often the broker sends it.
    Message(Publish),
    /// A command ended, for good.
    Completed {
        token: Token,
        outcome: Outcome,
    },
    /// A connection that reached its transport ended.
    Closed(CloseReason),
    /// A transport could not be opened.
    TransportFailed,
    /// A new attempt starts (not the first): MQTT.js's `reconnect`.
    Reconnecting,
    /// The connection is down and an attempt is scheduled (MQTT.js's `offline`).
    Offline,
    /// `end` finished: no more connections until `connect`.
    Ended,
    PacketSent(crate::packet::Packet),
    PacketReceived(crate::packet::Packet),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Link {
    Idle,
    Opening(TransportId),
    Up(TransportId),
    /// DISCONNECT sent by `end`: waiting for the transport to close, until the instant.
    Closing(TransportId, Instant),
}

#[derive(Debug)]
enum Out {
    Bytes {
        transport: TransportId,
        bytes: Bytes,
        /// The persist sequence number that must be stored first.
        after: u64,
        /// QoS 0 publishes these bytes carry: done once handed out.
        written: Vec<Token>,
    },
    Act(Action),
}

/// The client: one [`ClientEngine`] and the policy that keeps it connected.
#[derive(Debug)]
pub struct ClientMachine {
    engine: ClientEngine,
    url: BrokerUrl,
    policy: ConnectionPolicy,
    rng: u64,
    link: Link,
    next_transport: u64,
    connect_deadline: Option<Instant>,
    retry_at: Option<Instant>,
    online: bool,
    attempted: bool,
    connected_once: bool,
    /// One attempt only, and it ended; commands are refused.
    stopped: bool,
    ended: bool,
    /// A graceful end waiting for the commands in flight.
    end_when_idle: Option<End>,
    /// Made through this machine, to make again if the broker lost the session.
    subscriptions: Vec<SubscribeFilter>,
    /// SUBSCRIBE and UNSUBSCRIBE asked for while disconnected, in order.
    pending: VecDeque<(Token, Command)>,
    /// Commands waiting for their acknowledgement, by packet id.
    by_id: IdMap<Token>,
    /// QoS 0 publishes in the engine's next bytes.
    written_next: Vec<Token>,
    /// A message or a completion was handed out since bytes last left: the application
    /// may be answering it.
    handed_out: bool,
    /// QoS 0 publishes queued while disconnected.
    queued_qos0: Vec<Token>,
    out: VecDeque<Out>,
    events: VecDeque<MachineEvent>,
    persist_pending: Option<(u64, Vec<u8>)>,
    persist_seq: u64,
    persisted: u64,
    last_session: Vec<u8>,
}

impl ClientMachine {
    /// A machine for `url`, resuming `session`; nothing happens until [`connect`](Self::connect).
    pub fn new(
        options: ClientOptions,
        policy: ConnectionPolicy,
        url: BrokerUrl,
        session: ClientSession,
    ) -> ClientMachine {
        let last_session = if policy.persist {
            session.to_bytes()
        } else {
            Vec::new()
        };
        ClientMachine {
            engine: ClientEngine::new(options, session),
            url,
            rng: policy.seed,
            policy,
            link: Link::Idle,
            next_transport: 0,
            connect_deadline: None,
            retry_at: None,
            online: true,
            attempted: false,
            connected_once: false,
            stopped: false,
            ended: false,
            end_when_idle: None,
            subscriptions: Vec::new(),
            pending: VecDeque::new(),
            by_id: IdMap::default(),
            written_next: Vec::new(),
            handed_out: false,
            queued_qos0: Vec::new(),
            out: VecDeque::new(),
            events: VecDeque::new(),
            persist_pending: None,
            persist_seq: 0,
            persisted: 0,
            last_session,
        }
    }

    pub fn state(&self) -> ConnectionState {
        self.engine.state()
    }

    pub fn engine(&self) -> &ClientEngine {
        &self.engine
    }

    pub fn url(&self) -> &BrokerUrl {
        &self.url
    }

    /// Attempts since the last connection that got its CONNACK.
    pub fn failures(&self) -> u32 {
        self.policy.reconnect.as_ref().map_or(0, Backoff::failures)
    }

    /// Whether an attempt waits on the backoff's timer.
    pub fn retry_pending(&self) -> bool {
        self.retry_at.is_some()
    }

    pub fn is_ended(&self) -> bool {
        self.ended
    }

    /// Commands not yet completed.
    pub fn commands_in_flight(&self) -> usize {
        self.by_id.len() + self.pending.len() + self.written_next.len() + self.queued_qos0.len()
    }

    /// Report every packet as an event, or stop.
    pub fn set_trace(&mut self, trace: bool) {
        self.engine.set_trace_packets(trace);
    }

    /// Starts connecting now: the first time, after `end`, or to cut a backoff short. A
    /// connection that is up is left alone.
    pub fn connect(&mut self, now: Instant) {
        self.ended = false;
        self.stopped = false;
        self.end_when_idle = None;
        self.retry_at = None;
        if let Some(b) = self.policy.reconnect.as_mut() {
            b.reset();
        }
        self.open(now);
        self.after_input(now);
    }

    /// The transport `transport` is up: CONNECT goes out.
    pub fn handle_opened(&mut self, transport: TransportId, now: Instant) {
        if self.link == Link::Opening(transport) {
            self.link = Link::Up(transport);
            // A fresh transport always finds the engine disconnected.
            let _ = self.engine.connect(now);
        }
        self.after_input(now);
    }

    /// Bytes from the broker on `transport`, in any slicing.
    pub fn handle_bytes(&mut self, transport: TransportId, data: &[u8], now: Instant) {
        if self.link == Link::Up(transport)
            || matches!(self.link, Link::Closing(t, _) if t == transport)
        {
            self.engine.handle_bytes(data, now);
        }
        self.after_input(now);
    }

    /// `transport` closed or failed, whoever closed it.
    pub fn handle_closed(&mut self, transport: TransportId, now: Instant) {
        match self.link {
            Link::Opening(t) if t == transport => {
                self.link = Link::Idle;
                self.drop_link_bytes(transport);
                self.events.push_back(MachineEvent::TransportFailed);
                self.link_down(now);
            }
            Link::Up(t) if t == transport => {
                self.link = Link::Idle;
                self.engine.connection_lost(now);
                self.pump(now);
                self.drop_link_bytes(transport);
                self.link_down(now);
            }
            Link::Closing(t, _) if t == transport => {
                self.link = Link::Idle;
                self.drop_link_bytes(transport);
                self.finish_ended();
            }
            _ => {}
        }
        self.after_input(now);
    }

    /// Runs what is due: keepalive, retransmission, the connect timeout, the next
    /// attempt, the end of a close's wait.
    pub fn handle_timeout(&mut self, now: Instant) {
        if let Link::Up(_) = self.link {
            self.engine.handle_timeout(now);
            self.pump(now);
        }
        if self.connect_deadline.is_some_and(|d| d <= now) {
            self.connect_deadline = None;
            self.connect_timed_out(now);
        }
        if let Link::Closing(t, until) = self.link {
            if until <= now {
                self.link = Link::Idle;
                self.drop_link_bytes(t);
                self.finish_ended();
            }
        }
        if self.retry_at.is_some_and(|at| at <= now) {
            self.retry_at = None;
            self.open(now);
        }
        self.after_input(now);
    }

    /// The host stored the session handed out with sequence number `seq`.
    pub fn handle_persisted(&mut self, seq: u64, now: Instant) {
        self.persisted = self.persisted.max(seq);
        self.after_input(now);
    }

    /// The browser went online or offline. Offline holds attempts at network brokers
    /// back; online tries at once instead of at the end of the backoff's wait.
    pub fn set_online(&mut self, online: bool, now: Instant) {
        self.online = online;
        let waiting = self.link == Link::Idle
            && self.attempted
            && !self.ended
            && !self.stopped
            && self.end_when_idle.is_none();
        if online && waiting {
            self.retry_at = None;
            if let Some(b) = self.policy.reconnect.as_mut() {
                b.reset();
            }
            self.open(now);
        }
        self.after_input(now);
    }

    /// The session to store, with its sequence number for `handle_persisted`.
    pub fn poll_persist(&mut self) -> Option<(u64, Vec<u8>)> {
        self.persist_pending.take()
    }

    /// What to do to a transport; after the bytes before it have been transmitted.
    pub fn poll_action(&mut self) -> Option<Action> {
        match self.out.front() {
            Some(Out::Act(_)) => match self.out.pop_front() {
                Some(Out::Act(a)) => Some(a),
                _ => None,
            },
            _ => None,
        }
    }

    pub fn poll_event(&mut self) -> Option<MachineEvent> {
        self.events.pop_front()
    }

    /// When `handle_timeout` next has work.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let engine = match self.link {
            Link::Up(_) => self.engine.poll_timeout(),
            _ => None,
        };
        let closing = match self.link {
            Link::Closing(_, until) => Some(until),
            _ => None,
        };
        [engine, self.connect_deadline, self.retry_at, closing]
            .into_iter()
            .flatten()
            .min()
    }

    /// Runs after every input: the engine's outputs, and a graceful end once idle.
    fn after_input(&mut self, now: Instant) {
        self.pump(now);
        if let Some(end) = self.end_when_idle.take() {
            if self.commands_in_flight() == 0 {
                self.finish_end(end, now);
                self.pump(now);
            } else {
                self.end_when_idle = Some(end);
            }
        }
    }

    /// Queues an action after the bytes made before it, which leave first.
    pub(super) fn push_action(&mut self, action: Action) {
        self.take_engine_bytes();
        self.out.push_back(Out::Act(action));
    }

    /// Moves the engine's bytes out, for the link they were made on; a link that is gone
    /// drops them, and the QoS 0 messages in them are lost.
    pub(super) fn take_engine_bytes(&mut self) {
        let Some(bytes) = self.engine.poll_transmit() else {
            return;
        };
        let written = core::mem::take(&mut self.written_next);
        match self.link {
            Link::Up(transport) | Link::Closing(transport, _) => {
                let after = self.session_to_store();
                self.out.push_back(Out::Bytes {
                    transport,
                    bytes,
                    after,
                    written,
                });
            }
            _ => {
                for token in written {
                    self.complete(token, Err(CommandFailure::ConnectionLost));
                }
            }
        }
    }

    /// Moves the engine's events and bytes out, and the session to store.
    fn pump(&mut self, now: Instant) {
        let mut closed = false;
        while let Some(event) = self.engine.poll_event() {
            match event {
                ClientEvent::Connected { session_present } => {
                    self.on_connected(session_present, now)
                }
                ClientEvent::Message(p) => {
                    self.handed_out = true;
                    self.events.push_back(MachineEvent::Message(p))
                }
                ClientEvent::Published {
                    packet_id,
                    reason_code,
                } => {
                    let outcome = if reason_code.is_success() {
                        Ok(Done::Published(reason_code))
                    } else {
                        Err(CommandFailure::Refused(reason_code))
                    };
                    self.complete_id(packet_id, outcome);
                }
                ClientEvent::Subscribed {
                    packet_id,
                    reason_codes,
                } => self.complete_id(packet_id, Ok(Done::Subscribed(reason_codes))),
                ClientEvent::Unsubscribed { packet_id } => {
                    self.complete_id(packet_id, Ok(Done::Unsubscribed))
                }
                ClientEvent::Lost { packet_id, reason } => {
                    self.complete_id(packet_id, Err(CommandFailure::from(reason)))
                }
                ClientEvent::PacketSent(p) => self.events.push_back(MachineEvent::PacketSent(p)),
                ClientEvent::PacketReceived(p) => {
                    self.events.push_back(MachineEvent::PacketReceived(p))
                }
                ClientEvent::Closed(reason) => {
                    closed = true;
                    self.events.push_back(MachineEvent::Closed(reason));
                }
            }
        }
        self.session_to_store();
        if closed {
            // The engine closed it (keepalive, refusal, the broker's DISCONNECT, a protocol
            // error): close the transport after the bytes that say why.
            if let Link::Up(t) = self.link {
                self.push_action(Action::Close { transport: t });
                self.link = Link::Idle;
                self.link_down(now);
            }
        }
    }

    /// With persistence on, the sequence number the next bytes must wait for.
    pub(super) fn session_to_store(&mut self) -> u64 {
        if !self.policy.persist {
            return 0;
        }
        let session = self.engine.session().to_bytes();
        if session != self.last_session {
            self.persist_seq += 1;
            self.persist_pending = Some((self.persist_seq, session.clone()));
            self.last_session = session;
        }
        self.persist_seq
    }

    fn on_connected(&mut self, session_present: bool, now: Instant) {
        self.connect_deadline = None;
        if let Some(b) = self.policy.reconnect.as_mut() {
            b.reset();
        }
        let lost = self.connected_once && !session_present && self.policy.resubscribe;
        self.connected_once = true;
        if lost && !self.subscriptions.is_empty() {
            // Refused filters were refused the first time too; the answer is nobody's.
            let _ =
                self.engine
                    .subscribe_with(self.subscriptions.clone(), Properties::default(), now);
        }
        self.written_next.append(&mut self.queued_qos0);
        while let Some((token, command)) = self.pending.pop_front() {
            if let Err(e) = self.issue(token, command, now) {
                self.complete(token, Err(CommandFailure::Invalid(e)));
            }
        }
        // The messages queued offline follow the SUBSCRIBEs given offline.
        self.engine.hold_queue(false, now);
        self.events
            .push_back(MachineEvent::Connected { session_present });
    }

    fn complete_id(&mut self, id: PacketId, outcome: Outcome) {
        if let Some(token) = self.by_id.remove(id.get()) {
            self.complete(token, outcome);
        }
    }

    fn complete(&mut self, token: Token, outcome: Outcome) {
        self.handed_out = true;
        self.events
            .push_back(MachineEvent::Completed { token, outcome });
    }

    /// Every command waiting ends with `failure`.
    fn fail_all(&mut self, failure: CommandFailure) {
        let mut tokens: Vec<Token> = self.by_id.drain().map(|(_, t)| t).collect();
        tokens.extend(self.pending.drain(..).map(|(t, _)| t));
        tokens.append(&mut self.written_next);
        tokens.append(&mut self.queued_qos0);
        for token in tokens {
            self.complete(token, Err(failure.clone()));
        }
    }
}

/// splitmix64: the backoff's jitter, seeded, the same on every platform.
fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}
