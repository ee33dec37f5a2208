//! A read-only view of the broker for inspectors (the lab, `startBroker().inspect()`):
//! sessions with their subscriptions and queues, retained messages, and the counters.

use crate::broker::Broker;
use std::time::Duration;
use tabmq_core::{Bytes, Instant, ProtocolVersion, QoS};

/// One session as an inspector shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SessionView {
    pub client_id: String,
    pub connected: bool,
    pub protocol: ProtocolVersion,
    /// Filter (with any `$share/GROUP/`) and its maximum QoS, in filter order.
    pub subscriptions: Vec<(String, QoS)>,
    /// QoS 1/2 messages sent and not yet acknowledged.
    pub in_flight: usize,
    /// Messages waiting for the client (offline, or beyond its window).
    pub queued: usize,
    /// How long an offline session has left; `None` while connected or if it never
    /// expires.
    pub expires_in: Option<Duration>,
}

/// One retained message.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RetainedView {
    pub topic: String,
    pub qos: QoS,
    pub payload: Bytes,
}

/// The counters `$SYS` publishes, read directly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct CounterView {
    pub connections: usize,
    pub messages_received: u64,
    pub messages_sent: u64,
    pub publish_received: u64,
    pub publish_sent: u64,
    pub publish_dropped: u64,
    pub bytes_received: u64,
    pub bytes_sent: u64,
}

/// The whole view, in stable order (sessions by client id, retained by topic).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct BrokerView {
    pub sessions: Vec<SessionView>,
    pub retained: Vec<RetainedView>,
    pub counters: CounterView,
}

impl Broker {
    /// What the broker holds now.
    pub fn inspect(&self, now: Instant) -> BrokerView {
        let mut sessions: Vec<SessionView> = self
            .sessions
            .iter()
            .map(|(client_id, s)| SessionView {
                client_id: client_id.clone(),
                connected: self.attached.contains_key(client_id),
                protocol: s.protocol,
                subscriptions: s
                    .subscriptions
                    .iter()
                    .map(|(filter, sub)| (filter.clone(), sub.options.qos))
                    .collect(),
                in_flight: s.state.in_flight(),
                queued: s.state.queued(),
                expires_in: s.expires_at().map(|at| at.saturating_duration_since(now)),
            })
            .collect();
        sessions.sort_by(|a, b| a.client_id.cmp(&b.client_id));
        let retained = self
            .retained
            .iter()
            .filter(|m| m.expires_at.is_none_or(|at| at > now))
            .map(|m| RetainedView {
                topic: m.publish.topic.to_string(),
                qos: m.publish.qos,
                payload: m.publish.payload.clone(),
            })
            .collect();
        let s = &self.stats;
        BrokerView {
            sessions,
            retained,
            counters: CounterView {
                connections: self.conns.len(),
                messages_received: s.messages_received,
                messages_sent: s.messages_sent,
                publish_received: s.publish_received,
                publish_sent: s.publish_sent,
                publish_dropped: s.publish_dropped,
                bytes_received: s.bytes_received,
                bytes_sent: s.bytes_sent,
            },
        }
    }

    /// Deletes the retained message on `topic`, as an empty retained PUBLISH would;
    /// whether there was one.
    pub fn delete_retained(&mut self, topic: &str) -> bool {
        self.retained.remove(topic)
    }
}

/// Counts for hosts and tests, cheaper than a full view.
impl Broker {
    /// Number of open connections.
    pub fn connection_count(&self) -> usize {
        self.conns.len()
    }

    /// Number of sessions, connected or not.
    pub fn session_count(&self) -> usize {
        self.sessions.len()
    }

    /// Number of retained messages.
    pub fn retained_count(&self) -> usize {
        self.retained.len()
    }

    /// Number of subscriptions over all sessions.
    pub fn subscription_count(&self) -> usize {
        self.tree.len()
    }

    /// QoS 1/2 messages in flight to `client_id`'s session, and messages queued for it,
    /// if the broker has the session.
    pub fn session_pending(&self, client_id: &str) -> Option<(usize, usize)> {
        self.sessions
            .get(client_id)
            .map(|s| (s.state.in_flight(), s.state.queued()))
    }

    /// Messages not delivered to a subscriber because a limit was reached.
    pub fn dropped_messages(&self) -> u64 {
        self.stats.publish_dropped
    }
}
