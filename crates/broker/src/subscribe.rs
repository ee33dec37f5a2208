//! SUBSCRIBE and UNSUBSCRIBE: limits, the ACL, shared subscriptions, and the retained
//! messages a new subscription receives.

use crate::access::Access;
use crate::broker::{Broker, ConnId, Ending};
use crate::session::Subscription;
use crate::topic_rules::{split_shared, within_topic_limits};
use tabmq_core::{
    Instant, Packet, Properties, ProtocolVersion, ReasonCode, RetainHandling, SubAck, Subscribe,
    UnsubAck, Unsubscribe,
};

/// 3.1.1's SUBACK failure.
const SUBACK_FAILURE: ReasonCode = ReasonCode(0x80);

impl Broker {
    pub(crate) fn handle_subscribe(
        &mut self,
        conn: ConnId,
        client_id: &str,
        subscribe: Subscribe,
        now: Instant,
    ) {
        let v5 = self.version_of(conn) == ProtocolVersion::V5;
        let Some(c) = self.conns.get(&conn) else {
            return;
        };
        let (listener, bridge, mqtt31) = (c.listener, c.bridge, c.mqtt31);
        let l = self.config.listener(listener);
        let (mount, max_qos) = (l.mount_point.clone(), l.maximum_qos);
        let sub_id = subscribe
            .properties
            .subscription_identifiers
            .first()
            .copied();
        if subscribe
            .filters
            .iter()
            .any(|f| v5 && f.no_local && split_shared(&f.filter).0.is_some())
        {
            // [MQTT-3.8.3-4]: No Local on a shared subscription is a Protocol Error.
            return self.end(conn, Ending::ByBroker(ReasonCode::PROTOCOL_ERROR), now);
        }
        let mut reason_codes = Vec::with_capacity(subscribe.filters.len());
        let mut wants_retained = Vec::new();
        for mut f in subscribe.filters {
            if let Some(mount) = &mount {
                f.filter = match split_shared(&f.filter) {
                    (Some(group), inner) => format!("$share/{group}/{mount}{inner}"),
                    (None, inner) => format!("{mount}{inner}"),
                };
            }
            if bridge {
                // Like Mosquitto: a 3.1.1 bridge gets 5.0's No Local and Retain As
                // Published, so its messages do not loop back and keep their retain flag.
                f.no_local = true;
                f.retain_as_published = true;
            }
            let (group, inner) = split_shared(&f.filter);
            let inner = inner.to_owned();
            let shared = group.is_some();
            let existed = self
                .sessions
                .get(client_id)
                .is_some_and(|s| s.subscriptions.contains_key(&f.filter));
            let count = self
                .sessions
                .get(client_id)
                .map_or(0, |s| s.subscriptions.len());
            let over_quota = self
                .config
                .max_subscriptions_per_client
                .is_some_and(|max| !existed && count >= max);
            if !within_topic_limits(&self.config, &inner) {
                // Like Mosquitto: a filter too deep for the broker is a malformed SUBSCRIBE.
                return self.end(conn, Ending::ByBroker(ReasonCode::MALFORMED_PACKET), now);
            }
            let refusal = if over_quota {
                Some(ReasonCode::QUOTA_EXCEEDED)
            } else {
                // Like Mosquitto 2.0, the ACL file does not refuse subscriptions: what a
                // client may not read is held back message by message.
                None
            };
            if let Some(reason) = refusal {
                reason_codes.push(match (v5, mqtt31) {
                    (true, _) => reason,
                    // 3.1 has no failure code.
                    (false, true) => ReasonCode(f.qos.as_u8()),
                    (false, false) => SUBACK_FAILURE,
                });
                continue;
            }
            f.qos = f.qos.min(max_qos);
            reason_codes.push(ReasonCode(f.qos.as_u8()));
            let send_retained = match f.retain_handling {
                // 3.1.1 sends retained messages on every SUBSCRIBE, as Mosquitto does.
                _ if !v5 => true,
                RetainHandling::SendOnSubscribe => true,
                RetainHandling::SendIfNew => !existed,
                RetainHandling::DoNotSend => false,
            };
            // Retained messages are not sent to a shared subscription (§4.8.2).
            if send_retained && !shared {
                wants_retained.push((inner.clone(), f.qos, sub_id));
            }
            let key = f.filter.clone();
            let subscription = Subscription {
                options: f,
                id: sub_id,
            };
            if let Some(session) = self.sessions.get_mut(client_id) {
                // [MQTT-3.8.4-3]: the same filter replaces the subscription.
                session.subscriptions.insert(key.clone(), subscription);
                self.tree.insert(&inner, (client_id.to_owned(), key));
            }
        }
        let ack = SubAck {
            packet_id: subscribe.packet_id,
            reason_codes,
            properties: Properties::default(),
        };
        self.send(conn, &Packet::SubAck(ack));
        self.send_retained(client_id, &wants_retained, now);
    }

    /// [MQTT-3.3.1-6]: retained messages matching a new subscription follow its SUBACK,
    /// with retain 1, each once even if several new filters match it.
    fn send_retained(
        &mut self,
        client_id: &str,
        subs: &[(String, tabmq_core::QoS, Option<u32>)],
        now: Instant,
    ) {
        let mut seen = crate::fast_hash::HashSet::default();
        let mut matching = Vec::new();
        for (filter, qos, sub_id) in subs {
            for (topic, kept) in self.retained.matching(filter, now) {
                if !self.readable(client_id, topic)
                    || !self.source_still_allowed(topic, kept)
                    || !seen.insert(topic)
                {
                    continue;
                }
                let mut out = kept.publish(topic);
                out.qos = if self.config.upgrade_outgoing_qos {
                    *qos
                } else {
                    out.qos.min(*qos)
                };
                if let Some(id) = sub_id {
                    out.properties.subscription_identifiers = vec![*id];
                }
                matching.push((out, kept.expires_at));
            }
        }
        drop(seen);
        // The retained messages a SUBSCRIBE matches arrive as one burst, which may be far
        // more than the queue limit (50,000 retained topics); they share their payloads
        // with the store, so a session whose queue is not already full takes them all, as
        // Mosquitto does. One that is full (a client repeating SUBSCRIBE without reading)
        // takes none past the limit.
        let queued = self.sessions.get(client_id).map_or(0, |s| s.state.queued());
        let limit = self.config.max_queued_messages;
        let room = if queued < limit {
            limit.max(queued.saturating_add(matching.len()))
        } else {
            limit
        };
        for (publish, expires_at) in matching {
            self.deliver_within(client_id, publish, expires_at, room, now);
        }
    }

    /// Mosquitto's `check_retain_source`: a retained message goes out only while its
    /// publisher may still publish to its topic.
    fn source_still_allowed(&self, topic: &str, kept: &crate::retained::Kept) -> bool {
        let (true, Some(source)) = (self.config.check_retain_source, &kept.source) else {
            return true;
        };
        match &self.config.listener(source.listener).security.acl {
            Some(acl) => acl.allows(
                &source.client_id,
                source.username.as_deref(),
                topic,
                Access::Write,
            ),
            None => true,
        }
    }

    pub(crate) fn handle_unsubscribe(
        &mut self,
        conn: ConnId,
        client_id: &str,
        unsubscribe: Unsubscribe,
    ) {
        let v5 = self.version_of(conn) == ProtocolVersion::V5;
        let listener = self.conns.get(&conn).map_or(0, |c| c.listener);
        let mount = self.config.listener(listener).mount_point.clone();
        let mut reason_codes = Vec::new();
        for filter in &unsubscribe.filters {
            let mounted;
            let filter = match (&mount, split_shared(filter)) {
                (Some(m), (Some(group), inner)) => {
                    mounted = format!("$share/{group}/{m}{inner}");
                    &mounted
                }
                (Some(m), (None, inner)) => {
                    mounted = format!("{m}{inner}");
                    &mounted
                }
                (None, _) => filter,
            };
            let existed = self
                .sessions
                .get_mut(client_id)
                .is_some_and(|s| s.subscriptions.remove(filter.as_str()).is_some());
            if existed {
                let (_, inner) = split_shared(filter);
                self.tree
                    .remove(inner, &(client_id.to_owned(), filter.to_string()));
            }
            reason_codes.push(if existed {
                ReasonCode::SUCCESS
            } else {
                ReasonCode::NO_SUBSCRIPTION_EXISTED
            });
        }
        if !v5 {
            reason_codes.clear();
        }
        let ack = UnsubAck {
            packet_id: unsubscribe.packet_id,
            reason_codes,
            properties: Properties::default(),
        };
        self.send(conn, &Packet::UnsubAck(ack));
    }
}
