//! What a chart plots: series named by a topic filter and a field, one series per topic
//! the filter matches (Grafana's MQTT users asked for exactly that), fed from messages into
//! the [`History`].

use crate::history::History;
use crate::json_path::{JsonPath, PathError};
use crate::payload;
use crate::sparkplug::Births;
use core::fmt;

/// A series' definition: which topics, and which number in their payloads.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SeriesSpec {
    /// A topic filter (`home/+/temp`) or a topic.
    pub filter: String,
    /// A JSON path (`$.value`), or empty for the payload read as a number.
    #[serde(default)]
    pub path: String,
    /// A Sparkplug B metric's name, or empty.
    #[serde(default)]
    pub metric: String,
    #[serde(skip)]
    parsed: Option<JsonPath>,
}

/// Why a series cannot be plotted.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SpecError {
    /// The filter is not a valid MQTT topic filter; the spec statement it breaks.
    Filter(String),
    Path(PathError),
    /// Both a JSON path and a Sparkplug metric: a payload is one or the other.
    PathAndMetric,
}

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SpecError::Filter(why) => write!(f, "not a topic filter: {why}"),
            SpecError::Path(e) => write!(f, "JSON path: {e}"),
            SpecError::PathAndMetric => f.write_str("a JSON path or a Sparkplug metric, not both"),
        }
    }
}

impl std::error::Error for SpecError {}

/// Between a series key's topic and its field: a control character no device puts in a
/// topic.
const KEY_SEPARATOR: char = '\u{1f}';

impl SeriesSpec {
    /// A checked spec.
    pub fn new(filter: &str, path: &str, metric: &str) -> Result<SeriesSpec, SpecError> {
        SeriesSpec {
            filter: filter.trim().to_owned(),
            path: path.trim().to_owned(),
            metric: metric.trim().to_owned(),
            parsed: None,
        }
        .checked()
    }

    /// Checks a spec read back from storage, and parses its path.
    pub fn checked(mut self) -> Result<SeriesSpec, SpecError> {
        tabmq_core::validate_topic_filter(&self.filter)
            .map_err(|v| SpecError::Filter(v.to_string()))?;
        if !self.path.is_empty() && !self.metric.is_empty() {
            return Err(SpecError::PathAndMetric);
        }
        self.parsed = if self.path.is_empty() {
            None
        } else {
            Some(JsonPath::parse(&self.path).map_err(SpecError::Path)?)
        };
        Ok(self)
    }

    pub fn matches(&self, topic: &str) -> bool {
        tabmq_core::topic_matches(&self.filter, topic)
    }

    /// What the series of `topic` is called, in a legend and in storage.
    pub fn label(&self, topic: &str) -> String {
        match (self.path.is_empty(), self.metric.is_empty()) {
            (false, _) => format!("{topic} {}", self.path),
            (_, false) => format!("{topic} #{}", self.metric),
            _ => topic.to_owned(),
        }
    }

    /// The [`History`] key of `topic`'s series.
    pub fn key(&self, topic: &str) -> String {
        let field = if self.metric.is_empty() {
            self.path.clone()
        } else {
            format!("#{}", self.metric)
        };
        format!("{topic}{KEY_SEPARATOR}{field}")
    }

    /// Whether `key` is one of this spec's series.
    pub fn owns(&self, key: &str) -> bool {
        key.rsplit_once(KEY_SEPARATOR)
            .is_some_and(|(topic, _)| self.key(topic) == key && self.matches(topic))
    }

    /// The number this series takes from a message on `topic`.
    pub fn value(&self, topic: &str, payload: &[u8], births: &Births) -> Option<f64> {
        if !self.metric.is_empty() {
            return births
                .decode(topic, payload)
                .ok()?
                .metrics
                .iter()
                .find(|m| m.name.as_deref() == Some(&self.metric))?
                .number();
        }
        payload::number(payload, self.parsed.as_ref())
    }
}

/// The topic part of a series key.
pub fn key_topic(key: &str) -> &str {
    key.rsplit_once(KEY_SEPARATOR)
        .map_or(key, |(topic, _)| topic)
}

/// Records a message into every series of `specs` it belongs to; whether any took it.
pub fn record<'a>(
    specs: impl IntoIterator<Item = &'a SeriesSpec>,
    history: &mut History,
    births: &Births,
    topic: &str,
    payload: &[u8],
    at_ms: u64,
) -> bool {
    let mut took = false;
    for spec in specs.into_iter().filter(|s| s.matches(topic)) {
        if let Some(value) = spec.value(topic, payload, births) {
            took |= history.record(&spec.key(topic), at_ms, value);
        }
    }
    took
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::history::HistoryLimits;

    #[test]
    fn one_series_per_matching_topic() -> Result<(), Box<dyn std::error::Error>> {
        let spec = SeriesSpec::new("home/+/temp", "$.value", "")?;
        let mut h = History::new(HistoryLimits::default());
        let births = Births::default();
        for (topic, body) in [
            ("home/kitchen/temp", "{\"value\": 21}"),
            ("home/bedroom/temp", "{\"value\": 18.5}"),
            ("home/kitchen/hum", "{\"value\": 40}"),
            ("home/hall/temp", "{\"v\": 1}"),
        ] {
            record(
                std::slice::from_ref(&spec),
                &mut h,
                &births,
                topic,
                body.as_bytes(),
                1_000,
            );
        }
        let mut keys: Vec<String> = h.series().map(str::to_owned).collect();
        keys.sort();
        assert_eq!(
            keys.iter().map(|k| key_topic(k)).collect::<Vec<_>>(),
            ["home/bedroom/temp", "home/kitchen/temp"]
        );
        assert!(keys.iter().all(|k| spec.owns(k)));
        assert_eq!(spec.label("home/kitchen/temp"), "home/kitchen/temp $.value");
        assert!(!SeriesSpec::new("home/kitchen/temp", "", "")?.owns(&keys[0]));
        Ok(())
    }

    #[test]
    fn bad_specs_say_why() {
        assert!(matches!(
            SeriesSpec::new("home/#/x", "", ""),
            Err(SpecError::Filter(_))
        ));
        assert!(matches!(
            SeriesSpec::new("a", "value", ""),
            Err(SpecError::Path(PathError::MissingRoot))
        ));
        assert_eq!(
            SeriesSpec::new("a", "$.v", "m"),
            Err(SpecError::PathAndMetric)
        );
    }
}
