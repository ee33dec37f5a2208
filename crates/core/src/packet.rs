//! MQTT control packets of both protocol versions, as values.
//!
//! Payloads and binary fields are [`Bytes`]: a decoded PUBLISH shares the frame it came
//! in, so a broker can fan one message out to many subscribers without copying it. Fields
//! that only MQTT 5 has (properties, reason codes, subscription options) stay at their
//! defaults in MQTT 3.1.1 packets; the encoder refuses to put anything else on a 3.1.1 wire.

use crate::prelude::*;
use crate::properties::Properties;
use crate::reason::ReasonCode;
use bytes::Bytes;
pub use bytestring::ByteString;
use core::num::NonZeroU16;
use serde::{Deserialize, Serialize};

/// A packet identifier. Zero is not a valid id [MQTT-2.3.1-1], so the type cannot hold it.
pub type PacketId = NonZeroU16;

/// Whether this build has MQTT 5.0's properties (the `mqtt5` feature, on by default).
pub const MQTT5: bool = cfg!(feature = "mqtt5");

/// The protocol level carried in CONNECT.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ProtocolVersion {
    /// MQTT 3.1.1, protocol level 4.
    #[default]
    V311,
    /// MQTT 5.0, protocol level 5.
    V5,
}

impl ProtocolVersion {
    /// The protocol level byte of CONNECT.
    pub fn level(self) -> u8 {
        match self {
            ProtocolVersion::V311 => 4,
            ProtocolVersion::V5 => 5,
        }
    }

    /// MQTT 5 in a build with its properties. The client's MQTT 5 behaviour (its CONNECT
    /// properties, Receive Maximum, DISCONNECT reason codes) is behind this, so that a
    /// build without the `mqtt5` feature carries none of it.
    pub fn is_v5(self) -> bool {
        MQTT5 && self == ProtocolVersion::V5
    }

    pub fn from_level(level: u8) -> Option<ProtocolVersion> {
        match level {
            4 => Some(ProtocolVersion::V311),
            5 => Some(ProtocolVersion::V5),
            _ => None,
        }
    }
}

/// Quality of service of a PUBLISH or a subscription.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
pub enum QoS {
    /// At most once: fire and forget.
    #[default]
    AtMostOnce = 0,
    /// At least once: PUBLISH, PUBACK.
    AtLeastOnce = 1,
    /// Exactly once: PUBLISH, PUBREC, PUBREL, PUBCOMP.
    ExactlyOnce = 2,
}

impl QoS {
    /// The QoS for a wire value, or `None` for 3, which no packet may carry [MQTT-3.3.1-4].
    pub fn from_u8(value: u8) -> Option<QoS> {
        match value {
            0 => Some(QoS::AtMostOnce),
            1 => Some(QoS::AtLeastOnce),
            2 => Some(QoS::ExactlyOnce),
            _ => None,
        }
    }

    /// The wire value.
    pub fn as_u8(self) -> u8 {
        self as u8
    }
}

/// A will message, published by the broker when a client goes away without DISCONNECT.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LastWill {
    pub topic: String,
    pub payload: Bytes,
    pub qos: QoS,
    pub retain: bool,
    /// MQTT 5 will properties (will delay, expiry, content type, ...).
    pub properties: Properties,
}

/// CONNECT: the first packet a client sends.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Connect {
    /// 3.1.1 also stands for MQTT 3.1, which differs only in how CONNECT names itself.
    pub protocol: ProtocolVersion,
    /// MQTT 3.1: protocol name "MQIsdp", level 3. Old clients and devices still speak it,
    /// and Mosquitto accepts it; every packet after CONNECT is as in 3.1.1.
    pub mqtt31: bool,
    /// The bridge bit (0x80) on the protocol level of 3.1 and 3.1.1, which a bridge sets
    /// to say it is one (Mosquitto's `try_private`).
    pub bridge: bool,
    pub client_id: String,
    /// "Clean session" in 3.1.1, "clean start" in 5.0.
    pub clean_start: bool,
    /// Seconds; zero turns keepalive off.
    pub keep_alive: u16,
    pub username: Option<String>,
    /// MQTT 3.1.1 allows a password only with a user name [MQTT-3.1.2-22]; MQTT 5 does not
    /// have that rule.
    pub password: Option<Bytes>,
    pub will: Option<LastWill>,
    pub properties: Properties,
}

/// CONNACK: the broker's answer to CONNECT.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ConnAck {
    pub session_present: bool,
    /// The reason code in 5.0; the return code (0 to 5) in 3.1.1.
    pub code: ReasonCode,
    pub properties: Properties,
}

/// PUBLISH: an application message.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Publish {
    pub dup: bool,
    pub qos: QoS,
    pub retain: bool,
    /// May be empty in MQTT 5 when a topic alias stands for it. A decoded topic is a slice of
    /// the frame, as the payload is: a PUBLISH costs no allocation to read, and a broker's
    /// copies of it for its subscribers share one buffer.
    pub topic: ByteString,
    /// Present exactly when `qos` is above 0.
    pub packet_id: Option<PacketId>,
    pub payload: Bytes,
    pub properties: Properties,
}

/// PUBACK, PUBREC, PUBREL and PUBCOMP: a packet id, with a reason and properties in 5.0.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ack {
    pub packet_id: PacketId,
    pub reason_code: ReasonCode,
    pub properties: Properties,
}

impl Ack {
    /// A successful acknowledgement with nothing else in it.
    pub fn new(packet_id: PacketId) -> Ack {
        Ack {
            packet_id,
            reason_code: ReasonCode::SUCCESS,
            properties: Properties::default(),
        }
    }
}

/// What the broker does with retained messages when a subscription is made (MQTT 5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum RetainHandling {
    /// Send retained messages at the time of the subscribe.
    #[default]
    SendOnSubscribe = 0,
    /// Send them only if the subscription did not exist already.
    SendIfNew = 1,
    /// Do not send them.
    DoNotSend = 2,
}

impl RetainHandling {
    pub fn from_u8(value: u8) -> Option<RetainHandling> {
        match value {
            0 => Some(RetainHandling::SendOnSubscribe),
            1 => Some(RetainHandling::SendIfNew),
            2 => Some(RetainHandling::DoNotSend),
            _ => None,
        }
    }
}

/// One topic filter of a SUBSCRIBE, with its options.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct SubscribeFilter {
    pub filter: String,
    /// The maximum QoS the client wants.
    pub qos: QoS,
    /// MQTT 5: do not send this client its own messages.
    pub no_local: bool,
    /// MQTT 5: keep the retain flag as published on forwarded messages.
    pub retain_as_published: bool,
    /// MQTT 5.
    pub retain_handling: RetainHandling,
}

impl SubscribeFilter {
    /// A filter at `qos` with default options.
    pub fn new(filter: impl Into<String>, qos: QoS) -> SubscribeFilter {
        SubscribeFilter {
            filter: filter.into(),
            qos,
            ..SubscribeFilter::default()
        }
    }
}

/// SUBSCRIBE: one or more topic filters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscribe {
    pub packet_id: PacketId,
    pub filters: Vec<SubscribeFilter>,
    pub properties: Properties,
}

/// SUBACK: one code per filter of the SUBSCRIBE, in order: the granted QoS (0, 1, 2), or
/// a failure (0x80 in 3.1.1; any failure reason code in 5.0).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubAck {
    pub packet_id: PacketId,
    pub reason_codes: Vec<ReasonCode>,
    pub properties: Properties,
}

/// UNSUBSCRIBE: one or more topic filters to remove.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsubscribe {
    pub packet_id: PacketId,
    pub filters: Vec<String>,
    pub properties: Properties,
}

/// UNSUBACK: in 5.0 one reason code per filter; in 3.1.1 only the packet id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnsubAck {
    pub packet_id: PacketId,
    pub reason_codes: Vec<ReasonCode>,
    pub properties: Properties,
}

/// DISCONNECT: in 5.0 with a reason code and properties.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Disconnect {
    pub reason_code: ReasonCode,
    pub properties: Properties,
}

/// AUTH (5.0 only): extended authentication.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Auth {
    pub reason_code: ReasonCode,
    pub properties: Properties,
}

/// Every MQTT control packet: the 14 of 3.1.1 and AUTH of 5.0.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Packet {
    Connect(Connect),
    ConnAck(ConnAck),
    Publish(Publish),
    PubAck(Ack),
    PubRec(Ack),
    PubRel(Ack),
    PubComp(Ack),
    Subscribe(Subscribe),
    SubAck(SubAck),
    Unsubscribe(Unsubscribe),
    UnsubAck(UnsubAck),
    PingReq,
    PingResp,
    Disconnect(Disconnect),
    Auth(Auth),
}

impl Packet {
    /// The packet's name as the spec writes it, for logs and the packet inspector.
    pub fn name(&self) -> &'static str {
        // `type_number` is always 1 to 15, which all have names.
        Packet::type_name(self.type_number()).unwrap_or("PACKET")
    }

    /// The name of packet type `kind` (a fixed header's high nibble), as [`Packet::name`]
    /// writes it; `None` for the reserved 0 and anything above 15.
    pub fn type_name(kind: u8) -> Option<&'static str> {
        const NAMES: [&str; 15] = [
            "CONNECT",
            "CONNACK",
            "PUBLISH",
            "PUBACK",
            "PUBREC",
            "PUBREL",
            "PUBCOMP",
            "SUBSCRIBE",
            "SUBACK",
            "UNSUBSCRIBE",
            "UNSUBACK",
            "PINGREQ",
            "PINGRESP",
            "DISCONNECT",
            "AUTH",
        ];
        NAMES.get(usize::from(kind).checked_sub(1)?).copied()
    }

    /// The packet type number of the fixed header (1 to 15).
    pub fn type_number(&self) -> u8 {
        match self {
            Packet::Connect(_) => 1,
            Packet::ConnAck(_) => 2,
            Packet::Publish(_) => 3,
            Packet::PubAck(_) => 4,
            Packet::PubRec(_) => 5,
            Packet::PubRel(_) => 6,
            Packet::PubComp(_) => 7,
            Packet::Subscribe(_) => 8,
            Packet::SubAck(_) => 9,
            Packet::Unsubscribe(_) => 10,
            Packet::UnsubAck(_) => 11,
            Packet::PingReq => 12,
            Packet::PingResp => 13,
            Packet::Disconnect(_) => 14,
            Packet::Auth(_) => 15,
        }
    }

    /// A DISCONNECT with reason 0 and no properties: the only kind 3.1.1 has.
    pub fn disconnect() -> Packet {
        Packet::Disconnect(Disconnect::default())
    }
}
