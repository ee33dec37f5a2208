//! Reading and writing plain JavaScript objects' properties. One out-of-line copy of each,
//! which every conversion calls: inlined at each of the ~150 call sites, the string keys'
//! glue cost the client wasm several KB.

use js_sys::{Object, Reflect};
use wasm_bindgen::JsValue;

/// Sets `key` on a fresh object; that cannot fail.
#[inline]
pub fn set(o: &Object, key: &str, value: impl Into<JsValue>) {
    set_value(o, key, value.into());
}

#[inline(never)]
fn set_value(o: &Object, key: &str, value: JsValue) {
    let _ = Reflect::set(o, &JsValue::from_str(key), &value);
}

/// `o[key]`, or `None` when `o` is not an object or the value is `undefined` or `null`.
#[inline(never)]
pub fn get(o: &JsValue, key: &str) -> Option<JsValue> {
    if !o.is_object() {
        return None;
    }
    Reflect::get(o, &JsValue::from_str(key))
        .ok()
        .filter(|v| !v.is_undefined() && !v.is_null())
}
