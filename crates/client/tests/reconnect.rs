//! Reconnecting over WebSocket in Chromium, against Mosquitto and `tabmq broker` (their
//! URLs come from `TABMQ_TEST_WS_URLS`, set by `cargo xtask test`). The connection is cut
//! by a session takeover: another connection with the same client id.

#![cfg(target_arch = "wasm32")]

use std::time::Duration;
use tabmq_client::{connect_websocket, ResilientClient};
use tabmq_core::{Backoff, ClientEvent, ClientOptions, ClientSession, QoS};
use wasm_bindgen_test::*;

mod support;

use support::{brokers, count, sleep, wait_for, Events};

wasm_bindgen_test_configure!(run_in_browser);

fn resilient(url: &str, id: &str, clean_session: bool) -> (ResilientClient, Events) {
    let events: Events = Events::default();
    let sink = events.clone();
    let options = ClientOptions {
        client_id: id.into(),
        clean_session,
        ..ClientOptions::default()
    };
    let backoff = Backoff::new(Duration::from_millis(50), Duration::from_millis(500));
    let c = ResilientClient::connect(
        url,
        options,
        ClientSession::new(),
        backoff,
        Box::new(move |_, e| sink.borrow_mut().push(e)),
    )
    .unwrap();
    (c, events)
}

/// Takes the session over with another connection, then leaves cleanly.
async fn cut(url: &str, id: &str, clean_session: bool) {
    let options = ClientOptions {
        client_id: id.into(),
        clean_session,
        ..ClientOptions::default()
    };
    let k = connect_websocket(url, options, Box::new(|_, _| {}))
        .await
        .unwrap();
    sleep(50).await;
    k.close();
}

fn connected(e: &ClientEvent) -> bool {
    matches!(e, ClientEvent::Connected { .. })
}
fn subscribed(e: &ClientEvent) -> bool {
    matches!(e, ClientEvent::Subscribed { .. })
}
fn message(e: &ClientEvent) -> bool {
    matches!(e, ClientEvent::Message(_))
}

#[wasm_bindgen_test]
async fn with_the_session_kept_it_reconnects_without_resubscribing_and_without_duplicates() {
    for (name, url) in brokers() {
        let id = format!("rc-keep-{name}");
        let (s, events) = resilient(&url, &id, false);
        // Asked for before the connection exists: sent once it does.
        assert_eq!(
            s.subscribe(&format!("rc/{name}"), QoS::AtLeastOnce),
            Ok(None)
        );
        assert_eq!(wait_for(&events, subscribed, 1).await, 1, "{name}");
        let (p, _) = resilient(&url, &format!("rc-pub-{name}"), true);
        assert_eq!(wait_for(&events, connected, 1).await, 1);
        cut(&url, &id, false).await;
        p.client
            .publish(
                &format!("rc/{name}"),
                b"while away".to_vec(),
                QoS::AtLeastOnce,
                false,
            )
            .unwrap();
        assert!(
            wait_for(&events, connected, 2).await >= 2,
            "{name}: it came back"
        );
        wait_for(&events, message, 1).await;
        sleep(300).await;
        let payloads: Vec<String> = events
            .borrow()
            .iter()
            .filter_map(|e| match e {
                ClientEvent::Message(m) => Some(String::from_utf8_lossy(&m.payload).into_owned()),
                _ => None,
            })
            .collect();
        assert_eq!(payloads, ["while away"], "{name}: once");
        assert_eq!(
            count(&events, subscribed),
            1,
            "{name}: the kept session needed no SUBSCRIBE"
        );
        s.close();
        p.close();
    }
}

#[wasm_bindgen_test]
async fn without_the_session_it_resubscribes_once() {
    for (name, url) in brokers() {
        let id = format!("rc-lost-{name}");
        let (s, events) = resilient(&url, &id, true);
        assert_eq!(wait_for(&events, connected, 1).await, 1, "{name}");
        assert!(s
            .subscribe(&format!("rc2/{name}"), QoS::AtLeastOnce)
            .unwrap()
            .is_some());
        assert_eq!(wait_for(&events, subscribed, 1).await, 1);
        cut(&url, &id, true).await;
        assert_eq!(
            wait_for(&events, subscribed, 2).await,
            2,
            "{name}: subscribed again"
        );
        let (p, _) = resilient(&url, &format!("rc2-pub-{name}"), true);
        p.client
            .publish(
                &format!("rc2/{name}"),
                b"after".to_vec(),
                QoS::AtLeastOnce,
                false,
            )
            .ok();
        // The publisher may not be connected yet: its message is queued until it is.
        assert_eq!(wait_for(&events, message, 1).await, 1, "{name}");
        sleep(300).await;
        assert_eq!(count(&events, message), 1, "{name}: once");
        assert_eq!(count(&events, subscribed), 2, "{name}");
        s.close();
        p.close();
    }
}
