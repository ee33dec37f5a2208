//! Session state that outlives a connection: subscriptions, QoS 1/2 messages in flight and
//! the offline queue. A connection only borrows its session while it is attached.

use std::collections::{BTreeMap, HashSet, VecDeque};
use tabmq_core::{PacketId, PacketIdAllocator, Publish, SubscribeFilter};

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
    /// Filter to its subscription, with the granted QoS and the MQTT 5 options.
    pub subscriptions: BTreeMap<String, SubscribeFilter>,
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

    /// The subscription matching `topic` that grants the highest QoS, if one matches.
    /// `own` says the message comes from this session's client, which No Local skips.
    pub fn best_match(&self, topic: &str, own: bool) -> Option<&SubscribeFilter> {
        self.subscriptions
            .values()
            .filter(|s| !(own && s.no_local))
            .filter(|s| tabmq_core::topic_matches(&s.filter, topic))
            .max_by_key(|s| s.qos)
    }
}
