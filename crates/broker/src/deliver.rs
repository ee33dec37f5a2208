//! Routing a message to every matching subscription, and delivering it into each
//! session: queued, then sent as the session's in-flight window and its connection's
//! output budget allow. What a connection has not taken stays queued, with its payload
//! shared, not copied into an output buffer: a client that never reads holds at most
//! [`BrokerConfig::output_high_water`](crate::BrokerConfig) of encoded bytes.

use crate::access::Access;
use crate::broker::{Broker, ConnId};
use crate::publish::Routed;
use crate::retained::RetainedMessage;
use crate::session::Subscription;
use crate::topic_rules::split_shared;
use std::collections::BTreeMap;
use std::time::Duration;
use tabmq_core::{
    encoded_len, ByteString, Bytes, Instant, LastWill, Packet, ProtocolVersion, Publish, QoS,
    ReasonCode,
};

impl Broker {
    pub(crate) fn publish_will(&mut self, will: LastWill, now: Instant) {
        let mut properties = will.properties;
        // Written only when set: writing a field of empty properties allocates them.
        if properties.will_delay_interval.is_some() {
            properties.will_delay_interval = None;
        }
        let publish = Publish {
            dup: false,
            qos: will.qos,
            retain: will.retain,
            topic: will.topic.into(),
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
            topic: topic.into(),
            packet_id: None,
            payload: Bytes::from(value),
            properties: Default::default(),
        };
        let message = RetainedMessage {
            publish: publish.clone(),
            expires_at: None,
            source: None,
        };
        let _ = self.retained.store(message, 0, 0, true);
        self.fan_out(&publish, None, None, now);
    }

    /// Stores a retained message and forwards `publish` to every matching subscription;
    /// `from` is the publishing client, for No Local.
    pub(crate) fn route(&mut self, publish: Publish, from: Option<&str>, now: Instant) -> Routed {
        self.pressure.congested_now.clear();
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
                // The payload came in as a slice of a read buffer; a retained copy of its
                // own lets that buffer go (a 100-byte message must not hold 64 KiB).
                stored.payload = Bytes::copy_from_slice(&publish.payload);
                let source = if self.config.check_retain_source {
                    from.and_then(|id| self.source_of(id))
                } else {
                    None
                };
                let message = RetainedMessage {
                    publish: stored,
                    expires_at,
                    source,
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
        let delivered = self.fan_out(&publish, from, expires_at, now);
        if let Some(publisher) = from {
            self.check_pressure(publisher, now);
        }
        Routed::Delivered(delivered)
    }

    /// Forwards to each matching subscription; returns how many subscriptions matched,
    /// delivered or not (No Local, the ACL, a full queue), which is what Mosquitto
    /// counts when it tells an MQTT 5 publisher there were no subscribers.
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
        let matched = self.tree.matches(&publish.topic);
        let subscribers = matched.len();
        for (client_id, key) in matched {
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
        for (client_id, sub) in copies {
            if !self.readable(&client_id, &publish.topic) {
                continue;
            }
            // Written only when there is something to write: writing a field of empty
            // properties allocates them, once per copy.
            let mut properties = publish.properties.clone();
            if properties.topic_alias.is_some() {
                properties.topic_alias = None;
            }
            if sub.id.is_some() || !properties.subscription_identifiers.is_empty() {
                properties.subscription_identifiers = sub.id.into_iter().collect();
            }
            let qos = if self.config.upgrade_outgoing_qos {
                sub.options.qos
            } else {
                // Effective QoS is the lower of the two.
                publish.qos.min(sub.options.qos)
            };
            let out = Publish {
                dup: false,
                qos,
                // [MQTT-3.3.1-9]: retain 0 to existing subscriptions, unless 5.0's
                // Retain As Published asks to keep it.
                retain: publish.retain && sub.options.retain_as_published,
                topic: publish.topic.clone(),
                packet_id: None,
                payload: publish.payload.clone(),
                properties,
            };
            self.deliver(&client_id, out, expires_at, now);
        }
        subscribers
    }

    /// Whether the session's client may receive messages on `topic`, by the ACL of the
    /// listener it connected through.
    pub(crate) fn readable(&self, client_id: &str, topic: &str) -> bool {
        let Some(session) = self.sessions.get(client_id) else {
            return false;
        };
        match &self.config.listener(session.listener).security.acl {
            Some(acl) => acl.allows(client_id, session.username.as_deref(), topic, Access::Read),
            None => true,
        }
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
        let room = self.config.max_queued_messages;
        self.deliver_within(client_id, publish, expires_at, room, now)
    }

    /// [`Broker::deliver`], with `room` for the session's queue instead of
    /// `max_queued_messages`.
    pub(crate) fn deliver_within(
        &mut self,
        client_id: &str,
        publish: Publish,
        expires_at: Option<Instant>,
        room: usize,
        now: Instant,
    ) -> bool {
        let online = self.attached.contains_key(client_id);
        let c = &self.config;
        let (max_queued, max_bytes, queue_qos0) = (room, c.max_queued_bytes, c.queue_qos0_messages);
        let Some(session) = self.sessions.get_mut(client_id) else {
            return false;
        };
        if !online && publish.qos == QoS::AtMostOnce && !queue_qos0 {
            return false;
        }
        // The queue holds what waits beyond the in-flight window.
        let full = session.state.queued() >= max_queued
            || max_bytes
                .is_some_and(|max| session.state.queued_bytes() + publish.payload.len() > max);
        if full || session.state.enqueue_until(publish, expires_at).is_err() {
            self.stats.publish_dropped += 1;
            return false;
        }
        self.flush(client_id, now);
        self.note_congestion(client_id, now);
        true
    }

    /// Sends what the session has queued while its in-flight window and its connection's
    /// output budget have room.
    pub(crate) fn flush(&mut self, client_id: &str, now: Instant) {
        let Some(&conn) = self.attached.get(client_id) else {
            return;
        };
        let Some(c) = self.conns.get(&conn) else {
            return;
        };
        let (window, version, max_out) = (c.window, c.version, c.max_packet_out);
        let high_water = self.config.output_high_water;
        let max_inflight_bytes = self.config.max_inflight_bytes;
        loop {
            if !self.has_budget(conn, high_water) {
                break;
            }
            let Some(session) = self.sessions.get_mut(client_id) else {
                return;
            };
            let Some(next) = session.state.peek_queued() else {
                break;
            };
            if let Some(max) = max_out {
                // Counted as Mosquitto counts it, without the fixed header's first byte:
                // Mosquitto's own tests pin that, though [MQTT-3.1.2-24] counts the whole
                // packet (a departure the README names).
                let size = encoded_len(&Packet::Publish(next.clone()), version)
                    .map_or(0, |n| n.saturating_sub(1));
                if size > max {
                    // [MQTT-3.1.2-25]: too large for the client; discarded as if sent.
                    session.state.discard_next();
                    self.stats.publish_dropped += 1;
                    continue;
                }
            }
            if let (Some(max), true) = (max_inflight_bytes, next.qos != QoS::AtMostOnce) {
                if session.state.in_flight() > 0
                    && session.state.in_flight_payload_bytes() + next.payload.len() > max
                {
                    break;
                }
            }
            let Some(publish) = session.state.next_ready_at(window, Some(now)) else {
                break;
            };
            self.send_publish(conn, publish);
        }
        self.relieve_pressure(client_id, now);
    }

    /// Whether `conn` may take more bytes now: what the host still has to write and what
    /// waits in our buffer are under the high-water mark.
    fn has_budget(&self, conn: ConnId, high_water: usize) -> bool {
        self.conns
            .get(&conn)
            .is_some_and(|c| c.unwritten + c.outbox.len() < high_water)
    }

    /// Sends a PUBLISH as this connection's client sees it: without its listener's mount
    /// point, and towards an MQTT 5 client that allows them, with a topic alias for a
    /// topic it has seen before (Mosquitto 2.0 sends none; dashboards get the same few
    /// topics thousands of times).
    pub(crate) fn send_publish(&mut self, conn: ConnId, mut publish: Publish) {
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        if let Some(mount) = &self.config.listener(c.listener).mount_point {
            if let Some(rest) = publish.topic.strip_prefix(mount.as_str()) {
                publish.topic = publish.topic.slice_ref(rest);
            }
        }
        if c.version == ProtocolVersion::V5 && c.alias_out_max > 0 {
            match c.aliases_out.get(&*publish.topic) {
                Some(&alias) => {
                    publish.properties.topic_alias = Some(alias);
                    publish.topic = ByteString::new();
                }
                None if c.aliases_out.len() < usize::from(c.alias_out_max) => {
                    let alias = c.aliases_out.len() as u16 + 1;
                    c.aliases_out.insert(publish.topic.to_string(), alias);
                    publish.properties.topic_alias = Some(alias);
                }
                None => {}
            }
        }
        self.send(conn, &Packet::Publish(publish));
    }
}
