//! PUBLISH in: checks, topic aliases, the QoS handshake; then routing to every matching
//! subscription and delivery into each session's queue.

use crate::access::Access;
use crate::broker::{Broker, ConnId, Ending};
use crate::retained::RetainedMessage;
use crate::session::Subscription;
use crate::subscribe::split_shared;
use std::collections::BTreeMap;
use std::time::Duration;
use tabmq_core::{
    encode_to_vec, Ack, Bytes, Inbound, Instant, LastWill, Packet, ProtocolVersion, Publish, QoS,
    ReasonCode,
};

/// What routing did with a message, for the publisher's acknowledgement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Routed {
    /// Forwarded to this many subscriptions.
    Delivered(usize),
    /// Refused for this reason (MQTT 5 publishers hear it).
    Refused(ReasonCode),
}

/// Whether a topic name or filter is within the configured length and depth.
pub(crate) fn within_topic_limits(broker: &Broker, topic: &str) -> bool {
    topic.len() <= broker.config.max_topic_length
        && topic.split('/').count() <= broker.config.max_topic_levels
}

impl Broker {
    pub(crate) fn handle_publish(
        &mut self,
        conn: ConnId,
        client_id: &str,
        mut publish: Publish,
        now: Instant,
    ) {
        self.stats.publish_received += 1;
        let v5 = self.version_of(conn) == ProtocolVersion::V5;
        if let Err(reason) = self.resolve_alias(conn, &mut publish) {
            return self.end(conn, Ending::ByBroker(reason), now);
        }
        if publish.qos > self.config.maximum_qos {
            // [MQTT-3.2.2-11] binds the client; one that ignores it is told so and closed.
            return self.end(conn, Ending::ByBroker(ReasonCode::QOS_NOT_SUPPORTED), now);
        }
        if publish.retain && !self.config.retain_available {
            return self.end(
                conn,
                Ending::ByBroker(ReasonCode::RETAIN_NOT_SUPPORTED),
                now,
            );
        }
        let refusal = if !within_topic_limits(self, &publish.topic) {
            if publish.qos == QoS::AtMostOnce || !v5 {
                // Nothing to answer with: the connection ends, as a malformed one would.
                return self.end(conn, Ending::ByBroker(ReasonCode::TOPIC_NAME_INVALID), now);
            }
            Some(ReasonCode::TOPIC_NAME_INVALID)
        } else if !self.may(client_id, conn, &publish.topic, Access::Write) {
            // Like Mosquitto: a 3.1.1 publisher is acknowledged as usual, since 3.1.1 has
            // no way to say no; the message goes nowhere.
            Some(ReasonCode::NOT_AUTHORIZED)
        } else {
            None
        };
        let Some(id) = publish.packet_id else {
            if refusal.is_none() {
                self.route(publish, Some(client_id), now);
            }
            return;
        };
        if publish.qos == QoS::ExactlyOnce {
            match self.handle_inbound_qos2(client_id, id) {
                Some(Inbound::Deliver) => {}
                // Already delivered: PUBREC again, and no second delivery [MQTT-4.3.3-10].
                Some(Inbound::Duplicate) => {
                    return self.send(conn, &Packet::PubRec(Ack::new(id)));
                }
                Some(Inbound::OverReceiveMaximum) => {
                    let reason = ReasonCode::RECEIVE_MAXIMUM_EXCEEDED;
                    return self.end(conn, Ending::ByBroker(reason), now);
                }
                None => return,
            }
        }
        let outcome = match refusal {
            Some(reason) => Routed::Refused(reason),
            None => self.route(publish.clone(), Some(client_id), now),
        };
        let mut ack = Ack::new(id);
        if v5 {
            ack.reason_code = match outcome {
                Routed::Refused(reason) => reason,
                // Like Mosquitto, MQTT 5 publishers learn that nobody listened.
                Routed::Delivered(0) => ReasonCode::NO_MATCHING_SUBSCRIBERS,
                Routed::Delivered(_) => ReasonCode::SUCCESS,
            };
        }
        if publish.qos == QoS::AtLeastOnce {
            self.send(conn, &Packet::PubAck(ack));
        } else {
            if !ack.reason_code.is_success() {
                // A failed PUBREC ends the QoS 2 flow: no PUBREL will come for this id.
                if let Some(s) = self.sessions.get_mut(client_id) {
                    s.state.on_pubrel(id);
                }
            }
            self.send(conn, &Packet::PubRec(ack));
        }
    }

    /// MQTT 5 Topic Alias: a new mapping, or a topic filled in from one.
    fn resolve_alias(&mut self, conn: ConnId, publish: &mut Publish) -> Result<(), ReasonCode> {
        let Some(alias) = publish.properties.topic_alias.take() else {
            return Ok(());
        };
        let max = self.config.topic_alias_maximum;
        let Some(c) = self.conns.get_mut(&conn) else {
            return Ok(());
        };
        if alias == 0 || alias > max {
            // [MQTT-3.3.2-12] bounds what we accept; beyond is 0x94.
            return Err(ReasonCode::TOPIC_ALIAS_INVALID);
        }
        if publish.topic.is_empty() {
            match c.aliases.get(&alias) {
                Some(topic) => publish.topic = topic.clone(),
                // §3.3.2.3.4: an alias with no mapping is a Protocol Error.
                None => return Err(ReasonCode::PROTOCOL_ERROR),
            }
        } else {
            c.aliases.insert(alias, publish.topic.clone());
        }
        Ok(())
    }

    /// ACL check for a client, by its connection's or session's username.
    fn may(&self, client_id: &str, conn: ConnId, topic: &str, access: Access) -> bool {
        let Some(acl) = &self.config.acl else {
            return true;
        };
        let username = self.conns.get(&conn).and_then(|c| c.username.as_deref());
        acl.allows(client_id, username, topic, access)
    }

    pub(crate) fn publish_will(&mut self, will: LastWill, now: Instant) {
        let mut properties = will.properties;
        properties.will_delay_interval = None;
        let publish = Publish {
            dup: false,
            qos: will.qos,
            retain: will.retain,
            topic: will.topic,
            packet_id: None,
            payload: will.payload,
            properties,
        };
        self.route(publish, None, now);
    }

    /// The broker's own retained message, such as a `$SYS` statistic.
    pub(crate) fn publish_internal(&mut self, topic: String, value: String, now: Instant) {
        let publish = Publish {
            dup: false,
            qos: QoS::AtMostOnce,
            retain: true,
            topic,
            packet_id: None,
            payload: Bytes::from(value),
            properties: Default::default(),
        };
        let message = RetainedMessage {
            publish: publish.clone(),
            expires_at: None,
        };
        let _ = self.retained.store(message, 0, 0, true);
        self.fan_out(&publish, None, None, now);
    }

    /// Stores a retained message and forwards `publish` to every matching subscription;
    /// `from` is the publishing client, for No Local.
    pub(crate) fn route(&mut self, publish: Publish, from: Option<&str>, now: Instant) -> Routed {
        let expires_at = publish
            .properties
            .message_expiry_interval
            .map(|s| now + Duration::from_secs(u64::from(s)));
        if publish.retain {
            if publish.payload.is_empty() {
                // [MQTT-3.3.1-10]: an empty retained message clears the topic.
                self.retained.remove(&publish.topic);
            } else {
                let mut stored = publish.clone();
                stored.dup = false;
                stored.packet_id = None;
                let message = RetainedMessage {
                    publish: stored,
                    expires_at,
                };
                let c = &self.config;
                let (max_count, max_bytes) = (c.max_retained_messages, c.max_retained_bytes);
                if self
                    .retained
                    .store(message, max_count, max_bytes, false)
                    .is_err()
                {
                    self.stats.publish_dropped += 1;
                    let v5 = from
                        .and_then(|id| self.sessions.get(id))
                        .is_some_and(|s| s.protocol == ProtocolVersion::V5);
                    if v5 {
                        return Routed::Refused(ReasonCode::QUOTA_EXCEEDED);
                    }
                }
            }
        }
        Routed::Delivered(self.fan_out(&publish, from, expires_at, now))
    }

    /// Forwards to each matching subscription; returns how many took it.
    fn fan_out(
        &mut self,
        publish: &Publish,
        from: Option<&str>,
        expires_at: Option<Instant>,
        now: Instant,
    ) -> usize {
        // Per client, the subscriptions that match; per shared group, its members.
        let mut direct: BTreeMap<String, Vec<Subscription>> = BTreeMap::new();
        let mut shared: BTreeMap<String, Vec<(String, Subscription)>> = BTreeMap::new();
        for (client_id, key) in self.tree.matches(&publish.topic) {
            let Some(sub) = self
                .sessions
                .get(client_id)
                .and_then(|s| s.subscriptions.get(key))
            else {
                continue;
            };
            let (group, filter) = split_shared(key);
            match group {
                Some(group) => shared
                    .entry(format!("{group}/{filter}"))
                    .or_default()
                    .push((client_id.clone(), sub.clone())),
                None => {
                    if sub.options.no_local && from == Some(client_id.as_str()) {
                        // [MQTT-3.8.3-3]
                        continue;
                    }
                    direct
                        .entry(client_id.clone())
                        .or_default()
                        .push(sub.clone());
                }
            }
        }
        let mut copies: Vec<(String, Subscription)> = Vec::new();
        for (client_id, subs) in direct {
            let v5 = self
                .sessions
                .get(&client_id)
                .is_some_and(|s| s.protocol == ProtocolVersion::V5);
            if v5 {
                // Like Mosquitto: one copy per matching subscription, each with its own
                // QoS and Subscription Identifier [MQTT-3.3.4-5].
                copies.extend(subs.into_iter().map(|s| (client_id.clone(), s)));
            } else if let Some(best) = subs.into_iter().max_by_key(|s| s.options.qos) {
                // 3.1.1: one copy at the highest QoS of the matches [MQTT-3.3.5-1].
                copies.push((client_id, best));
            }
        }
        for (group, members) in shared {
            if let Some(chosen) = self.pick_shared(&group, members) {
                copies.push(chosen);
            }
        }
        let mut delivered = 0;
        for (client_id, sub) in copies {
            let readable = match (&self.config.acl, self.sessions.get(&client_id)) {
                (Some(acl), Some(s)) => acl.allows(
                    &client_id,
                    s.username.as_deref(),
                    &publish.topic,
                    Access::Read,
                ),
                _ => true,
            };
            if !readable {
                continue;
            }
            let mut properties = publish.properties.clone();
            properties.topic_alias = None;
            properties.subscription_identifiers = sub.id.into_iter().collect();
            let out = Publish {
                dup: false,
                // Effective QoS is the lower of the two.
                qos: publish.qos.min(sub.options.qos),
                // [MQTT-3.3.1-9]: retain 0 to existing subscriptions, unless 5.0's
                // Retain As Published asks to keep it.
                retain: publish.retain && sub.options.retain_as_published,
                topic: publish.topic.clone(),
                packet_id: None,
                payload: publish.payload.clone(),
                properties,
            };
            if self.deliver(&client_id, out, expires_at, now) {
                delivered += 1;
            }
        }
        delivered
    }

    /// One member of a shared subscription group, in turn; online members first, so a
    /// message does not wait in an offline member's queue while others could take it.
    fn pick_shared(
        &mut self,
        group: &str,
        members: Vec<(String, Subscription)>,
    ) -> Option<(String, Subscription)> {
        let cursor = self.shared_cursor.entry(group.to_owned()).or_insert(0);
        let n = members.len();
        let start = *cursor % n.max(1);
        let order: Vec<usize> = (0..n).map(|i| (start + i) % n).collect();
        let chosen = order
            .iter()
            .copied()
            .find(|&i| self.attached.contains_key(&members[i].0))
            .or(order.first().copied())?;
        *cursor = chosen + 1;
        members.into_iter().nth(chosen)
    }

    /// Queues `publish` for the session and sends what its window allows. QoS 0 is not
    /// kept for an offline client unless configured, like Mosquitto; past the queue's
    /// limits, messages are dropped and counted, like Mosquitto's `max_queued_messages`.
    pub(crate) fn deliver(
        &mut self,
        client_id: &str,
        publish: Publish,
        expires_at: Option<Instant>,
        now: Instant,
    ) -> bool {
        let conn = self.attached.get(client_id).copied();
        let c = &self.config;
        let (max_queued, max_bytes, queue_qos0) = (
            c.max_queued_messages,
            c.max_queued_bytes,
            c.queue_qos0_messages,
        );
        if let Some(max_out) = conn
            .and_then(|id| self.conns.get(&id))
            .and_then(|c| c.max_packet_out)
        {
            let version = self.version_of(conn.unwrap_or(crate::ConnId(0)));
            let size =
                encode_to_vec(&Packet::Publish(publish.clone()), version).map_or(0, |b| b.len());
            if size > max_out {
                // [MQTT-3.1.2-25]: too large for the client; discarded as if sent.
                self.stats.publish_dropped += 1;
                return false;
            }
        }
        let Some(session) = self.sessions.get_mut(client_id) else {
            return false;
        };
        if conn.is_none() && publish.qos == QoS::AtMostOnce && !queue_qos0 {
            return false;
        }
        let full = session.state.queued() >= max_queued
            || session.state.queued_bytes() + publish.payload.len() > max_bytes;
        if full || session.state.enqueue_until(publish, expires_at).is_err() {
            self.stats.publish_dropped += 1;
            return false;
        }
        self.flush(client_id, now);
        true
    }

    /// Sends what the session has queued while its connection's window has room.
    pub(crate) fn flush(&mut self, client_id: &str, now: Instant) {
        let Some(&conn) = self.attached.get(client_id) else {
            return;
        };
        let window = self.conns.get(&conn).map_or(1, |c| c.window);
        let Some(session) = self.sessions.get_mut(client_id) else {
            return;
        };
        let mut ready = Vec::new();
        while let Some(publish) = session.state.next_ready_at(window, Some(now)) {
            ready.push(Packet::Publish(publish));
        }
        for packet in &ready {
            self.send(conn, packet);
        }
    }
}
