//! The client side of one MQTT connection, sans-IO.
//!
//! # Driving it
//! Feed it with [`ClientConnection::handle_bytes`], [`ClientConnection::handle_timeout`] and
//! the commands ([`publish`](ClientConnection::publish), [`subscribe`](ClientConnection::subscribe),
//! ...). After each call, in this order:
//! 1. send everything [`poll_transmit`](ClientConnection::poll_transmit) returns: one buffer
//!    holds every packet produced since the last poll, so it fits one WebSocket frame or one
//!    postMessage;
//! 2. handle everything [`poll_event`](ClientConnection::poll_event) returns;
//! 3. arm a timer for [`poll_timeout`](ClientConnection::poll_timeout) and call
//!    `handle_timeout` when it fires.

use crate::decode::decode;
use crate::encode::encode;
use crate::error::{DecodeError, EncodeError, Violation};
use crate::packet::*;
use crate::packet_id::{PacketIdAllocator, PacketIdsExhausted};
use crate::properties::Properties;
use crate::reason::ReasonCode;
use crate::time::Instant;
use crate::topic::{validate_topic_filter, validate_topic_name};
use bytes::{Bytes, BytesMut};
use std::collections::{HashMap, HashSet, VecDeque};
use std::time::Duration;

/// What a client asks for when it connects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientOptions {
    pub protocol: ProtocolVersion,
    pub client_id: String,
    pub clean_session: bool,
    /// Seconds between packets before a PINGREQ; zero turns keepalive off.
    pub keep_alive: u16,
    pub username: Option<String>,
    pub password: Option<Bytes>,
    pub will: Option<LastWill>,
    /// Packets larger than this from the broker close the connection.
    pub max_packet_size: usize,
    /// Report every packet sent and received as an event, for inspectors.
    pub trace_packets: bool,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            protocol: ProtocolVersion::V311,
            client_id: String::new(),
            clean_session: true,
            keep_alive: 60,
            username: None,
            password: None,
            will: None,
            max_packet_size: 1024 * 1024,
            trace_packets: false,
        }
    }
}

/// Where the connection stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectionState {
    /// CONNECT is sent; no CONNACK yet.
    Connecting,
    Connected,
    Closed,
}

/// Why the connection ended.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CloseReason {
    /// We sent DISCONNECT.
    Disconnected,
    /// The broker refused CONNECT: its return code (3.1.1) or reason code (5.0).
    Refused(ReasonCode),
    /// The broker sent DISCONNECT (MQTT 5), with its reason.
    DisconnectedByBroker(ReasonCode),
    /// The broker sent bytes that are not MQTT; its fault.
    ProtocolError(DecodeError),
    /// The broker sent a valid packet that makes no sense here; its fault.
    UnexpectedPacket(&'static str),
    /// No PINGRESP came back in time.
    KeepAliveTimeout,
}

/// Something the application should know.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClientEvent {
    Connected {
        session_present: bool,
    },
    /// A message arrived on a subscription. For QoS 2 it is reported once, however often
    /// the broker sends it.
    Message(Publish),
    /// A SUBSCRIBE was answered; one return code per filter.
    Subscribed {
        packet_id: PacketId,
        reason_codes: Vec<ReasonCode>,
    },
    Unsubscribed {
        packet_id: PacketId,
    },
    /// A QoS 1 or 2 PUBLISH completed (PUBACK or PUBCOMP), with the broker's reason code
    /// (MQTT 5; always success in 3.1.1).
    Published {
        packet_id: PacketId,
        reason_code: ReasonCode,
    },
    PacketSent(Packet),
    PacketReceived(Packet),
    Closed(CloseReason),
}

/// Why a command was refused. The caller is at fault.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClientError {
    /// The connection is closed.
    Closed,
    InvalidTopic(Violation),
    PacketIdsExhausted,
    Encode(EncodeError),
}

impl std::fmt::Display for ClientError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ClientError::Closed => f.write_str("the connection is closed"),
            ClientError::InvalidTopic(v) => write!(f, "invalid topic: {v}"),
            ClientError::PacketIdsExhausted => PacketIdsExhausted.fmt(f),
            ClientError::Encode(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for ClientError {}

impl From<PacketIdsExhausted> for ClientError {
    fn from(_: PacketIdsExhausted) -> Self {
        ClientError::PacketIdsExhausted
    }
}

impl From<EncodeError> for ClientError {
    fn from(e: EncodeError) -> Self {
        ClientError::Encode(e)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
/// What an outbound operation waits for.
enum Awaiting {
    PubAck,
    PubRec,
    PubComp,
    SubAck,
    UnsubAck,
}

/// One client connection's protocol state.
#[derive(Debug)]
pub struct ClientConnection {
    options: ClientOptions,
    state: ConnectionState,
    inbox: BytesMut,
    outbox: BytesMut,
    events: VecDeque<ClientEvent>,
    ids: PacketIdAllocator,
    outbound: HashMap<PacketId, Awaiting>,
    /// QoS 2 ids received and not yet released: a PUBLISH with one of them is a resend.
    inbound_qos2: HashSet<PacketId>,
    last_sent: Instant,
    ping_sent_at: Option<Instant>,
}

impl ClientConnection {
    /// Starts a connection: CONNECT is ready in `poll_transmit`.
    pub fn new(options: ClientOptions, now: Instant) -> Result<Self, ClientError> {
        let connect = Packet::Connect(Connect {
            protocol: options.protocol,
            client_id: options.client_id.clone(),
            clean_start: options.clean_session,
            keep_alive: options.keep_alive,
            username: options.username.clone(),
            password: options.password.clone(),
            will: options.will.clone(),
            properties: Properties::default(),
        });
        let mut conn = ClientConnection {
            options,
            state: ConnectionState::Connecting,
            inbox: BytesMut::new(),
            outbox: BytesMut::new(),
            events: VecDeque::new(),
            ids: PacketIdAllocator::new(),
            outbound: HashMap::new(),
            inbound_qos2: HashSet::new(),
            last_sent: now,
            ping_sent_at: None,
        };
        conn.send(connect, now)?;
        Ok(conn)
    }

    pub fn state(&self) -> ConnectionState {
        self.state
    }

    pub fn options(&self) -> &ClientOptions {
        &self.options
    }

    /// Packet ids of operations still waiting for the broker.
    pub fn in_flight(&self) -> usize {
        self.outbound.len()
    }

    /// Publishes a message; for QoS 1 and 2 returns the packet id that
    /// [`ClientEvent::Published`] will name when the flow completes.
    pub fn publish(
        &mut self,
        topic: &str,
        payload: Bytes,
        qos: QoS,
        retain: bool,
        now: Instant,
    ) -> Result<Option<PacketId>, ClientError> {
        self.ensure_open()?;
        validate_topic_name(topic).map_err(ClientError::InvalidTopic)?;
        let packet_id = match qos {
            QoS::AtMostOnce => None,
            _ => Some(self.ids.allocate()?),
        };
        let publish = Publish {
            dup: false,
            qos,
            retain,
            topic: topic.to_owned(),
            packet_id,
            payload,
            properties: Properties::default(),
        };
        if let Err(e) = self.send(Packet::Publish(publish), now) {
            if let Some(id) = packet_id {
                self.ids.free(id);
            }
            return Err(e);
        }
        if let Some(id) = packet_id {
            let waiting = if qos == QoS::AtLeastOnce {
                Awaiting::PubAck
            } else {
                Awaiting::PubRec
            };
            self.outbound.insert(id, waiting);
        }
        Ok(packet_id)
    }

    /// Subscribes to `filters`; [`ClientEvent::Subscribed`] names the returned id.
    pub fn subscribe(
        &mut self,
        filters: Vec<SubscribeFilter>,
        now: Instant,
    ) -> Result<PacketId, ClientError> {
        self.ensure_open()?;
        for f in &filters {
            validate_topic_filter(&f.filter).map_err(ClientError::InvalidTopic)?;
        }
        let packet_id = self.ids.allocate()?;
        let sent = self.send(
            Packet::Subscribe(Subscribe {
                packet_id,
                filters,
                properties: Properties::default(),
            }),
            now,
        );
        self.track(packet_id, Awaiting::SubAck, sent)
    }

    /// Unsubscribes from `filters`; [`ClientEvent::Unsubscribed`] names the returned id.
    pub fn unsubscribe(
        &mut self,
        filters: Vec<String>,
        now: Instant,
    ) -> Result<PacketId, ClientError> {
        self.ensure_open()?;
        let packet_id = self.ids.allocate()?;
        let sent = self.send(
            Packet::Unsubscribe(Unsubscribe {
                packet_id,
                filters,
                properties: Properties::default(),
            }),
            now,
        );
        self.track(packet_id, Awaiting::UnsubAck, sent)
    }

    /// Sends DISCONNECT and closes: the broker discards the will.
    pub fn disconnect(&mut self, now: Instant) {
        if self.state != ConnectionState::Closed {
            // DISCONNECT always encodes.
            let _ = self.send(Packet::disconnect(), now);
            self.close(CloseReason::Disconnected);
        }
    }

    /// Bytes from the broker, in any slicing.
    pub fn handle_bytes(&mut self, data: &[u8], now: Instant) {
        if self.state == ConnectionState::Closed {
            return;
        }
        self.inbox.extend_from_slice(data);
        loop {
            match decode(
                &mut self.inbox,
                self.options.protocol,
                self.options.max_packet_size,
            ) {
                Ok(Some(packet)) => {
                    self.handle_packet(packet, now);
                    if self.state == ConnectionState::Closed {
                        return;
                    }
                }
                Ok(None) => return,
                Err(e) => {
                    self.close(CloseReason::ProtocolError(e));
                    return;
                }
            }
        }
    }

    /// Runs keepalive: call when `poll_timeout`'s instant has passed.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.state == ConnectionState::Closed || self.options.keep_alive == 0 {
            return;
        }
        let keep_alive = self.keep_alive();
        match self.ping_sent_at {
            Some(sent) if now.saturating_duration_since(sent) >= keep_alive => {
                self.close(CloseReason::KeepAliveTimeout);
            }
            None if now.saturating_duration_since(self.last_sent) >= keep_alive => {
                // PINGREQ always encodes.
                let _ = self.send(Packet::PingReq, now);
                self.ping_sent_at = Some(now);
            }
            _ => {}
        }
    }

    /// When `handle_timeout` next has work to do.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.state == ConnectionState::Closed || self.options.keep_alive == 0 {
            return None;
        }
        Some(match self.ping_sent_at {
            Some(sent) => sent + self.keep_alive(),
            None => self.last_sent + self.keep_alive(),
        })
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

    fn ensure_open(&self) -> Result<(), ClientError> {
        if self.state == ConnectionState::Closed {
            Err(ClientError::Closed)
        } else {
            Ok(())
        }
    }

    fn track(
        &mut self,
        packet_id: PacketId,
        waiting: Awaiting,
        sent: Result<(), ClientError>,
    ) -> Result<PacketId, ClientError> {
        match sent {
            Ok(()) => {
                self.outbound.insert(packet_id, waiting);
                Ok(packet_id)
            }
            Err(e) => {
                self.ids.free(packet_id);
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

    fn close(&mut self, reason: CloseReason) {
        self.state = ConnectionState::Closed;
        self.events.push_back(ClientEvent::Closed(reason));
    }

    fn complete(&mut self, packet_id: PacketId, expected: Awaiting, name: &'static str) -> bool {
        if self.outbound.get(&packet_id) == Some(&expected) {
            self.outbound.remove(&packet_id);
            self.ids.free(packet_id);
            true
        } else {
            self.close(CloseReason::UnexpectedPacket(name));
            false
        }
    }

    fn handle_packet(&mut self, packet: Packet, now: Instant) {
        if self.options.trace_packets {
            self.events
                .push_back(ClientEvent::PacketReceived(packet.clone()));
        }
        if self.state == ConnectionState::Connecting && !matches!(packet, Packet::ConnAck(_)) {
            // [MQTT-3.2.0-1]: CONNACK is the broker's first packet.
            self.close(CloseReason::UnexpectedPacket(packet.name()));
            return;
        }
        match packet {
            Packet::ConnAck(ack) => {
                if self.state != ConnectionState::Connecting {
                    self.close(CloseReason::UnexpectedPacket("CONNACK"));
                } else if ack.code == ReasonCode::SUCCESS {
                    self.state = ConnectionState::Connected;
                    self.events.push_back(ClientEvent::Connected {
                        session_present: ack.session_present,
                    });
                } else {
                    self.close(CloseReason::Refused(ack.code));
                }
            }
            Packet::Publish(publish) => self.handle_publish(publish, now),
            Packet::PubAck(ack) => {
                if self.complete(ack.packet_id, Awaiting::PubAck, "PUBACK") {
                    self.events.push_back(ClientEvent::Published {
                        packet_id: ack.packet_id,
                        reason_code: ack.reason_code,
                    });
                }
            }
            Packet::PubRec(ack) if !ack.reason_code.is_success() => {
                // MQTT 5: a failed PUBREC ends the flow; no PUBREL follows.
                if self.complete(ack.packet_id, Awaiting::PubRec, "PUBREC") {
                    self.events.push_back(ClientEvent::Published {
                        packet_id: ack.packet_id,
                        reason_code: ack.reason_code,
                    });
                }
            }
            Packet::PubRec(Ack { packet_id: id, .. }) => {
                if self.outbound.get(&id) == Some(&Awaiting::PubRec) {
                    self.outbound.insert(id, Awaiting::PubComp);
                    let _ = self.send(Packet::PubRel(Ack::new(id)), now);
                } else if self.outbound.get(&id) == Some(&Awaiting::PubComp) {
                    // A repeated PUBREC: our PUBREL may be lost, so send it again.
                    let _ = self.send(Packet::PubRel(Ack::new(id)), now);
                } else {
                    self.close(CloseReason::UnexpectedPacket("PUBREC"));
                }
            }
            Packet::PubComp(ack) => {
                if self.complete(ack.packet_id, Awaiting::PubComp, "PUBCOMP") {
                    self.events.push_back(ClientEvent::Published {
                        packet_id: ack.packet_id,
                        reason_code: ack.reason_code,
                    });
                }
            }
            Packet::PubRel(ack) => {
                // Answered also for unknown ids: the PUBCOMP may have been lost.
                self.inbound_qos2.remove(&ack.packet_id);
                let _ = self.send(Packet::PubComp(Ack::new(ack.packet_id)), now);
            }
            Packet::SubAck(ack) => {
                if self.complete(ack.packet_id, Awaiting::SubAck, "SUBACK") {
                    self.events.push_back(ClientEvent::Subscribed {
                        packet_id: ack.packet_id,
                        reason_codes: ack.reason_codes,
                    });
                }
            }
            Packet::UnsubAck(ack) => {
                if self.complete(ack.packet_id, Awaiting::UnsubAck, "UNSUBACK") {
                    self.events.push_back(ClientEvent::Unsubscribed {
                        packet_id: ack.packet_id,
                    });
                }
            }
            Packet::Disconnect(d) => self.close(CloseReason::DisconnectedByBroker(d.reason_code)),
            Packet::PingResp => self.ping_sent_at = None,
            other => self.close(CloseReason::UnexpectedPacket(other.name())),
        }
    }

    fn handle_publish(&mut self, publish: Publish, now: Instant) {
        match (publish.qos, publish.packet_id) {
            (QoS::AtLeastOnce, Some(id)) => {
                self.events.push_back(ClientEvent::Message(publish));
                let _ = self.send(Packet::PubAck(Ack::new(id)), now);
            }
            (QoS::ExactlyOnce, Some(id)) => {
                if self.inbound_qos2.insert(id) {
                    self.events.push_back(ClientEvent::Message(publish));
                }
                let _ = self.send(Packet::PubRec(Ack::new(id)), now);
            }
            _ => self.events.push_back(ClientEvent::Message(publish)),
        }
    }
}
