//! The broker's answers to inspectors, as plain objects a page can read: `{type:
//! "inspect"}` and `{type: "deleteRetained", topic}`, each with a port to answer on.

use js_sys::{Array, Object, Reflect, Uint8Array};
use tabmq_broker::{Broker, BrokerView};
use tabmq_core::{Instant, ProtocolVersion};
use wasm_bindgen::JsValue;

fn set(o: &Object, key: &str, value: impl Into<JsValue>) {
    // Setting a plain property on a fresh object cannot fail.
    let _ = Reflect::set(o, &key.into(), &value.into());
}

/// `view` as `{sessions, retained, counters}`, with camelCase fields.
pub fn view_to_js(view: &BrokerView) -> JsValue {
    let sessions = Array::new();
    for s in &view.sessions {
        let o = Object::new();
        set(&o, "clientId", s.client_id.as_str());
        set(&o, "connected", s.connected);
        let version = match s.protocol {
            ProtocolVersion::V5 => 5,
            _ => 4,
        };
        set(&o, "protocolVersion", version);
        let subscriptions = Array::new();
        for (filter, qos) in &s.subscriptions {
            let sub = Object::new();
            set(&sub, "topic", filter.as_str());
            set(&sub, "qos", qos.as_u8());
            subscriptions.push(&sub);
        }
        set(&o, "subscriptions", subscriptions);
        set(&o, "inFlight", s.in_flight as f64);
        set(&o, "queued", s.queued as f64);
        let expires = s
            .expires_in
            .map_or(JsValue::NULL, |d| JsValue::from(d.as_millis() as f64));
        set(&o, "expiresInMs", expires);
        sessions.push(&o);
    }
    let retained = Array::new();
    for r in &view.retained {
        let o = Object::new();
        set(&o, "topic", r.topic.as_str());
        set(&o, "qos", r.qos.as_u8());
        set(&o, "payload", Uint8Array::from(&r.payload[..]));
        retained.push(&o);
    }
    let c = &view.counters;
    let counters = Object::new();
    set(&counters, "connections", c.connections as f64);
    set(&counters, "messagesReceived", c.messages_received as f64);
    set(&counters, "messagesSent", c.messages_sent as f64);
    set(&counters, "publishReceived", c.publish_received as f64);
    set(&counters, "publishSent", c.publish_sent as f64);
    set(&counters, "publishDropped", c.publish_dropped as f64);
    set(&counters, "bytesReceived", c.bytes_received as f64);
    set(&counters, "bytesSent", c.bytes_sent as f64);
    let o = Object::new();
    set(&o, "sessions", sessions);
    set(&o, "retained", retained);
    set(&o, "counters", counters);
    o.into()
}

/// An inspector's answer, and whether answering changed the broker's state.
pub struct Answer {
    pub value: JsValue,
    pub changed: bool,
}

/// The answer to an inspector's request `data`, if it is one; deleting changes `broker`.
pub fn answer(broker: &mut Broker, data: &JsValue, now: Instant) -> Option<Answer> {
    let kind = Reflect::get(data, &"type".into()).ok()?.as_string()?;
    match kind.as_str() {
        "inspect" => Some(Answer {
            value: view_to_js(&broker.inspect(now)),
            changed: false,
        }),
        "deleteRetained" => {
            let topic = Reflect::get(data, &"topic".into()).ok()?.as_string()?;
            let deleted = broker.delete_retained(&topic);
            Some(Answer {
                value: deleted.into(),
                changed: deleted,
            })
        }
        _ => None,
    }
}
