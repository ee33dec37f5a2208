//! Reconnecting over WebSocket in Chromium, against Mosquitto and `tabmq broker` (their
//! URLs come from `TABMQ_TEST_WS_URLS`, set by `cargo xtask test`): the web-sys shell of
//! the core's ClientMachine. The connection is cut by a session takeover: another
//! connection with the same client id.

#![cfg(target_arch = "wasm32")]

use std::time::Duration;
use tabmq_client::ResilientClient;
use tabmq_core::{
    Backoff, ClientOptions, ClientSession, ConnectionPolicy, End, MachineEvent, Packet, Properties,
    Publish, QoS, SubscribeFilter,
};
use wasm_bindgen_test::*;

mod support;

use support::{brokers, connected, count, message, sleep, start, wait_for, Log};

wasm_bindgen_test_configure!(run_in_browser);

fn resilient(url: &str, id: &str, clean_session: bool) -> (ResilientClient, Log) {
    let options = ClientOptions {
        client_id: id.into(),
        clean_session,
        // SUBSCRIBEs are counted from the packets sent.
        trace_packets: true,
        ..ClientOptions::default()
    };
    let policy = ConnectionPolicy {
        reconnect: Some(Backoff::new(
            Duration::from_millis(50),
            Duration::from_millis(500),
        )),
        ..ConnectionPolicy::default()
    };
    start(url, options, policy, ClientSession::new(), None, None)
}

/// Takes the session over with another connection, then leaves cleanly.
async fn cut(url: &str, id: &str, clean_session: bool) {
    let options = ClientOptions {
        client_id: id.into(),
        clean_session,
        ..ClientOptions::default()
    };
    let policy = ConnectionPolicy {
        reconnect: None,
        ..ConnectionPolicy::default()
    };
    let (k, log) = start(url, options, policy, ClientSession::new(), None, None);
    wait_for(&log, connected, 1).await;
    k.end(End::default());
}

fn subscribe_sent(e: &MachineEvent) -> bool {
    matches!(e, MachineEvent::PacketSent(Packet::Subscribe(_)))
}

fn publish(topic: String, payload: &[u8]) -> Publish {
    Publish {
        topic: topic.into(),
        qos: QoS::AtLeastOnce,
        payload: payload.to_vec().into(),
        ..Publish::default()
    }
}

#[wasm_bindgen_test]
async fn with_the_session_kept_it_reconnects_without_resubscribing_and_without_duplicates() {
    for (name, url) in brokers() {
        let id = format!("rc-keep-{name}");
        let (s, log) = resilient(&url, &id, false);
        // Asked for before the connection exists: sent once it does.
        let suback = s.subscribe_async(
            vec![SubscribeFilter::new(format!("rc/{name}"), QoS::AtLeastOnce)],
            Properties::default(),
        );
        assert_eq!(suback.await.map(|c| c.len()), Ok(1), "{name}");
        let (p, _) = resilient(&url, &format!("rc-pub-{name}"), true);
        cut(&url, &id, false).await;
        let puback = p.publish_async(publish(format!("rc/{name}"), b"while away"));
        assert!(puback.await.is_ok(), "{name}");
        assert!(
            wait_for(&log, connected, 2).await >= 2,
            "{name}: it came back"
        );
        wait_for(&log, message, 1).await;
        sleep(300).await;
        let payloads: Vec<String> = log
            .borrow()
            .iter()
            .filter_map(|e| match e {
                MachineEvent::Message(m) => Some(String::from_utf8_lossy(&m.payload).into_owned()),
                _ => None,
            })
            .collect();
        assert_eq!(payloads, ["while away"], "{name}: once");
        assert_eq!(
            count(&log, subscribe_sent),
            1,
            "{name}: the kept session needed no SUBSCRIBE"
        );
        s.end(End::default());
        p.end(End::default());
    }
}

#[wasm_bindgen_test]
async fn without_the_session_it_resubscribes_once() {
    for (name, url) in brokers() {
        let id = format!("rc-lost-{name}");
        let (s, log) = resilient(&url, &id, true);
        assert_eq!(wait_for(&log, connected, 1).await, 1, "{name}");
        let suback = s.subscribe_async(
            vec![SubscribeFilter::new(
                format!("rc2/{name}"),
                QoS::AtLeastOnce,
            )],
            Properties::default(),
        );
        assert!(suback.await.is_ok(), "{name}");
        cut(&url, &id, true).await;
        assert_eq!(
            wait_for(&log, subscribe_sent, 2).await,
            2,
            "{name}: subscribed again"
        );
        sleep(100).await;
        let (p, _) = resilient(&url, &format!("rc2-pub-{name}"), true);
        // The publisher may not be connected yet: its message waits until it is.
        let _ = p.publish(publish(format!("rc2/{name}"), b"after"));
        assert_eq!(wait_for(&log, message, 1).await, 1, "{name}");
        sleep(300).await;
        assert_eq!(count(&log, message), 1, "{name}: once");
        assert_eq!(count(&log, subscribe_sent), 2, "{name}");
        s.end(End::default());
        p.end(End::default());
    }
}
