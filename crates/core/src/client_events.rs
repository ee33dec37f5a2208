//! The client engine's vocabulary: what a client asks for ([`ClientOptions`]), what it is
//! told ([`ClientEvent`]), and why a command is refused ([`ClientError`]). Shared by the
//! engine and by the connection policy above it.

use crate::error::{DecodeError, EncodeError, Violation};
use crate::packet::{LastWill, Packet, PacketId, ProtocolVersion, Publish};
use crate::packet_id::PacketIdsExhausted;
use crate::prelude::*;
use crate::reason::ReasonCode;
use bytes::Bytes;
use core::time::Duration;

/// What a client asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientOptions {
    pub protocol: ProtocolVersion,
    /// With `protocol` 3.1.1, name the protocol as MQTT 3.1 does ("MQIsdp", level 3), for
    /// brokers that speak nothing newer.
    pub mqtt31: bool,
    pub client_id: String,
    /// Clean session (3.1.1) or clean start (5.0): start with no session on the broker.
    pub clean_session: bool,
    /// Seconds between packets before a PINGREQ; zero turns keepalive off.
    pub keep_alive: u16,
    pub username: Option<String>,
    pub password: Option<Bytes>,
    pub will: Option<LastWill>,
    /// MQTT 5: how long the broker keeps the session after a disconnect, in seconds.
    pub session_expiry_interval: Option<u32>,
    /// QoS 1/2 messages the broker may have in flight to us; announced in 5.0's CONNECT
    /// and enforced on QoS 2 (a broker beyond it is disconnected with 0x93).
    pub receive_maximum: u16,
    /// QoS 1/2 messages we keep in flight at once; the broker's Receive Maximum (5.0) can
    /// lower it. 3.1.1 has no way for a broker to say its limit, and brokers drop what goes
    /// beyond theirs, so the default is the 20 of paho and mosquitto_pub.
    pub max_inflight: u16,
    /// Packets larger than this from the broker close the connection.
    pub max_packet_size: usize,
    /// Messages kept while disconnected; publishing beyond fails with
    /// [`ClientError::QueueFull`].
    pub max_queued: usize,
    /// Whether QoS 0 messages wait for a connection too (MQTT.js's `queueQoSZero`).
    pub queue_qos0: bool,
    /// MQTT 3.1.1 only: resend an unacknowledged PUBLISH or PUBREL after this long on the
    /// same connection. Off by default; MQTT 5 forbids it [MQTT-4.4.0-1].
    pub retransmit_after: Option<Duration>,
    /// Report every packet sent and received as an event, for inspectors.
    pub trace_packets: bool,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            protocol: ProtocolVersion::V311,
            mqtt31: false,
            client_id: String::new(),
            clean_session: true,
            keep_alive: 60,
            username: None,
            password: None,
            will: None,
            session_expiry_interval: None,
            receive_maximum: u16::MAX,
            max_inflight: 20,
            max_packet_size: 1024 * 1024,
            max_queued: 1000,
            queue_qos0: true,
            retransmit_after: None,
            trace_packets: false,
        }
    }
}

/// Where the connection stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectionState {
    /// No connection; publishing queues.
    Disconnected,
    /// CONNECT is sent; no CONNACK yet.
    Connecting,
    Connected,
}

/// Why a connection ended.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CloseReason {
    /// We sent DISCONNECT.
    Disconnected,
    /// The transport went away.
    ConnectionLost,
    /// The broker refused CONNECT: its return code (3.1.1) or reason code (5.0).
    Refused(ReasonCode),
    /// The broker sent DISCONNECT (MQTT 5), with its reason.
    DisconnectedByBroker(ReasonCode),
    /// The broker sent bytes that are not MQTT; its fault.
    ProtocolError(DecodeError),
    /// The broker sent a valid packet that makes no sense here; its fault.
    UnexpectedPacket(&'static str),
    /// The broker had more QoS 2 messages in flight to us than our Receive Maximum.
    ReceiveMaximumExceeded,
    /// No PINGRESP came back in time.
    KeepAliveTimeout,
    /// No CONNACK came back within the connect timeout.
    ConnectTimeout,
}

impl CloseReason {
    /// What happened, in words, for every client to show alike; the details some variants
    /// carry (a reason code, a decode error) are the caller's to add.
    pub fn summary(&self) -> &'static str {
        match self {
            CloseReason::Disconnected => "disconnected",
            CloseReason::ConnectionLost => "connection lost",
            CloseReason::KeepAliveTimeout => "no PINGRESP in time",
            CloseReason::Refused(_) => "the broker refused CONNECT",
            CloseReason::DisconnectedByBroker(_) => "the broker sent DISCONNECT",
            CloseReason::ProtocolError(_) => "the broker broke the protocol",
            CloseReason::UnexpectedPacket(_) => "the broker sent an unexpected packet",
            CloseReason::ReceiveMaximumExceeded => "the broker exceeded our Receive Maximum",
            CloseReason::ConnectTimeout => "no CONNACK within the connect timeout",
        }
    }

    /// The stable error code of a close that is a failure (the npm package's and the
    /// worker client's `Error.code`); `None` for an ordinary end.
    pub fn error_code(&self) -> Option<&'static str> {
        match self {
            CloseReason::Refused(_) => Some("CONNECT_REFUSED"),
            CloseReason::ProtocolError(_) | CloseReason::UnexpectedPacket(_) => {
                Some("PROTOCOL_ERROR")
            }
            CloseReason::ReceiveMaximumExceeded => Some("RECEIVE_MAXIMUM_EXCEEDED"),
            CloseReason::ConnectTimeout => Some("CONNECT_TIMEOUT"),
            _ => None,
        }
    }
}

/// Why an operation will never complete.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LostReason {
    /// The broker answered CONNECT without the session: the message's state is gone.
    SessionLost,
    /// The connection carrying a SUBSCRIBE or UNSUBSCRIBE ended before its answer.
    ConnectionLost,
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
    /// A SUBSCRIBE was answered; one reason code (granted QoS or failure) per filter.
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
    /// A QoS 1/2 PUBLISH, SUBSCRIBE or UNSUBSCRIBE that will never complete.
    Lost {
        packet_id: PacketId,
        reason: LostReason,
    },
    PacketSent(Packet),
    PacketReceived(Packet),
    Closed(CloseReason),
}

/// Why a command was refused. The caller is at fault.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClientError {
    /// There is no connection for a command that needs one (SUBSCRIBE, UNSUBSCRIBE).
    NotConnected,
    /// `connect` while a connection is up or being set up.
    AlreadyConnected,
    /// The offline queue is full ([`ClientOptions::max_queued`]).
    QueueFull,
    /// The client was ended and makes no more connections.
    Ended,
    InvalidTopic(Violation),
    PacketIdsExhausted,
    Encode(EncodeError),
}

impl core::fmt::Display for ClientError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            ClientError::NotConnected => f.write_str("not connected"),
            ClientError::AlreadyConnected => f.write_str("already connected"),
            ClientError::QueueFull => f.write_str("the offline queue is full"),
            ClientError::Ended => f.write_str("the client has ended"),
            ClientError::InvalidTopic(v) => write!(f, "invalid topic: {v}"),
            ClientError::PacketIdsExhausted => PacketIdsExhausted.fmt(f),
            ClientError::Encode(e) => e.fmt(f),
        }
    }
}

impl core::error::Error for ClientError {}

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
