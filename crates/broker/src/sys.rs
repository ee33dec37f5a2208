//! Broker statistics, published as retained `$SYS/broker/...` messages under Mosquitto's
//! topic names, so dashboards written for Mosquitto read ours.

use crate::fast_hash::HashMap;
use tabmq_core::Instant;

/// Counters since the broker started.
#[derive(Debug, Default, Clone)]
pub(crate) struct Stats {
    pub started: Option<Instant>,
    pub next_publish: Option<Instant>,
    /// Every MQTT packet.
    pub messages_received: u64,
    pub messages_sent: u64,
    /// PUBLISH packets only.
    pub publish_received: u64,
    pub publish_sent: u64,
    /// Messages not delivered to a subscriber because a limit was reached.
    pub publish_dropped: u64,
    pub bytes_received: u64,
    pub bytes_sent: u64,
    /// Most clients connected at once.
    pub clients_maximum: u64,
    /// Sessions ended by their expiry interval.
    pub clients_expired: u64,
    /// What was published last, so unchanged values are not sent again.
    pub last_values: HashMap<String, String>,
}

/// Figures the broker reads from its state at publishing time.
pub(crate) struct Gauges {
    pub connected: u64,
    pub total_sessions: u64,
    pub subscriptions: u64,
    pub retained: u64,
    pub stored_messages: u64,
    pub stored_bytes: u64,
}

impl Stats {
    /// The `$SYS` topics whose value changed since last time, with the new value.
    pub fn changed(&mut self, now: Instant, g: &Gauges) -> Vec<(String, String)> {
        let uptime = now
            .saturating_duration_since(self.started.unwrap_or(now))
            .as_secs();
        let disconnected = g.total_sessions.saturating_sub(g.connected);
        let values: [(&str, String); 20] = [
            (
                "version",
                format!("tabmq version {}", env!("CARGO_PKG_VERSION")),
            ),
            ("uptime", format!("{uptime} seconds")),
            ("clients/connected", g.connected.to_string()),
            ("clients/active", g.connected.to_string()),
            ("clients/disconnected", disconnected.to_string()),
            ("clients/inactive", disconnected.to_string()),
            ("clients/total", g.total_sessions.to_string()),
            ("clients/maximum", self.clients_maximum.to_string()),
            ("clients/expired", self.clients_expired.to_string()),
            ("messages/received", self.messages_received.to_string()),
            ("messages/sent", self.messages_sent.to_string()),
            (
                "publish/messages/received",
                self.publish_received.to_string(),
            ),
            ("publish/messages/sent", self.publish_sent.to_string()),
            ("publish/messages/dropped", self.publish_dropped.to_string()),
            ("bytes/received", self.bytes_received.to_string()),
            ("bytes/sent", self.bytes_sent.to_string()),
            ("retained messages/count", g.retained.to_string()),
            ("subscriptions/count", g.subscriptions.to_string()),
            ("store/messages/count", g.stored_messages.to_string()),
            ("store/messages/bytes", g.stored_bytes.to_string()),
        ];
        let mut out = Vec::new();
        for (name, value) in values {
            let topic = format!("$SYS/broker/{name}");
            if self.last_values.get(&topic) != Some(&value) {
                self.last_values.insert(topic.clone(), value.clone());
                out.push((topic, value));
            }
        }
        out
    }
}

impl crate::broker::Broker {
    /// Publishes the `$SYS` gauges and counters that changed since the last time.
    pub(crate) fn publish_sys(&mut self, now: Instant) {
        let stored_messages: usize = self.sessions.values().map(|s| s.state.queued()).sum();
        let stored_bytes: usize = self.sessions.values().map(|s| s.state.queued_bytes()).sum();
        let connected = self.attached.len() as u64;
        self.stats.clients_maximum = self.stats.clients_maximum.max(connected);
        let gauges = Gauges {
            connected,
            total_sessions: self.sessions.len() as u64,
            subscriptions: self.tree.len() as u64,
            retained: self.retained.len() as u64,
            stored_messages: stored_messages as u64,
            stored_bytes: stored_bytes as u64,
        };
        for (topic, value) in self.stats.changed(now, &gauges) {
            self.publish_internal(topic, value, now);
        }
    }
}
