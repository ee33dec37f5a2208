//! JavaScript `Error`s with a stable `code`, as Node and MQTT.js users expect to switch on.

use std::future::Future;
use std::pin::Pin;
use tabmq_client::{CommandError, ConnectError};
use tabmq_core::{ClientError, LostReason};
use wasm_bindgen::JsValue;

/// A boxed future as a Promise: one instance of `future_to_promise` for every command,
/// where one per future type would cost a kilobyte of wasm each.
pub fn to_promise(f: Pin<Box<dyn Future<Output = Result<JsValue, JsValue>>>>) -> js_sys::Promise {
    wasm_bindgen_futures::future_to_promise(f)
}

/// An `Error` with `message` and `code`.
pub fn js_error(code: &str, message: &str) -> JsValue {
    let error = js_sys::Error::new(message);
    let _ = js_sys::Reflect::set(&error, &"code".into(), &code.into());
    error.into()
}

/// A command's failure; a broker's refusal carries its reason code as `reasonCode`.
pub fn command_error(e: &CommandError) -> JsValue {
    let code = match e {
        CommandError::Refused(ClientError::NotConnected) => "NOT_CONNECTED",
        CommandError::Refused(ClientError::QueueFull) => "QUEUE_FULL",
        CommandError::Refused(ClientError::InvalidTopic(_)) => "INVALID_TOPIC",
        CommandError::Refused(ClientError::PacketIdsExhausted) => "PACKET_IDS_EXHAUSTED",
        CommandError::Refused(ClientError::Encode(_)) => "INVALID_PACKET",
        CommandError::Refused(_) => "REFUSED",
        CommandError::Failed(_) => "BROKER_REFUSED",
        CommandError::Lost(LostReason::SessionLost) => "SESSION_LOST",
        CommandError::Lost(_) => "CONNECTION_LOST",
        _ => "CLIENT_ENDED",
    };
    let error = js_error(code, &e.to_string());
    if let CommandError::Failed(reason) = e {
        let _ = js_sys::Reflect::set(&error, &"reasonCode".into(), &reason.0.into());
    }
    error
}

pub fn connect_error(e: &ConnectError) -> JsValue {
    let code = match e {
        ConnectError::UnsupportedScheme(_) => "INVALID_URL",
        ConnectError::InTab(_) => "IN_TAB_BROKER_FAILED",
        _ => "WORKER_FAILED",
    };
    js_error(code, &e.to_string())
}
