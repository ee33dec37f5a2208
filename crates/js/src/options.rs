//! MQTT.js's connect options, read into the engine's and the connection policy's.
//! Defaults are MQTT.js's: protocol 4, keepalive 60 s, clean session, queue QoS 0,
//! reconnect after 1 s (growing to `reconnectPeriodMax`), connect timeout 30 s,
//! resubscribe.

use crate::errors::js_error;
use crate::js_object::get;
use crate::packets::{bytes_of, properties_from_js, qos_of};
use alloc::vec::Vec;
use core::time::Duration;
use tabmq_core::{
    Backoff, Bytes, ClientOptions, ConnectionPolicy, LastWill, ProtocolVersion, QoS, MQTT5,
};
use wasm_bindgen::JsValue;

fn number(o: &JsValue, key: &str) -> Result<Option<f64>, JsValue> {
    match get(o, key) {
        None => Ok(None),
        Some(v) => match v.as_f64() {
            Some(n) if n.is_finite() && n >= 0.0 => Ok(Some(n)),
            _ => Err(js_error(
                "INVALID_OPTION",
                &tabmq_core::concat(&["options.", key, " must be a non-negative number"]),
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
        Some(5) if MQTT5 => ProtocolVersion::V5,
        // index.js loads the MQTT 5 build for protocolVersion 5; this one is the other.
        Some(5) => {
            return Err(js_error(
                "INVALID_OPTION",
                "protocolVersion 5 needs the MQTT 5 build (tabmq_client5)",
            ))
        }
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

/// The connection policy from MQTT.js's options: `reconnectPeriod` (0 turns reconnecting
/// off), tabmq's `reconnectPeriodMax`, `connectTimeout` (0 turns it off), `resubscribe`,
/// and tabmq's `persist: 'indexeddb'`.
pub fn read_policy(options: &JsValue) -> Result<ConnectionPolicy, JsValue> {
    let ms = |n: f64| Duration::from_millis(n as u64);
    let period = number(options, "reconnectPeriod")?.unwrap_or(1000.0);
    let max = number(options, "reconnectPeriodMax")?.unwrap_or(60_000.0);
    let timeout = number(options, "connectTimeout")?.unwrap_or(30_000.0);
    let persist = match get(options, "persist").map(|p| p.as_string()) {
        None => false,
        Some(Some(p)) if p == "indexeddb" => true,
        Some(_) => {
            return Err(js_error(
                "INVALID_OPTION",
                "options.persist must be 'indexeddb' or left out",
            ))
        }
    };
    Ok(ConnectionPolicy {
        reconnect: (period > 0.0).then(|| Backoff::new(ms(period), ms(max.max(period)))),
        connect_timeout: (timeout > 0.0).then(|| ms(timeout)),
        resubscribe: flag(options, "resubscribe", true),
        persist,
        ..ConnectionPolicy::default()
    })
}
