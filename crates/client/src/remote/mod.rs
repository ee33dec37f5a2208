//! The client in a Worker: the page keeps the API, a Worker keeps the connection.
//!
//! Chrome throttles a background tab's main-thread timers to one wake-up a minute, which
//! starves keepalive (the broker drops the client) and retries. A dedicated Worker's timers
//! are not throttled that way, and a page whose main thread is busy or frozen cannot stall
//! them either. So [`WorkerClient`] runs each connection, with its keepalive, backoff and
//! session store, in the worker [`serve_clients`] starts, and talks to it over a
//! MessagePort in [`frames`].

pub mod frames;
mod page_side;
mod worker_side;

pub use page_side::{FaultCommand, RemoteEvent, RemoteListener, WorkerClient, WorkerClientOptions};
pub use worker_side::serve_clients;

use js_sys::{Object, Reflect};
use std::time::Duration;
use tabmq_core::{
    decode_packet, encode_to_vec, Bytes, ClientOptions, Connect, Packet, ProtocolVersion,
};
use wasm_bindgen::JsValue;

/// The name of the worker that hosts a page's clients; the worker entry script reads it
/// to know it is not a broker.
pub const CLIENT_WORKER_NAME: &str = "tabmq-clients";

/// The CONNECT packet `options` make, which carries most of them to the worker.
fn connect_packet(options: &ClientOptions) -> Packet {
    let mut properties = tabmq_core::Properties::default();
    if options.protocol == ProtocolVersion::V5 {
        properties.session_expiry_interval = options.session_expiry_interval;
        if options.receive_maximum != u16::MAX {
            properties.receive_maximum = Some(options.receive_maximum.max(1));
        }
    }
    Packet::Connect(Connect {
        protocol: options.protocol,
        mqtt31: options.mqtt31 && options.protocol == ProtocolVersion::V311,
        bridge: false,
        client_id: options.client_id.clone(),
        clean_start: options.clean_session,
        keep_alive: options.keep_alive,
        username: options.username.clone(),
        password: options.password.clone(),
        will: options.will.clone(),
        properties,
    })
}

fn set(target: &Object, key: &str, value: JsValue) -> Result<(), JsValue> {
    Reflect::set(target, &key.into(), &value).map(|_| ())
}

fn get_f64(source: &JsValue, key: &str) -> Option<f64> {
    Reflect::get(source, &key.into()).ok()?.as_f64()
}

/// `options` as a structured-cloneable object: the CONNECT packet, and the settings
/// that never go on the wire.
fn options_to_js(options: &ClientOptions) -> Result<Object, JsValue> {
    let connect = encode_to_vec(&connect_packet(options), options.protocol)
        .map_err(|e| JsValue::from(e.to_string()))?;
    let o = Object::new();
    set(
        &o,
        "connect",
        crate::browser::to_array_buffer(&connect).into(),
    )?;
    set(&o, "version", options.protocol.level().into())?;
    set(&o, "maxInflight", options.max_inflight.into())?;
    set(&o, "maxPacketSize", (options.max_packet_size as f64).into())?;
    set(&o, "maxQueued", (options.max_queued as f64).into())?;
    set(&o, "queueQos0", options.queue_qos0.into())?;
    set(&o, "trace", options.trace_packets.into())?;
    if let Some(after) = options.retransmit_after {
        set(&o, "retransmitMs", (after.as_millis() as f64).into())?;
    }
    Ok(o)
}

/// The options [`options_to_js`] wrote; `None` if they are not that.
fn options_from_js(o: &JsValue) -> Option<ClientOptions> {
    let version = match get_f64(o, "version")? as u8 {
        5 => ProtocolVersion::V5,
        _ => ProtocolVersion::V311,
    };
    let bytes = crate::browser::bytes_of(&Reflect::get(o, &"connect".into()).ok()?)?;
    let Packet::Connect(c) = decode_packet(Bytes::from(bytes), version).ok()? else {
        return None;
    };
    let defaults = ClientOptions::default();
    let count = |key: &str, default: usize| get_f64(o, key).map_or(default, |n| n as usize);
    Some(ClientOptions {
        protocol: c.protocol,
        mqtt31: c.mqtt31,
        client_id: c.client_id,
        clean_session: c.clean_start,
        keep_alive: c.keep_alive,
        username: c.username,
        password: c.password,
        will: c.will,
        session_expiry_interval: c.properties.session_expiry_interval,
        receive_maximum: c.properties.receive_maximum.unwrap_or(u16::MAX),
        max_inflight: get_f64(o, "maxInflight").map_or(defaults.max_inflight, |n| n as u16),
        max_packet_size: count("maxPacketSize", defaults.max_packet_size),
        max_queued: count("maxQueued", defaults.max_queued),
        queue_qos0: Reflect::get(o, &"queueQos0".into())
            .ok()
            .and_then(|v| v.as_bool())
            .unwrap_or(defaults.queue_qos0),
        retransmit_after: get_f64(o, "retransmitMs").map(|ms| Duration::from_millis(ms as u64)),
        trace_packets: Reflect::get(o, &"trace".into())
            .ok()
            .and_then(|v| v.as_bool())
            .unwrap_or(false),
    })
}
