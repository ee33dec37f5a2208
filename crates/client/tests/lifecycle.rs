//! What happens to a client's connection when its handles go: dropped, it is cut as a
//! closed page's would be (the broker sends the will); ended first, its DISCONNECT still
//! leaves (no will). Against the broker core behind in-tab ports on this page.

#![cfg(target_arch = "wasm32")]

use tabmq_core::{
    Bytes, ClientOptions, ClientSession, ConnectionPolicy, End, LastWill, MachineEvent, Properties,
    QoS, SubscribeFilter,
};
use wasm_bindgen_test::*;

mod support;

use support::in_page_broker::in_page_broker;
use support::{connected, message, sleep, start, wait_for, Log};

wasm_bindgen_test_configure!(run_in_browser);

fn with_will(id: &str) -> ClientOptions {
    ClientOptions {
        client_id: id.into(),
        will: Some(LastWill {
            topic: format!("will/{id}"),
            payload: Bytes::from_static(b"gone"),
            qos: QoS::AtLeastOnce,
            retain: false,
            properties: Properties::default(),
        }),
        ..ClientOptions::default()
    }
}

fn wills(log: &Log) -> usize {
    log.borrow()
        .iter()
        .filter(|e| matches!(e, MachineEvent::Message(p) if p.topic.starts_with("will/")))
        .count()
}

#[wasm_bindgen_test]
async fn dropping_the_last_handle_cuts_the_connection_and_ending_first_does_not() {
    let (_host, connector) = in_page_broker();
    let (watcher, heard) = start(
        "tab://lifecycle",
        ClientOptions {
            client_id: "watcher".into(),
            ..ClientOptions::default()
        },
        ConnectionPolicy::default(),
        ClientSession::new(),
        Some(connector.clone()),
        None,
    );
    let granted = watcher
        .subscribe_async(
            vec![SubscribeFilter::new("will/#", QoS::AtLeastOnce)],
            Properties::default(),
        )
        .await;
    assert!(granted.is_ok(), "{granted:?}");

    // Dropped while connected: the broker sees the connection go, and sends the will.
    let (dropped, log) = start(
        "tab://lifecycle",
        with_will("dropped"),
        ConnectionPolicy::default(),
        ClientSession::new(),
        Some(connector.clone()),
        None,
    );
    assert_eq!(wait_for(&log, connected, 1).await, 1);
    drop(dropped);
    assert_eq!(
        wait_for(&heard, message, 1).await,
        1,
        "the will of a dropped client"
    );

    // Ended, then dropped at once: the DISCONNECT still leaves, so no will.
    let (ended, log) = start(
        "tab://lifecycle",
        with_will("ended"),
        ConnectionPolicy::default(),
        ClientSession::new(),
        Some(connector.clone()),
        None,
    );
    assert_eq!(wait_for(&log, connected, 1).await, 1);
    ended.end(End::default());
    drop(ended);
    let gone = |e: &MachineEvent| matches!(e, MachineEvent::Ended);
    assert_eq!(wait_for(&log, gone, 1).await, 1, "it ended, though dropped");
    sleep(200).await;
    assert_eq!(wills(&heard), 1, "only the dropped client's will");
    watcher.end(End::default());
}
