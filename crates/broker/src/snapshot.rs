//! The broker's durable state as bytes: persistent sessions (subscriptions and QoS state)
//! and retained messages. A broker restored from a snapshot picks up where it was; its
//! clients reconnect and find their sessions present.

use crate::session::Session;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use tabmq_core::{
    decode_packet, encode_to_vec, Bytes, Packet, ProtocolVersion, Publish, SessionDecodeError,
    SessionState, SubscribeFilter,
};

/// Format version, the first byte of every snapshot.
const FORMAT: u8 = 1;

#[derive(Serialize, Deserialize)]
struct StoredSession {
    client_id: String,
    subscriptions: Vec<SubscribeFilter>,
    /// `SessionState::to_bytes`.
    state: Vec<u8>,
}

#[derive(Serialize, Deserialize)]
struct Stored {
    sessions: Vec<StoredSession>,
    /// Retained PUBLISH packets, MQTT 5-encoded (a superset of 3.1.1's fields).
    retained: Vec<Vec<u8>>,
}

pub(crate) fn save(
    sessions: &HashMap<String, Session>,
    retained: &BTreeMap<String, Publish>,
) -> Vec<u8> {
    let stored = Stored {
        // Clean sessions end with their connections, and a restart ends every connection.
        sessions: sessions
            .iter()
            .filter(|(_, s)| !s.clean)
            .map(|(id, s)| StoredSession {
                client_id: id.clone(),
                subscriptions: s.subscriptions.values().cloned().collect(),
                state: s.state.to_bytes(),
            })
            .collect(),
        retained: retained
            .values()
            .filter_map(|p| encode_to_vec(&Packet::Publish(p.clone()), ProtocolVersion::V5).ok())
            .collect(),
    };
    let mut out = vec![FORMAT];
    // Serializing strings, vectors and numbers into memory cannot fail.
    out.extend(postcard::to_allocvec(&stored).unwrap_or_default());
    out
}

pub(crate) type Restored = (HashMap<String, Session>, BTreeMap<String, Publish>);

pub(crate) fn load(bytes: &[u8]) -> Result<Restored, SessionDecodeError> {
    let Some((&FORMAT, body)) = bytes.split_first() else {
        return Err(SessionDecodeError("unknown broker snapshot format".into()));
    };
    let stored: Stored =
        postcard::from_bytes(body).map_err(|e| SessionDecodeError(e.to_string()))?;
    let mut sessions = HashMap::new();
    for s in stored.sessions {
        let session = Session {
            subscriptions: s
                .subscriptions
                .into_iter()
                .map(|f| (f.filter.clone(), f))
                .collect(),
            state: SessionState::from_bytes(&s.state)?,
            clean: false,
        };
        sessions.insert(s.client_id, session);
    }
    let mut retained = BTreeMap::new();
    for bytes in stored.retained {
        match decode_packet(Bytes::from(bytes), ProtocolVersion::V5) {
            Ok(Packet::Publish(p)) => {
                retained.insert(p.topic.clone(), p);
            }
            _ => {
                return Err(SessionDecodeError(
                    "a retained message does not decode".into(),
                ))
            }
        }
    }
    Ok((sessions, retained))
}
