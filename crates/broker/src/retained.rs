//! Retained messages, one per topic, bounded in count and bytes.

use std::collections::BTreeMap;
use tabmq_core::{topic_matches, Instant, Publish};

#[derive(Debug, Clone)]
pub(crate) struct RetainedMessage {
    pub publish: Publish,
    /// From its MQTT 5 Message Expiry Interval.
    pub expires_at: Option<Instant>,
    /// Who published it, for `check_retain_source`; `None` for the broker's own.
    pub source: Option<Source>,
}

/// The publisher of a retained message, as the ACL knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Source {
    pub client_id: String,
    pub username: Option<String>,
    pub listener: usize,
}

/// The store is full: the retained message is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RetainedFull;

#[derive(Debug, Default)]
pub(crate) struct RetainedStore {
    messages: BTreeMap<String, RetainedMessage>,
    bytes: usize,
}

fn size(publish: &Publish) -> usize {
    publish.topic.len() + publish.payload.len()
}

impl RetainedStore {
    pub fn len(&self) -> usize {
        self.messages.len()
    }

    /// Stores `message`, replacing the topic's; refused if it would pass the limits.
    /// `unlimited` is for the broker's own `$SYS` messages.
    pub fn store(
        &mut self,
        message: RetainedMessage,
        max_messages: usize,
        max_bytes: usize,
        unlimited: bool,
    ) -> Result<(), RetainedFull> {
        let old = self
            .messages
            .get(&message.publish.topic)
            .map_or(0, |m| size(&m.publish));
        let count_after = self.messages.len() + usize::from(old == 0);
        let bytes_after = self.bytes - old + size(&message.publish);
        if !unlimited && (count_after > max_messages || bytes_after > max_bytes) {
            return Err(RetainedFull);
        }
        self.bytes = bytes_after;
        self.messages.insert(message.publish.topic.clone(), message);
        Ok(())
    }

    /// Clears `topic` [MQTT-3.3.1-10].
    pub fn remove(&mut self, topic: &str) {
        if let Some(old) = self.messages.remove(topic) {
            self.bytes -= size(&old.publish);
        }
    }

    /// The live retained messages matching `filter`.
    pub fn matching(&self, filter: &str, now: Instant) -> Vec<RetainedMessage> {
        self.messages
            .values()
            .filter(|m| m.expires_at.is_none_or(|at| at > now))
            .filter(|m| topic_matches(filter, &m.publish.topic))
            .cloned()
            .collect()
    }

    /// Drops expired messages [MQTT-3.3.2-5].
    pub fn purge_expired(&mut self, now: Instant) {
        let expired: Vec<String> = self
            .messages
            .values()
            .filter(|m| m.expires_at.is_some_and(|at| at <= now))
            .map(|m| m.publish.topic.clone())
            .collect();
        for topic in expired {
            self.remove(&topic);
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = &RetainedMessage> {
        self.messages.values()
    }
}
