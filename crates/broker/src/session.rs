//! What the broker keeps per client id: subscriptions, and the core's session state for
//! the QoS flows to and from that client. A connection only borrows its session while it is
//! attached; the session outlives it as its expiry allows.

use crate::sorted_map::SortedMap;
use std::time::Duration;
use tabmq_core::{Instant, ProtocolVersion, SessionState, SubscribeFilter};

/// One subscription: its options, and its MQTT 5 Subscription Identifier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Subscription {
    pub options: SubscribeFilter,
    pub id: Option<u32>,
}

#[derive(Debug)]
pub(crate) struct Session {
    /// Filter as subscribed (with any `$share/GROUP/`) to its subscription.
    pub subscriptions: SortedMap<Subscription>,
    /// The same QoS state machine the client engine drives.
    pub state: SessionState,
    /// How long it outlives its connection: zero ends it with the connection, `None`
    /// never (3.1.1's persistent session, or 5.0's 0xFFFFFFFF).
    pub expiry: Option<Duration>,
    /// When its last connection ended; `None` while attached, or just restored.
    pub disconnected_at: Option<Instant>,
    /// The version its client speaks, which decides how overlapping subscriptions deliver.
    pub protocol: ProtocolVersion,
    /// For the ACL, which also applies to messages queued while offline.
    pub username: Option<String>,
    /// The listener it last connected through: its ACL and mount point apply.
    pub listener: usize,
}

impl Session {
    pub fn new(protocol: ProtocolVersion) -> Self {
        Session {
            subscriptions: SortedMap::default(),
            state: SessionState::default(),
            expiry: Some(Duration::ZERO),
            disconnected_at: None,
            protocol,
            username: None,
            listener: 0,
        }
    }

    /// Whether it ends with its connection.
    pub fn ends_with_connection(&self) -> bool {
        self.expiry == Some(Duration::ZERO)
    }

    /// When it expires, if it is offline and can.
    pub fn expires_at(&self) -> Option<Instant> {
        Some(self.disconnected_at? + self.expiry?)
    }
}

/// A session expiry interval as MQTT 5 states it: 0xFFFFFFFF is "never".
pub(crate) fn expiry_from_seconds(seconds: u32) -> Option<Duration> {
    (seconds != u32::MAX).then(|| Duration::from_secs(u64::from(seconds)))
}
