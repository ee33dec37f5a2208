//! Packets and properties as JavaScript objects in mqtt-packet's shape (`cmd`,
//! `messageId`, `qos`, `topic`, `payload`, `properties.userProperties`, ...), so code
//! written for MQTT.js's `packetsend`/`packetreceive`/`message` events reads them
//! unchanged. Binary fields are `Uint8Array`s where MQTT.js has Buffers.

use crate::js_object::{get, set};
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;
use js_sys::{Array, Object, Reflect, Uint8Array};
use tabmq_core::{
    Bytes, Field, FieldMut, Packet, Properties, ProtocolVersion, QoS, ReasonCode, MQTT5,
};
use wasm_bindgen::{JsCast, JsValue};

fn bytes(b: &[u8]) -> JsValue {
    Uint8Array::from(b).into()
}

/// mqtt-packet's name for each single-valued property, and whether a client may send it
/// (the rest are the broker's, in CONNACK, and are not read from a client's options).
const NAMES: [(u8, &str, bool); 25] = [
    (0x01, "payloadFormatIndicator", true),
    (0x02, "messageExpiryInterval", true),
    (0x03, "contentType", true),
    (0x08, "responseTopic", true),
    (0x09, "correlationData", true),
    (0x11, "sessionExpiryInterval", true),
    (0x12, "assignedClientIdentifier", false),
    (0x13, "serverKeepAlive", false),
    (0x15, "authenticationMethod", true),
    (0x16, "authenticationData", true),
    (0x17, "requestProblemInformation", true),
    (0x18, "willDelayInterval", true),
    (0x19, "requestResponseInformation", true),
    (0x1a, "responseInformation", false),
    (0x1c, "serverReference", false),
    (0x1f, "reasonString", true),
    (0x21, "receiveMaximum", true),
    (0x22, "topicAliasMaximum", true),
    (0x23, "topicAlias", true),
    (0x24, "maximumQoS", false),
    (0x25, "retainAvailable", false),
    (0x27, "maximumPacketSize", true),
    (0x28, "wildcardSubscriptionAvailable", false),
    (0x29, "subscriptionIdentifiersAvailable", false),
    (0x2a, "sharedSubscriptionAvailable", false),
];

/// `properties` as mqtt-packet names them; `None` when there are none.
pub fn properties_to_js(p: &Properties) -> Option<Object> {
    // Without MQTT 5 there are none; the constant lets the build leave this code out.
    if !MQTT5 || p.is_empty() {
        return None;
    }
    let o = Object::new();
    for (id, name, _) in NAMES {
        let value: JsValue = match p.field(id) {
            // mqtt-packet reads the Payload Format Indicator as a boolean.
            Some(Field::Byte(Some(v))) => (*v != 0).into(),
            Some(Field::Flag(Some(v))) => (*v).into(),
            Some(Field::Qos(Some(q))) => q.as_u8().into(),
            Some(Field::Two(Some(v))) => (*v).into(),
            Some(Field::Four(Some(v))) => (*v).into(),
            Some(Field::Text(Some(v))) => v.as_str().into(),
            Some(Field::Binary(Some(v))) => bytes(v),
            _ => continue,
        };
        set(&o, name, value);
    }
    match p.subscription_identifiers.as_slice() {
        [] => {}
        [one] => set(&o, "subscriptionIdentifier", *one),
        many => {
            let list: Array = many.iter().map(|n| JsValue::from(*n)).collect();
            set(&o, "subscriptionIdentifier", list);
        }
    }
    if !p.user_properties.is_empty() {
        // mqtt-packet: one value is a string, a repeated name collects an array.
        let users = Object::new();
        for (name, value) in &p.user_properties {
            let key = JsValue::from(name.as_str());
            let existing = Reflect::get(&users, &key).unwrap_or(JsValue::UNDEFINED);
            let joined: JsValue = if existing.is_undefined() {
                value.as_str().into()
            } else if let Some(list) = existing.dyn_ref::<Array>() {
                list.push(&value.as_str().into());
                list.clone().into()
            } else {
                Array::of2(&existing, &value.as_str().into()).into()
            };
            let _ = Reflect::set(&users, &key, &joined);
        }
        set(&o, "userProperties", users);
    }
    Some(o)
}

/// The bytes of a string (UTF-8) or a typed array / ArrayBuffer.
pub fn bytes_of(value: &JsValue) -> Option<Vec<u8>> {
    if let Some(s) = value.as_string() {
        return Some(s.into_bytes());
    }
    if let Some(a) = value.dyn_ref::<Uint8Array>() {
        return Some(a.to_vec());
    }
    if let Some(b) = value.dyn_ref::<js_sys::ArrayBuffer>() {
        return Some(Uint8Array::new(b).to_vec());
    }
    if js_sys::ArrayBuffer::is_view(value) {
        let buffer = Reflect::get(value, &"buffer".into()).ok()?;
        let offset = get(value, "byteOffset")?.as_f64()? as u32;
        let length = get(value, "byteLength")?.as_f64()? as u32;
        let buffer = buffer.dyn_into::<js_sys::ArrayBuffer>().ok()?;
        return Some(Uint8Array::new_with_byte_offset_and_length(&buffer, offset, length).to_vec());
    }
    None
}

/// mqtt-packet-shaped properties back into ours; unknown names are ignored, as MQTT.js
/// ignores them.
pub fn properties_from_js(o: &JsValue) -> Properties {
    let mut p = Properties::default();
    // MQTT.js ignores properties below MQTT 5, and so does a build without it.
    if !MQTT5 || o.is_undefined() || o.is_null() {
        return p;
    }
    for (id, name, from_client) in NAMES {
        let (true, Some(v), Some(field)) = (from_client, get(o, name), p.field_mut(id)) else {
            continue;
        };
        let number = v.as_f64().map(|n| n as u32);
        match field {
            FieldMut::Byte(slot) => *slot = v.as_bool().map(u8::from),
            FieldMut::Flag(slot) => *slot = v.as_bool(),
            FieldMut::Two(slot) => *slot = number.map(|n| n.min(u32::from(u16::MAX)) as u16),
            FieldMut::Four(slot) => *slot = number,
            FieldMut::Text(slot) => *slot = v.as_string(),
            FieldMut::Binary(slot) => *slot = bytes_of(&v).map(Bytes::from),
            // Maximum QoS is the broker's.
            FieldMut::Qos(_) => {}
        }
    }
    if let Some(ids) = get(o, "subscriptionIdentifier") {
        p.subscription_identifiers = match ids.dyn_ref::<Array>() {
            Some(list) => list
                .iter()
                .filter_map(|v| v.as_f64())
                .map(|n| n as u32)
                .collect(),
            None => ids.as_f64().map(|n| vec![n as u32]).unwrap_or_default(),
        };
    }
    if let Some(users) = get(o, "userProperties") {
        for key in Object::keys(users.unchecked_ref::<Object>()).iter() {
            let Some(name) = key.as_string() else {
                continue;
            };
            let value = Reflect::get(&users, &key).unwrap_or_default();
            match value.dyn_ref::<Array>() {
                Some(list) => {
                    for v in list.iter() {
                        p.user_properties.push((name.clone(), js_text(&v)));
                    }
                }
                None => p.user_properties.push((name, js_text(&value))),
            }
        }
    }
    p
}

/// A user property's value as text: strings as they are, anything else as JavaScript's
/// `String(v)` would write it (Rust's float formatting would cost 14 KB of wasm).
fn js_text(v: &JsValue) -> String {
    v.as_string()
        .or_else(|| js_sys::JSON::stringify(v).ok().and_then(|s| s.as_string()))
        .unwrap_or_default()
}

fn codes(list: &[ReasonCode]) -> Array {
    list.iter().map(|c| JsValue::from(c.0)).collect()
}

/// `packet` in mqtt-packet's shape.
pub fn packet_to_js(packet: &Packet, version: ProtocolVersion) -> JsValue {
    let o = Object::new();
    let v5 = version == ProtocolVersion::V5;
    let with_properties = |o: &Object, p: &Properties| {
        if let Some(props) = properties_to_js(p) {
            set(o, "properties", props);
        }
    };
    let cmd = match packet {
        Packet::Connect(c) => {
            set(&o, "protocolId", "MQTT");
            set(&o, "protocolVersion", c.protocol.level());
            set(&o, "clientId", c.client_id.as_str());
            set(&o, "clean", c.clean_start);
            set(&o, "keepalive", c.keep_alive);
            if let Some(u) = &c.username {
                set(&o, "username", u.as_str());
            }
            if let Some(w) = &c.will {
                let will = Object::new();
                set(&will, "topic", w.topic.as_str());
                set(&will, "payload", bytes(&w.payload));
                set(&will, "qos", w.qos.as_u8());
                set(&will, "retain", w.retain);
                with_properties(&will, &w.properties);
                set(&o, "will", will);
            }
            with_properties(&o, &c.properties);
            "connect"
        }
        Packet::ConnAck(c) => {
            set(&o, "sessionPresent", c.session_present);
            set(&o, if v5 { "reasonCode" } else { "returnCode" }, c.code.0);
            with_properties(&o, &c.properties);
            "connack"
        }
        Packet::Publish(p) => publish_fields(&o, p, version),
        Packet::PubAck(a) | Packet::PubRec(a) | Packet::PubRel(a) | Packet::PubComp(a) => {
            set(&o, "messageId", a.packet_id.get());
            if v5 {
                set(&o, "reasonCode", a.reason_code.0);
            }
            with_properties(&o, &a.properties);
            if matches!(packet, Packet::PubRel(_)) {
                set(&o, "qos", 1);
            }
            match packet {
                Packet::PubAck(_) => "puback",
                Packet::PubRec(_) => "pubrec",
                Packet::PubRel(_) => "pubrel",
                _ => "pubcomp",
            }
        }
        Packet::Subscribe(s) => {
            set(&o, "messageId", s.packet_id.get());
            let list = Array::new();
            for f in &s.filters {
                let sub = Object::new();
                set(&sub, "topic", f.filter.as_str());
                set(&sub, "qos", f.qos.as_u8());
                if v5 {
                    set(&sub, "nl", f.no_local);
                    set(&sub, "rap", f.retain_as_published);
                    set(&sub, "rh", f.retain_handling as u8);
                }
                list.push(&sub);
            }
            set(&o, "subscriptions", list);
            with_properties(&o, &s.properties);
            "subscribe"
        }
        Packet::SubAck(s) => {
            set(&o, "messageId", s.packet_id.get());
            set(&o, "granted", codes(&s.reason_codes));
            with_properties(&o, &s.properties);
            "suback"
        }
        Packet::Unsubscribe(u) => {
            set(&o, "messageId", u.packet_id.get());
            let list: Array = u
                .filters
                .iter()
                .map(|f| JsValue::from(f.as_str()))
                .collect();
            set(&o, "unsubscriptions", list);
            with_properties(&o, &u.properties);
            "unsubscribe"
        }
        Packet::UnsubAck(u) => {
            set(&o, "messageId", u.packet_id.get());
            if v5 {
                set(&o, "granted", codes(&u.reason_codes));
            }
            with_properties(&o, &u.properties);
            "unsuback"
        }
        Packet::PingReq => "pingreq",
        Packet::PingResp => "pingresp",
        Packet::Disconnect(d) => {
            if v5 {
                set(&o, "reasonCode", d.reason_code.0);
            }
            with_properties(&o, &d.properties);
            "disconnect"
        }
        Packet::Auth(a) => {
            set(&o, "reasonCode", a.reason_code.0);
            with_properties(&o, &a.properties);
            "auth"
        }
    };
    set(&o, "cmd", cmd);
    o.into()
}

/// A PUBLISH's fields on `o`; its `cmd`.
fn publish_fields(o: &Object, p: &tabmq_core::Publish, _version: ProtocolVersion) -> &'static str {
    set(o, "topic", &*p.topic);
    set(o, "payload", bytes(&p.payload));
    set(o, "qos", p.qos.as_u8());
    set(o, "retain", p.retain);
    set(o, "dup", p.dup);
    if let Some(id) = p.packet_id {
        set(o, "messageId", id.get());
    }
    if let Some(props) = properties_to_js(&p.properties) {
        set(o, "properties", props);
    }
    "publish"
}

/// A QoS from a JavaScript number; anything else is the caller's error.
pub fn qos_of(value: &JsValue, default: QoS) -> Option<QoS> {
    if value.is_undefined() || value.is_null() {
        return Some(default);
    }
    QoS::from_u8(value.as_f64()? as u8)
}
