//! What the broker keeps per client id: subscriptions, and the core's session state for
//! the QoS flows to and from that client. A connection only borrows its session while it is
//! attached.

use std::collections::BTreeMap;
use tabmq_core::{SessionState, SubscribeFilter};

#[derive(Debug, Default)]
pub(crate) struct Session {
    /// Filter to its subscription, with the granted QoS and the MQTT 5 options.
    pub subscriptions: BTreeMap<String, SubscribeFilter>,
    /// The same QoS state machine the client engine drives.
    pub state: SessionState,
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
