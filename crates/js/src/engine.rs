//! `Engine`: the core's sans-IO client engine for JavaScript. The npm package's driver
//! (`web/npm/connection.js`) owns the socket, the timers and the reconnects, and calls in
//! here with bytes and `now`; this layer only converts values and errors.
//!
//! The driver must, after every call that takes input (`connect`, `handleBytes`,
//! `handleTimeout`, `connectionLost`, `disconnect`, `publish`, `subscribe`,
//! `unsubscribe`), send what `pollTransmit` gives, then handle what `pollEvent` gives, then
//! re-arm its timer at `pollTimeout`: the order of quinn-proto's endpoints. It may put off
//! `pollTransmit` to gather a burst into one frame: the bytes wait in the engine, in order.

use crate::errors::{client_error, decode_error_text, invalid};
use crate::options::read_client_options;
use crate::packets::{bytes_of, packet_to_js, properties_from_js, publish_fields, qos_of};
use js_sys::{Array, Object, Reflect};
use std::time::Duration;
use tabmq_core::{
    Backoff, Bytes, ClientEngine, ClientEvent, ClientSession, CloseReason, ConnectionState,
    Instant, LostReason, ProtocolVersion, Publish, QoS, RetainHandling, SubscribeFilter,
};
use wasm_bindgen::prelude::*;

fn at(now: f64) -> Instant {
    // `performance.now()` is never negative; a bad caller gets the epoch, not a panic.
    Instant::from_millis(if now.is_finite() && now > 0.0 {
        now as u64
    } else {
        0
    })
}

fn set(o: &Object, key: &str, value: impl Into<JsValue>) {
    let _ = Reflect::set(o, &key.into(), &value.into());
}

fn get(o: &JsValue, key: &str) -> JsValue {
    Reflect::get(o, &key.into()).unwrap_or_default()
}

/// `{topic, qos, nl, rap, rh}` as mqtt-packet writes a subscription.
fn filter_of(sub: &JsValue) -> Result<SubscribeFilter, JsValue> {
    let topic = get(sub, "topic")
        .as_string()
        .ok_or_else(|| invalid("a subscription needs a topic string"))?;
    let qos = qos_of(&get(sub, "qos"), QoS::AtMostOnce)
        .ok_or_else(|| invalid("qos must be 0, 1 or 2"))?;
    let rh = get(sub, "rh").as_f64().unwrap_or(0.0) as u8;
    let retain_handling = RetainHandling::from_u8(rh)
        .ok_or_else(|| invalid("rh (retain handling) must be 0, 1 or 2"))?;
    Ok(SubscribeFilter {
        filter: topic,
        qos,
        no_local: get(sub, "nl").as_bool().unwrap_or(false),
        retain_as_published: get(sub, "rap").as_bool().unwrap_or(false),
        retain_handling,
    })
}

/// Why a connection ended, in words, with the error code of a failure and the broker's
/// reason code when it gave one.
fn close_event(reason: &CloseReason) -> Object {
    let (text, error, code) = match reason {
        CloseReason::Disconnected => ("disconnected".to_owned(), None, None),
        CloseReason::ConnectionLost => ("connection lost".to_owned(), None, None),
        CloseReason::KeepAliveTimeout => ("no PINGRESP in time".to_owned(), None, None),
        CloseReason::Refused(code) => (
            "the broker refused CONNECT".to_owned(),
            Some("CONNECT_REFUSED"),
            Some(code.0),
        ),
        CloseReason::DisconnectedByBroker(code) => {
            ("the broker sent DISCONNECT".to_owned(), None, Some(code.0))
        }
        CloseReason::ProtocolError(e) => (
            ["the broker broke the protocol: ", &decode_error_text(e)].concat(),
            Some("PROTOCOL_ERROR"),
            None,
        ),
        CloseReason::UnexpectedPacket(what) => (
            ["the broker sent an unexpected ", what].concat(),
            Some("PROTOCOL_ERROR"),
            None,
        ),
        CloseReason::ReceiveMaximumExceeded => (
            "the broker exceeded our Receive Maximum".to_owned(),
            Some("RECEIVE_MAXIMUM_EXCEEDED"),
            None,
        ),
        _ => ("closed".to_owned(), None, None),
    };
    let o = Object::new();
    set(&o, "type", "closed");
    set(&o, "reason", text);
    if let Some(error) = error {
        set(&o, "error", error);
    }
    if let Some(code) = code {
        set(&o, "reasonCode", code);
    }
    set(
        &o,
        "byBroker",
        matches!(reason, CloseReason::DisconnectedByBroker(_)),
    );
    o
}

/// The MQTT client engine, driven from JavaScript.
#[wasm_bindgen]
pub struct Engine {
    engine: ClientEngine,
    version: ProtocolVersion,
}

#[wasm_bindgen]
impl Engine {
    /// An engine for MQTT.js-style `options`, resuming `session` (bytes from `session()`)
    /// if given. Throws an `Error` with code `INVALID_OPTION` or `INVALID_SESSION`.
    #[wasm_bindgen(constructor)]
    pub fn new(options: &JsValue, session: Option<Vec<u8>>) -> Result<Engine, JsValue> {
        let options = read_client_options(options)?;
        let session = match session {
            Some(bytes) => ClientSession::from_bytes(&bytes).map_err(|e| {
                crate::js_error("INVALID_SESSION", &["not a stored session: ", e.0].concat())
            })?,
            None => ClientSession::new(),
        };
        Ok(Engine {
            version: options.protocol,
            engine: ClientEngine::new(options, session),
        })
    }

    /// `"disconnected"`, `"connecting"` or `"connected"`.
    #[wasm_bindgen(getter)]
    pub fn state(&self) -> String {
        match self.engine.state() {
            ConnectionState::Disconnected => "disconnected",
            ConnectionState::Connecting => "connecting",
            ConnectionState::Connected => "connected",
        }
        .to_owned()
    }

    /// The client id the engine connects with (MQTT.js's generated one if none was given).
    #[wasm_bindgen(getter, js_name = clientId)]
    pub fn client_id(&self) -> String {
        self.engine.options().client_id.clone()
    }

    /// Operations waiting for the broker.
    #[wasm_bindgen(getter, js_name = inFlight)]
    pub fn in_flight(&self) -> usize {
        self.engine.in_flight()
    }

    /// The durable session, for a store to keep.
    pub fn session(&self) -> Vec<u8> {
        self.engine.session().to_bytes()
    }

    /// Report every packet (`packetsend`/`packetreceive` events) or stop.
    #[wasm_bindgen(js_name = setTrace)]
    pub fn set_trace(&mut self, trace: bool) {
        self.engine.set_trace_packets(trace);
    }

    /// A transport has just come up: CONNECT is ready in `pollTransmit`.
    pub fn connect(&mut self, now: f64) -> Result<(), JsValue> {
        self.engine.connect(at(now)).map_err(|e| client_error(&e))
    }

    /// Bytes from the broker, in any slicing.
    #[wasm_bindgen(js_name = handleBytes)]
    pub fn handle_bytes(&mut self, data: &[u8], now: f64) {
        self.engine.handle_bytes(data, at(now));
    }

    /// Runs keepalive; call at `pollTimeout`.
    #[wasm_bindgen(js_name = handleTimeout)]
    pub fn handle_timeout(&mut self, now: f64) {
        self.engine.handle_timeout(at(now));
    }

    /// The transport went away; the session stays.
    #[wasm_bindgen(js_name = connectionLost)]
    pub fn connection_lost(&mut self, now: f64) {
        self.engine.connection_lost(at(now));
    }

    /// DISCONNECT (the broker discards the will); the session stays.
    pub fn disconnect(&mut self, now: f64) {
        self.engine.disconnect(at(now));
    }

    /// When `handleTimeout` next has work, in the caller's milliseconds.
    #[wasm_bindgen(js_name = pollTimeout)]
    pub fn poll_timeout(&self) -> Option<f64> {
        self.engine.poll_timeout().map(|t| t.as_millis() as f64)
    }

    /// Every packet made since the last call, as one buffer: one WebSocket frame.
    #[wasm_bindgen(js_name = pollTransmit)]
    pub fn poll_transmit(&mut self) -> Option<Vec<u8>> {
        self.engine.poll_transmit().map(|b| b.to_vec())
    }

    /// The next event, or `undefined`: `{type: "connected", sessionPresent}`,
    /// `{type: "message", packet}`, `{type: "published", id, reasonCode}`,
    /// `{type: "subscribed", id, granted}`, `{type: "unsubscribed", id}`,
    /// `{type: "lost", id, sessionLost}`, `{type: "packetsend" | "packetreceive", packet}`,
    /// `{type: "closed", reason, error?, reasonCode?, byBroker}`.
    #[wasm_bindgen(js_name = pollEvent)]
    pub fn poll_event(&mut self) -> JsValue {
        let Some(event) = self.engine.poll_event() else {
            return JsValue::UNDEFINED;
        };
        let o = Object::new();
        let kind = match event {
            ClientEvent::Connected { session_present } => {
                set(&o, "sessionPresent", session_present);
                "connected"
            }
            ClientEvent::Message(publish) => {
                let packet = Object::new();
                set(
                    &packet,
                    "cmd",
                    publish_fields(&packet, &publish, self.version),
                );
                set(&o, "packet", packet);
                "message"
            }
            ClientEvent::Published {
                packet_id,
                reason_code,
            } => {
                set(&o, "id", packet_id.get());
                set(&o, "reasonCode", reason_code.0);
                "published"
            }
            ClientEvent::Subscribed {
                packet_id,
                reason_codes,
            } => {
                set(&o, "id", packet_id.get());
                let granted: Array = reason_codes.iter().map(|c| JsValue::from(c.0)).collect();
                set(&o, "granted", granted);
                "subscribed"
            }
            ClientEvent::Unsubscribed { packet_id } => {
                set(&o, "id", packet_id.get());
                "unsubscribed"
            }
            ClientEvent::Lost { packet_id, reason } => {
                set(&o, "id", packet_id.get());
                set(&o, "sessionLost", reason == LostReason::SessionLost);
                "lost"
            }
            ClientEvent::PacketSent(p) => {
                set(&o, "packet", packet_to_js(&p, self.version));
                "packetsend"
            }
            ClientEvent::PacketReceived(p) => {
                set(&o, "packet", packet_to_js(&p, self.version));
                "packetreceive"
            }
            ClientEvent::Closed(reason) => return close_event(&reason).into(),
            _ => return self.poll_event(),
        };
        set(&o, "type", kind);
        o.into()
    }

    /// Publishes (or queues while disconnected); the packet id that `published` or `lost`
    /// will name, or 0 for QoS 0.
    pub fn publish(
        &mut self,
        topic: String,
        payload: &JsValue,
        qos: u8,
        retain: bool,
        properties: &JsValue,
        now: f64,
    ) -> Result<u16, JsValue> {
        let payload = if payload.is_undefined() || payload.is_null() {
            Vec::new()
        } else {
            bytes_of(payload)
                .ok_or_else(|| invalid("the message must be a string or a Uint8Array"))?
        };
        let publish = Publish {
            topic,
            payload: Bytes::from(payload),
            qos: QoS::from_u8(qos).ok_or_else(|| invalid("qos must be 0, 1 or 2"))?,
            retain,
            properties: properties_from_js(properties),
            ..Publish::default()
        };
        self.engine
            .publish_with(publish, at(now))
            .map(|id| id.map_or(0, |id| id.get()))
            .map_err(|e| client_error(&e))
    }

    /// One SUBSCRIBE for `subscriptions` (`[{topic, qos, nl, rap, rh}]`); its packet id,
    /// which `subscribed` or `lost` will name.
    pub fn subscribe(
        &mut self,
        subscriptions: Array,
        properties: &JsValue,
        now: f64,
    ) -> Result<u16, JsValue> {
        let filters = subscriptions
            .iter()
            .map(|s| filter_of(&s))
            .collect::<Result<Vec<_>, _>>()?;
        self.engine
            .subscribe_with(filters, properties_from_js(properties), at(now))
            .map(|id| id.get())
            .map_err(|e| client_error(&e))
    }

    /// One UNSUBSCRIBE; its packet id, which `unsubscribed` or `lost` will name.
    pub fn unsubscribe(&mut self, topics: Vec<String>, now: f64) -> Result<u16, JsValue> {
        self.engine
            .unsubscribe(topics, at(now))
            .map(|id| id.get())
            .map_err(|e| client_error(&e))
    }
}

/// Reconnect delays: exponential from `minMs` to `maxMs`, with full jitter.
#[wasm_bindgen(js_name = Backoff)]
pub struct JsBackoff {
    backoff: Backoff,
}

#[wasm_bindgen(js_class = Backoff)]
impl JsBackoff {
    #[wasm_bindgen(constructor)]
    pub fn new(min_ms: f64, max_ms: f64) -> JsBackoff {
        let millis = |ms: f64| Duration::from_millis(ms.max(1.0) as u64);
        JsBackoff {
            backoff: Backoff::new(millis(min_ms), millis(max_ms)),
        }
    }

    /// The wait before the next attempt, in ms; `random` is uniform in [0, 1).
    pub fn next(&mut self, random: f64) -> f64 {
        let random = (random.clamp(0.0, 1.0) * 9_007_199_254_740_992.0) as u64;
        self.backoff.next_delay(random).as_millis() as f64
    }

    /// A connection succeeded: the next failure waits the least again.
    pub fn reset(&mut self) {
        self.backoff.reset();
    }
}
