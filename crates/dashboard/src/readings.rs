//! What each widget of a board last read, per matching topic, and whether it went stale.

use crate::board::{Board, MAX_TEXT};
use crate::cadence::Cadence;
use crate::payload;
use crate::series::SeriesSpec;
use crate::sparkplug::Births;
use std::collections::{BTreeMap, HashMap};

/// Readings kept at once, across widgets (a widget on `#` matches every topic).
pub const MAX_READINGS: usize = 4_096;

/// The last reading of one topic for one widget.
#[derive(Clone, Debug, PartialEq)]
pub struct Reading {
    /// The payload (or the path's field) as a line of text.
    pub text: String,
    pub value: Option<f64>,
    /// The raw payload, for a switch's state.
    pub payload: Vec<u8>,
    pub at_ms: u64,
    cadence: Cadence,
}

impl Reading {
    pub fn is_stale(&self, now_ms: u64) -> bool {
        self.cadence.is_stale(now_ms)
    }
}

/// One message, as the board takes it.
#[derive(Clone, Copy, Debug)]
pub struct Incoming<'a> {
    pub topic: &'a str,
    pub payload: &'a [u8],
    pub retain: bool,
    pub at_ms: u64,
    /// The filters the message came by (its subscription identifiers, mapped back), or
    /// `None` when the broker did not say. A broker may send a message once per matching
    /// subscription; each copy is for the widgets of its own filter, so that a topic two
    /// widgets read through different filters is counted once by each.
    pub via: Option<&'a [String]>,
}

impl Incoming<'_> {
    /// Whether this copy of the message is for a widget reading `filter`.
    pub fn came_for(&self, filter: &str) -> bool {
        self.via.is_none_or(|v| v.iter().any(|f| f == filter))
    }
}

/// What each widget last read, per matching topic.
#[derive(Clone, Debug, Default)]
pub struct Readings {
    by_widget: BTreeMap<(u32, String), Reading>,
    /// Each widget's series, parsed once, not once a message (a flood brings thousands a
    /// second); made again when the widget's filter or path is not the one parsed.
    specs: HashMap<u32, SeriesSpec>,
    refused: u64,
}

impl Readings {
    /// Takes a message for every widget of `board` whose filter matches its topic and, when
    /// the message says which filters it came by, is one of them.
    pub fn take(&mut self, board: &Board, births: &Births, m: &Incoming<'_>) {
        let (topic, bytes, retain, at_ms) = (m.topic, m.payload, m.retain, m.at_ms);
        for w in board.widgets.iter().filter(|w| m.came_for(&w.filter)) {
            let fresh = self
                .specs
                .get(&w.id)
                .is_some_and(|s| s.filter == w.filter && s.path == w.path);
            if !fresh {
                let Ok(spec) = w.spec() else { continue };
                self.specs.insert(w.id, spec);
            }
            let Some(spec) = self.specs.get(&w.id) else {
                continue;
            };
            if !spec.matches(topic) {
                continue;
            }
            let value = spec.value(topic, bytes, births);
            let text = match (&w.path.is_empty(), value) {
                (false, Some(v)) => v.to_string(),
                (false, None) => String::new(),
                (true, _) => payload::summary(topic, bytes, 80),
            };
            let key = (w.id, topic.to_owned());
            let first = !self.by_widget.contains_key(&key);
            if first && self.by_widget.len() >= MAX_READINGS {
                self.refused += 1;
                continue;
            }
            let reading = self.by_widget.entry(key).or_insert_with(|| Reading {
                text: String::new(),
                value: None,
                payload: Vec::new(),
                at_ms,
                cadence: Cadence::default(),
            });
            // As the topic tree does: a retained first message is old news.
            if !(retain && first) {
                reading.cadence.observe(at_ms);
            }
            reading.text = text;
            reading.value = value;
            reading.payload = bytes[..bytes.len().min(MAX_TEXT)].to_vec();
            reading.at_ms = at_ms;
        }
    }

    /// Widget `id`'s readings, by topic.
    pub fn of(&self, id: u32) -> impl Iterator<Item = (&str, &Reading)> {
        self.by_widget
            .range((id, String::new())..)
            .take_while(move |((w, _), _)| *w == id)
            .map(|((_, t), r)| (t.as_str(), r))
    }

    /// Forgets the readings of widgets no longer on `board`.
    pub fn keep_only(&mut self, board: &Board) {
        self.by_widget
            .retain(|(id, _), _| board.widget(*id).is_some());
        self.specs.retain(|id, _| board.widget(*id).is_some());
    }

    /// Readings not kept because [`MAX_READINGS`] were.
    pub fn refused(&self) -> u64 {
        self.refused
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::board::{sample, Widget, WidgetKind};

    #[test]
    fn readings_per_widget_and_topic() -> Result<(), Box<dyn std::error::Error>> {
        let mut b = sample()?;
        b.add(Widget {
            path: "$.value".into(),
            ..Widget::new(WidgetKind::Gauge, "home/+/temp")
        })?;
        let mut r = Readings::default();
        let births = Births::default();
        let take = |r: &mut Readings, topic, payload: &[u8], retain, via| {
            r.take(
                &b,
                &births,
                &Incoming {
                    topic,
                    payload,
                    retain,
                    at_ms: 1_000,
                    via,
                },
            );
        };
        take(
            &mut r,
            "home/kitchen/temp",
            br#"{"value": 21.5}"#,
            false,
            None,
        );
        take(
            &mut r,
            "home/bedroom/temp",
            br#"{"value": 18}"#,
            false,
            None,
        );
        take(&mut r, "lights/kitchen", b"ON", true, None);
        assert_eq!(
            r.of(1)
                .map(|(t, x)| (t.to_owned(), x.value))
                .collect::<Vec<_>>(),
            [("home/kitchen/temp".to_owned(), Some(21.5))]
        );
        assert_eq!(r.of(4).count(), 2);
        // A copy that came by home/+/temp is the gauge's, not the kitchen value's.
        let via = ["home/+/temp".to_owned()];
        take(
            &mut r,
            "home/kitchen/temp",
            br#"{"value": 30}"#,
            false,
            Some(&via),
        );
        assert_eq!(
            r.of(1).map(|(_, x)| x.value).collect::<Vec<_>>(),
            [Some(21.5)]
        );
        assert!(r
            .of(4)
            .any(|(t, x)| t == "home/kitchen/temp" && x.value == Some(30.0)));
        let switch = b.widget(2).ok_or("switch")?;
        let (_, state) = r.of(2).next().ok_or("a reading")?;
        assert_eq!(switch.switch_state(&state.payload), Some(true));
        assert_eq!(switch.switch_state(b"0"), Some(false));
        assert_eq!(b.widget(4).ok_or("gauge")?.fraction(150.0), 1.0);
        b.remove(4);
        r.keep_only(&b);
        assert_eq!(r.of(4).count(), 0);
        Ok(())
    }
}
