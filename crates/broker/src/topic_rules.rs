//! Topic rules the broker's modules share, as free functions of their inputs: the parts of
//! a shared subscription's filter, and Mosquitto's length and depth limits. A leaf module,
//! so that `broker`, `publish`, `subscribe`, `deliver` and `snapshot` need not reach into
//! one another for them.

use crate::config::BrokerConfig;

/// `$share/GROUP/FILTER` into the group and the filter; other filters have no group.
pub(crate) fn split_shared(filter: &str) -> (Option<&str>, &str) {
    filter
        .strip_prefix("$share/")
        .and_then(|rest| rest.split_once('/'))
        .map_or((None, filter), |(group, inner)| (Some(group), inner))
}

/// Whether a topic name or filter is within the configured length and depth (levels,
/// counted as Mosquitto counts them: one more than its `/` separators).
pub(crate) fn within_topic_limits(config: &BrokerConfig, topic: &str) -> bool {
    topic.len() <= config.max_topic_length
        && topic.bytes().filter(|&b| b == b'/').count() < config.max_topic_levels
}
