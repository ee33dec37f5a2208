//! Waiting in async code: a sleep on the window's timer, and a bounded wait for a
//! condition.

use wasm_bindgen_futures::JsFuture;

/// Resolves after `ms`.
pub async fn sleep(ms: i32) {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        if let Some(w) = web_sys::window() {
            let _ = w.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms);
        }
    });
    let _ = JsFuture::from(promise).await;
}

/// Waits (up to `ms`, polling every 50 ms) until `ready` holds; whether it did.
pub async fn until(ms: i32, ready: impl Fn() -> bool) -> bool {
    for _ in 0..ms / 50 {
        if ready() {
            return true;
        }
        sleep(50).await;
    }
    ready()
}
