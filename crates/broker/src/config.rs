//! What the broker allows, and how much of everything: one hostile client must not be able
//! to exhaust memory or starve the others. Where the spec leaves a choice, the defaults are
//! Mosquitto 2.0's; where Mosquitto's is "unlimited" and that lets one client take the
//! broker down, the default is finite and says so.

use crate::access::{Acl, Authenticate};
use std::sync::Arc;
use std::time::Duration;
use tabmq_core::QoS;

/// The largest packet MQTT can describe: a 268,435,455-byte remaining length and its
/// five-byte fixed header.
pub const PROTOCOL_MAX_PACKET: usize = 268_435_460;

/// Limits and choices for the whole broker.
#[derive(Debug, Clone)]
pub struct BrokerConfig {
    /// Mosquitto's `max_packet_size`: larger inbound packets end the connection (0x95),
    /// checked on the fixed header, and MQTT 5 clients are told in CONNACK. `None` (the
    /// default, as in Mosquitto) announces nothing and accepts what the protocol can say.
    pub max_packet_size: Option<u32>,
    /// Mosquitto's `message_size_limit`: PUBLISH and will payloads larger than this are
    /// not accepted. Such a PUBLISH is not routed, but its QoS flow completes (MQTT 5
    /// publishers hear 0x95, as from Mosquitto); a will that is too large refuses the
    /// CONNECT (0x95; 3.1.1: 5, Not authorized). `None`: no limit.
    pub message_size_limit: Option<usize>,
    /// QoS 1/2 messages in flight to a client at once, unless its MQTT 5 Receive Maximum
    /// is lower (Mosquitto's `max_inflight_messages`, 20). The same figure is the Receive
    /// Maximum announced to MQTT 5 clients, and bounds the QoS 2 messages one client may
    /// leave unreleased with us; a client beyond it is disconnected (0x93).
    pub max_inflight: u16,
    /// Bytes of QoS 1/2 payload in flight to a client at once (Mosquitto's
    /// `max_inflight_bytes`); `None`: no limit beyond `max_inflight`.
    pub max_inflight_bytes: Option<usize>,
    /// Messages queued for one session beyond those in flight; past it, messages are
    /// dropped and counted (Mosquitto's `max_queued_messages`, 1000).
    pub max_queued_messages: usize,
    /// Payload bytes queued for one session (Mosquitto's `max_queued_bytes`); `None`: only
    /// `max_queued_messages` applies, as in Mosquitto.
    pub max_queued_bytes: Option<usize>,
    /// Whether QoS 0 messages are queued for offline persistent sessions. Off, like
    /// Mosquitto's `queue_qos0_messages`.
    pub queue_qos0_messages: bool,
    /// Mosquitto's `upgrade_outgoing_qos`: deliver at the subscription's QoS even when
    /// the message was published at a lower one.
    pub upgrade_outgoing_qos: bool,
    /// Subscriptions one session may hold; beyond, SUBACK 0x97 (0x80 in 3.1.1). `None`,
    /// as in Mosquitto: the hostile-client tests bound what 100,000 cost.
    pub max_subscriptions_per_client: Option<usize>,
    /// Retained messages kept; a retained PUBLISH past it is refused with 0x97 (MQTT 5) or
    /// forwarded without being retained (3.1.1), and counted as dropped.
    pub max_retained_messages: usize,
    /// Bytes of retained payloads and topics kept, likewise.
    pub max_retained_bytes: usize,
    /// Mosquitto's `retain_available`: when off, MQTT 5 clients are told in CONNACK and a
    /// retained PUBLISH gets 0x9A.
    pub retain_available: bool,
    /// Mosquitto's `check_retain_source`: a retained message is sent to new subscribers
    /// only while its publisher may still publish to its topic.
    pub check_retain_source: bool,
    /// Bytes in a topic name or filter. Beyond it, or beyond `max_topic_levels`, the
    /// connection ends as Mosquitto ends it: 0x82 for a PUBLISH, 0x81 for a SUBSCRIBE.
    pub max_topic_length: usize,
    /// Levels in a topic name or filter (Mosquitto: 201, i.e. 200 separators).
    pub max_topic_levels: usize,
    /// Mosquitto's `max_keepalive`: an MQTT 5 client asking for more (or for none) is
    /// told the Server Keep Alive; a 3.1.1 client asking for more is refused
    /// (2: Identifier rejected), as Mosquitto does.
    pub max_keepalive: u16,
    /// How long a connection may stay open without sending CONNECT.
    pub connect_timeout: Duration,
    /// Bytes a connection may send before its CONNECT is complete: a client that stalls
    /// half-way through a large CONNECT holds no more than this.
    pub max_connect_size: usize,
    /// How often `$SYS/broker/...` statistics are published, like Mosquitto's
    /// `sys_interval`; `None` publishes none.
    pub sys_interval: Option<Duration>,
    /// Mosquitto's `persistent_client_expiration`: a 3.1.1 persistent session (which
    /// never expires by itself) is removed after this long offline.
    pub persistent_client_expiration: Option<Duration>,
    /// The Response Information given to an MQTT 5 client that asks for it; `%c` is
    /// replaced by its client id. `None` gives none, like Mosquitto.
    pub response_information: Option<String>,
    /// Bytes waiting to be written to one connection before the broker stops reading
    /// from the publishers that fill it and, past [`BrokerConfig::max_output_buffer`],
    /// disconnects a reader that never reads.
    pub output_high_water: usize,
    /// Bytes waiting to be written to one connection past which it is closed: a client
    /// that never reads cannot make the broker hold more than this for it.
    pub max_output_buffer: usize,
    /// How long a subscriber may take nothing (no acknowledgement, no bytes written to
    /// its socket) and still hold back the publishers that fill its queue.
    pub stall_timeout: Duration,
    /// The listeners' own settings, by index; a connection accepted without one uses
    /// the first. Never empty in use: an empty list reads as one default listener.
    pub listeners: Vec<ListenerConfig>,
}

impl Default for BrokerConfig {
    fn default() -> Self {
        BrokerConfig {
            max_packet_size: None,
            message_size_limit: None,
            max_inflight: 20,
            max_inflight_bytes: None,
            max_queued_messages: 1000,
            max_queued_bytes: None,
            queue_qos0_messages: false,
            upgrade_outgoing_qos: false,
            max_subscriptions_per_client: None,
            max_retained_messages: 100_000,
            max_retained_bytes: 64 * 1024 * 1024,
            retain_available: true,
            check_retain_source: false,
            max_topic_length: 65_535,
            max_topic_levels: 201,
            max_keepalive: u16::MAX,
            connect_timeout: Duration::from_secs(10),
            max_connect_size: 256 * 1024,
            sys_interval: Some(Duration::from_secs(10)),
            persistent_client_expiration: None,
            response_information: None,
            output_high_water: 64 * 1024,
            max_output_buffer: 64 * 1024 * 1024,
            stall_timeout: Duration::from_secs(2),
            listeners: vec![ListenerConfig::default()],
        }
    }
}

impl BrokerConfig {
    /// The inbound packet limit the decoder enforces.
    pub fn inbound_packet_limit(&self) -> usize {
        self.max_packet_size
            .map_or(PROTOCOL_MAX_PACKET, |m| m as usize)
    }

    /// Listener `index`'s settings (the first's for an unknown index).
    pub fn listener(&self, index: usize) -> &ListenerConfig {
        static DEFAULT: std::sync::OnceLock<ListenerConfig> = std::sync::OnceLock::new();
        self.listeners
            .get(index)
            .or_else(|| self.listeners.first())
            .unwrap_or_else(|| DEFAULT.get_or_init(ListenerConfig::default))
    }
}

/// Who may connect, and where they may publish and subscribe: Mosquitto's security
/// options, shared by every listener, or each listener's own with
/// `per_listener_settings true`.
#[derive(Debug, Clone)]
pub struct Security {
    /// Whether clients without a username may connect (Mosquitto's `allow_anonymous`).
    pub allow_anonymous: bool,
    /// Checks usernames and passwords. Without one, no username is checked, and whether
    /// anyone gets in is `allow_anonymous`'s call alone, as in Mosquitto: with it false
    /// and no authenticator, every client is refused, whatever username it sends.
    pub authenticator: Option<Arc<dyn Authenticate>>,
    /// Per-topic access; without one, every client may publish and subscribe anywhere.
    pub acl: Option<Arc<Acl>>,
    /// Whether an empty client id is accepted and one assigned (MQTT 5 always may ask;
    /// 3.1.1 with a clean session).
    pub allow_zero_length_clientid: bool,
    /// The prefix of assigned client ids (Mosquitto's `auto_id_prefix`, "auto-").
    pub auto_id_prefix: String,
    /// Mosquitto's `clientid_prefixes`: only client ids starting with this may connect.
    pub clientid_prefixes: Option<String>,
}

impl Default for Security {
    fn default() -> Self {
        Security {
            allow_anonymous: true,
            authenticator: None,
            acl: None,
            allow_zero_length_clientid: true,
            auto_id_prefix: "auto-".into(),
            clientid_prefixes: None,
        }
    }
}

/// What one listener decides for the connections it accepts (Mosquitto's per-listener
/// options).
#[derive(Debug, Clone)]
pub struct ListenerConfig {
    pub security: Security,
    /// The highest QoS accepted from publishers and granted to subscribers, announced
    /// to MQTT 5 clients (Mosquitto's `max_qos`).
    pub maximum_qos: QoS,
    /// Inbound topic aliases per MQTT 5 connection (Mosquitto's `max_topic_alias`, 10).
    pub topic_alias_maximum: u16,
    /// Open connections on this listener; one more is refused with CONNACK 0x97 (3.1.1:
    /// 3, Server unavailable). `None`: no limit, as in Mosquitto.
    pub max_connections: Option<usize>,
    /// Mosquitto's `mount_point`: topics of this listener's clients live under this
    /// prefix, which they never see.
    pub mount_point: Option<String>,
    /// Mosquitto's `use_username_as_clientid`.
    pub use_username_as_clientid: bool,
    /// With TLS, the client certificate's Common Name (`use_identity_as_username`) or
    /// its whole subject (`use_subject_as_username`) is the username, and no password
    /// is checked. The host passes the identity when it accepts the connection.
    pub identity_as_username: bool,
}

impl Default for ListenerConfig {
    fn default() -> Self {
        ListenerConfig {
            security: Security::default(),
            maximum_qos: QoS::ExactlyOnce,
            topic_alias_maximum: 10,
            max_connections: None,
            mount_point: None,
            use_username_as_clientid: false,
            identity_as_username: false,
        }
    }
}
