//! The client over real MessageChannels in Chromium, against the broker core hosted on
//! the channels' other ports the way the in-tab broker's worker hosts it: a connector port
//! that takes `{type: "connect"}` with a port per connection.

#![cfg(target_arch = "wasm32")]

use tabmq_core::{
    ClientOptions, ClientSession, ConnectionPolicy, End, MachineEvent, Properties, Publish, QoS,
    ReasonCode, SubscribeFilter,
};
use wasm_bindgen_test::*;

mod support;

use support::in_page_broker::in_page_broker;
use support::{connected, message, start, wait_for};

wasm_bindgen_test_configure!(run_in_browser);

fn options(id: &str) -> ClientOptions {
    ClientOptions {
        client_id: id.into(),
        ..ClientOptions::default()
    }
}

#[wasm_bindgen_test]
async fn publish_and_subscribe_over_a_message_port() {
    let (_host, connector) = in_page_broker();
    let (client, log) = start(
        "tab://wasm-test",
        options("wasm-test"),
        ConnectionPolicy::default(),
        ClientSession::new(),
        Some(connector),
        None,
    );
    // Given before the port exists: both wait for the connection.
    let granted = client.subscribe_async(
        vec![SubscribeFilter::new("sensor/#", QoS::AtLeastOnce)],
        Properties::default(),
    );
    let published = client.publish_async(Publish {
        topic: "sensor/temperature".into(),
        payload: b"22.5".to_vec().into(),
        qos: QoS::AtLeastOnce,
        ..Publish::default()
    });
    assert_eq!(granted.await, Ok(vec![ReasonCode(1)]));
    assert_eq!(published.await, Ok(ReasonCode(0)));
    assert_eq!(wait_for(&log, message, 1).await, 1, "one message, once");
    let got: Vec<_> = log
        .borrow()
        .iter()
        .filter_map(|e| match e {
            MachineEvent::Message(p) => Some((p.topic.clone(), p.payload.to_vec(), p.qos)),
            _ => None,
        })
        .collect();
    assert_eq!(
        got,
        [(
            "sensor/temperature".into(),
            b"22.5".to_vec(),
            QoS::AtLeastOnce
        )]
    );
    client.end(End::default());
}

#[wasm_bindgen_test]
async fn packets_made_in_one_turn_leave_in_one_post_message() {
    let (host, connector) = in_page_broker();
    let (client, log) = start(
        "tab://batch",
        options("batch"),
        ConnectionPolicy::default(),
        ClientSession::new(),
        Some(connector),
        None,
    );
    assert_eq!(wait_for(&log, connected, 1).await, 1);
    let before = host.received.get();
    for i in 0..30 {
        client
            .publish(Publish {
                topic: "batch".into(),
                payload: format!("{i}").into_bytes().into(),
                ..Publish::default()
            })
            .unwrap();
    }
    // Let the port deliver whatever was posted.
    support::sleep(50).await;
    assert_eq!(
        host.received.get() - before,
        1,
        "30 packets of one turn, one postMessage"
    );
    client.end(End::default());
}
