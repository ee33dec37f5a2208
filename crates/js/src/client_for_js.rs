//! `Client`: the core's [`ClientMachine`] for JavaScript. Every decision (reconnect and
//! backoff, online/offline, the connect timeout, keepalive, resubscribing, the offline
//! queue, persistence, which command completes when) is the machine's; the npm package's
//! shell (`web/npm/connection.js`) opens and closes transports when told, moves bytes,
//! arms one timer and stores the session, in the order [`ClientMachine`] documents. This
//! layer only converts values and errors.

use crate::errors::{client_error, decode_error_text, invalid, js_error};
use crate::js_object::{get, set};
use crate::options::{read_client_options, read_policy};
use crate::packets::{bytes_of, packet_to_js, properties_from_js, properties_to_js, qos_of};
use alloc::borrow::ToOwned;
use alloc::string::String;
use alloc::vec::Vec;
use js_sys::{Array, Object, Reflect};
use tabmq_core::{
    Action, BrokerUrl, BrokerUrlError, Bytes, ClientMachine, ClientSession, CloseReason, Command,
    CommandFailure, ConnectionState, Done, End, Instant, MachineEvent, ProtocolVersion, Publish,
    QoS, ReasonCode, RetainHandling, SubscribeFilter, Token, TransportId,
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

/// `{topic, qos, nl, rap, rh}` as mqtt-packet writes a subscription.
fn filter_of(sub: &JsValue) -> Result<SubscribeFilter, JsValue> {
    let topic = get(sub, "topic")
        .and_then(|v| v.as_string())
        .ok_or_else(|| invalid("a subscription needs a topic string"))?;
    let qos = qos_of(&get(sub, "qos").unwrap_or_default(), QoS::AtMostOnce)
        .ok_or_else(|| invalid("qos must be 0, 1 or 2"))?;
    let rh = get(sub, "rh").and_then(|v| v.as_f64()).unwrap_or(0.0) as u8;
    let retain_handling = RetainHandling::from_u8(rh)
        .ok_or_else(|| invalid("rh (retain handling) must be 0, 1 or 2"))?;
    Ok(SubscribeFilter {
        filter: topic,
        qos,
        no_local: get(sub, "nl").and_then(|v| v.as_bool()).unwrap_or(false),
        retain_as_published: get(sub, "rap").and_then(|v| v.as_bool()).unwrap_or(false),
        retain_handling,
    })
}

/// Why a connection ended, in words, with the error code of a failure and the broker's
/// reason code when it gave one.
fn close_event(reason: &CloseReason) -> Object {
    let text = match reason {
        CloseReason::ProtocolError(e) => {
            tabmq_core::concat(&[reason.summary(), ": ", &decode_error_text(e)])
        }
        CloseReason::UnexpectedPacket(what) => tabmq_core::concat(&[reason.summary(), ": ", what]),
        _ => reason.summary().to_owned(),
    };
    let o = Object::new();
    set(&o, "type", "closed");
    set(&o, "reason", text);
    if let Some(error) = reason.error_code() {
        set(&o, "error", error);
    }
    if let CloseReason::Refused(code) | CloseReason::DisconnectedByBroker(code) = reason {
        set(&o, "reasonCode", code.0);
    }
    set(
        &o,
        "byBroker",
        matches!(reason, CloseReason::DisconnectedByBroker(_)),
    );
    o
}

fn url_error(e: &BrokerUrlError) -> JsValue {
    let message = match e {
        BrokerUrlError::UnsupportedScheme(url) => tabmq_core::concat(&[
            url,
            ": use ws://, wss:// or tab://NAME[?shared][&persist=indexeddb]",
        ]),
        BrokerUrlError::MissingName(url) => {
            tabmq_core::concat(&[url, ": the broker needs a name, as in tab://lab"])
        }
        BrokerUrlError::UnknownParameter { url, parameter } => {
            tabmq_core::concat(&[url, ": unknown parameter \"", parameter, "\""])
        }
        _ => "not a broker URL".to_owned(),
    };
    js_error(e.error_code(), &message)
}

/// How a command ended, as `{type: "completed", token, ...}`: `reasonCode` (a publish),
/// `granted` (a subscribe), or `error` with a code.
fn completed(o: &Object, outcome: tabmq_core::Outcome) {
    match outcome {
        Ok(Done::Published(code)) => set(o, "reasonCode", code.0),
        Ok(Done::Subscribed(codes)) => {
            let granted: Array = codes.iter().map(|c| JsValue::from(c.0)).collect();
            set(o, "granted", granted);
        }
        Ok(Done::Unsubscribed) => {}
        Err(failure) => {
            let error = match failure {
                CommandFailure::Refused(code) => with_reason_code(
                    js_error(
                        "BROKER_REFUSED",
                        "the broker refused the message with this reason code",
                    ),
                    code,
                ),
                CommandFailure::Invalid(e) => client_error(&e),
                CommandFailure::SessionLost => js_error(
                    "SESSION_LOST",
                    "the broker no longer has the session this was in",
                ),
                CommandFailure::Ended => js_error("CONNECTION_LOST", "the client ended first"),
                _ => js_error("CONNECTION_LOST", "the connection ended before the answer"),
            };
            set(o, "error", error);
        }
    }
}

/// `error` with the broker's reason code as `reasonCode`.
fn with_reason_code(error: JsValue, code: ReasonCode) -> JsValue {
    let _ = Reflect::set(&error, &"reasonCode".into(), &code.0.into());
    error
}

// A delivered message as MQTT.js emits it, built in one call. Setting each field from wasm
// crossed into JavaScript once per field and decoded each key's text anew: 6 µs of the
// page's 100 µs per message in a QoS 0 flood, by Chromium's profiler. The payload arrives
// as a view of wasm's memory and is copied out here.
#[wasm_bindgen(inline_js = r#"
export function messageEvent(topic, payload, qos, retain, dup, messageId, properties) {
  const packet = { cmd: 'publish', topic, payload: payload.slice(), qos, retain, dup };
  if (messageId !== undefined) packet.messageId = messageId;
  if (properties !== undefined) packet.properties = properties;
  return { type: 'message', packet };
}
"#)]
extern "C" {
    #[wasm_bindgen(js_name = messageEvent)]
    fn message_event(
        topic: &JsValue,
        payload: &[u8],
        qos: u8,
        retain: bool,
        dup: bool,
        message_id: Option<u16>,
        properties: JsValue,
    ) -> JsValue;
}

/// An MQTT client, driven from JavaScript: MQTT.js's options, a broker URL, and the saved
/// session (bytes `pollPersist` gave) if any.
#[wasm_bindgen]
pub struct Client {
    machine: ClientMachine,
    version: ProtocolVersion,
    set_aside: Option<String>,
}

#[wasm_bindgen]
impl Client {
    /// Throws an `Error` with code `INVALID_OPTION` or `INVALID_URL`. A saved `session`
    /// this version cannot read is set aside (`sessionSetAside` says why). `seed` seeds
    /// the backoff's jitter.
    #[wasm_bindgen(constructor)]
    pub fn new(
        url: &str,
        options: &JsValue,
        session: Option<Vec<u8>>,
        seed: f64,
    ) -> Result<Client, JsValue> {
        let url = BrokerUrl::parse_in_browser(url).map_err(|e| url_error(&e))?;
        let client_options = read_client_options(options)?;
        let mut policy = read_policy(options)?;
        policy.seed = seed as u64;
        let (session, set_aside) = ClientSession::resume(session.as_deref());
        Ok(Client {
            version: client_options.protocol,
            machine: ClientMachine::new(client_options, policy, url, session),
            set_aside: set_aside.map(|e| e.0.to_owned()),
        })
    }

    /// Why the saved session was set aside, if it was.
    #[wasm_bindgen(getter, js_name = sessionSetAside)]
    pub fn session_set_aside(&self) -> Option<String> {
        self.set_aside.clone()
    }

    /// `"disconnected"`, `"connecting"` or `"connected"`.
    #[wasm_bindgen(getter)]
    pub fn state(&self) -> String {
        match self.machine.state() {
            ConnectionState::Disconnected => "disconnected",
            ConnectionState::Connecting => "connecting",
            ConnectionState::Connected => "connected",
        }
        .to_owned()
    }

    /// The client id it connects with.
    #[wasm_bindgen(getter, js_name = clientId)]
    pub fn client_id(&self) -> String {
        self.machine.engine().options().client_id.clone()
    }

    /// Report every packet (`packetsend`/`packetreceive` events) or stop.
    #[wasm_bindgen(js_name = setTrace)]
    pub fn set_trace(&mut self, trace: bool) {
        self.machine.set_trace(trace);
    }

    /// Start, or connect again now (after `end`, or to skip the backoff's wait).
    pub fn connect(&mut self, now: f64) {
        self.machine.connect(at(now));
    }

    #[wasm_bindgen(js_name = handleOpened)]
    pub fn handle_opened(&mut self, transport: f64, now: f64) {
        self.machine
            .handle_opened(TransportId(transport as u64), at(now));
    }

    #[wasm_bindgen(js_name = handleBytes)]
    pub fn handle_bytes(&mut self, transport: f64, data: &[u8], now: f64) {
        self.machine
            .handle_bytes(TransportId(transport as u64), data, at(now));
    }

    #[wasm_bindgen(js_name = handleClosed)]
    pub fn handle_closed(&mut self, transport: f64, now: f64) {
        self.machine
            .handle_closed(TransportId(transport as u64), at(now));
    }

    #[wasm_bindgen(js_name = handleTimeout)]
    pub fn handle_timeout(&mut self, now: f64) {
        self.machine.handle_timeout(at(now));
    }

    #[wasm_bindgen(js_name = handlePersisted)]
    pub fn handle_persisted(&mut self, seq: f64, now: f64) {
        self.machine.handle_persisted(seq as u64, at(now));
    }

    #[wasm_bindgen(js_name = setOnline)]
    pub fn set_online(&mut self, online: bool, now: f64) {
        self.machine.set_online(online, at(now));
    }

    /// Publishes (queued while disconnected); `{type: "completed", token}` follows (none
    /// for token 0, which nobody waits for), or it throws now.
    #[allow(clippy::too_many_arguments)]
    pub fn publish(
        &mut self,
        token: f64,
        topic: String,
        payload: &JsValue,
        qos: u8,
        retain: bool,
        properties: &JsValue,
        now: f64,
    ) -> Result<(), JsValue> {
        let payload = if payload.is_undefined() || payload.is_null() {
            Vec::new()
        } else {
            bytes_of(payload)
                .ok_or_else(|| invalid("the message must be a string or a Uint8Array"))?
        };
        let publish = Publish {
            topic: topic.into(),
            payload: Bytes::from(payload),
            qos: QoS::from_u8(qos).ok_or_else(|| invalid("qos must be 0, 1 or 2"))?,
            retain,
            properties: properties_from_js(properties),
            ..Publish::default()
        };
        self.command(token, Command::Publish(publish), now)
    }

    /// One SUBSCRIBE for `[{topic, qos, nl, rap, rh}]`.
    pub fn subscribe(
        &mut self,
        token: f64,
        subscriptions: Array,
        properties: &JsValue,
        now: f64,
    ) -> Result<(), JsValue> {
        let filters = subscriptions
            .iter()
            .map(|s| filter_of(&s))
            .collect::<Result<Vec<_>, _>>()?;
        let command = Command::Subscribe {
            filters,
            properties: properties_from_js(properties),
        };
        self.command(token, command, now)
    }

    /// One UNSUBSCRIBE.
    pub fn unsubscribe(
        &mut self,
        token: f64,
        topics: Vec<String>,
        properties: &JsValue,
        now: f64,
    ) -> Result<(), JsValue> {
        let command = Command::Unsubscribe {
            filters: topics,
            properties: properties_from_js(properties),
        };
        self.command(token, command, now)
    }

    fn command(&mut self, token: f64, command: Command, now: f64) -> Result<(), JsValue> {
        self.machine
            .command(Token(token as u64), command, at(now))
            .map_err(|e| client_error(&e))
    }

    /// MQTT.js's `end(force, { reasonCode, properties })`.
    pub fn end(&mut self, force: bool, reason_code: u8, properties: &JsValue, now: f64) {
        let end = End {
            force,
            reason_code: ReasonCode(reason_code),
            properties: properties_from_js(properties),
        };
        self.machine.end(end, at(now));
    }

    /// `{seq, bytes}` to store, then report with `handlePersisted(seq)`.
    #[wasm_bindgen(js_name = pollPersist)]
    pub fn poll_persist(&mut self) -> JsValue {
        let Some((seq, bytes)) = self.machine.poll_persist() else {
            return JsValue::UNDEFINED;
        };
        let o = Object::new();
        set(&o, "seq", seq as f64);
        set(&o, "bytes", js_sys::Uint8Array::from(&bytes[..]));
        o.into()
    }

    /// `{transport, bytes, holdTurns}`: every ready packet for one transport, as one buffer,
    /// and the microtask turns to hold it for the application's answer (`Transmit::hold_turns`).
    #[wasm_bindgen(js_name = pollTransmit)]
    pub fn poll_transmit(&mut self) -> JsValue {
        let Some(out) = self.machine.poll_transmit() else {
            return JsValue::UNDEFINED;
        };
        let o = Object::new();
        set(&o, "transport", out.transport.0 as f64);
        set(&o, "bytes", js_sys::Uint8Array::from(&out.bytes[..]));
        set(&o, "holdTurns", out.hold_turns);
        o.into()
    }

    /// `{type: "open", transport, url, tab?: {name, shared, persist}}`, or
    /// `{type: "close" | "cut", transport}`.
    #[wasm_bindgen(js_name = pollAction)]
    pub fn poll_action(&mut self) -> JsValue {
        let Some(action) = self.machine.poll_action() else {
            return JsValue::UNDEFINED;
        };
        let o = Object::new();
        let (kind, transport) = match action {
            Action::Open { transport, url } => {
                match url {
                    BrokerUrl::WebSocket(u) => set(&o, "url", u),
                    BrokerUrl::InTab(tab) => {
                        let t = Object::new();
                        set(&t, "name", tab.name.clone());
                        set(&t, "shared", tab.shared);
                        set(&t, "persist", tab.persist);
                        set(&t, "workerName", tab.worker_name());
                        set(&o, "tab", t);
                    }
                    _ => {}
                }
                ("open", transport)
            }
            Action::Close { transport } => ("close", transport),
            Action::Cut { transport } => ("cut", transport),
        };
        set(&o, "type", kind);
        set(&o, "transport", transport.0 as f64);
        o.into()
    }

    /// When `handleTimeout` next has work, in the caller's milliseconds.
    #[wasm_bindgen(js_name = pollTimeout)]
    pub fn poll_timeout(&self) -> Option<f64> {
        self.machine.poll_timeout().map(|t| t.as_millis() as f64)
    }

    /// The next event, or `undefined`: `{type: "connected", sessionPresent}`,
    /// `{type: "message", packet}`, `{type: "completed", token, reasonCode? | granted? |
    /// error?}`, `{type: "closed", reason, error?, reasonCode?, byBroker}`,
    /// `{type: "transportfailed" | "reconnect" | "offline" | "end"}`,
    /// `{type: "packetsend" | "packetreceive", packet}`.
    #[wasm_bindgen(js_name = pollEvent)]
    pub fn poll_event(&mut self) -> JsValue {
        // Token 0 is a command nobody waits for (a QoS 0 flood): its completion stays here.
        let event = loop {
            match self.machine.poll_event() {
                None => return JsValue::UNDEFINED,
                Some(MachineEvent::Completed {
                    token: Token(0), ..
                }) => continue,
                Some(event) => break event,
            }
        };
        let o = Object::new();
        let kind = match event {
            MachineEvent::Connected { session_present } => {
                set(&o, "sessionPresent", session_present);
                "connected"
            }
            MachineEvent::Message(publish) => return self.message(&publish),
            MachineEvent::Completed { token, outcome } => {
                set(&o, "token", token.0 as f64);
                completed(&o, outcome);
                "completed"
            }
            MachineEvent::Closed(reason) => return close_event(&reason).into(),
            MachineEvent::TransportFailed => "transportfailed",
            MachineEvent::Reconnecting => "reconnect",
            MachineEvent::Offline => "offline",
            MachineEvent::Ended => "end",
            MachineEvent::PacketSent(p) => {
                set(&o, "packet", packet_to_js(&p, self.version));
                "packetsend"
            }
            MachineEvent::PacketReceived(p) => {
                set(&o, "packet", packet_to_js(&p, self.version));
                "packetreceive"
            }
            _ => "other",
        };
        set(&o, "type", kind);
        o.into()
    }
}

impl Client {
    /// A delivered message as MQTT.js emits it.
    fn message(&self, p: &Publish) -> JsValue {
        message_event(
            &JsValue::from_str(&p.topic),
            &p.payload,
            p.qos.as_u8(),
            p.retain,
            p.dup,
            p.packet_id.map(|id| id.get()),
            properties_to_js(&p.properties).map_or(JsValue::UNDEFINED, JsValue::from),
        )
    }
}
