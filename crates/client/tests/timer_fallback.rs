//! The client's one timer lives in a tiny worker; where workers cannot start (a
//! Content-Security-Policy without `worker-src blob:`), it falls back to the page's own
//! `setTimeout`. A test binary of its own: the timer host is chosen once per page.

#![cfg(target_arch = "wasm32")]

use std::time::Duration;
use tabmq_core::{Backoff, ClientOptions, ClientSession, ConnectionPolicy, End};
use wasm_bindgen_test::*;

mod support;

use support::{start, transport_failed, wait_for};

wasm_bindgen_test_configure!(run_in_browser);

#[wasm_bindgen_test]
async fn without_workers_the_backoff_runs_on_the_pages_own_timers() {
    let no_workers = js_sys::Function::new_no_args("throw new Error('no workers here')");
    js_sys::Reflect::set(&js_sys::global(), &"Worker".into(), &no_workers)
        .expect("Worker can be replaced");
    let policy = ConnectionPolicy {
        reconnect: Some(Backoff::new(
            Duration::from_millis(20),
            Duration::from_millis(50),
        )),
        ..ConnectionPolicy::default()
    };
    // Nothing listens on port 9: every attempt fails, and each retry needs the timer.
    let (client, log) = start(
        "ws://127.0.0.1:9/",
        ClientOptions::default(),
        policy,
        ClientSession::new(),
        None,
        None,
    );
    assert!(
        wait_for(&log, transport_failed, 3).await >= 3,
        "retries went on without a worker"
    );
    client.end(End {
        force: true,
        ..End::default()
    });
}
