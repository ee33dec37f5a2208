//! What the broker allows, and how much of everything: one hostile client must not be able
//! to exhaust memory or starve the others. The defaults follow Mosquitto's where it has
//! one and is bounded, and are finite where Mosquitto's is "unlimited".

use crate::access::{Acl, Authenticate};
use std::sync::Arc;
use std::time::Duration;
use tabmq_core::QoS;

/// Limits and choices.
#[derive(Debug, Clone)]
pub struct BrokerConfig {
    /// Larger packets end the connection (0x95), checked on the fixed header; announced to
    /// MQTT 5 clients as Maximum Packet Size. Mosquitto's `message_size_limit` bounds the
    /// payload, which this bounds too.
    pub max_packet_size: usize,
    /// Open connections; one more is refused with CONNACK 0x89 (3: Server unavailable).
    pub max_connections: usize,
    /// Subscriptions one session may hold; beyond, SUBACK 0x97 (0x80 in 3.1.1).
    pub max_subscriptions_per_client: usize,
    /// QoS 1/2 messages in flight to a client at once, unless its MQTT 5 Receive Maximum
    /// is lower; Mosquitto's `max_inflight_messages`.
    pub max_inflight: u16,
    /// Messages queued for one session; past it, messages are dropped and counted, like
    /// Mosquitto's `max_queued_messages`.
    pub max_queued_messages: usize,
    /// Bytes queued for one session (Mosquitto's `max_queued_bytes`, which is unlimited by
    /// default; here finite).
    pub max_queued_bytes: usize,
    /// Whether QoS 0 messages are queued for offline persistent sessions. Off, like
    /// Mosquitto's `queue_qos0_messages`.
    pub queue_qos0_messages: bool,
    /// Retained messages kept; a retained PUBLISH past it is refused with 0x97 (MQTT 5) or
    /// forwarded without being retained (3.1.1), and counted as dropped.
    pub max_retained_messages: usize,
    /// Bytes of retained payloads and topics kept, likewise.
    pub max_retained_bytes: usize,
    /// Mosquitto's `retain_available`: when off, MQTT 5 clients are told in CONNACK and a
    /// retained PUBLISH gets 0x9A.
    pub retain_available: bool,
    /// Bytes in a topic name or filter; beyond, 0x90 (PUBLISH) or 0x8F (SUBSCRIBE).
    pub max_topic_length: usize,
    /// Levels in a topic name or filter, likewise.
    pub max_topic_levels: usize,
    /// Bytes in a client id; a longer one gets CONNACK 0x85 (2: Identifier rejected).
    pub max_client_id_length: usize,
    /// Mosquitto's `max_keepalive`: an MQTT 5 client asking for more is told the Server
    /// Keep Alive; a 3.1.1 client asking for more is refused (2: Identifier rejected), as
    /// Mosquitto does.
    pub max_keepalive: u16,
    /// The highest QoS accepted from publishers, announced to MQTT 5 clients.
    pub maximum_qos: QoS,
    /// Inbound topic aliases per MQTT 5 connection (Mosquitto's `max_topic_alias`).
    pub topic_alias_maximum: u16,
    /// How long a connection may stay open without sending CONNECT.
    pub connect_timeout: Duration,
    /// QoS 2 messages a client may have unreleased with us; announced to MQTT 5 clients,
    /// and a client beyond it is disconnected (0x93).
    pub receive_maximum: u16,
    /// How often `$SYS/broker/...` statistics are published, like Mosquitto's
    /// `sys_interval`; `None` publishes none.
    pub sys_interval: Option<Duration>,
    /// Whether clients without a username may connect (Mosquitto's `allow_anonymous`).
    pub allow_anonymous: bool,
    /// Checks usernames and passwords; without one, every username is accepted.
    pub authenticator: Option<Arc<dyn Authenticate>>,
    /// Per-topic access; without one, every client may publish and subscribe anywhere.
    pub acl: Option<Arc<Acl>>,
    /// The Response Information given to an MQTT 5 client that asks for it; `%c` is
    /// replaced by its client id. `None` gives none, like Mosquitto.
    pub response_information: Option<String>,
}

impl Default for BrokerConfig {
    fn default() -> Self {
        BrokerConfig {
            max_packet_size: 1024 * 1024,
            max_connections: 10_000,
            max_subscriptions_per_client: 1_000,
            max_inflight: 20,
            max_queued_messages: 1000,
            max_queued_bytes: 16 * 1024 * 1024,
            queue_qos0_messages: false,
            max_retained_messages: 100_000,
            max_retained_bytes: 64 * 1024 * 1024,
            retain_available: true,
            max_topic_length: 65_535,
            max_topic_levels: 128,
            max_client_id_length: 256,
            max_keepalive: u16::MAX,
            maximum_qos: QoS::ExactlyOnce,
            topic_alias_maximum: 10,
            connect_timeout: Duration::from_secs(10),
            receive_maximum: u16::MAX,
            sys_interval: Some(Duration::from_secs(10)),
            allow_anonymous: true,
            authenticator: None,
            acl: None,
            response_information: None,
        }
    }
}
