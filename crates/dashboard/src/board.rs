//! A dashboard: widgets bound to a topic or a filter (one reading per matching topic),
//! with an optional JSON path; the ones that publish say where, at which QoS, retained or
//! not. Saved as JSON, and shared as a URL parameter (base64url of that JSON). What comes
//! back from storage, a file or a link is outside data: it is checked and bounded before
//! it is used.

use crate::payload;
use crate::series::{SeriesSpec, SpecError};
use base64::Engine as _;
use core::fmt;

/// Widgets on one board.
pub const MAX_WIDGETS: usize = 64;
/// Characters in any one text field of a widget.
pub const MAX_TEXT: usize = 1_024;

/// What a widget is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum WidgetKind {
    /// The last value, with its unit.
    Value,
    /// The last value between `min` and `max`.
    Gauge,
    /// A line per matching topic.
    Chart,
    /// Publishes `payload` or `off_payload`; shows the state the topic last reported.
    Switch,
    /// Publishes `payload`.
    Button,
    /// Publishes a number between `min` and `max`.
    Slider,
}

impl WidgetKind {
    pub const ALL: [WidgetKind; 6] = [
        WidgetKind::Value,
        WidgetKind::Gauge,
        WidgetKind::Chart,
        WidgetKind::Switch,
        WidgetKind::Button,
        WidgetKind::Slider,
    ];

    pub fn name(self) -> &'static str {
        match self {
            WidgetKind::Value => "Value",
            WidgetKind::Gauge => "Gauge",
            WidgetKind::Chart => "Line chart",
            WidgetKind::Switch => "Switch",
            WidgetKind::Button => "Button",
            WidgetKind::Slider => "Slider",
        }
    }

    /// Whether it publishes.
    pub fn publishes(self) -> bool {
        matches!(
            self,
            WidgetKind::Switch | WidgetKind::Button | WidgetKind::Slider
        )
    }
}

fn hundred() -> f64 {
    100.0
}

/// One widget.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Widget {
    /// Given by the board; unique on it.
    #[serde(default)]
    pub id: u32,
    pub kind: WidgetKind,
    #[serde(default)]
    pub title: String,
    /// The topic or filter read: the value, gauge and chart, and the state of a switch or
    /// slider (a button reads nothing and may leave it empty).
    #[serde(default)]
    pub filter: String,
    /// A JSON path into the payload, or empty for the payload itself.
    #[serde(default)]
    pub path: String,
    #[serde(default)]
    pub unit: String,
    #[serde(default)]
    pub min: f64,
    #[serde(default = "hundred")]
    pub max: f64,
    /// Where a switch, button or slider publishes.
    #[serde(default)]
    pub topic: String,
    #[serde(default)]
    pub qos: u8,
    #[serde(default)]
    pub retain: bool,
    /// A button's payload, or a switch's "on" payload.
    #[serde(default)]
    pub payload: String,
    /// A switch's "off" payload.
    #[serde(default)]
    pub off_payload: String,
}

/// Why a board or a widget is refused.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum BoardError {
    TooManyWidgets,
    TooLong {
        field: &'static str,
    },
    Series(SpecError),
    /// A widget that publishes needs a topic with no wildcard.
    PublishTopic(String),
    Qos(u8),
    /// `min` must be below `max`, both finite.
    Range,
    /// Not a board's JSON, or not the base64url of one.
    Format(String),
}

impl fmt::Display for BoardError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BoardError::TooManyWidgets => write!(f, "a board holds at most {MAX_WIDGETS} widgets"),
            BoardError::TooLong { field } => {
                write!(f, "{field} is longer than {MAX_TEXT} characters")
            }
            BoardError::Series(e) => e.fmt(f),
            BoardError::PublishTopic(why) => write!(f, "publish topic: {why}"),
            BoardError::Qos(q) => write!(f, "QoS {q} is not 0, 1 or 2"),
            BoardError::Range => f.write_str("min must be below max"),
            BoardError::Format(why) => write!(f, "not a dashboard: {why}"),
        }
    }
}

impl std::error::Error for BoardError {}

impl Widget {
    /// A widget of `kind` reading `filter`, with the other fields at their defaults.
    pub fn new(kind: WidgetKind, filter: &str) -> Widget {
        Widget {
            id: 0,
            kind,
            title: String::new(),
            filter: filter.to_owned(),
            path: String::new(),
            unit: String::new(),
            min: 0.0,
            max: 100.0,
            topic: String::new(),
            qos: 0,
            retain: false,
            payload: String::new(),
            off_payload: String::new(),
        }
    }

    /// Checks every field; the errors say which.
    pub fn check(&self) -> Result<(), BoardError> {
        for (field, text) in [
            ("title", &self.title),
            ("topic or filter", &self.filter),
            ("JSON path", &self.path),
            ("unit", &self.unit),
            ("publish topic", &self.topic),
            ("payload", &self.payload),
            ("off payload", &self.off_payload),
        ] {
            if text.chars().count() > MAX_TEXT {
                return Err(BoardError::TooLong { field });
            }
        }
        if self.qos > 2 {
            return Err(BoardError::Qos(self.qos));
        }
        if !(self.min.is_finite() && self.max.is_finite() && self.min < self.max) {
            return Err(BoardError::Range);
        }
        if self.kind != WidgetKind::Button || !self.filter.is_empty() {
            self.spec()?;
        }
        if self.kind.publishes() {
            tabmq_core::validate_topic_name(&self.topic)
                .map_err(|v| BoardError::PublishTopic(v.to_string()))?;
        }
        Ok(())
    }

    /// The series it reads.
    pub fn spec(&self) -> Result<SeriesSpec, BoardError> {
        SeriesSpec::new(&self.filter, &self.path, "").map_err(BoardError::Series)
    }

    /// What it is called on the board.
    pub fn label(&self) -> String {
        if self.title.trim().is_empty() {
            format!(
                "{} {}",
                self.kind.name(),
                if self.kind == WidgetKind::Button {
                    &self.topic
                } else {
                    &self.filter
                }
            )
        } else {
            self.title.clone()
        }
    }

    /// A switch's state from a payload it read: its own two payloads first, then a number
    /// (non-zero is on) or `true`/`false`, `on`/`off`.
    pub fn switch_state(&self, payload: &[u8]) -> Option<bool> {
        let text = core::str::from_utf8(payload).ok()?.trim();
        if !self.payload.is_empty() && text == self.payload.trim() {
            return Some(true);
        }
        if !self.off_payload.is_empty() && text == self.off_payload.trim() {
            return Some(false);
        }
        match text.to_ascii_lowercase().as_str() {
            "on" | "true" => Some(true),
            "off" | "false" => Some(false),
            _ => payload::number(payload, None).map(|n| n != 0.0),
        }
    }

    /// Where a gauge's needle stands, 0 to 1.
    pub fn fraction(&self, value: f64) -> f64 {
        ((value - self.min) / (self.max - self.min)).clamp(0.0, 1.0)
    }
}

/// The widgets, in their order on the board.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Board {
    pub widgets: Vec<Widget>,
}

impl Board {
    /// Adds a checked widget at the end; its id.
    pub fn add(&mut self, mut widget: Widget) -> Result<u32, BoardError> {
        if self.widgets.len() >= MAX_WIDGETS {
            return Err(BoardError::TooManyWidgets);
        }
        widget.check()?;
        // A widget read back keeps its id, unless another has it; a new one gets the next.
        if widget.id == 0 || self.widget(widget.id).is_some() {
            widget.id = self
                .widgets
                .iter()
                .map(|w| w.id)
                .max()
                .map_or(1, |m| m.saturating_add(1));
        }
        self.widgets.push(widget);
        Ok(self.widgets.last().map_or(0, |w| w.id))
    }

    pub fn remove(&mut self, id: u32) {
        self.widgets.retain(|w| w.id != id);
    }

    /// Moves widget `id` one place earlier (`-1`) or later (`1`).
    pub fn shift(&mut self, id: u32, by: isize) {
        let Some(at) = self.widgets.iter().position(|w| w.id == id) else {
            return;
        };
        let to = at as isize + by;
        if to >= 0 && (to as usize) < self.widgets.len() {
            self.widgets.swap(at, to as usize);
        }
    }

    pub fn widget(&self, id: u32) -> Option<&Widget> {
        self.widgets.iter().find(|w| w.id == id)
    }

    /// The filters to subscribe to, each once.
    pub fn filters(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .widgets
            .iter()
            .filter(|w| !w.filter.is_empty())
            .map(|w| w.filter.clone())
            .collect();
        out.sort();
        out.dedup();
        out
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// A board from JSON, every widget checked; ids kept where unique, made so where not.
    pub fn from_json(text: &str) -> Result<Board, BoardError> {
        if text.len() > MAX_WIDGETS * MAX_TEXT * 8 {
            return Err(BoardError::Format("too large".to_owned()));
        }
        let read: Board =
            serde_json::from_str(text).map_err(|e| BoardError::Format(e.to_string()))?;
        if read.widgets.len() > MAX_WIDGETS {
            return Err(BoardError::TooManyWidgets);
        }
        let mut board = Board::default();
        for w in read.widgets {
            board.add(w)?;
        }
        Ok(board)
    }

    /// The board as a URL parameter's value: base64url (no padding) of its JSON.
    pub fn to_url_param(&self) -> String {
        let compact = serde_json::to_string(self).unwrap_or_default();
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(compact)
    }

    pub fn from_url_param(param: &str) -> Result<Board, BoardError> {
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(param.trim())
            .map_err(|e| BoardError::Format(e.to_string()))?;
        let text = String::from_utf8(bytes).map_err(|e| BoardError::Format(e.to_string()))?;
        Board::from_json(&text)
    }
}

/// A board of three widgets (a value, a switch, a button), for the tests here and in
/// `readings`.
#[cfg(test)]
pub(crate) fn sample() -> Result<Board, BoardError> {
    let mut b = Board::default();
    b.add(Widget {
        path: "$.value".into(),
        unit: "°C".into(),
        ..Widget::new(WidgetKind::Value, "home/kitchen/temp")
    })?;
    b.add(Widget {
        topic: "lights/kitchen".into(),
        payload: "ON".into(),
        off_payload: "OFF".into(),
        qos: 1,
        retain: true,
        ..Widget::new(WidgetKind::Switch, "lights/kitchen")
    })?;
    b.add(Widget {
        topic: "cmd/ping".into(),
        payload: "ping".into(),
        ..Widget::new(WidgetKind::Button, "")
    })?;
    Ok(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn add_shift_remove_and_round_trips() -> Result<(), Box<dyn std::error::Error>> {
        let mut b = sample()?;
        assert_eq!(
            b.widgets.iter().map(|w| w.id).collect::<Vec<_>>(),
            [1, 2, 3]
        );
        b.shift(3, -1);
        assert_eq!(
            b.widgets.iter().map(|w| w.id).collect::<Vec<_>>(),
            [1, 3, 2]
        );
        b.shift(1, -1);
        assert_eq!(b.widgets[0].id, 1);
        assert_eq!(Board::from_json(&b.to_json())?, b);
        assert_eq!(Board::from_url_param(&b.to_url_param())?, b);
        b.remove(3);
        assert_eq!(b.filters(), ["home/kitchen/temp", "lights/kitchen"]);
        Ok(())
    }

    #[test]
    fn outside_data_is_checked() {
        assert!(matches!(
            Board::from_json("{\"widgets\": [{\"kind\": \"value\", \"filter\": \"a/#/b\"}]}"),
            Err(BoardError::Series(_))
        ));
        assert!(matches!(
            Board::from_json("{\"widgets\": [{\"kind\": \"button\", \"topic\": \"a/+\"}]}"),
            Err(BoardError::PublishTopic(_))
        ));
        assert!(matches!(Board::from_json("{\"widgets\": [{\"kind\": \"switch\", \"filter\": \"a\", \"topic\": \"a\", \"qos\": 3}]}"), Err(BoardError::Qos(3))));
        assert!(matches!(
            Board::from_json(
                "{\"widgets\": [{\"kind\": \"gauge\", \"filter\": \"a\", \"min\": 5, \"max\": 5}]}"
            ),
            Err(BoardError::Range)
        ));
        assert!(matches!(
            Board::from_json("[1,2]"),
            Err(BoardError::Format(_))
        ));
        assert!(matches!(
            Board::from_url_param("%%%"),
            Err(BoardError::Format(_))
        ));
        let many = format!(
            "{{\"widgets\": [{}]}}",
            vec!["{\"kind\": \"value\", \"filter\": \"a\"}"; MAX_WIDGETS + 1].join(",")
        );
        assert_eq!(Board::from_json(&many), Err(BoardError::TooManyWidgets));
    }
}
