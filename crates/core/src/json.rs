//! Packets as JSON in mqtt-packet's shape: `cmd`, `messageId`, `qos`, `topic`, `payload`,
//! `subscriptions`, `granted`, `reasonCode`, `properties`, ... Binary fields (payloads,
//! passwords, correlation and authentication data) are lowercase hex strings.

use crate::packet::*;
use crate::prelude::*;
use crate::properties::{Properties, PropertyValues};
use crate::reason::ReasonCode;
use alloc::format;
use bytes::Bytes;
use serde_json::{json, Map, Value};

/// Why JSON could not be read as a packet. The JSON's author is at fault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonError(pub String);

impl core::fmt::Display for JsonError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(&self.0)
    }
}

impl core::error::Error for JsonError {}

fn err<T>(msg: impl Into<String>) -> Result<T, JsonError> {
    Err(JsonError(msg.into()))
}

/// Lowercase hex of `bytes`.
pub fn to_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[usize::from(b >> 4)] as char);
        s.push(DIGITS[usize::from(b & 0x0f)] as char);
    }
    s
}

/// The bytes of a hex string; ASCII whitespace between digits is ignored.
pub fn from_hex(text: &str) -> Result<Vec<u8>, JsonError> {
    let mut out = Vec::with_capacity(text.len() / 2);
    let mut high = None;
    for (i, c) in text.char_indices() {
        if c.is_ascii_whitespace() {
            continue;
        }
        let Some(v) = c.to_digit(16) else {
            return err(format!("invalid hex digit {c:?} at offset {i}"));
        };
        match high.take() {
            None => high = Some(v as u8),
            Some(h) => out.push((h << 4) | v as u8),
        }
    }
    if high.is_some() {
        return err("odd number of hex digits");
    }
    Ok(out)
}

fn hex(b: &Bytes) -> Value {
    Value::String(to_hex(b))
}

fn properties_json(p: &Properties) -> Option<Value> {
    if p.is_empty() {
        return None;
    }
    let mut m = Map::new();
    let mut put = |k: &str, v: Option<Value>| {
        if let Some(v) = v {
            m.insert(k.to_owned(), v);
        }
    };
    put(
        "payloadFormatIndicator",
        // mqtt-packet's shape is a boolean.
        p.payload_format_indicator.map(|v| Value::from(v != 0)),
    );
    put(
        "messageExpiryInterval",
        p.message_expiry_interval.map(Value::from),
    );
    put("contentType", p.content_type.clone().map(Value::from));
    put("responseTopic", p.response_topic.clone().map(Value::from));
    put("correlationData", p.correlation_data.as_ref().map(hex));
    put(
        "subscriptionIdentifier",
        match p.subscription_identifiers.as_slice() {
            [] => None,
            [one] => Some(Value::from(*one)),
            many => Some(Value::from(many.to_vec())),
        },
    );
    put(
        "sessionExpiryInterval",
        p.session_expiry_interval.map(Value::from),
    );
    put(
        "assignedClientIdentifier",
        p.assigned_client_identifier.clone().map(Value::from),
    );
    put("serverKeepAlive", p.server_keep_alive.map(Value::from));
    put(
        "authenticationMethod",
        p.authentication_method.clone().map(Value::from),
    );
    put(
        "authenticationData",
        p.authentication_data.as_ref().map(hex),
    );
    put(
        "requestProblemInformation",
        p.request_problem_information.map(Value::from),
    );
    put("willDelayInterval", p.will_delay_interval.map(Value::from));
    put(
        "requestResponseInformation",
        p.request_response_information.map(Value::from),
    );
    put(
        "responseInformation",
        p.response_information.clone().map(Value::from),
    );
    put(
        "serverReference",
        p.server_reference.clone().map(Value::from),
    );
    put("reasonString", p.reason_string.clone().map(Value::from));
    put("receiveMaximum", p.receive_maximum.map(Value::from));
    put("topicAliasMaximum", p.topic_alias_maximum.map(Value::from));
    put("topicAlias", p.topic_alias.map(Value::from));
    put("maximumQoS", p.maximum_qos.map(|q| Value::from(q.as_u8())));
    put("retainAvailable", p.retain_available.map(Value::from));
    if !p.user_properties.is_empty() {
        // mqtt-packet's shape: one key, a string, or an array when the key repeats.
        let mut users = Map::new();
        for (k, v) in &p.user_properties {
            match users.get_mut(k) {
                None => {
                    users.insert(k.clone(), Value::from(v.clone()));
                }
                Some(Value::Array(list)) => list.push(Value::from(v.clone())),
                Some(first) => *first = Value::from(vec![first.take(), Value::from(v.clone())]),
            }
        }
        put("userProperties", Some(Value::Object(users)));
    }
    put("maximumPacketSize", p.maximum_packet_size.map(Value::from));
    put(
        "wildcardSubscriptionAvailable",
        p.wildcard_subscription_available.map(Value::from),
    );
    put(
        "subscriptionIdentifiersAvailable",
        p.subscription_identifiers_available.map(Value::from),
    );
    put(
        "sharedSubscriptionAvailable",
        p.shared_subscription_available.map(Value::from),
    );
    Some(Value::Object(m))
}

/// A PUBLISH as mqtt-packet would show it (as [`packet_to_json`] does). On its own so a
/// program that shows only messages (the lab's log) carries none of the other packets'.
pub fn publish_to_json(p: &Publish) -> Value {
    let mut m = Map::new();
    m.insert("cmd".into(), json!("publish"));
    if let Some(id) = p.packet_id {
        m.insert("messageId".into(), json!(id.get()));
    }
    m.insert("qos".into(), json!(p.qos.as_u8()));
    m.insert("dup".into(), json!(p.dup));
    m.insert("retain".into(), json!(p.retain));
    m.insert("topic".into(), json!(&*p.topic));
    m.insert("payload".into(), hex(&p.payload));
    if let Some(props) = properties_json(&p.properties) {
        m.insert("properties".into(), props);
    }
    Value::Object(m)
}

/// `packet` as mqtt-packet would show it; `version` decides `returnCode` against
/// `reasonCode` and whether reason codes appear at all.
pub fn packet_to_json(packet: &Packet, version: ProtocolVersion) -> Value {
    let v5 = version == ProtocolVersion::V5;
    let mut m = Map::new();
    m.insert(
        "cmd".into(),
        Value::from(packet.name().to_ascii_lowercase()),
    );
    let mut props = None;
    match packet {
        Packet::Connect(c) => {
            let (id, level) = if c.mqtt31 {
                ("MQIsdp", 3)
            } else {
                ("MQTT", c.protocol.level())
            };
            m.insert("protocolId".into(), json!(id));
            m.insert("protocolVersion".into(), json!(level));
            if c.bridge {
                m.insert("bridgeMode".into(), json!(true));
            }
            m.insert("clean".into(), json!(c.clean_start));
            m.insert("clientId".into(), json!(c.client_id));
            m.insert("keepalive".into(), json!(c.keep_alive));
            if let Some(u) = &c.username {
                m.insert("username".into(), json!(u));
            }
            if let Some(p) = &c.password {
                m.insert("password".into(), hex(p));
            }
            if let Some(w) = &c.will {
                let mut will = Map::new();
                will.insert("topic".into(), json!(w.topic));
                will.insert("payload".into(), hex(&w.payload));
                will.insert("qos".into(), json!(w.qos.as_u8()));
                will.insert("retain".into(), json!(w.retain));
                if let Some(p) = properties_json(&w.properties) {
                    will.insert("properties".into(), p);
                }
                m.insert("will".into(), Value::Object(will));
            }
            props = properties_json(&c.properties);
        }
        Packet::ConnAck(c) => {
            m.insert("sessionPresent".into(), json!(c.session_present));
            let key = if v5 { "reasonCode" } else { "returnCode" };
            m.insert(key.into(), json!(c.code.0));
            props = properties_json(&c.properties);
        }
        Packet::Publish(p) => return publish_to_json(p),
        Packet::PubAck(a) | Packet::PubRec(a) | Packet::PubRel(a) | Packet::PubComp(a) => {
            m.insert("messageId".into(), json!(a.packet_id.get()));
            if v5 {
                m.insert("reasonCode".into(), json!(a.reason_code.0));
            }
            props = properties_json(&a.properties);
        }
        Packet::Subscribe(s) => {
            m.insert("messageId".into(), json!(s.packet_id.get()));
            let subs: Vec<Value> = s
                .filters
                .iter()
                .map(|f| {
                    let mut sub = json!({ "topic": f.filter, "qos": f.qos.as_u8() });
                    if v5 {
                        sub["nl"] = json!(f.no_local);
                        sub["rap"] = json!(f.retain_as_published);
                        sub["rh"] = json!(f.retain_handling as u8);
                    }
                    sub
                })
                .collect();
            m.insert("subscriptions".into(), Value::from(subs));
            props = properties_json(&s.properties);
        }
        Packet::SubAck(s) => {
            m.insert("messageId".into(), json!(s.packet_id.get()));
            let granted: Vec<u8> = s.reason_codes.iter().map(|c| c.0).collect();
            m.insert("granted".into(), json!(granted));
            props = properties_json(&s.properties);
        }
        Packet::Unsubscribe(u) => {
            m.insert("messageId".into(), json!(u.packet_id.get()));
            m.insert("unsubscriptions".into(), json!(u.filters));
            props = properties_json(&u.properties);
        }
        Packet::UnsubAck(u) => {
            m.insert("messageId".into(), json!(u.packet_id.get()));
            if v5 {
                let granted: Vec<u8> = u.reason_codes.iter().map(|c| c.0).collect();
                m.insert("granted".into(), json!(granted));
            }
            props = properties_json(&u.properties);
        }
        Packet::PingReq | Packet::PingResp => {}
        Packet::Disconnect(d) => {
            if v5 {
                m.insert("reasonCode".into(), json!(d.reason_code.0));
            }
            props = properties_json(&d.properties);
        }
        Packet::Auth(a) => {
            m.insert("reasonCode".into(), json!(a.reason_code.0));
            props = properties_json(&a.properties);
        }
    }
    if let Some(p) = props {
        m.insert("properties".into(), p);
    }
    Value::Object(m)
}

/// Reads fields of one JSON object, with errors that name the field.
struct Fields<'a>(&'a Map<String, Value>, &'static str);

impl Fields<'_> {
    fn get(&self, key: &str) -> Option<&Value> {
        self.0.get(key).filter(|v| !v.is_null())
    }

    fn uint(&self, key: &str, max: u64) -> Result<Option<u64>, JsonError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Number(n)) => match n.as_u64() {
                Some(v) if v <= max => Ok(Some(v)),
                _ => err(format!(
                    "{}.{key} must be a whole number up to {max}",
                    self.1
                )),
            },
            Some(Value::Bool(b)) if max >= 1 => Ok(Some(u64::from(*b))),
            Some(_) => err(format!("{}.{key} must be a number", self.1)),
        }
    }

    fn req_uint(&self, key: &str, max: u64) -> Result<u64, JsonError> {
        self.uint(key, max)?
            .map_or_else(|| err(format!("{}.{key} is missing", self.1)), Ok)
    }

    fn flag(&self, key: &str) -> Result<Option<bool>, JsonError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(Value::Number(n)) if n.as_u64() == Some(0) => Ok(Some(false)),
            Some(Value::Number(n)) if n.as_u64() == Some(1) => Ok(Some(true)),
            Some(_) => err(format!("{}.{key} must be true or false", self.1)),
        }
    }

    fn text(&self, key: &str) -> Result<Option<String>, JsonError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => err(format!("{}.{key} must be a string", self.1)),
        }
    }

    fn binary(&self, key: &str) -> Result<Option<Bytes>, JsonError> {
        self.text(key)?
            .map(|s| {
                from_hex(&s)
                    .map(Bytes::from)
                    .map_err(|e| JsonError(format!("{}.{key}: {e}", self.1)))
            })
            .transpose()
    }

    fn packet_id(&self) -> Result<PacketId, JsonError> {
        let id = self.req_uint("messageId", u64::from(u16::MAX))?;
        PacketId::new(id as u16).map_or_else(|| err("messageId must not be 0"), Ok)
    }

    fn qos(&self, key: &str) -> Result<QoS, JsonError> {
        let q = self.uint(key, 2)?.unwrap_or(0);
        Ok(QoS::from_u8(q as u8).unwrap_or_default())
    }

    fn codes(&self, key: &str) -> Result<Vec<ReasonCode>, JsonError> {
        match self.get(key) {
            None => Ok(Vec::new()),
            Some(Value::Array(list)) => list
                .iter()
                .map(|v| match v.as_u64() {
                    Some(c) if c <= 255 => Ok(ReasonCode(c as u8)),
                    _ => err(format!("{}.{key} must hold codes 0 to 255", self.1)),
                })
                .collect(),
            Some(_) => err(format!("{}.{key} must be an array", self.1)),
        }
    }

    fn properties(&self) -> Result<Properties, JsonError> {
        match self.get("properties") {
            None => Ok(Properties::default()),
            Some(Value::Object(m)) => properties_from_json(m),
            Some(_) => err(format!("{}.properties must be an object", self.1)),
        }
    }
}

fn properties_from_json(m: &Map<String, Value>) -> Result<Properties, JsonError> {
    let f = Fields(m, "properties");
    let u16_max = u64::from(u16::MAX);
    let u32_max = u64::from(u32::MAX);
    let mut v = PropertyValues {
        received_order: Default::default(),
        payload_format_indicator: f.flag("payloadFormatIndicator")?.map(u8::from),
        message_expiry_interval: f.uint("messageExpiryInterval", u32_max)?.map(|n| n as u32),
        content_type: f.text("contentType")?,
        response_topic: f.text("responseTopic")?,
        correlation_data: f.binary("correlationData")?,
        session_expiry_interval: f.uint("sessionExpiryInterval", u32_max)?.map(|n| n as u32),
        assigned_client_identifier: f.text("assignedClientIdentifier")?,
        server_keep_alive: f.uint("serverKeepAlive", u16_max)?.map(|n| n as u16),
        authentication_method: f.text("authenticationMethod")?,
        authentication_data: f.binary("authenticationData")?,
        request_problem_information: f.flag("requestProblemInformation")?,
        will_delay_interval: f.uint("willDelayInterval", u32_max)?.map(|n| n as u32),
        request_response_information: f.flag("requestResponseInformation")?,
        response_information: f.text("responseInformation")?,
        server_reference: f.text("serverReference")?,
        reason_string: f.text("reasonString")?,
        receive_maximum: f.uint("receiveMaximum", u16_max)?.map(|n| n as u16),
        topic_alias_maximum: f.uint("topicAliasMaximum", u16_max)?.map(|n| n as u16),
        topic_alias: f.uint("topicAlias", u16_max)?.map(|n| n as u16),
        maximum_qos: f.uint("maximumQoS", 1)?.and_then(|n| QoS::from_u8(n as u8)),
        retain_available: f.flag("retainAvailable")?,
        maximum_packet_size: f.uint("maximumPacketSize", u32_max)?.map(|n| n as u32),
        wildcard_subscription_available: f.flag("wildcardSubscriptionAvailable")?,
        subscription_identifiers_available: f.flag("subscriptionIdentifiersAvailable")?,
        shared_subscription_available: f.flag("sharedSubscriptionAvailable")?,
        ..PropertyValues::default()
    };
    match f.get("subscriptionIdentifier") {
        None => {}
        Some(Value::Array(list)) => {
            for id in list {
                match id.as_u64() {
                    Some(n) if n <= u64::from(u32::MAX) => {
                        v.subscription_identifiers.push(n as u32)
                    }
                    _ => return err("properties.subscriptionIdentifier must hold numbers"),
                }
            }
        }
        Some(_) => {
            let n = f.req_uint("subscriptionIdentifier", u32_max)?;
            v.subscription_identifiers.push(n as u32);
        }
    }
    match f.get("userProperties") {
        None => {}
        Some(Value::Object(users)) => {
            for (k, value) in users {
                match value {
                    Value::String(s) => v.user_properties.push((k.clone(), s.clone())),
                    Value::Array(list) => {
                        for item in list {
                            let Some(s) = item.as_str() else {
                                return err("properties.userProperties values must be strings");
                            };
                            v.user_properties.push((k.clone(), s.to_owned()));
                        }
                    }
                    _ => return err("properties.userProperties values must be strings"),
                }
            }
        }
        Some(_) => return err("properties.userProperties must be an object"),
    }
    Ok(Properties::from_values(v))
}

/// Reads a packet from mqtt-packet's JSON. A CONNECT's `protocolVersion` wins over
/// `version`, which is returned as the version to encode in.
pub fn packet_from_json(
    value: &Value,
    version: ProtocolVersion,
) -> Result<(Packet, ProtocolVersion), JsonError> {
    let Value::Object(m) = value else {
        return err("a packet must be a JSON object");
    };
    let f = Fields(m, "packet");
    let Some(cmd) = f.text("cmd")? else {
        return err("packet.cmd is missing");
    };
    let v5 = version == ProtocolVersion::V5;
    let ack = |f: &Fields| -> Result<Ack, JsonError> {
        Ok(Ack {
            packet_id: f.packet_id()?,
            reason_code: ReasonCode(f.uint("reasonCode", 255)?.unwrap_or(0) as u8),
            properties: f.properties()?,
        })
    };
    let packet = match cmd.as_str() {
        "connect" => {
            let level = f.uint("protocolVersion", 255)?.unwrap_or(4) as u8;
            let mqtt31 = level == 3;
            let protocol = match ProtocolVersion::from_level(level) {
                Some(protocol) => protocol,
                None if mqtt31 => ProtocolVersion::V311,
                None => return err(format!("protocolVersion {level} is not 3, 4 or 5")),
            };
            let will = match f.get("will") {
                None => None,
                Some(Value::Object(w)) => {
                    let wf = Fields(w, "will");
                    Some(LastWill {
                        topic: wf.text("topic")?.unwrap_or_default(),
                        payload: wf.binary("payload")?.unwrap_or_default(),
                        qos: wf.qos("qos")?,
                        retain: wf.flag("retain")?.unwrap_or(false),
                        properties: wf.properties()?,
                    })
                }
                Some(_) => return err("packet.will must be an object"),
            };
            let connect = Connect {
                protocol,
                mqtt31,
                bridge: f.flag("bridgeMode")?.unwrap_or(false),
                client_id: f.text("clientId")?.unwrap_or_default(),
                clean_start: f.flag("clean")?.unwrap_or(true),
                keep_alive: f.uint("keepalive", u64::from(u16::MAX))?.unwrap_or(0) as u16,
                username: f.text("username")?,
                password: f.binary("password")?,
                will,
                properties: f.properties()?,
            };
            return Ok((Packet::Connect(connect), protocol));
        }
        "connack" => {
            let key = if v5 { "reasonCode" } else { "returnCode" };
            Packet::ConnAck(ConnAck {
                session_present: f.flag("sessionPresent")?.unwrap_or(false),
                code: ReasonCode(f.uint(key, 255)?.unwrap_or(0) as u8),
                properties: f.properties()?,
            })
        }
        "publish" => {
            let qos = f.qos("qos")?;
            Packet::Publish(Publish {
                dup: f.flag("dup")?.unwrap_or(false),
                qos,
                retain: f.flag("retain")?.unwrap_or(false),
                topic: f.text("topic")?.unwrap_or_default().into(),
                packet_id: if qos == QoS::AtMostOnce {
                    None
                } else {
                    Some(f.packet_id()?)
                },
                payload: f.binary("payload")?.unwrap_or_default(),
                properties: f.properties()?,
            })
        }
        "puback" => Packet::PubAck(ack(&f)?),
        "pubrec" => Packet::PubRec(ack(&f)?),
        "pubrel" => Packet::PubRel(ack(&f)?),
        "pubcomp" => Packet::PubComp(ack(&f)?),
        "subscribe" => {
            let Some(Value::Array(subs)) = f.get("subscriptions") else {
                return err("packet.subscriptions must be an array");
            };
            let mut filters = Vec::with_capacity(subs.len());
            for sub in subs {
                let Value::Object(s) = sub else {
                    return err("each subscription must be an object");
                };
                let sf = Fields(s, "subscription");
                let rh = sf.uint("rh", 2)?.unwrap_or(0) as u8;
                filters.push(SubscribeFilter {
                    filter: sf.text("topic")?.unwrap_or_default(),
                    qos: sf.qos("qos")?,
                    no_local: sf.flag("nl")?.unwrap_or(false),
                    retain_as_published: sf.flag("rap")?.unwrap_or(false),
                    retain_handling: RetainHandling::from_u8(rh).unwrap_or_default(),
                });
            }
            Packet::Subscribe(Subscribe {
                packet_id: f.packet_id()?,
                filters,
                properties: f.properties()?,
            })
        }
        "suback" => Packet::SubAck(SubAck {
            packet_id: f.packet_id()?,
            reason_codes: f.codes("granted")?,
            properties: f.properties()?,
        }),
        "unsubscribe" => {
            let Some(Value::Array(list)) = f.get("unsubscriptions") else {
                return err("packet.unsubscriptions must be an array");
            };
            let mut filters = Vec::with_capacity(list.len());
            for item in list {
                let Some(s) = item.as_str() else {
                    return err("packet.unsubscriptions must hold strings");
                };
                filters.push(s.to_owned());
            }
            Packet::Unsubscribe(Unsubscribe {
                packet_id: f.packet_id()?,
                filters,
                properties: f.properties()?,
            })
        }
        "unsuback" => Packet::UnsubAck(UnsubAck {
            packet_id: f.packet_id()?,
            reason_codes: f.codes("granted")?,
            properties: f.properties()?,
        }),
        "pingreq" => Packet::PingReq,
        "pingresp" => Packet::PingResp,
        "disconnect" => Packet::Disconnect(Disconnect {
            reason_code: ReasonCode(f.uint("reasonCode", 255)?.unwrap_or(0) as u8),
            properties: f.properties()?,
        }),
        "auth" => Packet::Auth(Auth {
            reason_code: ReasonCode(f.uint("reasonCode", 255)?.unwrap_or(0) as u8),
            properties: f.properties()?,
        }),
        other => return err(format!("unknown cmd {other:?}")),
    };
    Ok((packet, version))
}
