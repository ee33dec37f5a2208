//! Typed errors. Each says who is at fault, and protocol violations name the spec statement
//! they break, so a log line points straight at the rule.

use crate::reason::ReasonCode;

/// Why a property list that names one property twice is refused, in both directions: a
/// Protocol Error, not a malformed packet (matched in [`DecodeError::reason_code`]).
pub(crate) const DUPLICATE: &str = "property appears more than once";
use core::fmt;

/// A rule of the MQTT specification that a peer broke.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Violation {
    /// The normative statement, e.g. `MQTT-3.3.2-2`, numbered as in the protocol version of
    /// the packet; or the section, e.g. `§2.2.3`, where the spec states the rule without a
    /// number.
    pub statement: &'static str,
    /// What was wrong, in a few words.
    pub reason: &'static str,
}

/// Statements that MQTT 5.0 numbers differently from 3.1.1: the rules are checked once,
/// cited by their 3.1.1 number, and renamed for a 5.0 packet.
const RENUMBERED_IN_V5: [(&str, &str); 10] = [
    ("MQTT-1.5.3-1", "MQTT-1.5.4-1"),
    ("MQTT-2.2.2-2", "MQTT-2.1.3-1"),
    ("MQTT-2.3.1-1", "MQTT-2.2.1-3"),
    ("MQTT-1.5.3-2", "MQTT-1.5.4-2"),
    ("MQTT-3.1.2-13", "MQTT-3.1.2-11"),
    ("MQTT-3.1.2-14", "MQTT-3.1.2-12"),
    ("MQTT-3.1.2-15", "MQTT-3.1.2-13"),
    ("MQTT-3.8.3-3", "MQTT-3.8.3-2"),
    ("MQTT-4.7.1-2", "MQTT-4.7.1-1"),
    ("MQTT-4.7.1-3", "MQTT-4.7.1-2"),
];

impl Violation {
    /// The same rule, cited by its MQTT 5.0 number.
    pub(crate) fn in_v5(self) -> Violation {
        let statement = RENUMBERED_IN_V5
            .iter()
            .find(|(v311, _)| *v311 == self.statement)
            .map_or(self.statement, |(_, v5)| *v5);
        Violation { statement, ..self }
    }
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{}] {}", self.statement, self.reason)
    }
}

pub(crate) const fn violation(statement: &'static str, reason: &'static str) -> DecodeError {
    DecodeError::Malformed(Violation { statement, reason })
}

/// Why bytes from the peer could not be decoded. The peer is at fault in every case.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DecodeError {
    /// The packet breaks a rule of the spec.
    Malformed(Violation),
    /// The fixed header announces a packet larger than we accept; nothing of its body was
    /// buffered.
    PacketTooLarge { size: usize, max: usize },
    /// CONNECT asks for a protocol level we do not speak (neither 3.1's "MQIsdp" level 3,
    /// nor "MQTT" level 4 or 5). The server answers with CONNACK 0x01 (3.1.1) or 0x84 (5.0) [MQTT-3.1.2-2].
    UnsupportedProtocolVersion { level: u8 },
}

/// Statements whose breach 5.0 calls a Protocol Error (0x82) rather than a Malformed
/// Packet (0x81): the packet parses, but holds what the protocol does not allow (§4.13:
/// a packet identifier of zero, a wildcard in a topic name, a packet type that does not
/// flow this way), as Mosquitto answers too.
const STATED_AS_PROTOCOL_ERRORS: &[&str] = &[
    "§2.1.2",
    "MQTT-3.8.3-4",
    "MQTT-3.3.4-6",
    "MQTT-2.2.1-3",
    "MQTT-3.3.2-2",
];

impl DecodeError {
    /// The statement the peer broke, if the spec numbers it.
    pub fn statement(&self) -> Option<&'static str> {
        match self {
            DecodeError::Malformed(v) => Some(v.statement),
            DecodeError::PacketTooLarge { .. } => None,
            DecodeError::UnsupportedProtocolVersion { .. } => Some("MQTT-3.1.2-2"),
        }
    }

    /// The MQTT 5 reason code a DISCONNECT (or CONNACK) should carry for this error.
    pub fn reason_code(&self) -> ReasonCode {
        match self {
            DecodeError::Malformed(v)
                if v.reason == DUPLICATE || STATED_AS_PROTOCOL_ERRORS.contains(&v.statement) =>
            {
                ReasonCode::PROTOCOL_ERROR
            }
            DecodeError::Malformed(_) => ReasonCode::MALFORMED_PACKET,
            DecodeError::PacketTooLarge { .. } => ReasonCode::PACKET_TOO_LARGE,
            DecodeError::UnsupportedProtocolVersion { .. } => {
                ReasonCode::UNSUPPORTED_PROTOCOL_VERSION
            }
        }
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::Malformed(v) => write!(f, "malformed packet: {v}"),
            DecodeError::PacketTooLarge { size, max } => {
                write!(f, "packet of {size} bytes exceeds the maximum of {max}")
            }
            DecodeError::UnsupportedProtocolVersion { level } => {
                write!(f, "[MQTT-3.1.2-2] unsupported protocol level {level}")
            }
        }
    }
}

impl core::error::Error for DecodeError {}

/// Why a packet could not be encoded. The caller is at fault: it built a packet that the
/// spec does not allow on the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum EncodeError {
    /// A string or binary field is longer than the 65,535 bytes a length prefix can say.
    FieldTooLong { field: &'static str, len: usize },
    /// The packet is larger than the 268,435,455 bytes a remaining length can say.
    PacketTooLarge { size: usize },
    /// The packet breaks a rule of the spec, e.g. a wildcard in a topic name.
    Invalid(Violation),
}

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            EncodeError::FieldTooLong { field, len } => {
                write!(f, "{field} is {len} bytes; at most 65535 fit")
            }
            EncodeError::PacketTooLarge { size } => {
                write!(f, "packet of {size} bytes is over the protocol's limit")
            }
            EncodeError::Invalid(v) => write!(f, "invalid packet: {v}"),
        }
    }
}

impl core::error::Error for EncodeError {}
