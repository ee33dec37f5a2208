//! The broker: connections in, routed messages out, for MQTT 3.1.1 and 5.0 clients alike.

use crate::session::Session;
use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::time::Duration;
use tabmq_core::{
    decode, encode, topic_matches, Ack, Bytes, BytesMut, ConnAck, Connect, DecodeError, Disconnect,
    Inbound, Instant, LastWill, Packet, Properties, ProtocolVersion, PubRecOutcome, Publish, QoS,
    ReasonCode, RetainHandling, SessionDecodeError, SubAck, Subscribe, UnsubAck, Unsubscribe,
};

/// One network connection (a TCP socket, a WebSocket, a MessagePort), as the broker knows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnId(pub u64);

/// Limits and choices.
#[derive(Debug, Clone)]
pub struct BrokerConfig {
    /// Larger packets close the connection; checked on the fixed header.
    pub max_packet_size: usize,
    /// Messages kept for one offline persistent session; Mosquitto's default.
    pub max_queued_messages: usize,
    /// Whether QoS 0 messages are queued for offline persistent sessions. Off, like
    /// Mosquitto's `queue_qos0_messages`.
    pub queue_qos0_messages: bool,
    /// How long a connection may stay open without sending CONNECT.
    pub connect_timeout: Duration,
    /// QoS 1/2 messages in flight to a client at once, unless its MQTT 5 Receive Maximum
    /// is lower; Mosquitto's `max_inflight_messages`.
    pub max_inflight: u16,
    /// QoS 2 messages a client may have unreleased with us; announced to MQTT 5 clients,
    /// and a client beyond it is disconnected (0x93).
    pub receive_maximum: u16,
}

impl Default for BrokerConfig {
    fn default() -> Self {
        BrokerConfig {
            max_packet_size: 1024 * 1024,
            max_queued_messages: 1000,
            queue_qos0_messages: false,
            connect_timeout: Duration::from_secs(10),
            max_inflight: 20,
            receive_maximum: u16::MAX,
        }
    }
}

#[derive(Debug)]
struct Conn {
    inbox: BytesMut,
    outbox: BytesMut,
    /// MQTT 5 until CONNECT says otherwise: CONNECT decodes the same in both.
    version: ProtocolVersion,
    /// Set by CONNECT; until then only CONNECT is allowed.
    client_id: Option<String>,
    keep_alive: Duration,
    opened_at: Instant,
    last_received: Instant,
    will: Option<LastWill>,
    /// How many QoS 1/2 messages may be in flight to this client.
    window: usize,
}

/// How a connection ends, which decides the will and what the client is told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ending {
    /// The client sent DISCONNECT (reason 0 in 5.0): no will.
    Clean,
    /// The transport went away, keepalive expired, or DISCONNECT 0x04: the will is sent.
    Abnormal,
    /// The broker closes it for this reason: the will is sent, and a 5.0 client is told
    /// with a DISCONNECT first.
    ByBroker(ReasonCode),
}

/// The broker core.
///
/// # Driving it
/// Call [`accept`](Broker::accept) for each new connection, then
/// [`handle_bytes`](Broker::handle_bytes) with whatever arrives on it and
/// [`close`](Broker::close) when the transport goes away. After each call, in this order:
/// 1. send each buffer from [`poll_transmit`](Broker::poll_transmit) to its connection
///    (one buffer holds everything queued for that connection, for one frame);
/// 2. close each connection from [`poll_close`](Broker::poll_close);
/// 3. arm a timer for [`poll_timeout`](Broker::poll_timeout) and call
///    [`handle_timeout`](Broker::handle_timeout) when it fires.
#[derive(Debug, Default)]
pub struct Broker {
    config: BrokerConfig,
    next_conn: u64,
    next_assigned_id: u64,
    conns: HashMap<ConnId, Conn>,
    sessions: HashMap<String, Session>,
    /// Which connection holds each session now.
    attached: HashMap<String, ConnId>,
    retained: BTreeMap<String, Publish>,
    /// Connections with bytes waiting in their outbox.
    dirty: VecDeque<ConnId>,
    /// Last bytes of connections the broker closed, sent before the close.
    last_words: VecDeque<(ConnId, Bytes)>,
    to_close: VecDeque<ConnId>,
    dropped_messages: u64,
}

impl Broker {
    pub fn new(config: BrokerConfig) -> Self {
        Broker {
            config,
            ..Broker::default()
        }
    }

    /// The durable state (persistent sessions, retained messages) as bytes.
    pub fn snapshot(&self) -> Vec<u8> {
        crate::snapshot::save(&self.sessions, &self.retained)
    }

    /// A broker that picks up from a [`Broker::snapshot`]: its clients reconnect and find
    /// their sessions present, with what was in flight and queued.
    pub fn restore(config: BrokerConfig, snapshot: &[u8]) -> Result<Broker, SessionDecodeError> {
        let (sessions, retained) = crate::snapshot::load(snapshot)?;
        Ok(Broker {
            config,
            sessions,
            retained,
            ..Broker::default()
        })
    }

    /// Registers a new connection.
    pub fn accept(&mut self, now: Instant) -> ConnId {
        self.next_conn += 1;
        let id = ConnId(self.next_conn);
        self.conns.insert(
            id,
            Conn {
                inbox: BytesMut::new(),
                outbox: BytesMut::new(),
                version: ProtocolVersion::V5,
                client_id: None,
                keep_alive: Duration::ZERO,
                opened_at: now,
                last_received: now,
                will: None,
                window: 1,
            },
        );
        id
    }

    /// Number of open connections.
    pub fn connection_count(&self) -> usize {
        self.conns.len()
    }

    /// Number of retained messages.
    pub fn retained_count(&self) -> usize {
        self.retained.len()
    }

    /// QoS 1/2 messages in flight to `client_id`'s session, and messages queued for it,
    /// if the broker has the session.
    pub fn session_pending(&self, client_id: &str) -> Option<(usize, usize)> {
        self.sessions
            .get(client_id)
            .map(|s| (s.state.in_flight(), s.state.queued()))
    }

    /// Messages dropped because an offline queue was full.
    pub fn dropped_messages(&self) -> u64 {
        self.dropped_messages
    }

    /// Bytes that arrived on `conn`, in any slicing.
    pub fn handle_bytes(&mut self, conn: ConnId, data: &[u8], now: Instant) {
        let max = self.config.max_packet_size;
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        c.last_received = now;
        c.inbox.extend_from_slice(data);
        loop {
            let Some(c) = self.conns.get_mut(&conn) else {
                return;
            };
            match decode(&mut c.inbox, c.version, max) {
                Ok(Some(packet)) => self.handle_packet(conn, packet, now),
                Ok(None) => return,
                Err(DecodeError::UnsupportedProtocolVersion { .. }) => {
                    // [MQTT-3.1.2-2]: answer in 3.1.1's form, which every version reads.
                    c.version = ProtocolVersion::V311;
                    self.send(conn, &connack(false, ReasonCode(1)));
                    return self.end(conn, Ending::Clean, now);
                }
                // A malformed packet closes the connection [MQTT-4.8.0-1]; the will is sent.
                Err(e) => return self.end(conn, Ending::ByBroker(e.reason_code()), now),
            }
        }
    }

    /// The transport of `conn` closed; an abnormal end, so the will is published.
    pub fn close(&mut self, conn: ConnId, now: Instant) {
        self.drop_conn(conn, Ending::Abnormal, false, now);
    }

    /// Closes connections that went quiet for 1.5 keepalives, or never sent CONNECT.
    pub fn handle_timeout(&mut self, now: Instant) {
        let expired: Vec<ConnId> = self
            .conns
            .iter()
            .filter(|(_, c)| self.deadline(c).is_some_and(|d| now >= d))
            .map(|(id, _)| *id)
            .collect();
        for conn in expired {
            self.end(conn, Ending::ByBroker(ReasonCode::KEEP_ALIVE_TIMEOUT), now);
        }
    }

    /// When `handle_timeout` next has work to do.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.conns.values().filter_map(|c| self.deadline(c)).min()
    }

    /// The next connection's waiting bytes.
    pub fn poll_transmit(&mut self) -> Option<(ConnId, Bytes)> {
        if let Some(last) = self.last_words.pop_front() {
            return Some(last);
        }
        while let Some(conn) = self.dirty.pop_front() {
            if let Some(c) = self.conns.get_mut(&conn) {
                if !c.outbox.is_empty() {
                    return Some((conn, c.outbox.split().freeze()));
                }
            }
        }
        None
    }

    /// The next connection the broker has closed; its transport should be closed too.
    pub fn poll_close(&mut self) -> Option<ConnId> {
        self.to_close.pop_front()
    }

    fn deadline(&self, c: &Conn) -> Option<Instant> {
        if c.client_id.is_none() {
            Some(c.opened_at + self.config.connect_timeout)
        } else if c.keep_alive.is_zero() {
            None
        } else {
            // [MQTT-3.1.2-24]: one and a half keepalive periods.
            Some(c.last_received + c.keep_alive + c.keep_alive / 2)
        }
    }

    fn send(&mut self, conn: ConnId, packet: &Packet) {
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        let was_empty = c.outbox.is_empty();
        // Packets the broker builds are valid by construction; one that is not is dropped
        // rather than sent malformed.
        if encode(packet, c.version, &mut c.outbox).is_ok() && was_empty {
            self.dirty.push_back(conn);
        }
    }

    /// The broker ends `conn` and asks the host to close its transport.
    fn end(&mut self, conn: ConnId, ending: Ending, now: Instant) {
        if let Ending::ByBroker(reason) = ending {
            let tell = self
                .conns
                .get(&conn)
                .is_some_and(|c| c.version == ProtocolVersion::V5 && c.client_id.is_some());
            if tell {
                // [MQTT-4.13.2-1]: a 5.0 client hears why before the connection closes.
                let disconnect = Disconnect {
                    reason_code: reason,
                    properties: Properties::default(),
                };
                self.send(conn, &Packet::Disconnect(disconnect));
            }
        }
        self.drop_conn(conn, ending, true, now);
    }

    fn drop_conn(&mut self, conn: ConnId, ending: Ending, by_broker: bool, now: Instant) {
        let Some(mut c) = self.conns.remove(&conn) else {
            return;
        };
        if by_broker {
            if !c.outbox.is_empty() {
                self.last_words.push_back((conn, c.outbox.split().freeze()));
            }
            self.to_close.push_back(conn);
        }
        let Some(client_id) = c.client_id.take() else {
            return;
        };
        if self.attached.get(&client_id) == Some(&conn) {
            self.attached.remove(&client_id);
            if self.sessions.get(&client_id).is_some_and(|s| s.clean) {
                self.sessions.remove(&client_id);
            }
        }
        if ending != Ending::Clean {
            if let Some(will) = c.will.take() {
                self.publish_will(will, now);
            }
        }
    }

    fn publish_will(&mut self, will: LastWill, now: Instant) {
        let mut properties = will.properties;
        properties.will_delay_interval = None;
        let publish = Publish {
            dup: false,
            qos: will.qos,
            retain: will.retain,
            topic: will.topic,
            packet_id: None,
            payload: will.payload,
            properties,
        };
        self.route(publish, None, now);
    }

    fn handle_packet(&mut self, conn: ConnId, packet: Packet, now: Instant) {
        let Some(client_id) = self.conns.get(&conn).and_then(|c| c.client_id.clone()) else {
            match packet {
                Packet::Connect(connect) => self.handle_connect(conn, connect, now),
                // [MQTT-3.1.0-1]: CONNECT must come first.
                _ => self.end(conn, Ending::Clean, now),
            }
            return;
        };
        match packet {
            Packet::Publish(publish) => self.handle_publish(conn, &client_id, publish, now),
            Packet::PubAck(ack) => {
                let done = self
                    .sessions
                    .get_mut(&client_id)
                    .is_some_and(|s| s.state.on_puback(ack.packet_id));
                if done {
                    self.flush(&client_id);
                }
            }
            Packet::PubRec(ack) => {
                let Some(session) = self.sessions.get_mut(&client_id) else {
                    return;
                };
                match session
                    .state
                    .on_pubrec(ack.packet_id, ack.reason_code.is_success())
                {
                    PubRecOutcome::Release => {
                        self.send(conn, &Packet::PubRel(Ack::new(ack.packet_id)))
                    }
                    // MQTT 5: a failed PUBREC ends the flow.
                    PubRecOutcome::Completed => self.flush(&client_id),
                    PubRecOutcome::Unknown => {
                        let mut rel = Ack::new(ack.packet_id);
                        if self.version_of(conn) == ProtocolVersion::V5 {
                            rel.reason_code = ReasonCode::PACKET_IDENTIFIER_NOT_FOUND;
                        }
                        self.send(conn, &Packet::PubRel(rel));
                    }
                }
            }
            Packet::PubComp(ack) => {
                let done = self
                    .sessions
                    .get_mut(&client_id)
                    .is_some_and(|s| s.state.on_pubcomp(ack.packet_id));
                if done {
                    self.flush(&client_id);
                }
            }
            Packet::PubRel(ack) => {
                if let Some(session) = self.sessions.get_mut(&client_id) {
                    session.state.on_pubrel(ack.packet_id);
                }
                // Answered also for unknown ids: our PUBCOMP may have been lost.
                self.send(conn, &Packet::PubComp(Ack::new(ack.packet_id)));
            }
            Packet::Subscribe(subscribe) => self.handle_subscribe(conn, &client_id, subscribe),
            Packet::Unsubscribe(unsubscribe) => {
                self.handle_unsubscribe(conn, &client_id, unsubscribe)
            }
            Packet::PingReq => self.send(conn, &Packet::PingResp),
            Packet::Disconnect(d) if d.reason_code == ReasonCode::DISCONNECT_WITH_WILL_MESSAGE => {
                self.end(conn, Ending::Abnormal, now)
            }
            // [MQTT-3.14.4-3]: a clean DISCONNECT discards the will.
            Packet::Disconnect(_) => self.end(conn, Ending::Clean, now),
            // A second CONNECT [MQTT-3.1.0-2] or a packet only a server may send.
            _ => self.end(conn, Ending::ByBroker(ReasonCode::PROTOCOL_ERROR), now),
        }
    }

    fn handle_connect(&mut self, conn: ConnId, connect: Connect, now: Instant) {
        let v5 = connect.protocol == ProtocolVersion::V5;
        if let Some(c) = self.conns.get_mut(&conn) {
            c.version = connect.protocol;
        }
        let mut ack_properties = Properties::default();
        if v5 {
            // What this broker does not do yet, said up front in CONNACK.
            ack_properties.shared_subscription_available = Some(false);
            ack_properties.subscription_identifiers_available = Some(false);
        }
        let client_id = if connect.client_id.is_empty() {
            if !connect.clean_start && !v5 {
                // [MQTT-3.1.3-8]: an empty id needs a clean session in 3.1.1.
                self.send(conn, &connack(false, ReasonCode(2)));
                return self.end(conn, Ending::Clean, now);
            }
            self.next_assigned_id += 1;
            let assigned = format!("tabmq-auto-{}", self.next_assigned_id);
            if v5 {
                ack_properties.assigned_client_identifier = Some(assigned.clone());
            }
            assigned
        } else {
            connect.client_id
        };
        // [MQTT-3.1.4-2]: a second connection with the same id takes the session over.
        if let Some(old) = self.attached.remove(&client_id) {
            self.end(old, Ending::ByBroker(ReasonCode::SESSION_TAKEN_OVER), now);
        }
        if connect.clean_start {
            self.sessions.remove(&client_id);
        }
        // In 5.0 the session outlives the connection only with a session expiry interval.
        let ends_with_connection = if v5 {
            connect.properties.session_expiry_interval.unwrap_or(0) == 0
        } else {
            connect.clean_start
        };
        let session_present = self.sessions.contains_key(&client_id);
        let session = self
            .sessions
            .entry(client_id.clone())
            .or_insert_with(|| Session::new(ends_with_connection));
        session.clean = ends_with_connection;
        self.attached.insert(client_id.clone(), conn);
        let client_window = connect
            .properties
            .receive_maximum
            .unwrap_or(u16::MAX)
            .min(self.config.max_inflight)
            .max(1);
        if let Some(c) = self.conns.get_mut(&conn) {
            c.client_id = Some(client_id.clone());
            c.keep_alive = Duration::from_secs(u64::from(connect.keep_alive));
            c.will = connect.will;
            c.window = usize::from(client_window);
        }
        if v5 && self.config.receive_maximum != u16::MAX {
            ack_properties.receive_maximum = Some(self.config.receive_maximum.max(1));
        }
        let mut ack = connack(session_present, ReasonCode::SUCCESS);
        if let Packet::ConnAck(a) = &mut ack {
            a.properties = ack_properties;
        }
        self.send(conn, &ack);
        if session_present {
            self.resume_session(conn, &client_id);
        }
    }

    /// Resends what was in flight, with DUP on PUBLISH, then the offline queue.
    fn resume_session(&mut self, conn: ConnId, client_id: &str) {
        let Some(session) = self.sessions.get(client_id) else {
            return;
        };
        for packet in session.state.resend_all() {
            self.send(conn, &packet);
        }
        self.flush(client_id);
    }

    /// Sends what the session has queued while its connection's window has room.
    fn flush(&mut self, client_id: &str) {
        let Some(&conn) = self.attached.get(client_id) else {
            return;
        };
        let window = self.conns.get(&conn).map_or(1, |c| c.window);
        let Some(session) = self.sessions.get_mut(client_id) else {
            return;
        };
        let mut ready = Vec::new();
        while let Some(publish) = session.state.next_ready(window) {
            ready.push(Packet::Publish(publish));
        }
        for packet in &ready {
            self.send(conn, packet);
        }
    }

    fn version_of(&self, conn: ConnId) -> ProtocolVersion {
        self.conns
            .get(&conn)
            .map_or(ProtocolVersion::V311, |c| c.version)
    }

    fn handle_publish(&mut self, conn: ConnId, client_id: &str, publish: Publish, now: Instant) {
        if publish.properties.topic_alias.is_some() {
            // We announce no Topic Alias Maximum, so any alias is beyond it.
            return self.end(conn, Ending::ByBroker(ReasonCode::TOPIC_ALIAS_INVALID), now);
        }
        match (publish.qos, publish.packet_id) {
            (QoS::AtLeastOnce, Some(id)) => {
                self.send(conn, &Packet::PubAck(Ack::new(id)));
                self.route(publish, Some(client_id), now);
            }
            (QoS::ExactlyOnce, Some(id)) => {
                let receive_maximum = self.config.receive_maximum;
                let inbound = self
                    .sessions
                    .get_mut(client_id)
                    .map(|s| s.state.on_inbound_qos2(id, receive_maximum));
                match inbound {
                    Some(Inbound::Deliver) => {
                        self.send(conn, &Packet::PubRec(Ack::new(id)));
                        self.route(publish, Some(client_id), now);
                    }
                    Some(Inbound::Duplicate) => self.send(conn, &Packet::PubRec(Ack::new(id))),
                    Some(Inbound::OverReceiveMaximum) => self.end(
                        conn,
                        Ending::ByBroker(ReasonCode::RECEIVE_MAXIMUM_EXCEEDED),
                        now,
                    ),
                    None => {}
                }
            }
            _ => self.route(publish, Some(client_id), now),
        }
    }

    /// Stores a retained message and forwards `publish` to every matching session;
    /// `from` is the publishing client, for No Local.
    fn route(&mut self, publish: Publish, from: Option<&str>, _now: Instant) {
        if publish.retain {
            if publish.payload.is_empty() {
                // [MQTT-3.3.1-10]: an empty retained message clears the topic.
                self.retained.remove(&publish.topic);
            } else {
                let mut stored = publish.clone();
                stored.dup = false;
                stored.packet_id = None;
                self.retained.insert(publish.topic.clone(), stored);
            }
        }
        let mut targets = Vec::new();
        for (id, session) in &self.sessions {
            let own = from == Some(id.as_str());
            if let Some(sub) = session.best_match(&publish.topic, own) {
                targets.push((id.clone(), sub.qos, sub.retain_as_published));
            }
        }
        for (client_id, granted, retain_as_published) in targets {
            let mut properties = publish.properties.clone();
            properties.topic_alias = None;
            properties.subscription_identifiers.clear();
            let out = Publish {
                dup: false,
                // Effective QoS is the lower of the two.
                qos: publish.qos.min(granted),
                // [MQTT-3.3.1-9]: retain 0 to existing subscriptions, unless 5.0's
                // Retain As Published asks to keep it.
                retain: publish.retain && retain_as_published,
                topic: publish.topic.clone(),
                packet_id: None,
                payload: publish.payload.clone(),
                properties,
            };
            self.deliver(&client_id, out);
        }
    }

    /// Queues `publish` for the session and sends what its window allows. QoS 0 is not
    /// kept for an offline client unless configured, like Mosquitto; past the queue limit,
    /// messages are dropped and counted, like Mosquitto's `max_queued_messages`.
    fn deliver(&mut self, client_id: &str, publish: Publish) {
        let online = self.attached.contains_key(client_id);
        let max_queued = self.config.max_queued_messages;
        let queue_qos0 = self.config.queue_qos0_messages;
        let Some(session) = self.sessions.get_mut(client_id) else {
            return;
        };
        if !online && publish.qos == QoS::AtMostOnce && !queue_qos0 {
            return;
        }
        if session.state.queued() >= max_queued || session.state.enqueue(publish).is_err() {
            self.dropped_messages += 1;
            return;
        }
        self.flush(client_id);
    }

    fn handle_subscribe(&mut self, conn: ConnId, client_id: &str, subscribe: Subscribe) {
        let v5 = self.version_of(conn) == ProtocolVersion::V5;
        let Some(session) = self.sessions.get_mut(client_id) else {
            return;
        };
        let mut reason_codes = Vec::with_capacity(subscribe.filters.len());
        let mut wants_retained = Vec::new();
        for f in subscribe.filters {
            if v5 && f.filter.starts_with("$share/") {
                // Not supported yet, and announced so in CONNACK: refuse it rather than
                // accept a subscription that would never deliver.
                reason_codes.push(ReasonCode::SHARED_SUBSCRIPTIONS_NOT_SUPPORTED);
                continue;
            }
            reason_codes.push(ReasonCode(f.qos.as_u8()));
            let existed = session.subscriptions.contains_key(&f.filter);
            let send_retained = match f.retain_handling {
                RetainHandling::SendOnSubscribe => true,
                RetainHandling::SendIfNew => !existed,
                RetainHandling::DoNotSend => false,
            };
            if send_retained {
                wants_retained.push(f.clone());
            }
            session.subscriptions.insert(f.filter.clone(), f);
        }
        let ack = SubAck {
            packet_id: subscribe.packet_id,
            reason_codes,
            properties: Properties::default(),
        };
        self.send(conn, &Packet::SubAck(ack));
        // [MQTT-3.3.1-6]: retained messages matching a new subscription follow, retain 1.
        let mut seen = HashSet::new();
        let mut matching = Vec::new();
        for sub in &wants_retained {
            for (topic, message) in &self.retained {
                if topic_matches(&sub.filter, topic) && seen.insert(topic.clone()) {
                    let mut out = message.clone();
                    out.qos = message.qos.min(sub.qos);
                    out.retain = true;
                    matching.push(out);
                }
            }
        }
        for publish in matching {
            self.deliver(client_id, publish);
        }
    }

    fn handle_unsubscribe(&mut self, conn: ConnId, client_id: &str, unsubscribe: Unsubscribe) {
        let v5 = self.version_of(conn) == ProtocolVersion::V5;
        let mut reason_codes = Vec::new();
        if let Some(session) = self.sessions.get_mut(client_id) {
            for filter in &unsubscribe.filters {
                let existed = session.subscriptions.remove(filter).is_some();
                reason_codes.push(if existed {
                    ReasonCode::SUCCESS
                } else {
                    ReasonCode::NO_SUBSCRIPTION_EXISTED
                });
            }
        }
        if !v5 {
            reason_codes.clear();
        }
        let ack = UnsubAck {
            packet_id: unsubscribe.packet_id,
            reason_codes,
            properties: Properties::default(),
        };
        self.send(conn, &Packet::UnsubAck(ack));
    }
}

fn connack(session_present: bool, code: ReasonCode) -> Packet {
    Packet::ConnAck(ConnAck {
        session_present,
        code,
        properties: Properties::default(),
    })
}
