//! The client side of MQTT, sans-IO, across connections.
//!
//! A [`ClientEngine`] owns a durable [`ClientSession`] and at most one connection at a time.
//! It keeps the QoS promises through faults: QoS 1/2 messages stay until acknowledged and
//! are resent with DUP on a reconnect that finds the session present; a QoS 2 message is
//! delivered once however often the broker sends it; messages published while disconnected
//! wait, bounded, and leave on connect. When the broker no longer has the session, every
//! pending message ends in [`ClientEvent::Lost`], never silently.
//!
//! # Driving it
//! Feed it with [`connect`](ClientEngine::connect) (when a transport is up),
//! [`handle_bytes`](ClientEngine::handle_bytes), [`handle_timeout`](ClientEngine::handle_timeout),
//! [`connection_lost`](ClientEngine::connection_lost) and the commands. After each call, in
//! this order:
//! 1. send what [`poll_transmit`](ClientEngine::poll_transmit) returns: one buffer holds every
//!    packet produced since the last poll, so it fits one WebSocket frame or one postMessage;
//! 2. handle everything [`poll_event`](ClientEngine::poll_event) returns;
//! 3. arm a timer for [`poll_timeout`](ClientEngine::poll_timeout).

pub use crate::client_events::{
    ClientError, ClientEvent, ClientOptions, CloseReason, ConnectionState, LostReason,
};
use crate::decode::decode_from_server;
use crate::encode::encode;
use crate::id_map::IdMap;
use crate::packet::*;
use crate::prelude::*;
use crate::properties::Properties;
use crate::reason::ReasonCode;
use crate::session::ClientSession;
use crate::time::Instant;
use crate::topic::{validate_topic_filter, validate_topic_name};
use alloc::collections::VecDeque;
use bytes::{Bytes, BytesMut};
use core::time::Duration;

mod inbound;

/// A SUBSCRIBE or UNSUBSCRIBE waiting for its answer; it lives with its connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Request {
    Subscribe,
    Unsubscribe,
}

/// The MQTT client engine.
#[derive(Debug)]
pub struct ClientEngine {
    options: ClientOptions,
    session: ClientSession,
    state: ConnectionState,
    inbox: BytesMut,
    outbox: BytesMut,
    events: VecDeque<ClientEvent>,
    requests: IdMap<Request>,
    last_sent: Instant,
    ping_sent_at: Option<Instant>,
    /// How many QoS 1/2 messages may be in flight: our window, lowered by the broker's
    /// Receive Maximum (5.0).
    send_quota: usize,
    /// When each in-flight message was last sent on this connection (for retransmission).
    sent_at: IdMap<Instant>,
    /// Queued messages wait (see [`ClientEngine::hold_queue`]).
    queue_held: bool,
}

impl ClientEngine {
    /// An engine with `session` (a new one, or one restored from bytes), not connected.
    pub fn new(options: ClientOptions, session: ClientSession) -> Self {
        ClientEngine {
            options,
            session,
            state: ConnectionState::Disconnected,
            inbox: BytesMut::new(),
            outbox: BytesMut::new(),
            events: VecDeque::new(),
            requests: IdMap::default(),
            last_sent: Instant::default(),
            ping_sent_at: None,
            send_quota: usize::MAX,
            queue_held: false,
            sent_at: IdMap::default(),
        }
        .with_window()
    }

    fn with_window(mut self) -> Self {
        self.send_quota = usize::from(self.options.max_inflight.max(1));
        self
    }

    pub fn state(&self) -> ConnectionState {
        self.state
    }

    pub fn options(&self) -> &ClientOptions {
        &self.options
    }

    /// Starts or stops reporting every packet as an event (an inspector came or went).
    pub fn set_trace_packets(&mut self, trace: bool) {
        self.options.trace_packets = trace;
    }

    /// The durable state, to keep (see [`ClientSession::to_bytes`]).
    pub fn session(&self) -> &ClientSession {
        &self.session
    }

    /// Operations waiting for the broker: QoS 1/2 messages in flight and requests.
    pub fn in_flight(&self) -> usize {
        self.session.outbound.len() + self.requests.len()
    }

    /// Packet ids taken (in flight, queued or requested).
    pub fn packet_ids_in_use(&self) -> usize {
        self.session.packet_ids_in_use()
    }

    /// Starts a connection over a transport that has just come up: CONNECT is ready in
    /// `poll_transmit`.
    pub fn connect(&mut self, now: Instant) -> Result<(), ClientError> {
        if self.state != ConnectionState::Disconnected {
            return Err(ClientError::AlreadyConnected);
        }
        let mut properties = Properties::default();
        if self.options.protocol.is_v5() {
            properties.session_expiry_interval = self.options.session_expiry_interval;
            if self.options.receive_maximum != u16::MAX {
                properties.receive_maximum = Some(self.options.receive_maximum.max(1));
            }
        }
        let connect = Packet::Connect(Connect {
            protocol: self.options.protocol,
            mqtt31: self.options.mqtt31 && self.options.protocol == ProtocolVersion::V311,
            bridge: false,
            client_id: self.options.client_id.clone(),
            clean_start: self.options.clean_session,
            keep_alive: self.options.keep_alive,
            username: self.options.username.clone(),
            password: self.options.password.clone(),
            will: self.options.will.clone(),
            properties,
        });
        self.inbox.clear();
        self.outbox.clear();
        self.state = ConnectionState::Connecting;
        self.ping_sent_at = None;
        self.send_quota = usize::from(self.options.max_inflight.max(1));
        self.sent_at.clear();
        self.send(connect, now)
    }

    /// The transport went away. Pending requests are lost; the session stays.
    pub fn connection_lost(&mut self, _now: Instant) {
        if self.state != ConnectionState::Disconnected {
            self.end(CloseReason::ConnectionLost);
        }
    }

    /// Sends DISCONNECT: the broker discards the will. The session stays.
    pub fn disconnect(&mut self, now: Instant) {
        self.disconnect_with(ReasonCode::SUCCESS, Properties::default(), now);
    }

    /// Sends DISCONNECT with an MQTT 5 reason code and properties (3.1.1 sends neither):
    /// 0x04 asks the broker to send the will anyway. The session stays.
    pub fn disconnect_with(
        &mut self,
        reason_code: ReasonCode,
        properties: Properties,
        now: Instant,
    ) {
        if self.state == ConnectionState::Disconnected {
            return;
        }
        let packet = if self.options.protocol.is_v5() {
            Packet::Disconnect(Disconnect {
                reason_code,
                properties,
            })
        } else {
            Packet::disconnect()
        };
        if self.send(packet, now).is_err() {
            // Properties too large to encode: the reason code alone still says it.
            let _ = self.send(
                Packet::Disconnect(Disconnect {
                    reason_code,
                    properties: Properties::default(),
                }),
                now,
            );
        }
        self.end(CloseReason::Disconnected);
    }

    /// Ends the connection without a word to the broker, for `reason` (a connect timeout,
    /// a cut): requests it carried are lost, the session stays.
    pub fn abandon(&mut self, reason: CloseReason) {
        if self.state != ConnectionState::Disconnected {
            self.end(reason);
        }
    }

    /// Publishes a message. QoS 1/2 return the packet id that [`ClientEvent::Published`] (or
    /// [`ClientEvent::Lost`]) will name. Without a connection the message waits.
    pub fn publish(
        &mut self,
        topic: &str,
        payload: Bytes,
        qos: QoS,
        retain: bool,
        now: Instant,
    ) -> Result<Option<PacketId>, ClientError> {
        self.publish_with(
            Publish {
                dup: false,
                qos,
                retain,
                topic: topic.into(),
                packet_id: None,
                payload,
                properties: Properties::default(),
            },
            now,
        )
    }

    /// Publishes a fully specified message (MQTT 5 properties included); its packet id is
    /// assigned here.
    pub fn publish_with(
        &mut self,
        mut publish: Publish,
        now: Instant,
    ) -> Result<Option<PacketId>, ClientError> {
        validate_topic_name(&publish.topic).map_err(ClientError::InvalidTopic)?;
        let connected = self.state == ConnectionState::Connected;
        if !connected && publish.qos == QoS::AtMostOnce && !self.options.queue_qos0 {
            // At most once: without a connection, "once" is none.
            return Ok(None);
        }
        if self.session.queued.len() >= self.options.max_queued {
            return Err(ClientError::QueueFull);
        }
        // Checked by encoding once, before it is queued: a message that cannot go out is
        // refused now, not discovered later. (Its real packet id comes with `enqueue`.)
        let mut probe = publish.clone();
        probe.dup = false;
        probe.packet_id = (publish.qos != QoS::AtMostOnce).then_some(PacketId::MIN);
        encode(
            &Packet::Publish(probe),
            self.options.protocol,
            &mut BytesMut::new(),
        )?;
        publish.dup = false;
        let packet_id = self.session.enqueue(publish)?;
        self.flush_queue(now);
        Ok(packet_id)
    }

    /// Subscribes to `filters`; [`ClientEvent::Subscribed`] names the returned id.
    pub fn subscribe(
        &mut self,
        filters: Vec<SubscribeFilter>,
        now: Instant,
    ) -> Result<PacketId, ClientError> {
        self.subscribe_with(filters, Properties::default(), now)
    }

    /// [`ClientEngine::subscribe`] with MQTT 5 properties (a subscription identifier, user
    /// properties).
    pub fn subscribe_with(
        &mut self,
        filters: Vec<SubscribeFilter>,
        properties: Properties,
        now: Instant,
    ) -> Result<PacketId, ClientError> {
        self.ensure_connection()?;
        for f in &filters {
            validate_topic_filter(&f.filter).map_err(ClientError::InvalidTopic)?;
        }
        let packet_id = self.session.allocate_id()?;
        let packet = Packet::Subscribe(Subscribe {
            packet_id,
            filters,
            properties,
        });
        self.request(packet_id, Request::Subscribe, packet, now)
    }

    /// Unsubscribes from `filters`; [`ClientEvent::Unsubscribed`] names the returned id.
    pub fn unsubscribe(
        &mut self,
        filters: Vec<String>,
        now: Instant,
    ) -> Result<PacketId, ClientError> {
        self.unsubscribe_with(filters, Properties::default(), now)
    }

    /// [`ClientEngine::unsubscribe`] with MQTT 5 properties (user properties).
    pub fn unsubscribe_with(
        &mut self,
        filters: Vec<String>,
        properties: Properties,
        now: Instant,
    ) -> Result<PacketId, ClientError> {
        self.ensure_connection()?;
        for f in &filters {
            validate_topic_filter(f).map_err(ClientError::InvalidTopic)?;
        }
        let packet_id = self.session.allocate_id()?;
        let packet = Packet::Unsubscribe(Unsubscribe {
            packet_id,
            filters,
            properties,
        });
        self.request(packet_id, Request::Unsubscribe, packet, now)
    }

    /// Bytes from the broker, in any slicing.
    pub fn handle_bytes(&mut self, data: &[u8], now: Instant) {
        if self.state == ConnectionState::Disconnected {
            return;
        }
        self.inbox.extend_from_slice(data);
        while self.state != ConnectionState::Disconnected {
            match decode_from_server(
                &mut self.inbox,
                self.options.protocol,
                self.options.max_packet_size,
            ) {
                Ok(Some(packet)) => self.handle_packet(packet, now),
                Ok(None) => return,
                Err(e) => {
                    self.tell_broker(e.reason_code(), now);
                    self.end(CloseReason::ProtocolError(e));
                }
            }
        }
    }

    /// Runs keepalive and (3.1.1, if enabled) retransmission.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.state == ConnectionState::Disconnected {
            return;
        }
        if self.options.keep_alive > 0 {
            let keep_alive = self.keep_alive();
            match self.ping_sent_at {
                Some(sent) if now.saturating_duration_since(sent) >= keep_alive => {
                    return self.end(CloseReason::KeepAliveTimeout);
                }
                None if now.saturating_duration_since(self.last_sent) >= keep_alive => {
                    // PINGREQ always encodes.
                    let _ = self.send(Packet::PingReq, now);
                    self.ping_sent_at = Some(now);
                }
                _ => {}
            }
        }
        if let Some(after) = self.retransmit_after() {
            let due: Vec<PacketId> = self
                .sent_at
                .iter()
                .filter(|(_, &at)| now.saturating_duration_since(at) >= after)
                .filter_map(|(id, _)| PacketId::new(id))
                .collect();
            for id in due {
                self.resend(id, now);
            }
        }
    }

    /// When `handle_timeout` next has work to do.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.state == ConnectionState::Disconnected {
            return None;
        }
        let keep_alive = (self.options.keep_alive > 0).then(|| match self.ping_sent_at {
            Some(sent) => sent + self.keep_alive(),
            None => self.last_sent + self.keep_alive(),
        });
        let retransmit = self
            .retransmit_after()
            .and_then(|after| self.sent_at.values().min().map(|&at| at + after));
        keep_alive.into_iter().chain(retransmit).min()
    }

    /// Every packet produced since the last call, as one buffer.
    pub fn poll_transmit(&mut self) -> Option<Bytes> {
        if self.outbox.is_empty() {
            None
        } else {
            Some(self.outbox.split().freeze())
        }
    }

    pub fn poll_event(&mut self) -> Option<ClientEvent> {
        self.events.pop_front()
    }

    fn keep_alive(&self) -> Duration {
        Duration::from_secs(u64::from(self.options.keep_alive))
    }

    fn retransmit_after(&self) -> Option<Duration> {
        match (self.options.protocol, self.state) {
            (ProtocolVersion::V311, ConnectionState::Connected) => self.options.retransmit_after,
            _ => None,
        }
    }

    fn ensure_connection(&self) -> Result<(), ClientError> {
        match self.state {
            ConnectionState::Disconnected => Err(ClientError::NotConnected),
            _ => Ok(()),
        }
    }

    fn request(
        &mut self,
        packet_id: PacketId,
        kind: Request,
        packet: Packet,
        now: Instant,
    ) -> Result<PacketId, ClientError> {
        match self.send(packet, now) {
            Ok(()) => {
                self.requests.insert(packet_id.get(), kind);
                Ok(packet_id)
            }
            Err(e) => {
                self.session.free_id(packet_id);
                Err(e)
            }
        }
    }

    fn send(&mut self, packet: Packet, now: Instant) -> Result<(), ClientError> {
        encode(&packet, self.options.protocol, &mut self.outbox)?;
        self.last_sent = now;
        if self.options.trace_packets {
            self.events.push_back(ClientEvent::PacketSent(packet));
        }
        Ok(())
    }

    /// MQTT 5: tells the broker why we close, before we do.
    fn tell_broker(&mut self, reason_code: ReasonCode, now: Instant) {
        if self.options.protocol.is_v5() {
            let disconnect = Disconnect {
                reason_code,
                properties: Properties::default(),
            };
            let _ = self.send(Packet::Disconnect(disconnect), now);
        }
    }

    /// Ends the connection; requests it carried are lost, the session stays.
    fn end(&mut self, reason: CloseReason) {
        self.state = ConnectionState::Disconnected;
        self.ping_sent_at = None;
        self.sent_at.clear();
        let lost: Vec<PacketId> = self
            .requests
            .drain()
            .filter_map(|(id, _)| PacketId::new(id))
            .collect();
        for packet_id in lost {
            self.session.free_id(packet_id);
            self.events.push_back(ClientEvent::Lost {
                packet_id,
                reason: LostReason::ConnectionLost,
            });
        }
        self.events.push_back(ClientEvent::Closed(reason));
    }

    /// Sends queued messages while the connection and the in-flight window allow.
    /// Holds queued messages back, even once connected, until released: the client
    /// machine sends the SUBSCRIBEs and UNSUBSCRIBEs given while offline first, so a client
    /// that subscribes and publishes before the connection exists hears its own messages.
    pub fn hold_queue(&mut self, hold: bool, now: Instant) {
        self.queue_held = hold;
        self.flush_queue(now);
    }

    fn flush_queue(&mut self, now: Instant) {
        while self.state == ConnectionState::Connected && !self.queue_held {
            let Some(publish) = self.session.next_ready(self.send_quota) else {
                return;
            };
            if let Some(id) = publish.packet_id {
                self.sent_at.insert(id.get(), now);
            }
            // It was checked when published.
            let _ = self.send(Packet::Publish(publish), now);
        }
    }

    /// Sends one in-flight message again: the PUBLISH with DUP, or its PUBREL.
    fn resend(&mut self, id: PacketId, now: Instant) {
        if let Some(packet) = self.session.resend(id) {
            self.sent_at.insert(id.get(), now);
            let _ = self.send(packet, now);
        }
    }

    /// A QoS 1/2 flow ended (the session has already let go of it).
    fn completed(&mut self, id: PacketId, reason_code: ReasonCode, now: Instant) {
        self.sent_at.remove(id.get());
        self.events.push_back(ClientEvent::Published {
            packet_id: id,
            reason_code,
        });
        self.flush_queue(now);
    }
}
