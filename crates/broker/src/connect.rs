//! CONNECT: who may connect, which session they get, and what CONNACK announces.

use crate::broker::{Broker, ConnId, Ending};
use crate::session::{expiry_from_seconds, Session};
use std::time::Duration;
use tabmq_core::{ConnAck, Connect, Instant, Packet, Properties, ProtocolVersion, QoS, ReasonCode};

/// 3.1.1's CONNACK return codes, in `ReasonCode` clothes.
const IDENTIFIER_REJECTED: ReasonCode = ReasonCode(2);
const SERVER_UNAVAILABLE: ReasonCode = ReasonCode(3);
const NOT_AUTHORIZED_311: ReasonCode = ReasonCode(5);

pub(crate) fn connack(session_present: bool, code: ReasonCode) -> Packet {
    Packet::ConnAck(ConnAck {
        session_present,
        code,
        properties: Properties::default(),
    })
}

impl Broker {
    /// Whether the CONNECT may go ahead; if not, the refusal is sent and the connection
    /// closed.
    fn admit(&mut self, conn: ConnId, connect: &Connect) -> bool {
        let v5 = connect.protocol == ProtocolVersion::V5;
        let already = self.attached.contains_key(&connect.client_id);
        let refusal = if !already && self.attached.len() >= self.config.max_connections {
            Some((ReasonCode::SERVER_BUSY, SERVER_UNAVAILABLE))
        } else if connect.client_id.len() > self.config.max_client_id_length {
            Some((ReasonCode::CLIENT_IDENTIFIER_NOT_VALID, IDENTIFIER_REJECTED))
        } else if connect.client_id.is_empty() && !connect.clean_start && !v5 {
            // [MQTT-3.1.3-8]: an empty id needs a clean session in 3.1.1.
            Some((ReasonCode::CLIENT_IDENTIFIER_NOT_VALID, IDENTIFIER_REJECTED))
        } else if !v5 && connect.keep_alive > self.config.max_keepalive {
            // 3.1.1 cannot be told a shorter keepalive; Mosquitto refuses it like this.
            Some((ReasonCode::CLIENT_IDENTIFIER_NOT_VALID, IDENTIFIER_REJECTED))
        } else if !self.credentials_ok(connect) {
            Some((ReasonCode::NOT_AUTHORIZED, NOT_AUTHORIZED_311))
        } else if connect
            .will
            .as_ref()
            .is_some_and(|w| w.qos > self.config.maximum_qos)
        {
            // [MQTT-3.2.2-12]
            Some((ReasonCode::QOS_NOT_SUPPORTED, SERVER_UNAVAILABLE))
        } else if connect.will.as_ref().is_some_and(|w| w.retain) && !self.config.retain_available {
            Some((ReasonCode::RETAIN_NOT_SUPPORTED, SERVER_UNAVAILABLE))
        } else {
            None
        };
        if let Some((code_v5, code_v311)) = refusal {
            self.refuse(conn, code_v5, code_v311);
            return false;
        }
        true
    }

    fn credentials_ok(&self, connect: &Connect) -> bool {
        match &connect.username {
            None => self.config.allow_anonymous,
            Some(username) => self.config.authenticator.as_ref().is_none_or(|auth| {
                auth.authenticate(&connect.client_id, username, connect.password.as_deref())
            }),
        }
    }

    pub(crate) fn handle_connect(&mut self, conn: ConnId, connect: Connect, now: Instant) {
        let v5 = connect.protocol == ProtocolVersion::V5;
        if let Some(c) = self.conns.get_mut(&conn) {
            c.version = connect.protocol;
        }
        if !self.admit(conn, &connect) {
            return;
        }
        let mut ack_properties = Properties::default();
        let client_id = if connect.client_id.is_empty() {
            self.next_assigned_id += 1;
            let assigned = format!("tabmq-auto-{}", self.next_assigned_id);
            if v5 {
                ack_properties.assigned_client_identifier = Some(assigned.clone());
            }
            assigned
        } else {
            connect.client_id.clone()
        };
        // A second connection with the same id takes the session over: [MQTT-3.1.4-2] in
        // 3.1.1, [MQTT-3.1.4-3] in 5.0.
        if let Some(old) = self.attached.remove(&client_id) {
            self.end(old, Ending::ByBroker(ReasonCode::SESSION_TAKEN_OVER), now);
        }
        if let Some((_, will)) = self.delayed_wills.remove(&client_id) {
            // [MQTT-3.1.3-9]: reconnecting in time cancels a delayed will, unless the new
            // connection ends the session, which is the will's other deadline.
            if connect.clean_start {
                self.publish_will(will, now);
            }
        }
        if connect.clean_start {
            self.remove_session(&client_id, now);
        }
        // In 5.0 the session outlives the connection only with a session expiry interval.
        let expiry = if v5 {
            expiry_from_seconds(connect.properties.session_expiry_interval.unwrap_or(0))
        } else if connect.clean_start {
            Some(Duration::ZERO)
        } else {
            None
        };
        let session_present = self.sessions.contains_key(&client_id);
        let session = self
            .sessions
            .entry(client_id.clone())
            .or_insert_with(|| Session::new(connect.protocol));
        session.expiry = expiry;
        session.protocol = connect.protocol;
        session.username = connect.username.clone();
        session.disconnected_at = None;
        self.attached.insert(client_id.clone(), conn);
        let connected = self.attached.len() as u64;
        self.stats.clients_maximum = self.stats.clients_maximum.max(connected);

        let client_window = connect
            .properties
            .receive_maximum
            .unwrap_or(u16::MAX)
            .min(self.config.max_inflight)
            .max(1);
        let mut keep_alive = connect.keep_alive;
        if v5 && keep_alive > self.config.max_keepalive {
            keep_alive = self.config.max_keepalive;
            ack_properties.server_keep_alive = Some(keep_alive);
        }
        if v5 {
            self.announce(&mut ack_properties, &connect, &client_id);
        }
        if let Some(c) = self.conns.get_mut(&conn) {
            c.client_id = Some(client_id.clone());
            c.username = connect.username.clone();
            c.keep_alive = Duration::from_secs(u64::from(keep_alive));
            c.will = connect.will;
            c.window = usize::from(client_window);
            c.max_packet_out = connect
                .properties
                .maximum_packet_size
                .map(|m| usize::try_from(m).unwrap_or(usize::MAX));
            c.connected_without_expiry = expiry == Some(Duration::ZERO);
        }
        let mut ack = connack(session_present, ReasonCode::SUCCESS);
        if let Packet::ConnAck(a) = &mut ack {
            a.properties = ack_properties;
        }
        self.send(conn, &ack);
        if session_present {
            self.resume_session(conn, &client_id, now);
        }
    }

    /// The server's limits and capabilities, in an MQTT 5 CONNACK.
    fn announce(&self, p: &mut Properties, connect: &Connect, client_id: &str) {
        let c = &self.config;
        if c.receive_maximum != u16::MAX {
            p.receive_maximum = Some(c.receive_maximum.max(1));
        }
        if c.maximum_qos != QoS::ExactlyOnce {
            // [MQTT-3.2.2-9]
            p.maximum_qos = Some(c.maximum_qos);
        }
        if !c.retain_available {
            p.retain_available = Some(false);
        }
        p.maximum_packet_size = u32::try_from(c.max_packet_size).ok();
        if c.topic_alias_maximum > 0 {
            p.topic_alias_maximum = Some(c.topic_alias_maximum);
        }
        if connect.properties.request_response_information == Some(true) {
            p.response_information = c
                .response_information
                .as_ref()
                .map(|r| r.replace("%c", client_id));
        }
    }

    /// Resends what was in flight, with DUP on PUBLISH, then the offline queue.
    fn resume_session(&mut self, conn: ConnId, client_id: &str, now: Instant) {
        let Some(session) = self.sessions.get(client_id) else {
            return;
        };
        for packet in session.state.resend_all() {
            self.send(conn, &packet);
        }
        self.flush(client_id, now);
    }
}
