//! Retained messages, one per topic, bounded in count and bytes. A message is kept as
//! the parts that are not its topic (the map's key holds the topic once), and matching
//! hands out references: 50,000 retained topics are one copy each, also while a new
//! subscriber's burst is built from them.

use std::collections::BTreeMap;
use tabmq_core::{topic_matches, Bytes, Instant, Properties, Publish, QoS};

/// A retained message as the rest of the broker sees it (built on demand).
#[derive(Debug, Clone)]
pub(crate) struct RetainedMessage {
    pub publish: Publish,
    /// From its MQTT 5 Message Expiry Interval.
    pub expires_at: Option<Instant>,
    /// Who published it, for `check_retain_source`; `None` for the broker's own, and
    /// unless that option is on.
    pub source: Option<Source>,
}

/// The publisher of a retained message, as the ACL knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Source {
    pub client_id: String,
    pub username: Option<String>,
    pub listener: usize,
}

/// What is kept of a retained message beside its topic.
#[derive(Debug)]
pub(crate) struct Kept {
    pub payload: Bytes,
    pub qos: QoS,
    pub properties: Properties,
    pub expires_at: Option<Instant>,
    pub source: Option<Box<Source>>,
}

impl Kept {
    /// The message as a PUBLISH on `topic`.
    pub fn publish(&self, topic: &str) -> Publish {
        Publish {
            dup: false,
            qos: self.qos,
            retain: true,
            topic: topic.into(),
            packet_id: None,
            payload: self.payload.clone(),
            properties: self.properties.clone(),
        }
    }

    fn live(&self, now: Instant) -> bool {
        self.expires_at.is_none_or(|at| at > now)
    }
}

/// The store is full: the retained message is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RetainedFull;

#[derive(Debug, Default)]
pub(crate) struct RetainedStore {
    messages: BTreeMap<String, Kept>,
    bytes: usize,
}

fn size(topic: &str, kept: &Kept) -> usize {
    topic.len() + kept.payload.len()
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
        let RetainedMessage {
            publish,
            expires_at,
            source,
        } = message;
        let kept = Kept {
            payload: publish.payload,
            qos: publish.qos,
            properties: publish.properties,
            expires_at,
            source: source.map(Box::new),
        };
        let topic = String::from(publish.topic);
        let old = self.messages.get(&topic).map_or(0, |m| size(&topic, m));
        let count_after = self.messages.len() + usize::from(old == 0);
        let bytes_after = self.bytes - old + size(&topic, &kept);
        if !unlimited && (count_after > max_messages || bytes_after > max_bytes) {
            return Err(RetainedFull);
        }
        self.bytes = bytes_after;
        self.messages.insert(topic, kept);
        Ok(())
    }

    /// Clears `topic` [MQTT-3.3.1-10]; whether there was a message.
    pub fn remove(&mut self, topic: &str) -> bool {
        match self.messages.remove(topic) {
            Some(old) => {
                self.bytes -= size(topic, &old);
                true
            }
            None => false,
        }
    }

    /// The live retained messages matching `filter`, by reference. A filter without
    /// wildcards is one lookup.
    pub fn matching<'a>(
        &'a self,
        filter: &'a str,
        now: Instant,
    ) -> Box<dyn Iterator<Item = (&'a str, &'a Kept)> + 'a> {
        if !filter.contains(['+', '#']) {
            return Box::new(
                self.messages
                    .get_key_value(filter)
                    .filter(|(_, k)| k.live(now))
                    .map(|(t, k)| (t.as_str(), k))
                    .into_iter(),
            );
        }
        Box::new(
            self.messages
                .iter()
                .filter(move |(_, k)| k.live(now))
                .filter(move |(t, _)| topic_matches(filter, t))
                .map(|(t, k)| (t.as_str(), k)),
        )
    }

    /// Drops expired messages [MQTT-3.3.2-5].
    pub fn purge_expired(&mut self, now: Instant) {
        let expired: Vec<String> = self
            .messages
            .iter()
            .filter(|(_, k)| !k.live(now))
            .map(|(t, _)| t.clone())
            .collect();
        for topic in expired {
            self.remove(&topic);
        }
    }

    /// Every message, built whole (for snapshots and inspectors), in topic order.
    pub fn iter(&self) -> impl Iterator<Item = RetainedMessage> + '_ {
        self.messages.iter().map(|(topic, k)| RetainedMessage {
            publish: k.publish(topic),
            expires_at: k.expires_at,
            source: k.source.as_deref().cloned(),
        })
    }
}
