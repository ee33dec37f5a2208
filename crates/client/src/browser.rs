//! Browser glue shared by the transports: the clock and byte conversion.

use js_sys::{ArrayBuffer, Function, Reflect, Uint8Array};
use tabmq_core::Instant;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

/// Milliseconds as every tabmq client in a browser reads them (the npm package's
/// `schedule.js` too): `performance.timeOrigin + performance.now()`. Monotonic within a
/// page, so a changed system clock moves no timer, and on the Unix epoch's scale, so the
/// expiry times a stored session holds still mean the same after a reload.
pub fn now() -> Instant {
    let performance = Reflect::get(&js_sys::global(), &"performance".into()).unwrap_or_default();
    let origin = Reflect::get(&performance, &"timeOrigin".into())
        .ok()
        .and_then(|v| v.as_f64());
    let elapsed = Reflect::get(&performance, &"now".into())
        .ok()
        .and_then(|f| f.dyn_into::<Function>().ok())
        .and_then(|f| f.call0(&performance).ok())
        .and_then(|v| v.as_f64());
    let millis = match (origin, elapsed) {
        (Some(origin), Some(elapsed)) => origin + elapsed,
        _ => js_sys::Date::now(),
    };
    Instant::from_millis(millis.max(0.0) as u64)
}

/// Copies `bytes` into a fresh ArrayBuffer that can be transferred, not cloned.
pub fn to_array_buffer(bytes: &[u8]) -> ArrayBuffer {
    let array = Uint8Array::new_with_length(bytes.len() as u32);
    array.copy_from(bytes);
    array.buffer()
}

/// The bytes of a message's data, if it is an ArrayBuffer or a typed array.
pub fn bytes_of(data: &JsValue) -> Option<Vec<u8>> {
    if let Some(buffer) = data.dyn_ref::<ArrayBuffer>() {
        return Some(Uint8Array::new(buffer).to_vec());
    }
    data.dyn_ref::<Uint8Array>().map(Uint8Array::to_vec)
}

/// What a JavaScript value (an error, usually) says, for messages. Avoids `{:?}`, whose
/// number formatting alone costs kilobytes of wasm.
pub fn describe(value: &JsValue) -> String {
    if let Some(text) = value.as_string() {
        return text;
    }
    if let Some(message) = Reflect::get(value, &"message".into())
        .ok()
        .and_then(|m| m.as_string())
    {
        return message;
    }
    js_sys::JSON::stringify(value)
        .ok()
        .and_then(|s| s.as_string())
        .unwrap_or_else(|| "an unknown error".to_owned())
}
