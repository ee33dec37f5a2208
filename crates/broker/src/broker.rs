//! The broker: connections in, routed messages out, for MQTT 3.1.1 and 5.0 clients alike.
//! This file drives connections and time; CONNECT, PUBLISH routing and SUBSCRIBE have
//! their own modules.

use crate::config::BrokerConfig;
use crate::fast_hash::HashMap;
use crate::retained::RetainedStore;
use crate::session::Session;
use crate::sys::Stats;
use crate::tree::SubscriptionTree;
use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;
use tabmq_core::{
    decode, ByteString, Bytes, BytesMut, DecodeError, Disconnect, Instant, LastWill, Packet,
    Properties, ProtocolVersion, Publish, ReasonCode, SessionDecodeError,
};

/// One network connection (a TCP socket, a WebSocket, a MessagePort), as the broker knows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnId(pub u64);

#[derive(Debug)]
pub(crate) struct Conn {
    /// Index into [`BrokerConfig::listeners`].
    pub listener: usize,
    /// The TLS client certificate's identity, for `identity_as_username`.
    pub identity: Option<String>,
    pub inbox: BytesMut,
    pub outbox: crate::output::Output,
    /// Bytes handed to the host and not yet reported written: with the outbox, what this
    /// connection holds of ours.
    pub unwritten: usize,
    /// MQTT 3.1 ("MQIsdp"), and the bridge bit, from CONNECT.
    pub mqtt31: bool,
    pub bridge: bool,
    /// The client's MQTT 5 Topic Alias Maximum: how many outbound aliases we may set.
    pub alias_out_max: u16,
    /// Outbound topic aliases in use, topic to alias.
    pub aliases_out: HashMap<String, u16>,
    /// MQTT 5 until CONNECT says otherwise: CONNECT decodes the same in both.
    pub version: ProtocolVersion,
    /// Set by CONNECT; until then only CONNECT is allowed.
    pub client_id: Option<String>,
    pub username: Option<String>,
    /// Kept to check the client again when the security configuration is reloaded.
    pub password: Option<Bytes>,
    pub keep_alive: Duration,
    pub opened_at: Instant,
    pub last_received: Instant,
    /// When its client last took something: an acknowledgement, or bytes its socket
    /// accepted. Decides whether it may hold back publishers (see `flow`).
    pub last_progress: Instant,
    pub will: Option<LastWill>,
    /// How many QoS 1/2 messages may be in flight to this client.
    pub window: usize,
    /// The client's MQTT 5 Maximum Packet Size: larger messages are not sent to it.
    pub max_packet_out: Option<usize>,
    /// MQTT 5 inbound topic aliases; they live and die with the connection [MQTT-3.3.2-7].
    pub aliases: HashMap<u16, ByteString>,
    /// Whether CONNECT's Session Expiry Interval was zero, which DISCONNECT may not change.
    pub connected_without_expiry: bool,
}

/// How a connection ends, which decides the will and what the client is told.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ending {
    /// The client sent DISCONNECT (reason 0 in 5.0): no will.
    Clean,
    /// The transport went away, keepalive expired, or DISCONNECT 0x04: the will is sent.
    Abnormal,
    /// The broker closes it for this reason: the will is sent, and a 5.0 client is told
    /// with a DISCONNECT first.
    ByBroker(ReasonCode),
    /// The broker closes it without a word, where Mosquitto does: errors in CONNECT,
    /// in acknowledgements, or a packet only a server sends. The will is sent.
    Dropped,
    /// Refused at CONNECT (CONNACK already queued): no session, no will.
    Refused,
}

/// The broker core.
///
/// # Driving it
/// Call [`accept`](Broker::accept) (or [`accept_on`](Broker::accept_on) a listener) for
/// each new connection, then [`handle_bytes`](Broker::handle_bytes) with whatever arrives
/// on it and [`close`](Broker::close) when the transport goes away. After each call, in
/// this order:
/// 1. send each piece from [`poll_transmit`](Broker::poll_transmit) to its connection, in
///    order (a turn's small packets share a piece; a large payload is a piece of its own);
/// 2. close each connection from [`poll_close`](Broker::poll_close);
/// 3. stop or resume reading each connection from [`poll_flow`](Broker::poll_flow), if the
///    transport can (back-pressure on publishers);
/// 4. arm a timer for [`poll_timeout`](Broker::poll_timeout) and call
///    [`handle_timeout`](Broker::handle_timeout) when it fires.
///
/// A host that can tell how much it has not yet written to a connection reports it with
/// [`handle_backlog`](Broker::handle_backlog); the broker then keeps what a slow reader
/// has not taken in its (bounded, shared) queue rather than in output buffers.
///
/// `now` should come from a wall clock (milliseconds since the Unix epoch) when the state
/// is persisted with [`Broker::snapshot`], since expiry deadlines are stored as instants.
#[derive(Debug, Default)]
pub struct Broker {
    pub(crate) config: BrokerConfig,
    next_conn: u64,
    pub(crate) next_assigned_id: u64,
    pub(crate) conns: HashMap<ConnId, Conn>,
    pub(crate) sessions: HashMap<String, Session>,
    /// Which connection holds each session now.
    pub(crate) attached: HashMap<String, ConnId>,
    pub(crate) tree: SubscriptionTree,
    pub(crate) retained: RetainedStore,
    /// MQTT 5 wills waiting out their Will Delay Interval, by client id.
    pub(crate) delayed_wills: BTreeMap<String, (Instant, LastWill)>,
    /// Round-robin position of each shared subscription group.
    pub(crate) shared_cursor: HashMap<String, usize>,
    /// Connections with bytes waiting in their outbox.
    dirty: VecDeque<ConnId>,
    /// Last bytes of connections the broker closed, sent before the close.
    last_words: VecDeque<(ConnId, Bytes)>,
    to_close: VecDeque<ConnId>,
    pub(crate) stats: Stats,
    /// Back-pressure on publishers.
    pub(crate) pressure: crate::flow::Pressure,
    /// Repeats of a held QoS 2 PUBLISH, per connection and packet id.
    pub(crate) repeats: HashMap<(ConnId, u16), u8>,
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
        crate::snapshot::save(self)
    }

    /// A broker that picks up from a [`Broker::snapshot`]: its clients reconnect and find
    /// their sessions present, with what was in flight and queued.
    pub fn restore(config: BrokerConfig, snapshot: &[u8]) -> Result<Broker, SessionDecodeError> {
        let mut broker = Broker::new(config);
        crate::snapshot::load(&mut broker, snapshot)?;
        Ok(broker)
    }

    /// The configuration it runs with.
    pub fn config(&self) -> &BrokerConfig {
        &self.config
    }

    /// Registers a new connection on the first listener.
    pub fn accept(&mut self, now: Instant) -> ConnId {
        self.accept_on(0, None, now)
    }

    /// Registers a new connection on listener `listener` (an index into
    /// [`BrokerConfig::listeners`]), with the identity of its TLS client certificate if
    /// it presented one.
    pub fn accept_on(&mut self, listener: usize, identity: Option<String>, now: Instant) -> ConnId {
        self.start_clock(now);
        self.next_conn += 1;
        let id = ConnId(self.next_conn);
        self.conns.insert(
            id,
            Conn {
                listener,
                identity,
                inbox: BytesMut::new(),
                outbox: Default::default(),
                unwritten: 0,
                mqtt31: false,
                bridge: false,
                alias_out_max: 0,
                aliases_out: HashMap::default(),
                version: ProtocolVersion::V5,
                client_id: None,
                username: None,
                password: None,
                keep_alive: Duration::ZERO,
                opened_at: now,
                last_received: now,
                last_progress: now,
                will: None,
                window: 1,
                max_packet_out: None,
                aliases: HashMap::default(),
                connected_without_expiry: true,
            },
        );
        id
    }

    fn start_clock(&mut self, now: Instant) {
        if self.stats.started.is_none() {
            self.stats.started = Some(now);
            self.stats.next_publish = self.config.sys_interval.map(|_| now);
        }
    }

    /// Gives back memory that bursts left behind: tables sized for connections since
    /// gone, and read buffers grown for one large packet. A host calls it when it is
    /// quiet, before handing freed memory back to the system.
    pub fn shrink(&mut self) {
        for c in self.conns.values_mut() {
            if c.inbox.is_empty() && c.inbox.capacity() > 4096 {
                c.inbox = BytesMut::new();
            }
        }
        self.conns.shrink_to_fit();
        self.sessions.shrink_to_fit();
        self.attached.shrink_to_fit();
        self.shared_cursor.shrink_to_fit();
        self.repeats.shrink_to_fit();
        self.tree.shrink();
        self.pressure.shrink();
    }

    /// Bytes that arrived on `conn`, in any slicing.
    pub fn handle_bytes(&mut self, conn: ConnId, data: &[u8], now: Instant) {
        let limit = self.config.inbound_packet_limit();
        let connect_limit = limit.min(self.config.max_connect_size);
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        self.stats.bytes_received += data.len() as u64;
        c.last_received = now;
        c.inbox.extend_from_slice(data);
        loop {
            let Some(c) = self.conns.get_mut(&conn) else {
                return;
            };
            if c.mqtt31 {
                normalise_31_flags(&mut c.inbox);
            }
            let kind = c.inbox.first().map(|b| b >> 4);
            // Until CONNECT is through, a connection may hold only a small packet.
            let max = if c.client_id.is_some() {
                limit
            } else {
                connect_limit
            };
            match decode(&mut c.inbox, c.version, max) {
                Ok(Some(packet)) => {
                    self.stats.messages_received += 1;
                    self.handle_packet(conn, packet, now)
                }
                Ok(None) => return,
                Err(DecodeError::UnsupportedProtocolVersion { .. }) => {
                    // [MQTT-3.1.2-2]: answer in 3.1.1's form, which every version reads.
                    c.version = ProtocolVersion::V311;
                    return self.refuse(conn, ReasonCode(1), Some(ReasonCode(1)));
                }
                // A malformed packet closes the connection [MQTT-4.8.0-1]; the will is sent.
                // Like Mosquitto, a 5.0 client hears why when the packet was a PUBLISH,
                // SUBSCRIBE or UNSUBSCRIBE, or too large; other errors just close.
                Err(e) => {
                    let ending = match (kind, &e) {
                        (_, DecodeError::PacketTooLarge { .. }) | (Some(3), _) => {
                            Ending::ByBroker(e.reason_code())
                        }
                        // Mosquitto calls every flaw in these malformed, even a packet
                        // identifier of zero, which §4.13 would call a protocol error.
                        (Some(8 | 10), _) if e.statement() != Some("MQTT-3.8.3-4") => {
                            Ending::ByBroker(ReasonCode::MALFORMED_PACKET)
                        }
                        (Some(8 | 10), _) => Ending::ByBroker(e.reason_code()),
                        _ => Ending::Dropped,
                    };
                    return self.end(conn, ending, now);
                }
            }
        }
    }

    /// Ends every connection for a shutdown: MQTT 5 clients hear 0x8B first. Wills are
    /// published, since their clients did not disconnect; persistent sessions keep them.
    pub fn shutdown(&mut self, now: Instant) {
        let mut all: Vec<ConnId> = self.conns.keys().copied().collect();
        all.sort();
        for conn in all {
            self.end(
                conn,
                Ending::ByBroker(ReasonCode::SERVER_SHUTTING_DOWN),
                now,
            );
        }
    }

    /// The transport of `conn` closed; an abnormal end, so the will is published.
    pub fn close(&mut self, conn: ConnId, now: Instant) {
        self.drop_conn(conn, Ending::Abnormal, false, now);
    }

    /// Closes connections that went quiet for 1.5 keepalives or never sent CONNECT,
    /// publishes delayed wills and `$SYS` statistics that are due, and ends expired sessions.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.start_clock(now);
        let expired: Vec<ConnId> = self
            .conns
            .iter()
            .filter(|(_, c)| self.deadline(c).is_some_and(|d| now >= d))
            .map(|(id, _)| *id)
            .collect();
        for conn in expired {
            // Like Mosquitto, closed without a DISCONNECT (0x8D would be allowed).
            self.end(conn, Ending::Dropped, now);
        }
        let due: Vec<String> = self
            .delayed_wills
            .iter()
            .filter(|(_, (at, _))| *at <= now)
            .map(|(id, _)| id.clone())
            .collect();
        for client_id in due {
            if let Some((_, will)) = self.delayed_wills.remove(&client_id) {
                self.publish_will(will, now);
            }
        }
        for (id, session) in self.sessions.iter_mut() {
            if self.attached.contains_key(id) {
                session.disconnected_at = None;
            } else if session.disconnected_at.is_none() {
                // Restored sessions start their expiry at the first moment we know the time.
                session.disconnected_at = Some(now);
            }
        }
        let ended: Vec<String> = self
            .sessions
            .iter()
            .filter(|(_, s)| s.expires_at().is_some_and(|at| at <= now))
            .map(|(id, _)| id.clone())
            .collect();
        for client_id in ended {
            self.stats.clients_expired += 1;
            self.remove_session(&client_id, now);
        }
        self.expire_stalled_holders(now);
        if self.stats.next_publish.is_some_and(|at| at <= now) {
            self.retained.purge_expired(now);
            self.publish_sys(now);
            self.stats.next_publish = self.config.sys_interval.map(|i| now + i);
        }
    }

    /// When `handle_timeout` next has work to do.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let conns = self.conns.values().filter_map(|c| self.deadline(c));
        let wills = self.delayed_wills.values().map(|(at, _)| *at);
        let sessions = self
            .sessions
            .iter()
            .filter(|(id, _)| !self.attached.contains_key(*id))
            .filter_map(|(_, s)| match s.disconnected_at {
                // Restored: handle_timeout starts its clock at once.
                None if s.expiry.is_some() => Some(Instant::from_millis(0)),
                _ => s.expires_at(),
            });
        conns
            .chain(wills)
            .chain(sessions)
            .chain(self.stats.next_publish)
            .chain(self.next_stall())
            .min()
    }

    /// The next bytes to send, and where. A connection's bytes come in order, one piece
    /// after another until its turn is done: the small packets of a turn share one piece,
    /// and a large payload is its own (shared with every other receiver, not copied).
    pub fn poll_transmit(&mut self) -> Option<(ConnId, Bytes)> {
        if let Some(last) = self.last_words.pop_front() {
            return Some(last);
        }
        while let Some(conn) = self.dirty.pop_front() {
            if let Some(c) = self.conns.get_mut(&conn) {
                if let Some(piece) = c.outbox.take() {
                    if !c.outbox.is_empty() {
                        self.dirty.push_front(conn);
                    }
                    return Some((conn, piece));
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

    pub(crate) fn send(&mut self, conn: ConnId, packet: &Packet) {
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        let was_empty = c.outbox.is_empty();
        // A 3.1.1 client gets a 5.0 publisher's message without its properties, which its
        // version cannot carry.
        let stripped;
        let packet = match packet {
            Packet::Publish(p)
                if c.version == ProtocolVersion::V311 && !p.properties.is_empty() =>
            {
                stripped = Packet::Publish(Publish {
                    properties: Properties::default(),
                    ..p.clone()
                });
                &stripped
            }
            other => other,
        };
        // Packets the broker builds are valid by construction; one that is not is dropped
        // rather than sent malformed.
        if let Ok(written) = c.outbox.push(packet, c.version) {
            self.stats.messages_sent += 1;
            self.stats.bytes_sent += written as u64;
            if matches!(packet, Packet::Publish(_)) {
                self.stats.publish_sent += 1;
            }
            if was_empty {
                self.dirty.push_back(conn);
            }
            if c.outbox.len() + c.unwritten > self.config.max_output_buffer {
                // A client that does not read what it asked for (acknowledgements,
                // PINGRESPs) is closed rather than buffered for without end.
                c.outbox.clear();
                self.drop_conn(conn, Ending::Abnormal, true, Instant::default());
            }
        }
    }

    pub(crate) fn version_of(&self, conn: ConnId) -> ProtocolVersion {
        self.conns
            .get(&conn)
            .map_or(ProtocolVersion::V311, |c| c.version)
    }

    /// Refuses a CONNECT with `v5` (5.0) or `v311` (3.1.1's return code; `None` closes
    /// without a CONNACK, as Mosquitto does where 3.1.1 has no code for the reason).
    pub(crate) fn refuse(&mut self, conn: ConnId, v5: ReasonCode, v311: Option<ReasonCode>) {
        let code = if self.version_of(conn) == ProtocolVersion::V5 {
            Some(v5)
        } else {
            v311
        };
        if let Some(code) = code {
            self.send(conn, &crate::connect::connack(false, code));
        }
        self.drop_conn(conn, Ending::Refused, true, Instant::default());
    }

    /// The broker ends `conn` and asks the host to close its transport.
    pub(crate) fn end(&mut self, conn: ConnId, ending: Ending, now: Instant) {
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
        self.repeats.retain(|(held_by, _), _| *held_by != conn);
        let holder = c
            .client_id
            .clone()
            .filter(|id| self.attached.get(id) == Some(&conn));
        self.forget_pressure(conn, holder.as_deref());
        if by_broker {
            while let Some(piece) = c.outbox.take() {
                self.last_words.push_back((conn, piece));
            }
            self.to_close.push_back(conn);
        }
        if ending == Ending::Refused {
            return;
        }
        let Some(client_id) = c.client_id.take() else {
            return;
        };
        let mut session_ends = false;
        if self.attached.get(&client_id) == Some(&conn) {
            self.attached.remove(&client_id);
            if let Some(session) = self.sessions.get_mut(&client_id) {
                session.disconnected_at = Some(now);
                session_ends = session.ends_with_connection();
            }
        }
        if session_ends {
            self.remove_session(&client_id, now);
        }
        if ending != Ending::Clean {
            if let Some(will) = c.will.take() {
                let delay = Duration::from_secs(u64::from(
                    will.properties.will_delay_interval.unwrap_or(0),
                ));
                // The will waits for the earlier of its delay and the session's end
                // [MQTT-3.1.2-8]. A session that ends with its connection does not cut
                // the delay short: "promptly" is a SHOULD, and Mosquitto waits the delay,
                // so a client that comes back in time still cancels its will.
                let expiry = self.sessions.get(&client_id).and_then(|s| s.expiry);
                let wait = match expiry {
                    Some(e) if !e.is_zero() => e.min(delay),
                    _ => delay,
                };
                if wait.is_zero() {
                    self.publish_will(will, now);
                } else {
                    self.delayed_wills
                        .insert(client_id.clone(), (now + wait, will));
                }
            }
        }
    }

    /// Ends a session: its subscriptions go, and a will still waiting is published now,
    /// since the session's end is its other deadline [MQTT-3.1.2-8].
    pub(crate) fn remove_session(&mut self, client_id: &str, now: Instant) {
        if let Some(session) = self.sessions.remove(client_id) {
            for key in session.subscriptions.keys() {
                let (_, filter) = crate::topic_rules::split_shared(key);
                self.tree
                    .remove(filter, &(client_id.to_owned(), key.clone()));
            }
        }
        if let Some((_, will)) = self.delayed_wills.remove(client_id) {
            self.publish_will(will, now);
        }
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
            ack @ (Packet::PubAck(_) | Packet::PubRec(_) | Packet::PubComp(_)) => {
                self.handle_ack(conn, &client_id, ack, now)
            }
            Packet::PubRel(ack) => self.handle_pubrel(conn, &client_id, ack.packet_id, now),
            Packet::Subscribe(subscribe) => self.handle_subscribe(conn, &client_id, subscribe, now),
            Packet::Unsubscribe(unsubscribe) => {
                self.handle_unsubscribe(conn, &client_id, unsubscribe)
            }
            Packet::PingReq => self.send(conn, &Packet::PingResp),
            Packet::Disconnect(d) => self.handle_disconnect(conn, &client_id, d, now),
            // AUTH needs an authentication method, which no client of ours has set
            // [MQTT-4.12.0-1].
            Packet::Auth(_) => self.end(conn, Ending::ByBroker(ReasonCode::PROTOCOL_ERROR), now),
            // A second CONNECT [MQTT-3.1.0-2], or a packet only a server may send: closed
            // without a word, as Mosquitto does.
            _ => self.end(conn, Ending::Dropped, now),
        }
    }

    fn handle_disconnect(&mut self, conn: ConnId, client_id: &str, d: Disconnect, now: Instant) {
        if let Some(seconds) = d.properties.session_expiry_interval {
            let without = self
                .conns
                .get(&conn)
                .is_some_and(|c| c.connected_without_expiry);
            if without && seconds != 0 {
                // §3.14.2.2.2: a session that was to end with its connection cannot be
                // extended at DISCONNECT.
                return self.end(conn, Ending::ByBroker(ReasonCode::PROTOCOL_ERROR), now);
            }
            if let Some(session) = self.sessions.get_mut(client_id) {
                session.expiry = crate::session::expiry_from_seconds(seconds);
            }
        }
        if d.reason_code == ReasonCode::DISCONNECT_WITH_WILL_MESSAGE {
            self.end(conn, Ending::Abnormal, now)
        } else {
            // [MQTT-3.14.4-3]: a clean DISCONNECT discards the will.
            self.end(conn, Ending::Clean, now)
        }
    }
}

/// MQTT 3.1 let PUBREL, SUBSCRIBE and UNSUBSCRIBE carry DUP and any QoS in their fixed
/// header; 3.1.1 fixed those bits to 0010. A 3.1 client's header is read as 3.1.1's.
fn normalise_31_flags(inbox: &mut BytesMut) {
    if let Some(first) = inbox.first_mut() {
        if matches!(*first >> 4, 6 | 8 | 10) {
            *first = (*first & 0xf0) | 0x02;
        }
    }
}
