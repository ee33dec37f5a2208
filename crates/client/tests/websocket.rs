//! The client over a real WebSocket in Chromium, against real brokers that `cargo xtask
//! test` starts on loopback ports: Mosquitto (websockets listener) and `tabmq broker`
//! (`--ws-port`). Their URLs come in at build time through `TABMQ_TEST_WS_URLS`.

#![cfg(target_arch = "wasm32")]

use std::rc::Rc;
use tabmq_client::{connect_websocket, WebSocketClient, WebSocketConnectError};
use tabmq_core::{ClientEvent, ClientOptions, ProtocolVersion, QoS};
use wasm_bindgen::JsValue;
use wasm_bindgen_test::*;

mod support;

use support::{brokers, wait_for, Events};

wasm_bindgen_test_configure!(run_in_browser);

async fn client(url: &str, id: &str, protocol: ProtocolVersion) -> (WebSocketClient, Events) {
    let events: Events = Rc::default();
    let sink = events.clone();
    let options = ClientOptions {
        client_id: id.into(),
        protocol,
        ..ClientOptions::default()
    };
    let c = connect_websocket(
        url,
        options,
        Box::new(move |_, e| sink.borrow_mut().push(e)),
    )
    .await
    .unwrap_or_else(|e| panic!("{url}: {e}"));
    wait_for(&events, |e| matches!(e, ClientEvent::Connected { .. }), 1).await;
    (c, events)
}

#[wasm_bindgen_test]
async fn all_three_qos_levels_in_both_versions_against_every_broker() {
    for (name, url) in brokers() {
        for protocol in [ProtocolVersion::V311, ProtocolVersion::V5] {
            let tag = format!("{name}-{protocol:?}");
            let (sub, sub_events) = client(&url, &format!("ws-sub-{tag}"), protocol).await;
            let (publisher, pub_events) = client(&url, &format!("ws-pub-{tag}"), protocol).await;
            let topic = format!("ws/{tag}");
            sub.client
                .subscribe(&format!("{topic}/#"), QoS::ExactlyOnce)
                .unwrap();
            wait_for(
                &sub_events,
                |e| matches!(e, ClientEvent::Subscribed { .. }),
                1,
            )
            .await;
            for qos in [QoS::AtMostOnce, QoS::AtLeastOnce, QoS::ExactlyOnce] {
                let payload = format!("qos {}", qos.as_u8());
                publisher
                    .client
                    .publish(
                        &format!("{topic}/{}", qos.as_u8()),
                        payload.into_bytes(),
                        qos,
                        false,
                    )
                    .unwrap();
            }
            let got = wait_for(&sub_events, |e| matches!(e, ClientEvent::Message(_)), 3).await;
            assert_eq!(got, 3, "{tag}: three messages");
            let completed = wait_for(
                &pub_events,
                |e| matches!(e, ClientEvent::Published { .. }),
                2,
            )
            .await;
            assert_eq!(completed, 2, "{tag}: PUBACK and PUBCOMP came back");
            let mut seen: Vec<(String, QoS)> = sub_events
                .borrow()
                .iter()
                .filter_map(|e| match e {
                    ClientEvent::Message(p) => {
                        Some((String::from_utf8_lossy(&p.payload).into_owned(), p.qos))
                    }
                    _ => None,
                })
                .collect();
            seen.sort_by_key(|(_, q)| q.as_u8());
            assert_eq!(
                seen,
                [
                    ("qos 0".to_owned(), QoS::AtMostOnce),
                    ("qos 1".to_owned(), QoS::AtLeastOnce),
                    ("qos 2".to_owned(), QoS::ExactlyOnce)
                ],
                "{tag}"
            );
            sub.close();
            publisher.close();
        }
    }
}

#[wasm_bindgen_test]
async fn packets_made_in_one_turn_leave_in_one_frame() {
    for (name, url) in brokers() {
        let (c, events) = client(&url, &format!("ws-batch-{name}"), ProtocolVersion::V5).await;
        let before = c.frames_sent();
        for i in 0..50 {
            c.client
                .publish(
                    "ws/batch",
                    format!("{i}").into_bytes(),
                    QoS::AtLeastOnce,
                    false,
                )
                .unwrap();
        }
        // Nothing has left yet: the frame goes when this turn of the event loop ends...
        assert_eq!(c.frames_sent(), before, "{name}");
        // ...as one frame, in the microtask checkpoint, before any answer can arrive.
        wasm_bindgen_futures::JsFuture::from(js_sys::Promise::resolve(&JsValue::NULL))
            .await
            .unwrap();
        assert_eq!(
            c.frames_sent(),
            before + 1,
            "{name}: the first 20 (the window) in one frame"
        );
        let acked = wait_for(&events, |e| matches!(e, ClientEvent::Published { .. }), 20).await;
        assert!(
            acked >= 20,
            "{name}: the first window of 20 was acknowledged"
        );
        // The first 20 (the in-flight window) left in one frame; the rest followed acks.
        assert!(
            c.frames_sent() < before + 50,
            "{name}: {} frames for 50 packets",
            c.frames_sent() - before
        );
        c.close();
    }
}

#[wasm_bindgen_test]
async fn a_refused_url_is_a_typed_error() {
    let result = connect_websocket(
        "http://127.0.0.1:1/",
        ClientOptions::default(),
        Box::new(|_, _| {}),
    )
    .await;
    assert!(matches!(result, Err(WebSocketConnectError::InvalidUrl(_))));
    // Port 9 (discard) is not listening on loopback here.
    let result = connect_websocket(
        "ws://127.0.0.1:9/",
        ClientOptions::default(),
        Box::new(|_, _| {}),
    )
    .await;
    assert!(
        matches!(result, Err(WebSocketConnectError::Unreachable { .. })),
        "{:?}",
        result.err()
    );
}

#[wasm_bindgen_test]
async fn async_commands_complete_at_the_brokers_answer() {
    for (name, url) in brokers() {
        for protocol in [ProtocolVersion::V311, ProtocolVersion::V5] {
            let (c, _) = client(&url, &format!("ws-async-{name}-{protocol:?}"), protocol).await;
            let granted = c
                .client
                .subscribe_async("ws/async/#", QoS::AtLeastOnce)
                .await;
            assert_eq!(granted, Ok(QoS::AtLeastOnce), "{name} {protocol:?}");
            for qos in [QoS::AtLeastOnce, QoS::ExactlyOnce] {
                let done = c
                    .client
                    .publish_async("ws/async/x", b"m".to_vec(), qos, false)
                    .await;
                assert!(done.is_ok(), "{name} {protocol:?} {qos:?}: {done:?}");
            }
            assert_eq!(c.client.unsubscribe_async("ws/async/#").await, Ok(()));
            c.close();
        }
    }
}
