//! The client over a real WebSocket in Chromium, against real brokers that `cargo xtask
//! test` starts on loopback ports: Mosquitto (websockets listener) and `tabmq broker`
//! (`--ws-port`). Their URLs come in at build time through `TABMQ_TEST_WS_URLS`.

#![cfg(target_arch = "wasm32")]

use tabmq_client::{CommandError, ResilientClient, StartError};
use tabmq_core::{
    BrokerUrlError, ClientOptions, ClientSession, End, MachineEvent, Properties, ProtocolVersion,
    Publish, QoS, ReasonCode, SubscribeFilter,
};
use wasm_bindgen_test::*;

mod support;

use support::{
    brokers, connected, message, one_attempt, refusal, start, transport_failed, wait_for, Log,
};

wasm_bindgen_test_configure!(run_in_browser);

async fn client(url: &str, id: &str, protocol: ProtocolVersion) -> (ResilientClient, Log) {
    let options = ClientOptions {
        client_id: id.into(),
        protocol,
        ..ClientOptions::default()
    };
    let (c, log) = start(
        url,
        options,
        one_attempt(),
        ClientSession::new(),
        None,
        None,
    );
    assert_eq!(wait_for(&log, connected, 1).await, 1, "{url}: connected");
    (c, log)
}

fn publish(topic: String, payload: &str, qos: QoS) -> Publish {
    Publish {
        topic: topic.into(),
        payload: payload.as_bytes().to_vec().into(),
        qos,
        ..Publish::default()
    }
}

#[wasm_bindgen_test]
async fn all_three_qos_levels_in_both_versions_against_every_broker() {
    for (name, url) in brokers() {
        for protocol in [ProtocolVersion::V311, ProtocolVersion::V5] {
            let tag = format!("{name}-{protocol:?}");
            let (sub, sub_log) = client(&url, &format!("ws-sub-{tag}"), protocol).await;
            let (publisher, _) = client(&url, &format!("ws-pub-{tag}"), protocol).await;
            let topic = format!("ws/{tag}");
            let granted = sub
                .subscribe_async(
                    vec![SubscribeFilter::new(format!("{topic}/#"), QoS::ExactlyOnce)],
                    Properties::default(),
                )
                .await;
            assert_eq!(granted, Ok(vec![ReasonCode(2)]), "{tag}: granted QoS 2");
            for qos in [QoS::AtMostOnce, QoS::AtLeastOnce, QoS::ExactlyOnce] {
                let payload = format!("qos {}", qos.as_u8());
                let done = publisher
                    .publish_async(publish(format!("{topic}/{}", qos.as_u8()), &payload, qos))
                    .await;
                // QoS 0 completes once written, QoS 1 at PUBACK, QoS 2 at PUBCOMP.
                assert!(done.is_ok(), "{tag} {qos:?}: {done:?}");
            }
            assert_eq!(
                wait_for(&sub_log, message, 3).await,
                3,
                "{tag}: three messages"
            );
            let mut seen: Vec<(String, QoS)> = sub_log
                .borrow()
                .iter()
                .filter_map(|e| match e {
                    MachineEvent::Message(p) => {
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
            assert_eq!(
                sub.unsubscribe_async(vec![format!("{topic}/#")], Properties::default())
                    .await,
                Ok(()),
                "{tag}: UNSUBACK"
            );
            sub.end(End::default());
            publisher.end(End::default());
        }
    }
}

#[wasm_bindgen_test]
async fn a_refused_url_is_a_typed_error_and_an_unreachable_broker_an_event() {
    assert!(matches!(
        refusal("http://127.0.0.1:1/"),
        Some(StartError::Url(BrokerUrlError::UnsupportedScheme(_)))
    ));
    assert!(matches!(
        refusal("tab://lab?shraed"),
        Some(StartError::Url(BrokerUrlError::UnknownParameter { .. }))
    ));
    // As MQTT.js does in a browser, mqtt:// is WebSocket to the same host and port.
    assert!(refusal("mqtt://127.0.0.1:9/").is_none());
    // Port 9 (discard) is not listening on loopback here: the attempt fails, and a
    // command waiting for the connection is lost, not left hanging.
    let (c, log) = start(
        "ws://127.0.0.1:9/",
        ClientOptions::default(),
        one_attempt(),
        ClientSession::new(),
        None,
        None,
    );
    assert_eq!(
        wait_for(&log, transport_failed, 1).await,
        1,
        "the attempt failed"
    );
    let subscribed = c
        .subscribe_async(
            vec![SubscribeFilter::new("x", QoS::AtMostOnce)],
            Properties::default(),
        )
        .await;
    assert!(
        matches!(
            subscribed,
            Err(CommandError::Refused(_)) | Err(CommandError::Lost(_))
        ),
        "{subscribed:?}"
    );
}
