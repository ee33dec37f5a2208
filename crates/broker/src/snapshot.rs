//! The broker's durable state as bytes: persistent sessions (subscriptions, QoS state,
//! expiry) and retained messages. A broker restored from a snapshot picks up where it was;
//! its clients reconnect and find their sessions present.

use crate::broker::Broker;
use crate::retained::RetainedMessage;
use crate::session::{Session, Subscription};
use crate::subscribe::split_shared;
use serde::{Deserialize, Serialize};
use std::time::Duration;
use tabmq_core::{
    decode_packet, encode_to_vec, Bytes, Instant, Packet, PacketId, ProtocolVersion, QoS,
    SessionDecodeError, SessionState, SubscribeFilter,
};

/// Format version, the first byte of every snapshot.
const FORMAT: u8 = 2;

#[derive(Serialize, Deserialize)]
struct StoredSession {
    client_id: String,
    subscriptions: Vec<(SubscribeFilter, Option<u32>)>,
    /// `SessionState::to_bytes`.
    state: Vec<u8>,
    /// Seconds; `None` never expires.
    expiry_secs: Option<u64>,
    /// Milliseconds on the broker's clock; `None` if it was connected.
    disconnected_at: Option<u64>,
    mqtt5: bool,
    username: Option<String>,
}

#[derive(Serialize, Deserialize)]
struct Stored {
    sessions: Vec<StoredSession>,
    /// Retained PUBLISH packets, MQTT 5-encoded (a superset of 3.1.1's fields), with
    /// their expiry in milliseconds on the broker's clock.
    retained: Vec<(Vec<u8>, Option<u64>)>,
    next_assigned_id: u64,
}

pub(crate) fn save(broker: &Broker) -> Vec<u8> {
    let stored = Stored {
        // Clean sessions end with their connections, and a restart ends every connection.
        sessions: broker
            .sessions
            .iter()
            .filter(|(_, s)| !s.ends_with_connection())
            .map(|(id, s)| StoredSession {
                client_id: id.clone(),
                subscriptions: s
                    .subscriptions
                    .values()
                    .map(|sub| (sub.options.clone(), sub.id))
                    .collect(),
                state: s.state.to_bytes(),
                expiry_secs: s.expiry.map(|e| e.as_secs()),
                disconnected_at: s.disconnected_at.map(Instant::as_millis),
                mqtt5: s.protocol == ProtocolVersion::V5,
                username: s.username.clone(),
            })
            .collect(),
        retained: broker
            .retained
            .iter()
            .filter(|m| !m.publish.topic.starts_with("$SYS/"))
            .filter_map(|m| {
                // A retained message has no packet id, but a QoS 1/2 PUBLISH must carry one to
                // encode; a placeholder is written and dropped again on load.
                let mut publish = m.publish.clone();
                if publish.qos != QoS::AtMostOnce {
                    publish.packet_id = PacketId::new(1);
                }
                let bytes = encode_to_vec(&Packet::Publish(publish), ProtocolVersion::V5);
                bytes
                    .ok()
                    .map(|b| (b, m.expires_at.map(Instant::as_millis)))
            })
            .collect(),
        next_assigned_id: broker.next_assigned_id,
    };
    let mut out = vec![FORMAT];
    // Serializing strings, vectors and numbers into memory cannot fail.
    out.extend(postcard::to_allocvec(&stored).unwrap_or_default());
    out
}

pub(crate) fn load(broker: &mut Broker, bytes: &[u8]) -> Result<(), SessionDecodeError> {
    let Some((&FORMAT, body)) = bytes.split_first() else {
        return Err(SessionDecodeError("unknown broker snapshot format"));
    };
    let stored: Stored = postcard::from_bytes(body)
        .map_err(|_| SessionDecodeError("the broker snapshot does not parse"))?;
    for s in stored.sessions {
        let protocol = if s.mqtt5 {
            ProtocolVersion::V5
        } else {
            ProtocolVersion::V311
        };
        let mut session = Session::new(protocol);
        session.state = SessionState::from_bytes(&s.state)?;
        session.expiry = s.expiry_secs.map(Duration::from_secs);
        session.disconnected_at = s.disconnected_at.map(Instant::from_millis);
        session.username = s.username;
        for (options, id) in s.subscriptions {
            let key = options.filter.clone();
            let (_, inner) = split_shared(&key);
            broker
                .tree
                .insert(inner, (s.client_id.clone(), key.clone()));
            session
                .subscriptions
                .insert(key, Subscription { options, id });
        }
        broker.sessions.insert(s.client_id, session);
    }
    for (bytes, expires_at) in stored.retained {
        let Ok(Packet::Publish(mut publish)) =
            decode_packet(Bytes::from(bytes), ProtocolVersion::V5)
        else {
            return Err(SessionDecodeError("a retained message does not decode"));
        };
        publish.packet_id = None;
        let message = RetainedMessage {
            publish,
            expires_at: expires_at.map(Instant::from_millis),
        };
        // What was stored was within the limits when it was stored.
        let _ = broker.retained.store(message, 0, 0, true);
    }
    broker.next_assigned_id = stored.next_assigned_id;
    Ok(())
}
