//! A payload shown as text, JSON, hex, base64 or Sparkplug B, and the number a chart takes
//! from it.

use crate::json_path::{as_number, JsonPath};
use crate::sparkplug;
use base64::Engine as _;
use core::fmt;

/// How a payload is shown.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Format {
    Text,
    Json,
    Hex,
    Base64,
    Sparkplug,
}

impl Format {
    pub const ALL: [Format; 5] = [
        Format::Text,
        Format::Json,
        Format::Hex,
        Format::Base64,
        Format::Sparkplug,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Format::Text => "Text",
            Format::Json => "JSON",
            Format::Hex => "Hex",
            Format::Base64 => "Base64",
            Format::Sparkplug => "Sparkplug B",
        }
    }
}

/// Why a payload cannot be shown as the format asked for.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RenderError {
    NotJson(String),
    NotSparkplug(String),
}

impl fmt::Display for RenderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RenderError::NotJson(why) => write!(f, "not JSON: {why}"),
            RenderError::NotSparkplug(why) => write!(f, "not a Sparkplug B payload: {why}"),
        }
    }
}

impl std::error::Error for RenderError {}

/// Whether `topic` is in the Sparkplug B namespace (`spBv1.0/...`), whose payloads are
/// protobuf except for the host application's `STATE` messages.
pub fn is_sparkplug_topic(topic: &str) -> bool {
    topic.starts_with("spBv1.0/") && !topic.starts_with("spBv1.0/STATE/")
}

/// The format an explorer first shows a payload in: Sparkplug B on its namespace, JSON
/// when it parses, text when it is UTF-8 without control characters, else hex.
pub fn guess(topic: &str, payload: &[u8]) -> Format {
    if is_sparkplug_topic(topic) && sparkplug::decode(payload).is_ok() {
        return Format::Sparkplug;
    }
    match core::str::from_utf8(payload) {
        Ok(text)
            if serde_json::from_str::<serde_json::Value>(text).is_ok()
                && !text.trim().is_empty() =>
        {
            Format::Json
        }
        Ok(text) if !text.chars().any(|c| c.is_control() && !c.is_whitespace()) => Format::Text,
        _ => Format::Hex,
    }
}

/// A payload in one line of at most `max_chars` characters (and an ellipsis), for a tree
/// row or a list: text as it is, Sparkplug B as its metric count, other binary as hex.
pub fn summary(topic: &str, payload: &[u8], max_chars: usize) -> String {
    // Only the head is looked at: a row must not cost a whole megabyte's scan.
    let head = &payload[..payload.len().min(max_chars.saturating_mul(4))];
    let text = match core::str::from_utf8(head) {
        Ok(t) => Some(t),
        // A head cut inside a character is still text.
        Err(e) if e.error_len().is_none() => core::str::from_utf8(&head[..e.valid_up_to()]).ok(),
        Err(_) => None,
    };
    let line = match text.filter(|t| !t.chars().any(|c| c.is_control() && !c.is_whitespace())) {
        Some(t) => t.split_whitespace().collect::<Vec<_>>().join(" "),
        None if is_sparkplug_topic(topic) => match sparkplug::decode(payload) {
            Ok(p) => format!(
                "Sparkplug B, {} metric{}",
                p.metrics.len(),
                if p.metrics.len() == 1 { "" } else { "s" }
            ),
            Err(_) => hex(head),
        },
        None => hex(head),
    };
    let mut short: String = line.chars().take(max_chars).collect();
    if short.len() < line.len() || head.len() < payload.len() {
        short.push('…');
    }
    short
}

/// Lowercase hex, a space between bytes.
pub fn hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 3);
    for (i, b) in bytes.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        out.push_str(&format!("{b:02x}"));
    }
    out
}

/// `payload` written in `format`. Text is always possible (invalid UTF-8 shows as U+FFFD);
/// JSON is pretty-printed; Sparkplug B is a line per metric, `name (Type) = value`.
pub fn render(payload: &[u8], format: Format) -> Result<String, RenderError> {
    Ok(match format {
        Format::Text => String::from_utf8_lossy(payload).into_owned(),
        Format::Hex => hex(payload),
        Format::Base64 => base64::engine::general_purpose::STANDARD.encode(payload),
        Format::Json => {
            let value: serde_json::Value =
                serde_json::from_slice(payload).map_err(|e| RenderError::NotJson(e.to_string()))?;
            serde_json::to_string_pretty(&value).map_err(|e| RenderError::NotJson(e.to_string()))?
        }
        Format::Sparkplug => {
            let p =
                sparkplug::decode(payload).map_err(|e| RenderError::NotSparkplug(e.to_string()))?;
            let mut lines = Vec::with_capacity(p.metrics.len() + 1);
            let mut head = Vec::new();
            if let Some(seq) = p.seq {
                head.push(format!("seq {seq}"));
            }
            if let Some(ts) = p.timestamp {
                head.push(format!("timestamp {ts}"));
            }
            if !head.is_empty() {
                lines.push(head.join(", "));
            }
            for m in &p.metrics {
                lines.push(format!(
                    "{} ({}) = {}",
                    m.label(),
                    sparkplug::datatype_name(m.datatype.unwrap_or(0)),
                    m.value_text()
                ));
            }
            lines.join("\n")
        }
    })
}

/// The number a chart plots from a payload: with a path, the field it names in the JSON
/// document; without, the payload itself read as a number (`21.5`, ` 3 `, `true`).
pub fn number(payload: &[u8], path: Option<&JsonPath>) -> Option<f64> {
    match path {
        Some(path) if !path.steps().is_empty() => {
            let doc: serde_json::Value = serde_json::from_slice(payload).ok()?;
            path.number(&doc)
        }
        _ => {
            let text = core::str::from_utf8(payload).ok()?.trim();
            match text.parse::<f64>() {
                Ok(x) if x.is_finite() => Some(x),
                _ => as_number(&serde_json::from_str(text).ok()?),
            }
        }
    }
}

/// A Sparkplug B metric's number, by name: the series a chart draws from such a topic.
pub fn sparkplug_number(payload: &[u8], metric: &str) -> Option<f64> {
    sparkplug::decode(payload)
        .ok()?
        .metrics
        .iter()
        .find(|m| m.name.as_deref() == Some(metric))?
        .number()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guesses() -> Result<(), Box<dyn std::error::Error>> {
        assert_eq!(guess("a", br#"{"value": 1}"#), Format::Json);
        assert_eq!(guess("a", b"on"), Format::Text);
        assert_eq!(guess("a", b"\x00\x01"), Format::Hex);
        assert_eq!(guess("a", b"\xff"), Format::Hex);
        assert_eq!(guess("spBv1.0/g/NDATA/n", b"\x08\x01"), Format::Sparkplug);
        Ok(())
    }

    #[test]
    fn renders() -> Result<(), Box<dyn std::error::Error>> {
        assert_eq!(render(b"\x01\xab", Format::Hex)?, "01 ab");
        assert_eq!(render(b"hi", Format::Base64)?, "aGk=");
        assert_eq!(render(b"{\"a\":1}", Format::Json)?, "{\n  \"a\": 1\n}");
        assert!(matches!(
            render(b"{", Format::Json),
            Err(RenderError::NotJson(_))
        ));
        assert_eq!(render(b"<img src=x>", Format::Text)?, "<img src=x>");
        Ok(())
    }

    #[test]
    fn summaries() -> Result<(), Box<dyn std::error::Error>> {
        assert_eq!(summary("a", b"{\"a\":\n 1}", 60), "{\"a\": 1}");
        assert_eq!(summary("a", b"\x00\x01", 60), "00 01");
        assert_eq!(summary("a", "héllo".as_bytes(), 3), "hél…");
        assert_eq!(
            summary("a", &[b'x'; 100], 10),
            format!("{}…", "x".repeat(10))
        );
        assert_eq!(
            summary("spBv1.0/g/NDATA/n", &[0x12, 0x00], 60),
            "Sparkplug B, 1 metric"
        );
        Ok(())
    }

    #[test]
    fn numbers() -> Result<(), Box<dyn std::error::Error>> {
        let path = JsonPath::parse("$.value")?;
        assert_eq!(number(br#"{"value": 21.5}"#, Some(&path)), Some(21.5));
        assert_eq!(number(b" 7 ", None), Some(7.0));
        assert_eq!(number(b"true", None), Some(1.0));
        assert_eq!(number(b"NaN", None), None);
        assert_eq!(number(b"hello", None), None);
        Ok(())
    }
}
