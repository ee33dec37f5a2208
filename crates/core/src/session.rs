//! The client's durable session state, apart from any connection (as in minimq): QoS 1/2
//! messages in flight, QoS 2 ids received and not yet released, and messages published
//! while disconnected. It is a value: serialize it, keep it (a file, IndexedDB), and a
//! restarted client picks up where it was.

use crate::decode::decode_packet;
use crate::encode::encode_to_vec;
use crate::packet::{Packet, PacketId, ProtocolVersion, Publish};
use bytes::Bytes;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, VecDeque};

/// Where an outbound QoS 1/2 message stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum Stage {
    /// PUBLISH sent (QoS 1: waiting for PUBACK; QoS 2: waiting for PUBREC).
    Published,
    /// QoS 2: PUBREC received and PUBREL sent; waiting for PUBCOMP. The PUBLISH is never
    /// sent again from here on.
    Released,
}

/// One outbound QoS 1/2 message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Outbound {
    /// Order of first sending: resends keep it [MQTT-4.6.0-1].
    pub seq: u64,
    pub stage: Stage,
    /// 1 or 2.
    pub qos: u8,
    /// The PUBLISH, encoded as MQTT 5 (a superset of 3.1.1's fields) so the session needs
    /// no serde view of packets.
    pub publish: Vec<u8>,
}

/// Durable client-side session state.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct ClientSession {
    pub(crate) last_packet_id: u16,
    pub(crate) next_seq: u64,
    pub(crate) outbound: BTreeMap<u16, Outbound>,
    pub(crate) inbound_qos2: BTreeSet<u16>,
    /// Published while disconnected, or beyond the broker's Receive Maximum; v5-encoded.
    pub(crate) queued: VecDeque<Vec<u8>>,
}

/// Bytes that are not a session this version wrote. Whoever stored them is at fault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionDecodeError(pub String);

impl std::fmt::Display for SessionDecodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "not a stored session: {}", self.0)
    }
}

impl std::error::Error for SessionDecodeError {}

/// Format version, first byte of every stored session.
const FORMAT: u8 = 1;

pub(crate) fn store(publish: &Publish) -> Vec<u8> {
    // Packets in a session were validated when they were made, so they encode.
    encode_to_vec(&Packet::Publish(publish.clone()), ProtocolVersion::V5).unwrap_or_default()
}

pub(crate) fn load(bytes: &[u8]) -> Option<Publish> {
    match decode_packet(Bytes::copy_from_slice(bytes), ProtocolVersion::V5) {
        Ok(Packet::Publish(p)) => Some(p),
        _ => None,
    }
}

impl ClientSession {
    /// A new, empty session.
    pub fn new() -> ClientSession {
        ClientSession::default()
    }

    /// The session as bytes, to keep.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = vec![FORMAT];
        // Serializing plain integers, vectors and maps into memory cannot fail.
        out.extend(postcard::to_allocvec(self).unwrap_or_default());
        out
    }

    /// A session from [`ClientSession::to_bytes`]. Every stored message is checked.
    pub fn from_bytes(bytes: &[u8]) -> Result<ClientSession, SessionDecodeError> {
        let Some((&FORMAT, body)) = bytes.split_first() else {
            return Err(SessionDecodeError("unknown format version".into()));
        };
        let session: ClientSession =
            postcard::from_bytes(body).map_err(|e| SessionDecodeError(e.to_string()))?;
        let stored = session
            .outbound
            .values()
            .map(|o| &o.publish)
            .chain(session.queued.iter());
        for bytes in stored {
            if load(bytes).is_none() {
                return Err(SessionDecodeError(
                    "a stored message does not decode".into(),
                ));
            }
        }
        if session.outbound.contains_key(&0) || session.inbound_qos2.contains(&0) {
            return Err(SessionDecodeError("packet id 0".into()));
        }
        Ok(session)
    }

    /// QoS 1/2 messages sent and not yet acknowledged.
    pub fn in_flight(&self) -> usize {
        self.outbound.len()
    }

    /// Messages waiting for a connection (or for the broker's Receive Maximum).
    pub fn queued(&self) -> usize {
        self.queued.len()
    }

    /// QoS 2 ids received and not yet released by PUBREL.
    pub fn inbound_qos2(&self) -> usize {
        self.inbound_qos2.len()
    }

    /// Whether nothing is pending.
    pub fn is_idle(&self) -> bool {
        self.outbound.is_empty() && self.inbound_qos2.is_empty() && self.queued.is_empty()
    }

    pub(crate) fn packet_ids_in_use(&self) -> impl Iterator<Item = PacketId> + '_ {
        self.outbound.keys().filter_map(|&id| PacketId::new(id))
    }
}
