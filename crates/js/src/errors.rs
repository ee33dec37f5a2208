//! JavaScript `Error`s with a stable `code`, as Node and MQTT.js users expect to switch on.

use tabmq_core::ClientError;
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

/// A command the engine refused; the caller is at fault.
pub fn client_error(e: &ClientError) -> JsValue {
    let code = match e {
        ClientError::NotConnected => "NOT_CONNECTED",
        ClientError::AlreadyConnected => "ALREADY_CONNECTED",
        ClientError::QueueFull => "QUEUE_FULL",
        ClientError::InvalidTopic(_) => "INVALID_TOPIC",
        ClientError::PacketIdsExhausted => "PACKET_IDS_EXHAUSTED",
        ClientError::Encode(_) => "INVALID_PACKET",
        _ => "REFUSED",
    };
    js_error(code, &e.to_string())
}
