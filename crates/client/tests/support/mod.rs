// Shared by the wasm test binaries; each uses only part of it.
#![allow(dead_code)]

//! What the client's browser tests share: a timer, the brokers `cargo xtask test` starts,
//! and bounded waits on recorded events.

use std::cell::RefCell;
use std::rc::Rc;
use tabmq_core::ClientEvent;

/// Waits `millis` on the page's timer.
pub async fn sleep(millis: i32) {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        web_sys::window()
            .unwrap()
            .set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, millis)
            .unwrap();
    });
    wasm_bindgen_futures::JsFuture::from(promise).await.unwrap();
}

/// The real brokers to test against, as `(name, ws:// URL)`, from `TABMQ_TEST_WS_URLS`
/// (`mosquitto=ws://...,tabmq=ws://...`), which `cargo xtask test` sets at build time.
pub fn brokers() -> Vec<(String, String)> {
    let Some(urls) = option_env!("TABMQ_TEST_WS_URLS") else {
        panic!("TABMQ_TEST_WS_URLS names the brokers to test against; `cargo xtask test` sets it");
    };
    urls.split(',')
        .filter_map(|pair| pair.split_once('='))
        .map(|(n, u)| (n.to_owned(), u.to_owned()))
        .collect()
}

/// A listener's events, recorded.
pub type Events = Rc<RefCell<Vec<ClientEvent>>>;

pub fn count(events: &Events, f: impl Fn(&ClientEvent) -> bool) -> usize {
    events.borrow().iter().filter(|e| f(e)).count()
}

/// Waits (at most 5 s) until `n` events match; returns how many do.
pub async fn wait_for(events: &Events, f: impl Fn(&ClientEvent) -> bool + Copy, n: usize) -> usize {
    for _ in 0..250 {
        if count(events, f) >= n {
            break;
        }
        sleep(20).await;
    }
    count(events, f)
}
