//! PUBLISH in, and the acknowledgements of what we sent: checks in Mosquitto 2.0's order,
//! topic aliases and mount points, and the QoS handshakes. A QoS 2 message is held until
//! its PUBREL and routed then, as Mosquitto does, so PUBREC never waits on delivery.

use crate::access::Access;
use crate::broker::{Broker, ConnId, Ending};
use crate::retained::Source;
use crate::topic_rules::within_topic_limits;
use tabmq_core::{
    Ack, Inbound, Instant, Packet, PacketId, ProtocolVersion, Publish, QoS, ReasonCode,
};

/// What routing did with a message, for the publisher's acknowledgement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Routed {
    /// Forwarded to this many subscriptions.
    Delivered(usize),
    /// Refused for this reason (MQTT 5 publishers hear it).
    Refused(ReasonCode),
}

/// `$SYS` is the broker's: clients may not publish there, but for a bridge's state; and
/// `$share` names shared subscriptions, not topics (Mosquitto's `acl__check_dollar`).
fn sys_write_denied(topic: &str) -> bool {
    if topic.starts_with("$share") {
        return true;
    }
    let Some(rest) = topic.strip_prefix("$SYS") else {
        return false;
    };
    let levels: Vec<&str> = rest.split('/').collect();
    !matches!(levels.as_slice(), ["", "broker", "connection", _, "state"])
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
        let listener = self.conns.get(&conn).map_or(0, |c| c.listener);
        if publish.qos > self.config.listener(listener).maximum_qos {
            // [MQTT-3.2.2-11] binds the client; one that ignores it is told so and closed.
            return self.end(conn, Ending::ByBroker(ReasonCode::QOS_NOT_SUPPORTED), now);
        }
        if publish.retain && !self.config.retain_available {
            let reason = ReasonCode::RETAIN_NOT_SUPPORTED;
            return self.end(conn, Ending::ByBroker(reason), now);
        }
        if let Err(reason) = self.resolve_alias(conn, &mut publish) {
            return self.end(conn, Ending::ByBroker(reason), now);
        }
        if !within_topic_limits(&self.config, &publish.topic) {
            // Like Mosquitto: a topic too deep for the broker ends the connection (0x82).
            return self.end(conn, Ending::ByBroker(ReasonCode::PROTOCOL_ERROR), now);
        }
        if let Some(mount) = &self.config.listener(listener).mount_point {
            publish.topic = format!("{mount}{}", publish.topic).into();
        }
        let too_large = self
            .config
            .message_size_limit
            .is_some_and(|limit| publish.payload.len() > limit);
        let refusal = if too_large {
            Some(ReasonCode::PACKET_TOO_LARGE)
        } else if sys_write_denied(&publish.topic)
            || !self.may(client_id, conn, &publish.topic, Access::Write)
        {
            // Like Mosquitto: a 3.1.1 publisher is acknowledged as usual, since 3.1.1 has
            // no way to say no; the message goes nowhere.
            Some(ReasonCode::NOT_AUTHORIZED)
        } else {
            None
        };
        if let Some(reason) = refusal {
            return self.acknowledge_refused(conn, &publish, reason);
        }
        let Some(id) = publish.packet_id else {
            self.route(publish, Some(client_id), now);
            return;
        };
        if publish.qos == QoS::ExactlyOnce {
            return self.hold_qos2(conn, client_id, id, publish, now);
        }
        let outcome = self.route(publish, Some(client_id), now);
        let mut ack = Ack::new(id);
        if v5 {
            ack.reason_code = match outcome {
                Routed::Refused(reason) => reason,
                // Like Mosquitto, MQTT 5 publishers learn that nobody listened.
                Routed::Delivered(0) => ReasonCode::NO_MATCHING_SUBSCRIBERS,
                Routed::Delivered(_) => ReasonCode::SUCCESS,
            };
        }
        self.send(conn, &Packet::PubAck(ack));
    }

    /// A PUBLISH that is not accepted still completes its QoS flow: the MQTT 5 publisher
    /// hears why, a 3.1.1 publisher cannot. For QoS 2 the failed PUBREC ends the flow.
    fn acknowledge_refused(&mut self, conn: ConnId, publish: &Publish, reason: ReasonCode) {
        let Some(id) = publish.packet_id else {
            return;
        };
        let mut ack = Ack::new(id);
        if self.version_of(conn) == ProtocolVersion::V5 {
            ack.reason_code = reason;
        }
        let packet = match publish.qos {
            QoS::ExactlyOnce => Packet::PubRec(ack),
            _ => Packet::PubAck(ack),
        };
        self.send(conn, &packet);
    }

    /// QoS 2 in: the message is held until PUBREL. A repeat of a held message (same id
    /// and content) is answered with PUBREC again, once; a third copy on one connection
    /// is a protocol error, as in Mosquitto. The same id with other content replaces it.
    fn hold_qos2(
        &mut self,
        conn: ConnId,
        client_id: &str,
        id: PacketId,
        publish: Publish,
        now: Instant,
    ) {
        let v5 = self.version_of(conn) == ProtocolVersion::V5;
        // A 3.1.1 client cannot be told a Receive Maximum; it is held to the queue limit.
        let limit = if v5 {
            self.config.max_inflight
        } else {
            u16::try_from(self.config.max_queued_messages.max(1)).unwrap_or(u16::MAX)
        };
        let Some(session) = self.sessions.get_mut(client_id) else {
            return;
        };
        if let Some(held) = session.state.held_inbound(id) {
            let same = held.topic == publish.topic
                && held.payload == publish.payload
                && held.qos == publish.qos;
            if same {
                let repeats = self.repeats.entry((conn, id.get())).or_insert(0);
                *repeats += 1;
                if *repeats >= 2 {
                    return self.end(conn, Ending::ByBroker(ReasonCode::PROTOCOL_ERROR), now);
                }
                return self.send(conn, &Packet::PubRec(Ack::new(id)));
            }
            // A reused id: the old message is dropped, as Mosquitto does.
            session.state.release_inbound(id);
        }
        match session.state.hold_inbound_qos2(id, publish, limit) {
            Inbound::Deliver => self.send(conn, &Packet::PubRec(Ack::new(id))),
            // Released before (no message held): PUBREC again, no second delivery
            // [MQTT-4.3.3-10].
            Inbound::Duplicate => self.send(conn, &Packet::PubRec(Ack::new(id))),
            Inbound::OverReceiveMaximum => {
                // [MQTT-3.3.4-7]: the spec's answer is DISCONNECT 0x93, where Mosquitto
                // answers PUBREC 0x97 (and, to 3.1.1, drops the message unannounced).
                let reason = ReasonCode::RECEIVE_MAXIMUM_EXCEEDED;
                self.end(conn, Ending::ByBroker(reason), now)
            }
        }
    }

    /// PUBREL: the held message is routed now, then PUBCOMP, also for unknown ids since
    /// our PUBCOMP may have been lost.
    pub(crate) fn handle_pubrel(
        &mut self,
        conn: ConnId,
        client_id: &str,
        id: PacketId,
        now: Instant,
    ) {
        self.repeats.remove(&(conn, id.get()));
        let held = self
            .sessions
            .get_mut(client_id)
            .and_then(|s| s.state.release_inbound(id));
        if let Some(publish) = held {
            self.route(publish, Some(client_id), now);
        }
        self.send(conn, &Packet::PubComp(Ack::new(id)));
    }

    /// PUBACK, PUBREC and PUBCOMP for what we sent. An acknowledgement of the wrong kind
    /// for a message in flight (PUBACK for QoS 2, PUBREC or PUBCOMP for QoS 1, PUBCOMP
    /// before PUBREC) is a protocol error, as Mosquitto treats it; one for an id we do not
    /// know is ignored, since it may repeat an acknowledgement from before a reconnect.
    pub(crate) fn handle_ack(
        &mut self,
        conn: ConnId,
        client_id: &str,
        packet: Packet,
        now: Instant,
    ) {
        let (id, kind) = match &packet {
            Packet::PubAck(a) => (a.packet_id, AckKind::Ack),
            Packet::PubRec(a) => (a.packet_id, AckKind::Rec(a.reason_code.is_success())),
            Packet::PubComp(a) => (a.packet_id, AckKind::Comp),
            _ => return,
        };
        let Some(stage) = self
            .sessions
            .get(client_id)
            .map(|s| s.state.in_flight_stage(id))
        else {
            return;
        };
        let wrong = match (stage, kind) {
            (None, _) => false,
            (Some((qos, _)), AckKind::Ack) => qos != QoS::AtLeastOnce,
            (Some((qos, _)), AckKind::Rec(_)) => qos != QoS::ExactlyOnce,
            (Some((qos, released)), AckKind::Comp) => qos != QoS::ExactlyOnce || !released,
        };
        if wrong {
            return self.end(conn, Ending::Dropped, now);
        }
        self.note_progress(conn, now);
        let Some(session) = self.sessions.get_mut(client_id) else {
            return;
        };
        match kind {
            AckKind::Ack => {
                if session.state.on_puback(id) {
                    self.flush(client_id, now);
                }
            }
            AckKind::Comp => {
                if session.state.on_pubcomp(id) {
                    self.flush(client_id, now);
                }
            }
            AckKind::Rec(success) => match session.state.on_pubrec(id, success) {
                tabmq_core::PubRecOutcome::Release => {
                    self.send(conn, &Packet::PubRel(Ack::new(id)))
                }
                // MQTT 5: a failed PUBREC ends the flow.
                tabmq_core::PubRecOutcome::Completed => self.flush(client_id, now),
                tabmq_core::PubRecOutcome::Unknown => {
                    let mut rel = Ack::new(id);
                    if self.version_of(conn) == ProtocolVersion::V5 {
                        rel.reason_code = ReasonCode::PACKET_IDENTIFIER_NOT_FOUND;
                    }
                    self.send(conn, &Packet::PubRel(rel));
                }
            },
        }
    }

    /// MQTT 5 Topic Alias: a new mapping, or a topic filled in from one.
    fn resolve_alias(&mut self, conn: ConnId, publish: &mut Publish) -> Result<(), ReasonCode> {
        // Read before it is taken: writing to empty properties would allocate them.
        let Some(alias) = publish.properties.topic_alias else {
            if publish.topic.is_empty() {
                // [MQTT-3.3.2-1]: a topic name is required without an alias.
                return Err(ReasonCode::PROTOCOL_ERROR);
            }
            return Ok(());
        };
        publish.properties.topic_alias = None;
        let listener = self.conns.get(&conn).map_or(0, |c| c.listener);
        let max = self.config.listener(listener).topic_alias_maximum;
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

    /// ACL check for a client, by its connection's listener and username.
    pub(crate) fn may(&self, client_id: &str, conn: ConnId, topic: &str, access: Access) -> bool {
        let Some(c) = self.conns.get(&conn) else {
            return false;
        };
        let Some(acl) = &self.config.listener(c.listener).security.acl else {
            return true;
        };
        acl.allows(client_id, c.username.as_deref(), topic, access)
    }

    /// Who published a message, for `check_retain_source`.
    pub(crate) fn source_of(&self, client_id: &str) -> Option<Source> {
        let conn = self.attached.get(client_id)?;
        let c = self.conns.get(conn)?;
        Some(Source {
            client_id: client_id.to_owned(),
            username: c.username.clone(),
            listener: c.listener,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AckKind {
    /// PUBACK.
    Ack,
    /// PUBREC, with whether its reason code is a success.
    Rec(bool),
    /// PUBCOMP.
    Comp,
}
