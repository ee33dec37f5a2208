//! Sparkplug B payloads (Eclipse Tahu's `sparkplug_b.proto`, `org.eclipse.tahu.protobuf.Payload`),
//! read with prost.
//!
//! The messages below are what prost-build generates from the `.proto` for the fields an
//! explorer shows: the payload's timestamp, sequence and metrics, and each metric's name,
//! alias, type and scalar value. prost skips the fields not declared here (datasets,
//! templates, property sets, metadata), so any valid payload decodes; such a metric shows
//! its type with no value. Written out rather than generated so that the build needs no
//! `protoc`; the field numbers and types are the `.proto`'s, checked in the tests and end
//! to end against payloads made by `pysparkplug`.

use prost::Message;
use std::collections::HashMap;

/// `Payload`.
#[derive(Clone, PartialEq, Message)]
pub struct Payload {
    #[prost(uint64, optional, tag = "1")]
    pub timestamp: Option<u64>,
    #[prost(message, repeated, tag = "2")]
    pub metrics: Vec<Metric>,
    #[prost(uint64, optional, tag = "3")]
    pub seq: Option<u64>,
    #[prost(string, optional, tag = "4")]
    pub uuid: Option<String>,
    #[prost(bytes = "vec", optional, tag = "5")]
    pub body: Option<Vec<u8>>,
}

/// `Payload.Metric`, without `metadata` (8) and `properties` (9).
#[derive(Clone, PartialEq, Message)]
pub struct Metric {
    #[prost(string, optional, tag = "1")]
    pub name: Option<String>,
    #[prost(uint64, optional, tag = "2")]
    pub alias: Option<u64>,
    #[prost(uint64, optional, tag = "3")]
    pub timestamp: Option<u64>,
    #[prost(uint32, optional, tag = "4")]
    pub datatype: Option<u32>,
    #[prost(bool, optional, tag = "5")]
    pub is_historical: Option<bool>,
    #[prost(bool, optional, tag = "6")]
    pub is_transient: Option<bool>,
    #[prost(bool, optional, tag = "7")]
    pub is_null: Option<bool>,
    #[prost(oneof = "MetricValue", tags = "10, 11, 12, 13, 14, 15, 16")]
    pub value: Option<MetricValue>,
}

/// `Payload.Metric.value`, its scalar arms (`dataset_value`, `template_value` and
/// `extension_value` are skipped).
#[derive(Clone, PartialEq, prost::Oneof)]
pub enum MetricValue {
    #[prost(uint32, tag = "10")]
    IntValue(u32),
    #[prost(uint64, tag = "11")]
    LongValue(u64),
    #[prost(float, tag = "12")]
    FloatValue(f32),
    #[prost(double, tag = "13")]
    DoubleValue(f64),
    #[prost(bool, tag = "14")]
    BooleanValue(bool),
    #[prost(string, tag = "15")]
    StringValue(String),
    #[prost(bytes = "vec", tag = "16")]
    BytesValue(Vec<u8>),
}

/// Sparkplug's data type names, by the numbers in the `.proto`'s comment.
pub fn datatype_name(datatype: u32) -> &'static str {
    match datatype {
        1 => "Int8",
        2 => "Int16",
        3 => "Int32",
        4 => "Int64",
        5 => "UInt8",
        6 => "UInt16",
        7 => "UInt32",
        8 => "UInt64",
        9 => "Float",
        10 => "Double",
        11 => "Boolean",
        12 => "String",
        13 => "DateTime",
        14 => "Text",
        15 => "UUID",
        16 => "DataSet",
        17 => "Bytes",
        18 => "File",
        19 => "Template",
        20 => "PropertySet",
        21 => "PropertySetList",
        _ => "Unknown",
    }
}

/// Reads a Sparkplug B payload.
pub fn decode(bytes: &[u8]) -> Result<Payload, prost::DecodeError> {
    Payload::decode(bytes)
}

impl Metric {
    /// The value as a number, read by its data type: Sparkplug carries Int8/16/32 in a
    /// `uint32` and Int64 in a `uint64` as two's complement, so a -5 Int8 arrives as
    /// 4294967291 and must be read back signed.
    pub fn number(&self) -> Option<f64> {
        if self.is_null == Some(true) {
            return None;
        }
        let datatype = self.datatype.unwrap_or(0);
        Some(match self.value.as_ref()? {
            MetricValue::IntValue(v) => match datatype {
                1 => f64::from(*v as u8 as i8),
                2 => f64::from(*v as u16 as i16),
                3 => f64::from(*v as i32),
                _ => f64::from(*v),
            },
            MetricValue::LongValue(v) if datatype == 4 => *v as i64 as f64,
            MetricValue::LongValue(v) => *v as f64,
            MetricValue::FloatValue(v) => f64::from(*v),
            MetricValue::DoubleValue(v) => *v,
            MetricValue::BooleanValue(b) => f64::from(u8::from(*b)),
            MetricValue::StringValue(s) => s.trim().parse().ok()?,
            MetricValue::BytesValue(_) => return None,
        })
    }

    /// The value as an explorer writes it.
    pub fn value_text(&self) -> String {
        if self.is_null == Some(true) {
            return "null".to_owned();
        }
        match &self.value {
            None => format!("({})", datatype_name(self.datatype.unwrap_or(0))),
            Some(MetricValue::StringValue(s)) => s.clone(),
            Some(MetricValue::BooleanValue(b)) => b.to_string(),
            Some(MetricValue::BytesValue(b)) => crate::payload::hex(b),
            Some(_) => self.number().map_or_else(String::new, |n| n.to_string()),
        }
    }

    /// The metric's name, or `alias N` in a DATA message that names it only by alias.
    pub fn label(&self) -> String {
        match (&self.name, self.alias) {
            (Some(name), _) => name.clone(),
            (None, Some(alias)) => format!("alias {alias}"),
            (None, None) => "(unnamed)".to_owned(),
        }
    }
}

/// Sources (edge nodes and devices) whose births are remembered at once.
const MAX_SOURCES: usize = 4_096;

/// What the births of each edge node and device said of their metrics. DATA messages may
/// name a metric only by alias and usually omit its data type (pysparkplug does), so an
/// Int32 of -12 arrives as the `uint32` 4294967284: read alone, a DATA payload cannot be
/// shown right. The BIRTH that came before it tells both.
#[derive(Clone, Debug, Default)]
pub struct Births {
    sources: HashMap<String, Known>,
}

#[derive(Clone, Debug, Default)]
struct Known {
    datatypes: HashMap<String, u32>,
    aliases: HashMap<u64, String>,
}

/// `spBv1.0/group/TYPE/edge[/device]`: the source's key (`group/edge[/device]`) and the
/// message type.
fn source(topic: &str) -> Option<(String, &str)> {
    let mut levels = topic.split('/');
    if levels.next()? != "spBv1.0" {
        return None;
    }
    let group = levels.next()?;
    let kind = levels.next()?;
    let edge = levels.next()?;
    let key = match levels.next() {
        Some(device) => format!("{group}/{edge}/{device}"),
        None => format!("{group}/{edge}"),
    };
    Some((key, kind))
}

impl Births {
    /// Takes a message on a Sparkplug topic; a NBIRTH or DBIRTH is remembered.
    pub fn learn(&mut self, topic: &str, payload: &[u8]) {
        let Some((key, kind)) = source(topic) else {
            return;
        };
        if kind != "NBIRTH" && kind != "DBIRTH" {
            return;
        }
        let Ok(birth) = decode(payload) else { return };
        if !self.sources.contains_key(&key) && self.sources.len() >= MAX_SOURCES {
            return;
        }
        // A birth replaces what an earlier one said: the source restarted.
        let known = self.sources.entry(key).or_default();
        *known = Known::default();
        for m in birth.metrics {
            let Some(name) = m.name else { continue };
            if let Some(alias) = m.alias {
                known.aliases.insert(alias, name.clone());
            }
            if let Some(datatype) = m.datatype {
                known.datatypes.insert(name, datatype);
            }
        }
    }

    /// Reads a payload on `topic`, with names and data types its source's birth gave.
    pub fn decode(&self, topic: &str, payload: &[u8]) -> Result<Payload, prost::DecodeError> {
        let mut p = decode(payload)?;
        let known = source(topic).and_then(|(key, _)| self.sources.get(&key));
        if let Some(known) = known {
            for m in &mut p.metrics {
                if m.name.is_none() {
                    m.name = m.alias.and_then(|a| known.aliases.get(&a).cloned());
                }
                if m.datatype.is_none() {
                    m.datatype = m
                        .name
                        .as_ref()
                        .and_then(|n| known.datatypes.get(n).copied());
                }
            }
        }
        Ok(p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_birth_names_and_types_the_data_that_follows() -> Result<(), Box<dyn std::error::Error>> {
        let birth = Payload {
            metrics: vec![Metric {
                name: Some("Pressure".into()),
                alias: Some(7),
                datatype: Some(3),
                value: Some(MetricValue::IntValue(0)),
                ..Metric::default()
            }],
            ..Payload::default()
        };
        let data = Payload {
            metrics: vec![Metric {
                alias: Some(7),
                value: Some(MetricValue::IntValue((-12i32) as u32)),
                ..Metric::default()
            }],
            ..Payload::default()
        };
        let mut births = Births::default();
        let topic = "spBv1.0/g/NDATA/edge";
        assert_eq!(
            births.decode(topic, &data.encode_to_vec())?.metrics[0].number(),
            Some(4_294_967_284.0)
        );
        births.learn("spBv1.0/g/NBIRTH/edge", &birth.encode_to_vec());
        let read = births.decode(topic, &data.encode_to_vec())?;
        assert_eq!(read.metrics[0].label(), "Pressure");
        assert_eq!(read.metrics[0].number(), Some(-12.0));
        // A device's birth is its own, not its edge node's.
        assert_eq!(
            births
                .decode("spBv1.0/g/DDATA/edge/dev", &data.encode_to_vec())?
                .metrics[0]
                .name,
            None
        );
        Ok(())
    }

    #[test]
    fn signed_types_read_back_signed() -> Result<(), Box<dyn std::error::Error>> {
        let m = |datatype, value| Metric {
            datatype: Some(datatype),
            value: Some(value),
            ..Metric::default()
        };
        assert_eq!(
            m(1, MetricValue::IntValue((-5i8) as u8 as u32)).number(),
            Some(-5.0)
        );
        assert_eq!(
            m(3, MetricValue::IntValue((-70_000i32) as u32)).number(),
            Some(-70_000.0)
        );
        assert_eq!(
            m(4, MetricValue::LongValue((-9i64) as u64)).number(),
            Some(-9.0)
        );
        assert_eq!(
            m(7, MetricValue::IntValue(u32::MAX)).number(),
            Some(4_294_967_295.0)
        );
        assert_eq!(m(10, MetricValue::DoubleValue(21.5)).value_text(), "21.5");
        Ok(())
    }

    #[test]
    fn a_payload_round_trips_and_garbage_is_an_error() -> Result<(), Box<dyn std::error::Error>> {
        let p = Payload {
            timestamp: Some(1_700_000_000_000),
            seq: Some(3),
            metrics: vec![Metric {
                name: Some("Temperature".into()),
                datatype: Some(9),
                value: Some(MetricValue::FloatValue(21.5)),
                ..Metric::default()
            }],
            ..Payload::default()
        };
        let bytes = p.encode_to_vec();
        // Field 1 (timestamp) as a varint, then field 2 (metrics) length-delimited.
        assert_eq!(bytes[0], 0x08);
        assert_eq!(decode(&bytes)?, p);
        assert!(decode(&[0x12, 0xff]).is_err());
        Ok(())
    }
}
