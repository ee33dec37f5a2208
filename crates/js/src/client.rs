//! `RawClient`: the worker client for JavaScript. The npm package's `MqttClient` wraps it
//! in MQTT.js's API; this layer only converts values and errors.

use crate::errors::to_promise;
use crate::errors::{command_error, connect_error, js_error};
use crate::options::read_options;
use crate::packets::{bytes_of, packet_to_js, properties_from_js, publish_fields, qos_of};
use js_sys::{Array, Function, Object, Promise, Reflect};
use tabmq_client::{RemoteEvent, WorkerClient};
use tabmq_core::{Bytes, ProtocolVersion, Publish, QoS, RetainHandling, SubscribeFilter};
use wasm_bindgen::prelude::*;

/// A connection run by the page's client worker.
#[wasm_bindgen]
pub struct RawClient {
    client: WorkerClient,
}

fn emit(on_event: &Function, args: &[JsValue]) {
    let list: Array = args.iter().collect();
    // A throwing listener is the application's bug; it must not stop the client.
    let _ = on_event.apply(&JsValue::NULL, &list);
}

fn dispatch(on_event: &Function, event: RemoteEvent, version: ProtocolVersion) {
    match event {
        RemoteEvent::Connected { session_present } => {
            let connack = Object::new();
            let _ = Reflect::set(&connack, &"cmd".into(), &"connack".into());
            let _ = Reflect::set(&connack, &"sessionPresent".into(), &session_present.into());
            let code = if version == ProtocolVersion::V5 {
                "reasonCode"
            } else {
                "returnCode"
            };
            let _ = Reflect::set(&connack, &code.into(), &0.into());
            emit(on_event, &["connect".into(), connack.into()]);
        }
        RemoteEvent::Reconnecting => emit(on_event, &["reconnect".into()]),
        RemoteEvent::Disconnected { reason_code } => {
            let packet = Object::new();
            let _ = Reflect::set(&packet, &"cmd".into(), &"disconnect".into());
            let _ = Reflect::set(&packet, &"reasonCode".into(), &reason_code.0.into());
            emit(on_event, &["disconnect".into(), packet.into()]);
        }
        RemoteEvent::Offline => emit(on_event, &["offline".into()]),
        RemoteEvent::Closed(why) => emit(on_event, &["close".into(), why.into()]),
        RemoteEvent::Error { code, message } => {
            emit(on_event, &["error".into(), js_error(&code, &message)])
        }
        RemoteEvent::Message(publish) => {
            let packet = Object::new();
            publish_fields(&packet, &publish, version);
            let _ = Reflect::set(&packet, &"cmd".into(), &"publish".into());
            let payload = Reflect::get(&packet, &"payload".into()).unwrap_or_default();
            emit(
                on_event,
                &[
                    "message".into(),
                    publish.topic.as_str().into(),
                    payload,
                    packet.into(),
                ],
            );
        }
        RemoteEvent::PacketSent(p) => {
            emit(on_event, &["packetsend".into(), packet_to_js(&p, version)])
        }
        RemoteEvent::PacketReceived(p) => emit(
            on_event,
            &["packetreceive".into(), packet_to_js(&p, version)],
        ),
        RemoteEvent::Ended => emit(on_event, &["end".into()]),
        _ => {}
    }
}

fn invalid(message: &str) -> JsValue {
    js_error("INVALID_ARGUMENT", message)
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
    Ok(SubscribeFilter {
        filter: topic,
        qos,
        no_local: get(sub, "nl").as_bool().unwrap_or(false),
        retain_as_published: get(sub, "rap").as_bool().unwrap_or(false),
        retain_handling: RetainHandling::from_u8(rh)
            .ok_or_else(|| invalid("rh (retain handling) must be 0, 1 or 2"))?,
    })
}

#[wasm_bindgen]
impl RawClient {
    /// Starts a client for `url` with MQTT.js's `options`; `onEvent(type, ...args)` hears
    /// `connect`, `reconnect`, `offline`, `close`, `error`, `message`, `packetsend`,
    /// `packetreceive` and `end`.
    pub async fn connect(
        url: String,
        options: JsValue,
        #[wasm_bindgen(js_name = onEvent)] on_event: Function,
    ) -> Result<RawClient, JsValue> {
        let options = read_options(&options)?;
        let version = options.client.protocol;
        let listener = Box::new(move |_: &WorkerClient, event: RemoteEvent| {
            dispatch(&on_event, event, version)
        });
        // The page's worker factory makes the workers; no script URL is needed.
        let client = WorkerClient::connect(&url, options, "", listener)
            .await
            .map_err(|e| connect_error(&e))?;
        Ok(RawClient { client })
    }

    #[wasm_bindgen(getter)]
    pub fn connected(&self) -> bool {
        self.client.is_connected()
    }

    fn message(
        topic: String,
        payload: &JsValue,
        qos: u8,
        retain: bool,
        properties: &JsValue,
    ) -> Result<Publish, JsValue> {
        let payload = if payload.is_undefined() || payload.is_null() {
            Vec::new()
        } else {
            bytes_of(payload)
                .ok_or_else(|| invalid("the message must be a string or a Uint8Array"))?
        };
        Ok(Publish {
            topic,
            payload: Bytes::from(payload),
            qos: QoS::from_u8(qos).ok_or_else(|| invalid("qos must be 0, 1 or 2"))?,
            retain,
            properties: properties_from_js(properties),
            ..Publish::default()
        })
    }

    /// Publishes. With `wait`, returns a promise of the broker's reason code at
    /// PUBACK/PUBCOMP (at once for QoS 0) that rejects with an `Error` with a `code`;
    /// without, returns nothing and throws only for bad arguments (for floods).
    pub fn publish(
        &self,
        topic: String,
        payload: JsValue,
        qos: u8,
        retain: bool,
        properties: JsValue,
        wait: bool,
    ) -> Result<JsValue, JsValue> {
        let message = RawClient::message(topic, &payload, qos, retain, &properties)?;
        if !wait {
            self.client
                .publish_and_forget(message)
                .map_err(|e| command_error(&e))?;
            return Ok(JsValue::UNDEFINED);
        }
        let done = self.client.publish(message);
        Ok(to_promise(Box::pin(async move {
            let code = done.await.map_err(|e| command_error(&e))?;
            Ok(code.0.into())
        }))
        .into())
    }

    /// One SUBSCRIBE for `subscriptions` (`[{topic, qos, nl, rap, rh}]`); resolves with
    /// SUBACK's codes, in order.
    pub fn subscribe(&self, subscriptions: Array, properties: JsValue) -> Promise {
        let filters: Result<Vec<_>, _> = subscriptions.iter().map(|s| filter_of(&s)).collect();
        let done = filters.map(|f| self.client.subscribe(f, properties_from_js(&properties)));
        to_promise(Box::pin(async move {
            let codes = done?.await.map_err(|e| command_error(&e))?;
            Ok(codes
                .iter()
                .map(|c| JsValue::from(c.0))
                .collect::<Array>()
                .into())
        }))
    }

    /// One UNSUBSCRIBE; resolves at UNSUBACK.
    pub fn unsubscribe(&self, topics: Vec<String>) -> Promise {
        let done = self.client.unsubscribe(topics);
        to_promise(Box::pin(async move {
            done.await.map_err(|e| command_error(&e))?;
            Ok(JsValue::UNDEFINED)
        }))
    }

    /// DISCONNECT, and no more reconnects; `end` follows. With `force`, the connection is
    /// dropped without DISCONNECT, as MQTT.js's `end(true)` does, so the will goes out.
    pub fn end(&self, force: bool) {
        if force {
            self.client.abort();
        } else {
            self.client.end();
        }
    }

    pub fn reconnect(&self) {
        self.client.reconnect();
    }

    /// Report packets (`packetsend`/`packetreceive`) or stop.
    #[wasm_bindgen(js_name = setTrace)]
    pub fn set_trace(&self, trace: bool) {
        self.client.set_trace_packets(trace);
    }
}
