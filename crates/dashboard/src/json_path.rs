//! A field of a JSON payload named by a path, `$.temp` or `$.sensors[0].value`: the subset
//! of JSONPath that names one value (no wildcards, filters or slices), which is what a
//! chart or a gauge can plot.

use core::fmt;
use serde_json::Value;

/// One step of a path: a member of an object, or an element of an array.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    Key(String),
    Index(usize),
}

/// A parsed path. `Display` writes it back in a form [`JsonPath::parse`] reads.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct JsonPath {
    steps: Vec<Step>,
}

/// Why a path does not parse, and where.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum PathError {
    /// A path starts with `$`.
    MissingRoot,
    /// Something other than `.name`, `['name']` or `[N]` at this byte offset.
    Unexpected { at: usize },
    /// A quoted name or a bracket not closed.
    Unterminated { at: usize },
    /// An array index too big for this machine.
    IndexTooLarge { at: usize },
}

impl fmt::Display for PathError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PathError::MissingRoot => f.write_str("a JSON path starts with $"),
            PathError::Unexpected { at } => {
                write!(
                    f,
                    "expected .name, ['name'] or [index] at character {}",
                    at + 1
                )
            }
            PathError::Unterminated { at } => {
                write!(f, "unclosed bracket or quote at character {}", at + 1)
            }
            PathError::IndexTooLarge { at } => {
                write!(f, "array index too large at character {}", at + 1)
            }
        }
    }
}

impl std::error::Error for PathError {}

impl JsonPath {
    /// Reads `$`, `$.a.b`, `$.a[2]`, `$['a b']`, `$["a"][0]`. Surrounding spaces are
    /// ignored; an empty string is the whole payload (`$`).
    pub fn parse(text: &str) -> Result<JsonPath, PathError> {
        let text = text.trim();
        if text.is_empty() {
            return Ok(JsonPath::default());
        }
        let bytes = text.as_bytes();
        if bytes[0] != b'$' {
            return Err(PathError::MissingRoot);
        }
        let mut steps = Vec::new();
        let mut i = 1;
        while i < bytes.len() {
            match bytes[i] {
                b'.' => {
                    let start = i + 1;
                    let end = text[start..]
                        .find(['.', '['])
                        .map_or(text.len(), |n| start + n);
                    if end == start {
                        return Err(PathError::Unexpected { at: start });
                    }
                    steps.push(Step::Key(text[start..end].to_owned()));
                    i = end;
                }
                b'[' => {
                    let (step, next) = bracket(text, i)?;
                    steps.push(step);
                    i = next;
                }
                _ => return Err(PathError::Unexpected { at: i }),
            }
        }
        Ok(JsonPath { steps })
    }

    pub fn steps(&self) -> &[Step] {
        &self.steps
    }

    /// The value the path names in `doc`, if there is one.
    pub fn select<'a>(&self, doc: &'a Value) -> Option<&'a Value> {
        self.steps.iter().try_fold(doc, |v, step| match step {
            Step::Key(k) => v.get(k.as_str()),
            Step::Index(n) => v.get(*n),
        })
    }

    /// The number the path names in `doc`: a JSON number, a numeric string (many devices
    /// quote their readings), or a boolean as 0/1 (a switch's state plots as a step).
    pub fn number(&self, doc: &Value) -> Option<f64> {
        as_number(self.select(doc)?)
    }
}

/// A JSON value read as a number, as [`JsonPath::number`] does.
pub fn as_number(value: &Value) -> Option<f64> {
    match value {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok().filter(|x| x.is_finite()),
        Value::Bool(b) => Some(f64::from(u8::from(*b))),
        _ => None,
    }
}

/// A `[...]` step starting at `open`; returns it and the offset after `]`.
fn bracket(text: &str, open: usize) -> Result<(Step, usize), PathError> {
    let bytes = text.as_bytes();
    let inner = open + 1;
    match bytes.get(inner) {
        Some(&q @ (b'\'' | b'"')) => {
            let mut name = String::new();
            let mut chars = text[inner + 1..].char_indices();
            while let Some((n, c)) = chars.next() {
                let at = inner + 1 + n;
                if c == '\\' {
                    // An escaped quote or backslash is part of the name.
                    match chars.next() {
                        Some((_, e)) => name.push(e),
                        None => return Err(PathError::Unterminated { at: open }),
                    }
                } else if c == q as char {
                    return if bytes.get(at + 1) == Some(&b']') {
                        Ok((Step::Key(name), at + 2))
                    } else {
                        Err(PathError::Unexpected { at: at + 1 })
                    };
                } else {
                    name.push(c);
                }
            }
            Err(PathError::Unterminated { at: open })
        }
        Some(b'0'..=b'9') => {
            let close = text[inner..]
                .find(']')
                .map(|n| inner + n)
                .ok_or(PathError::Unterminated { at: open })?;
            let digits = &text[inner..close];
            if let Some(bad) = digits.bytes().position(|b| !b.is_ascii_digit()) {
                return Err(PathError::Unexpected { at: inner + bad });
            }
            let n = digits
                .parse()
                .map_err(|_| PathError::IndexTooLarge { at: inner })?;
            Ok((Step::Index(n), close + 1))
        }
        Some(_) => Err(PathError::Unexpected { at: inner }),
        None => Err(PathError::Unterminated { at: open }),
    }
}

impl fmt::Display for JsonPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("$")?;
        for step in &self.steps {
            match step {
                Step::Index(n) => write!(f, "[{n}]")?,
                // A plain name in dot form; anything the dot form cannot carry, quoted.
                Step::Key(k)
                    if !k.is_empty() && !k.contains(['.', '[', ']', '\'', '"', '\\', ' ']) =>
                {
                    write!(f, ".{k}")?
                }
                Step::Key(k) => {
                    f.write_str("['")?;
                    for c in k.chars() {
                        if c == '\'' || c == '\\' {
                            f.write_str("\\")?;
                        }
                        write!(f, "{c}")?;
                    }
                    f.write_str("']")?;
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_issues_paths() -> Result<(), Box<dyn std::error::Error>> {
        let doc = json!({"temp": 21.5, "sensors": [{"value": "3.25"}, {"value": true}]});
        assert_eq!(JsonPath::parse("$.temp")?.number(&doc), Some(21.5));
        assert_eq!(
            JsonPath::parse("$.sensors[0].value")?.number(&doc),
            Some(3.25)
        );
        assert_eq!(
            JsonPath::parse("$['sensors'][1][\"value\"]")?.number(&doc),
            Some(1.0)
        );
        assert_eq!(JsonPath::parse("$.missing")?.number(&doc), None);
        assert_eq!(JsonPath::parse("")?.number(&json!(7)), Some(7.0));
        Ok(())
    }

    #[test]
    fn errors_say_where() -> Result<(), Box<dyn std::error::Error>> {
        assert_eq!(JsonPath::parse("temp"), Err(PathError::MissingRoot));
        assert_eq!(
            JsonPath::parse("$..a"),
            Err(PathError::Unexpected { at: 2 })
        );
        assert_eq!(
            JsonPath::parse("$[1"),
            Err(PathError::Unterminated { at: 1 })
        );
        assert_eq!(
            JsonPath::parse("$['a"),
            Err(PathError::Unterminated { at: 1 })
        );
        assert_eq!(
            JsonPath::parse("$[1x]"),
            Err(PathError::Unexpected { at: 3 })
        );
        assert_eq!(
            JsonPath::parse("$[99999999999999999999999]"),
            Err(PathError::IndexTooLarge { at: 2 })
        );
        assert_eq!(JsonPath::parse("$x"), Err(PathError::Unexpected { at: 1 }));
        Ok(())
    }
}
