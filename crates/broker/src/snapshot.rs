//! The broker's durable state as bytes: persistent sessions (subscriptions, QoS state,
//! expiry) and retained messages. A broker restored from a snapshot picks up where it was;
//! its clients reconnect and find their sessions present.

use crate::broker::Broker;
use crate::retained::{RetainedMessage, Source};
use crate::session::{Session, Subscription};
use crate::topic_rules::split_shared;
use serde::{Deserialize, Serialize};
use std::time::Duration;
use tabmq_core::{
    decode_packet, encode_to_vec, Bytes, Instant, Packet, PacketId, ProtocolVersion, QoS,
    SessionDecodeError, SessionState, SubscribeFilter,
};

/// Format version, the first byte of every snapshot. Format 2 (before sessions kept
/// their listener and retained messages their publisher) still loads.
const FORMAT: u8 = 3;
const FORMAT_2: u8 = 2;

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
    /// The listener it last connected through (format 3).
    listener: u32,
}

/// A retained message's publisher, for `check_retain_source`.
#[derive(Serialize, Deserialize)]
struct StoredSource {
    client_id: String,
    username: Option<String>,
    listener: u32,
}

#[derive(Serialize, Deserialize)]
struct Stored {
    sessions: Vec<StoredSession>,
    /// Retained PUBLISH packets, MQTT 5-encoded (a superset of 3.1.1's fields), with
    /// their expiry in milliseconds on the broker's clock.
    retained: Vec<(Vec<u8>, Option<u64>)>,
    next_assigned_id: u64,
    /// The publishers of `retained`, in the same order.
    sources: Vec<Option<StoredSource>>,
}

/// Format 2's sessions had no listener; postcard is not self-describing, so they are
/// read as their own type.
#[derive(Deserialize)]
struct StoredSessionV2 {
    client_id: String,
    subscriptions: Vec<(SubscribeFilter, Option<u32>)>,
    state: Vec<u8>,
    expiry_secs: Option<u64>,
    disconnected_at: Option<u64>,
    mqtt5: bool,
    username: Option<String>,
}

#[derive(Deserialize)]
struct StoredV2 {
    sessions: Vec<StoredSessionV2>,
    retained: Vec<(Vec<u8>, Option<u64>)>,
    next_assigned_id: u64,
}

impl From<StoredV2> for Stored {
    fn from(v2: StoredV2) -> Stored {
        let sources = v2.retained.iter().map(|_| None).collect();
        Stored {
            sessions: v2
                .sessions
                .into_iter()
                .map(|s| StoredSession {
                    client_id: s.client_id,
                    subscriptions: s.subscriptions,
                    state: s.state,
                    expiry_secs: s.expiry_secs,
                    disconnected_at: s.disconnected_at,
                    mqtt5: s.mqtt5,
                    username: s.username,
                    listener: 0,
                })
                .collect(),
            retained: v2.retained,
            next_assigned_id: v2.next_assigned_id,
            sources,
        }
    }
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
                listener: u32::try_from(s.listener).unwrap_or(0),
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
        sources: broker
            .retained
            .iter()
            .filter(|m| !m.publish.topic.starts_with("$SYS/"))
            .map(|m| {
                m.source.as_ref().map(|s| StoredSource {
                    client_id: s.client_id.clone(),
                    username: s.username.clone(),
                    listener: u32::try_from(s.listener).unwrap_or(0),
                })
            })
            .collect(),
    };
    let mut out = vec![FORMAT];
    // Serializing strings, vectors and numbers into memory cannot fail.
    out.extend(postcard::to_allocvec(&stored).unwrap_or_default());
    out
}

pub(crate) fn load(broker: &mut Broker, bytes: &[u8]) -> Result<(), SessionDecodeError> {
    let unparsable = |_| SessionDecodeError("the broker snapshot does not parse");
    let stored: Stored = match bytes.split_first() {
        Some((&FORMAT, body)) => postcard::from_bytes(body).map_err(unparsable)?,
        Some((&FORMAT_2, body)) => postcard::from_bytes::<StoredV2>(body)
            .map_err(unparsable)?
            .into(),
        _ => return Err(SessionDecodeError("unknown broker snapshot format")),
    };
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
        session.listener = s.listener as usize;
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
    let mut sources = stored.sources.into_iter();
    for (bytes, expires_at) in stored.retained {
        let source = sources.next().flatten().map(|s| Source {
            client_id: s.client_id,
            username: s.username,
            listener: s.listener as usize,
        });
        let Ok(Packet::Publish(mut publish)) =
            decode_packet(Bytes::from(bytes), ProtocolVersion::V5)
        else {
            return Err(SessionDecodeError("a retained message does not decode"));
        };
        publish.packet_id = None;
        let message = RetainedMessage {
            publish,
            expires_at: expires_at.map(Instant::from_millis),
            source,
        };
        // What was stored was within the limits when it was stored.
        let _ = broker.retained.store(message, 0, 0, true);
    }
    broker.next_assigned_id = stored.next_assigned_id;
    Ok(())
}
