//! MQTT.js's connect options, read into the engine's. Defaults are MQTT.js's: protocol 4,
//! keepalive 60 s, clean session, queue QoS 0. The driver (`web/npm/connection.js`) reads
//! the options about sockets and timers itself: reconnectPeriod, connectTimeout,
//! resubscribe.

use crate::errors::js_error;
use crate::packets::{bytes_of, properties_from_js, qos_of};
use js_sys::Reflect;
use tabmq_core::{Bytes, ClientOptions, LastWill, ProtocolVersion, QoS};
use wasm_bindgen::JsValue;

fn get(o: &JsValue, key: &str) -> Option<JsValue> {
    if o.is_undefined() || o.is_null() {
        return None;
    }
    Reflect::get(o, &key.into())
        .ok()
        .filter(|v| !v.is_undefined() && !v.is_null())
}

fn number(o: &JsValue, key: &str) -> Result<Option<f64>, JsValue> {
    match get(o, key) {
        None => Ok(None),
        Some(v) => match v.as_f64() {
            Some(n) if n.is_finite() && n >= 0.0 => Ok(Some(n)),
            _ => Err(js_error(
                "INVALID_OPTION",
                &["options.", key, " must be a non-negative number"].concat(),
            )),
        },
    }
}

fn flag(o: &JsValue, key: &str, default: bool) -> bool {
    get(o, key).and_then(|v| v.as_bool()).unwrap_or(default)
}

fn will(o: &JsValue) -> Result<Option<LastWill>, JsValue> {
    let Some(w) = get(o, "will") else {
        return Ok(None);
    };
    let topic = get(&w, "topic")
        .and_then(|t| t.as_string())
        .ok_or_else(|| js_error("INVALID_OPTION", "options.will.topic must be a string"))?;
    let payload = get(&w, "payload")
        .map(|p| bytes_of(&p))
        .unwrap_or(Some(Vec::new()))
        .ok_or_else(|| {
            js_error(
                "INVALID_OPTION",
                "options.will.payload must be a string or a Uint8Array",
            )
        })?;
    let qos = qos_of(&get(&w, "qos").unwrap_or_default(), QoS::AtMostOnce)
        .ok_or_else(|| js_error("INVALID_OPTION", "options.will.qos must be 0, 1 or 2"))?;
    Ok(Some(LastWill {
        topic,
        payload: Bytes::from(payload),
        qos,
        retain: flag(&w, "retain", false),
        properties: properties_from_js(&get(&w, "properties").unwrap_or_default()),
    }))
}

/// `options` (MQTT.js's `IClientOptions`) as the engine's options.
pub fn read_client_options(options: &JsValue) -> Result<ClientOptions, JsValue> {
    let protocol = match number(options, "protocolVersion")?.map(|n| n as u8) {
        None | Some(4) | Some(3) => ProtocolVersion::V311,
        Some(5) => ProtocolVersion::V5,
        Some(_) => {
            return Err(js_error(
                "INVALID_OPTION",
                "this protocolVersion is not supported; use 4 or 5",
            ))
        }
    };
    let properties = properties_from_js(&get(options, "properties").unwrap_or_default());
    let mut client = ClientOptions {
        protocol,
        client_id: get(options, "clientId")
            .and_then(|v| v.as_string())
            // index.js always gives one; without, the broker assigns one.
            .unwrap_or_default(),
        clean_session: flag(options, "clean", true),
        keep_alive: number(options, "keepalive")?.map_or(60, |k| k.min(65_535.0) as u16),
        username: get(options, "username").and_then(|v| v.as_string()),
        password: get(options, "password")
            .and_then(|p| bytes_of(&p))
            .map(Bytes::from),
        will: will(options)?,
        session_expiry_interval: properties.session_expiry_interval,
        queue_qos0: flag(options, "queueQoSZero", true),
        trace_packets: flag(options, "trace", false),
        ..ClientOptions::default()
    };
    if let Some(max) = properties.receive_maximum {
        client.receive_maximum = max.max(1);
    }
    if let Some(n) = number(options, "maxInflight")? {
        client.max_inflight = (n as u16).max(1);
    }
    Ok(client)
}
