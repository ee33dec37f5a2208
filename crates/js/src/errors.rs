//! JavaScript `Error`s with a stable `code`, as Node and MQTT.js users expect to switch on.

use alloc::borrow::ToOwned;
use alloc::string::String;
use tabmq_core::{ClientError, DecodeError, EncodeError, Violation};
use wasm_bindgen::JsValue;

/// An `Error` with `message` and `code`.
pub fn js_error(code: &str, message: &str) -> JsValue {
    let error = js_sys::Error::new(message);
    let _ = js_sys::Reflect::set(&error, &"code".into(), &code.into());
    error.into()
}

/// A bad argument from the caller.
pub fn invalid(message: &str) -> JsValue {
    js_error("INVALID_ARGUMENT", message)
}

/// `[statement] reason`, as `Violation` displays, built without `core::fmt` (whose
/// machinery the client wasm otherwise leaves out).
pub fn violation_text(prefix: &str, v: &Violation) -> String {
    tabmq_core::concat(&[prefix, "[", v.statement, "] ", v.reason])
}

/// What a decode error says, without `core::fmt`.
pub fn decode_error_text(e: &DecodeError) -> String {
    match e {
        DecodeError::Malformed(v) => violation_text("malformed packet: ", v),
        DecodeError::PacketTooLarge { .. } => "packet larger than the maximum".to_owned(),
        _ => "[MQTT-3.1.2-2] unsupported protocol level".to_owned(),
    }
}

/// A command the engine refused; the caller is at fault.
pub fn client_error(e: &ClientError) -> JsValue {
    let (code, message) = match e {
        // MQTT.js's words.
        ClientError::NotConnected => ("NOT_CONNECTED", "No connection to broker".to_owned()),
        // The machine refuses commands from `end()` on; MQTT.js says it so.
        ClientError::Ended => ("NOT_CONNECTED", "client disconnecting".to_owned()),
        ClientError::AlreadyConnected => ("ALREADY_CONNECTED", "already connected".to_owned()),
        ClientError::QueueFull => ("QUEUE_FULL", "the offline queue is full".to_owned()),
        ClientError::InvalidTopic(v) => ("INVALID_TOPIC", violation_text("invalid topic: ", v)),
        ClientError::PacketIdsExhausted => (
            "PACKET_IDS_EXHAUSTED",
            "all 65535 packet identifiers are in use".to_owned(),
        ),
        ClientError::Encode(EncodeError::Invalid(v)) => {
            ("INVALID_PACKET", violation_text("invalid packet: ", v))
        }
        ClientError::Encode(EncodeError::FieldTooLong { field, .. }) => (
            "INVALID_PACKET",
            tabmq_core::concat(&[field, " is longer than the 65535 bytes that fit"]),
        ),
        ClientError::Encode(_) => (
            "INVALID_PACKET",
            "the packet is over the protocol's size limit".to_owned(),
        ),
        _ => ("REFUSED", "refused".to_owned()),
    };
    js_error(code, &message)
}
