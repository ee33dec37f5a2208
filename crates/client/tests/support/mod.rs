// Shared by the wasm test binaries; each uses only part of it.
#![allow(dead_code)]

//! What the client's browser tests share: a timer, the brokers `cargo xtask test` starts,
//! a client that records its events, and bounded waits on them.

pub mod in_page_broker;

use std::cell::RefCell;
use std::rc::Rc;
use tabmq_client::{ResilientClient, SessionStore, StartError};
use tabmq_core::{ClientOptions, ClientSession, ConnectionPolicy, MachineEvent};
use web_sys::MessagePort;

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

/// A client's events, recorded.
pub type Log = Rc<RefCell<Vec<MachineEvent>>>;

/// A client for `url` that records its events.
pub fn start(
    url: &str,
    options: ClientOptions,
    policy: ConnectionPolicy,
    session: ClientSession,
    connector: Option<MessagePort>,
    store: Option<Rc<dyn SessionStore>>,
) -> (ResilientClient, Log) {
    let log = Log::default();
    let sink = log.clone();
    let client = ResilientClient::start(
        url,
        options,
        policy,
        session,
        connector,
        store,
        Box::new(move |e| sink.borrow_mut().push(e.clone())),
    )
    .unwrap_or_else(|e| panic!("{url}: {e}"));
    (client, log)
}

/// Why a client for `url` (with default options) is refused at once, if it is.
pub fn refusal(url: &str) -> Option<StartError> {
    ResilientClient::start(
        url,
        ClientOptions::default(),
        ConnectionPolicy::default(),
        ClientSession::new(),
        None,
        None,
        Box::new(|_| {}),
    )
    .err()
}

/// One attempt, no reconnects.
pub fn one_attempt() -> ConnectionPolicy {
    ConnectionPolicy {
        reconnect: None,
        ..ConnectionPolicy::default()
    }
}

pub fn count(log: &Log, f: impl Fn(&MachineEvent) -> bool) -> usize {
    log.borrow().iter().filter(|e| f(e)).count()
}

/// Waits (at most 5 s) until `n` events match; returns how many do.
pub async fn wait_for(log: &Log, f: impl Fn(&MachineEvent) -> bool + Copy, n: usize) -> usize {
    for _ in 0..200 {
        if count(log, f) >= n {
            break;
        }
        sleep(25).await;
    }
    count(log, f)
}

pub fn connected(e: &MachineEvent) -> bool {
    matches!(e, MachineEvent::Connected { .. })
}

pub fn message(e: &MachineEvent) -> bool {
    matches!(e, MachineEvent::Message(_))
}

pub fn transport_failed(e: &MachineEvent) -> bool {
    matches!(e, MachineEvent::TransportFailed)
}
