//! Session state that outlives a connection: subscriptions, QoS 1/2 messages in flight and
//! the offline queue. A connection only borrows its session while it is attached.

use std::collections::{BTreeMap, HashSet, VecDeque};
use tabmq_core::{PacketId, PacketIdAllocator, Publish, QoS};

/// A QoS 1/2 message sent to the client and not yet acknowledged.
#[derive(Debug, Clone)]
pub(crate) enum InFlight {
    /// Sent; waiting for PUBACK (QoS 1) or PUBREC (QoS 2).
    Published(Publish),
    /// PUBREC arrived and PUBREL went out; waiting for PUBCOMP. The PUBLISH is never
    /// resent from here on.
    Released,
}

#[derive(Debug, Default)]
pub(crate) struct Session {
    /// Filter to granted QoS, in subscription order.
    pub subscriptions: BTreeMap<String, QoS>,
    pub ids: PacketIdAllocator,
    pub in_flight: BTreeMap<PacketId, InFlight>,
    /// QoS 2 ids received from the client and not yet released.
    pub inbound_qos2: HashSet<PacketId>,
    /// Messages for a disconnected persistent session, bounded by the broker's limit.
    pub offline_queue: VecDeque<Publish>,
    /// Whether the session ends with its connection.
    pub clean: bool,
}

impl Session {
    pub fn new(clean: bool) -> Self {
        Session {
            clean,
            ..Session::default()
        }
    }

    /// The highest QoS granted by any subscription matching `topic`, if one matches.
    pub fn granted_qos(&self, topic: &str) -> Option<QoS> {
        self.subscriptions
            .iter()
            .filter(|(filter, _)| tabmq_core::topic_matches(filter, topic))
            .map(|(_, qos)| *qos)
            .max()
    }
}
