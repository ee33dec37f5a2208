//! Topic names, topic filters and matching between them.

use crate::error::Violation;

const fn rule(statement: &'static str, reason: &'static str) -> Violation {
    Violation { statement, reason }
}

/// Checks a topic name, the kind a PUBLISH carries.
pub fn validate_topic_name(topic: &str) -> Result<(), Violation> {
    if topic.is_empty() {
        return Err(rule("MQTT-4.7.3-1", "topic name is empty"));
    }
    // One pass with no early exit, which the compiler vectorises: every PUBLISH a broker
    // reads goes through here, and `contains(['+', '#'])` walks it a char at a time.
    let wildcard = topic
        .bytes()
        .fold(false, |seen, b| seen | (b == b'+') | (b == b'#'));
    if wildcard {
        return Err(rule("MQTT-3.3.2-2", "topic name contains a wildcard"));
    }
    Ok(())
}

/// Checks a topic filter, the kind a SUBSCRIBE or UNSUBSCRIBE carries.
pub fn validate_topic_filter(filter: &str) -> Result<(), Violation> {
    if filter.is_empty() {
        return Err(rule("MQTT-4.7.3-1", "topic filter is empty"));
    }
    let mut levels = filter.split('/').peekable();
    while let Some(level) = levels.next() {
        if level.contains('#') && (level != "#" || levels.peek().is_some()) {
            return Err(rule(
                "MQTT-4.7.1-2",
                "'#' must be a whole level and the last one",
            ));
        }
        if level.contains('+') && level != "+" {
            return Err(rule("MQTT-4.7.1-3", "'+' must be a whole level"));
        }
    }
    Ok(())
}

/// Checks a shared subscription filter, `$share/{ShareName}/{filter}` (MQTT 5).
pub fn validate_shared_filter(filter: &str) -> Result<(), Violation> {
    let rest = filter.strip_prefix("$share/").unwrap_or(filter);
    let (name, inner) = rest.split_once('/').unwrap_or((rest, ""));
    if name.is_empty() {
        return Err(rule(
            "MQTT-4.8.2-1",
            "shared subscription without a share name",
        ));
    }
    if name.contains(['+', '#']) {
        return Err(rule("§4.8.2", "share name contains a wildcard"));
    }
    if inner.is_empty() {
        return Err(rule(
            "MQTT-4.8.2-2",
            "share name is not followed by '/' and a topic filter",
        ));
    }
    validate_topic_filter(inner)
}

/// Whether `filter` matches `topic`. Both must already be valid.
///
/// A topic that starts with `$` is not matched by a filter that starts with a wildcard
/// [MQTT-4.7.2-1], so `#` does not see `$SYS/...`.
pub fn topic_matches(filter: &str, topic: &str) -> bool {
    if topic.starts_with('$') && filter.starts_with(['+', '#']) {
        return false;
    }
    let mut topic_levels = topic.split('/');
    for level in filter.split('/') {
        match level {
            // '#' also matches the parent level: "a/#" matches "a" [MQTT-4.7.1-2].
            "#" => return true,
            "+" => {
                if topic_levels.next().is_none() {
                    return false;
                }
            }
            exact => {
                if topic_levels.next() != Some(exact) {
                    return false;
                }
            }
        }
    }
    topic_levels.next().is_none()
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn multi_level_wildcard_matches_parent_and_children_mqtt_4_7_1_2() {
        assert!(topic_matches(
            "sport/tennis/player1/#",
            "sport/tennis/player1"
        ));
        assert!(topic_matches(
            "sport/tennis/player1/#",
            "sport/tennis/player1/ranking"
        ));
        assert!(topic_matches(
            "sport/tennis/player1/#",
            "sport/tennis/player1/score/wimbledon"
        ));
        assert!(topic_matches("sport/#", "sport"));
        assert!(topic_matches("#", "a/b/c"));
        assert!(!topic_matches("sport/tennis/#", "sport/football"));
    }

    #[test]
    fn single_level_wildcard_matches_one_level_mqtt_4_7_1_3() {
        assert!(topic_matches("sport/tennis/+", "sport/tennis/player1"));
        assert!(!topic_matches(
            "sport/tennis/+",
            "sport/tennis/player1/ranking"
        ));
        assert!(!topic_matches("sport/+", "sport"));
        assert!(topic_matches("sport/+", "sport/"));
        assert!(topic_matches("+/+", "/finance"));
        assert!(topic_matches("/+", "/finance"));
        assert!(!topic_matches("+", "/finance"));
    }

    #[test]
    fn dollar_topics_hidden_from_leading_wildcards_mqtt_4_7_2_1() {
        assert!(!topic_matches("#", "$SYS/broker/clients/connected"));
        assert!(!topic_matches("+/monitor/Clients", "$SYS/monitor/Clients"));
        assert!(topic_matches("$SYS/#", "$SYS/monitor/Clients"));
        assert!(topic_matches("$SYS/monitor/+", "$SYS/monitor/Clients"));
    }

    #[test]
    fn exact_filters_compare_every_level() {
        assert!(topic_matches("sensor/temperature", "sensor/temperature"));
        assert!(!topic_matches("sensor/temperature", "sensor/temperature/x"));
        assert!(!topic_matches("sensor/temperature/x", "sensor/temperature"));
        assert!(!topic_matches("Sensor/temperature", "sensor/temperature"));
    }

    #[test]
    fn filters_with_misplaced_wildcards_are_rejected() {
        assert_eq!(
            validate_topic_filter("sport/tennis#")
                .unwrap_err()
                .statement,
            "MQTT-4.7.1-2"
        );
        assert_eq!(
            validate_topic_filter("sport/#/ranking")
                .unwrap_err()
                .statement,
            "MQTT-4.7.1-2"
        );
        assert_eq!(
            validate_topic_filter("sport+").unwrap_err().statement,
            "MQTT-4.7.1-3"
        );
        assert!(validate_topic_filter("+/tennis/#").is_ok());
        assert!(validate_topic_filter("#").is_ok());
        assert_eq!(
            validate_topic_filter("").unwrap_err().statement,
            "MQTT-4.7.3-1"
        );
    }

    #[test]
    fn topic_names_reject_wildcards_mqtt_3_3_2_2() {
        assert_eq!(
            validate_topic_name("a/+/b").unwrap_err().statement,
            "MQTT-3.3.2-2"
        );
        assert_eq!(
            validate_topic_name("a/#").unwrap_err().statement,
            "MQTT-3.3.2-2"
        );
        assert!(validate_topic_name("a/b").is_ok());
    }
}
