//! Waiting in async code: a sleep on the window's timer, and a bounded wait for a
//! condition.

use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

/// Runs `f` at the next animation frame (at once if the page has no frames to give), so
/// work that arrives many times a frame is drawn once.
pub fn next_frame(f: impl FnOnce() + 'static) {
    let f = std::rc::Rc::new(std::cell::Cell::new(Some(f)));
    let later = f.clone();
    let callback = Closure::once_into_js(move || {
        if let Some(f) = later.take() {
            f();
        }
    });
    let requested = web_sys::window()
        .map(|w| w.request_animation_frame(callback.unchecked_ref()))
        .is_some_and(|r| r.is_ok());
    if !requested {
        if let Some(f) = f.take() {
            f();
        }
    }
}

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
