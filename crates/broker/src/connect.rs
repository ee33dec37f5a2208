//! CONNECT: who may connect, which session they get, and what CONNACK announces. The
//! checks run in Mosquitto 2.0's order, so a CONNECT that breaks two rules is refused for
//! the same one.

use crate::broker::{Broker, ConnId, Ending};
use crate::config::Security;
use crate::session::{expiry_from_seconds, Session};
use std::time::Duration;
use tabmq_core::{ConnAck, Connect, Instant, Packet, Properties, ProtocolVersion, QoS, ReasonCode};

/// Mosquitto 2.0's rule: a username is checked against the authenticator; with no
/// authenticator, or no username, only `allow_anonymous` lets a client in. No
/// authenticator never means "everyone".
fn admits(
    security: &Security,
    client_id: &str,
    username: Option<&str>,
    password: Option<&[u8]>,
) -> bool {
    match (&security.authenticator, username) {
        (Some(auth), Some(username)) => auth.authenticate(client_id, username, password),
        _ => security.allow_anonymous,
    }
}

/// SplitMix64's finalizer: spreads a counter's bits over the whole word.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

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

/// Why a CONNECT is refused: the CONNACK for each version, or `None` where Mosquitto
/// closes the connection without one (a 3.1.1 client cannot be told these reasons).
struct Refusal {
    v5: ReasonCode,
    v311: Option<ReasonCode>,
}

impl Refusal {
    fn both(v5: ReasonCode, v311: ReasonCode) -> Refusal {
        Refusal {
            v5,
            v311: Some(v311),
        }
    }

    fn v5_only(v5: ReasonCode) -> Refusal {
        Refusal { v5, v311: None }
    }
}

impl Broker {
    /// The checks before a session is touched; `Err` refuses the CONNECT.
    fn admit(&self, conn: ConnId, connect: &mut Connect) -> Result<(), Refusal> {
        let v5 = connect.protocol == ProtocolVersion::V5;
        let Some(c) = self.conns.get(&conn) else {
            return Err(Refusal::v5_only(ReasonCode::UNSPECIFIED_ERROR));
        };
        let listener = self.config.listener(c.listener);
        let security = &listener.security;
        if let Some(will) = &connect.will {
            if will.retain && !self.config.retain_available {
                return Err(Refusal::v5_only(ReasonCode::RETAIN_NOT_SUPPORTED));
            }
            if will.qos > listener.maximum_qos {
                // [MQTT-3.2.2-12]
                return Err(Refusal::v5_only(ReasonCode::QOS_NOT_SUPPORTED));
            }
        }
        if connect.client_id.is_empty() {
            // [MQTT-3.1.3-8]: an empty id needs a clean session in 3.1.1; 3.1 has none.
            let allowed = !connect.mqtt31
                && security.allow_zero_length_clientid
                && (v5 || connect.clean_start);
            if !allowed {
                // Like Mosquitto, 5.0 clients hear 0x80, which [MQTT-3.1.3-8] allows.
                let v5_code = ReasonCode::UNSPECIFIED_ERROR;
                return Err(Refusal::both(v5_code, IDENTIFIER_REJECTED));
            }
        } else if connect.client_id.len() > self.config.max_topic_length {
            return Err(Refusal::both(
                ReasonCode::CLIENT_IDENTIFIER_NOT_VALID,
                IDENTIFIER_REJECTED,
            ));
        }
        if let Some(prefix) = &security.clientid_prefixes {
            if !connect.client_id.starts_with(prefix.as_str()) {
                return Err(Refusal::both(
                    ReasonCode::NOT_AUTHORIZED,
                    NOT_AUTHORIZED_311,
                ));
            }
        }
        if let (Some(limit), Some(will)) = (self.config.message_size_limit, &connect.will) {
            if will.payload.len() > limit {
                return Err(Refusal::both(
                    ReasonCode::PACKET_TOO_LARGE,
                    NOT_AUTHORIZED_311,
                ));
            }
        }
        if !v5 && connect.keep_alive > self.config.max_keepalive {
            // 3.1.1 cannot be told a shorter keepalive, so it is refused.
            return Err(Refusal::both(
                ReasonCode::CLIENT_IDENTIFIER_NOT_VALID,
                IDENTIFIER_REJECTED,
            ));
        }
        if listener.identity_as_username {
            // The certificate names the client; whatever it sent is not used.
            connect.password = None;
            connect.username = c.identity.clone();
            if connect.username.is_none() {
                return Err(Refusal::both(
                    ReasonCode::BAD_USER_NAME_OR_PASSWORD,
                    ReasonCode(4),
                ));
            }
        }
        if listener.use_username_as_clientid {
            match &connect.username {
                Some(username) => connect.client_id = username.clone(),
                None => {
                    return Err(Refusal::both(
                        ReasonCode::NOT_AUTHORIZED,
                        NOT_AUTHORIZED_311,
                    ))
                }
            }
        }
        if v5 && connect.properties.authentication_method.is_some() {
            // No enhanced authentication method is supported [MQTT-4.12.0-1].
            return Err(Refusal::v5_only(ReasonCode::BAD_AUTHENTICATION_METHOD));
        }
        if !listener.identity_as_username && !self.credentials_ok(security, connect) {
            return Err(Refusal::both(
                ReasonCode::NOT_AUTHORIZED,
                NOT_AUTHORIZED_311,
            ));
        }
        // Connected clients on this listener; taking over one's own session is not one
        // more.
        let others = self
            .conns
            .values()
            .filter(|o| o.listener == c.listener)
            .filter(|o| {
                o.client_id
                    .as_ref()
                    .is_some_and(|id| *id != connect.client_id)
            })
            .count();
        if listener.max_connections.is_some_and(|max| others >= max) {
            return Err(Refusal::both(ReasonCode::SERVER_BUSY, SERVER_UNAVAILABLE));
        }
        Ok(())
    }

    fn credentials_ok(&self, security: &Security, connect: &Connect) -> bool {
        admits(
            security,
            &connect.client_id,
            connect.username.as_deref(),
            connect.password.as_deref(),
        )
    }

    /// Replaces each listener's security options (a reload, Mosquitto's SIGHUP), and
    /// disconnects the clients they no longer admit. Clients named by their TLS
    /// certificate stay: their certificate was checked when they connected.
    pub fn reload_security(&mut self, securities: Vec<Security>, now: Instant) {
        for (index, security) in securities.into_iter().enumerate() {
            if let Some(listener) = self.config.listeners.get_mut(index) {
                listener.security = security;
            }
        }
        let refused: Vec<ConnId> = self
            .conns
            .iter()
            .filter(|(_, c)| c.client_id.is_some())
            .filter(|(_, c)| {
                let listener = self.config.listener(c.listener);
                let client_id = c.client_id.as_deref().unwrap_or("");
                !listener.identity_as_username
                    && !admits(
                        &listener.security,
                        client_id,
                        c.username.as_deref(),
                        c.password.as_deref(),
                    )
            })
            .map(|(id, _)| *id)
            .collect();
        for conn in refused {
            // Mosquitto tells 5.0 clients 0x98, Administrative action.
            self.end(conn, Ending::ByBroker(ReasonCode(0x98)), now);
        }
    }

    pub(crate) fn handle_connect(&mut self, conn: ConnId, mut connect: Connect, now: Instant) {
        let v5 = connect.protocol == ProtocolVersion::V5;
        if let Some(c) = self.conns.get_mut(&conn) {
            c.version = connect.protocol;
        }
        if let Err(refusal) = self.admit(conn, &mut connect) {
            return self.refuse(conn, refusal.v5, refusal.v311);
        }
        let listener = self.conns.get(&conn).map_or(0, |c| c.listener);
        if let (Some(mount), Some(will)) = (
            &self.config.listener(listener).mount_point,
            connect.will.as_mut(),
        ) {
            will.topic = format!("{mount}{}", will.topic);
        }
        let mut ack_properties = Properties::default();
        let assigned = connect.client_id.is_empty();
        let client_id = if assigned {
            self.assign_client_id(listener, now)
        } else {
            connect.client_id.clone()
        };
        let session_present = self.take_over(&client_id, &connect, now);
        // In 5.0 the session outlives the connection only with a session expiry interval.
        let expiry = if v5 {
            expiry_from_seconds(connect.properties.session_expiry_interval.unwrap_or(0))
        } else if connect.clean_start {
            Some(Duration::ZERO)
        } else {
            self.config.persistent_client_expiration
        };
        let session = self
            .sessions
            .entry(client_id.clone())
            .or_insert_with(|| Session::new(connect.protocol));
        session.expiry = expiry;
        session.protocol = connect.protocol;
        session.username = connect.username.clone();
        session.listener = listener;
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
        if v5 {
            let max = self.config.max_keepalive;
            // Like Mosquitto, a 5.0 client asking for no keepalive gets the maximum.
            if max > 0 && (keep_alive > max || keep_alive == 0) {
                keep_alive = max;
                ack_properties.server_keep_alive = Some(keep_alive);
            }
            if assigned {
                ack_properties.assigned_client_identifier = Some(client_id.clone());
            }
            self.announce(&mut ack_properties, &connect, &client_id, listener);
        }
        if let Some(c) = self.conns.get_mut(&conn) {
            c.client_id = Some(client_id.clone());
            c.username = connect.username.clone();
            c.password = connect.password.clone();
            c.keep_alive = Duration::from_secs(u64::from(keep_alive));
            c.will = connect.will;
            c.mqtt31 = connect.mqtt31;
            c.bridge = connect.bridge;
            c.window = usize::from(client_window);
            c.max_packet_out = connect
                .properties
                .maximum_packet_size
                .map(|m| usize::try_from(m).unwrap_or(usize::MAX));
            c.alias_out_max = connect.properties.topic_alias_maximum.unwrap_or(0);
            c.connected_without_expiry = expiry == Some(Duration::ZERO);
        }
        // 3.1 has no session present flag.
        let mut ack = connack(session_present && !connect.mqtt31, ReasonCode::SUCCESS);
        if let Packet::ConnAck(a) = &mut ack {
            a.properties = ack_properties;
        }
        let max_out = self.conns.get(&conn).and_then(|c| c.max_packet_out);
        let ack_len = tabmq_core::encoded_len(&ack, connect.protocol).unwrap_or(0);
        if max_out.is_some_and(|max| ack_len.saturating_sub(1) > max) {
            // A client that cannot take even the CONNACK [MQTT-3.1.2-24] is closed
            // without one, as Mosquitto does; it has no will to publish.
            if let Some(c) = self.conns.get_mut(&conn) {
                c.will = None;
            }
            return self.end(conn, Ending::Dropped, now);
        }
        self.send(conn, &ack);
        if session_present {
            self.resume_session(conn, &client_id, now);
        }
    }

    /// An id for a client that sent none: the listener's `auto_id_prefix` and a UUID-shaped
    /// value, as Mosquitto assigns (clients and tests rely on its length), unique among
    /// the sessions held. The core has no randomness of its own, so the value mixes a
    /// counter with the time; it need not be secret, only distinct.
    fn assign_client_id(&mut self, listener: usize, now: Instant) -> String {
        let prefix = self
            .config
            .listener(listener)
            .security
            .auto_id_prefix
            .clone();
        loop {
            self.next_assigned_id += 1;
            let a = mix(self.next_assigned_id ^ now.as_millis().rotate_left(32));
            let b = mix(a ^ self.next_assigned_id);
            let id = format!(
                "{prefix}{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
                a >> 32,
                (a >> 16) & 0xffff,
                a & 0xffff,
                b >> 48,
                b & 0xffff_ffff_ffff
            );
            if !self.sessions.contains_key(&id) {
                return id;
            }
        }
    }

    /// Ends a connection that holds `client_id` already, and decides whether its session
    /// carries over: only to a client that asks to keep it, and only if it was to outlive
    /// its connection. Returns whether the session is present.
    fn take_over(&mut self, client_id: &str, connect: &Connect, now: Instant) -> bool {
        let lasting = self
            .sessions
            .get(client_id)
            .is_some_and(|s| !s.ends_with_connection());
        // [MQTT-3.1.2-4] / [MQTT-3.1.2-6]: clean start discards the old session; a session
        // that was to end with its connection ends now.
        let keeps = lasting && !connect.clean_start;
        if let Some(old) = self.attached.remove(client_id) {
            // The old connection's will is published if its session ends here, as
            // Mosquitto does; otherwise the session lives on and the will with it goes.
            let will = self.conns.get_mut(&old).and_then(|c| c.will.take());
            if let Some(will) = will.filter(|_| !keeps) {
                self.publish_will(will, now);
            }
            // [MQTT-3.1.4-3] in 5.0 (0x8E), [MQTT-3.1.4-2] in 3.1.1.
            self.end(old, Ending::ByBroker(ReasonCode::SESSION_TAKEN_OVER), now);
        }
        // [MQTT-3.1.3-9]: reconnecting before the will delay has passed cancels the
        // delayed will. Like Mosquitto, also when the new connection starts clean.
        self.delayed_wills.remove(client_id);
        if !keeps {
            self.remove_session(client_id, now);
        }
        keeps
    }

    /// The server's limits and capabilities, in an MQTT 5 CONNACK; what Mosquitto 2.0
    /// announces by default, and what is configured beyond.
    fn announce(&self, p: &mut Properties, connect: &Connect, client_id: &str, listener: usize) {
        let c = &self.config;
        let l = c.listener(listener);
        if l.topic_alias_maximum > 0 {
            p.topic_alias_maximum = Some(l.topic_alias_maximum);
        }
        if !c.retain_available {
            p.retain_available = Some(false);
        }
        p.maximum_packet_size = c.max_packet_size;
        if c.max_inflight != u16::MAX {
            p.receive_maximum = Some(c.max_inflight.max(1));
        }
        if l.maximum_qos != QoS::ExactlyOnce {
            // [MQTT-3.2.2-9]
            p.maximum_qos = Some(l.maximum_qos);
        }
        if connect.properties.request_response_information == Some(true) {
            p.response_information = c
                .response_information
                .as_ref()
                .map(|r| r.replace("%c", client_id));
        }
    }

    /// Resends what was in flight, with DUP on PUBLISH, then the offline queue. Messages
    /// the client may no longer read (its ACL was reloaded while it was away) are dropped
    /// first, as Mosquitto does.
    fn resume_session(&mut self, conn: ConnId, client_id: &str, now: Instant) {
        let Some(session) = self.sessions.get(client_id) else {
            return;
        };
        let listener = self.config.listener(session.listener);
        if let Some(acl) = listener.security.acl.clone() {
            let username = session.username.clone();
            if let Some(session) = self.sessions.get_mut(client_id) {
                session.state.drop_messages(|p| {
                    acl.allows(
                        client_id,
                        username.as_deref(),
                        &p.topic,
                        crate::Access::Read,
                    )
                });
            }
        }
        let Some(session) = self.sessions.get(client_id) else {
            return;
        };
        for packet in session.state.resend_all() {
            self.send(conn, &packet);
        }
        self.flush(client_id, now);
    }
}
