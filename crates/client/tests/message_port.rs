//! The client over a real MessageChannel in Chromium, against the broker core hosted on
//! the channel's other port, the way the worker hosts it.

#![cfg(target_arch = "wasm32")]

use std::cell::RefCell;
use std::rc::Rc;
use tabmq_broker::{Broker, BrokerConfig};
use tabmq_client::for_worker::{bytes_of_message, to_array_buffer};
use tabmq_client::{connect_port, now};
use tabmq_core::{ClientEvent, ClientOptions, QoS};
use wasm_bindgen::prelude::*;
use wasm_bindgen_test::*;
use web_sys::{MessageChannel, MessageEvent, MessagePort};

mod support;

use support::sleep;

wasm_bindgen_test_configure!(run_in_browser);

/// The broker side of a port, as the worker runs it.
fn host_broker(port: MessagePort, broker: Rc<RefCell<Broker>>) -> Closure<dyn FnMut(MessageEvent)> {
    let conn = broker.borrow_mut().accept(now());
    let reply = port.clone();
    let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
        let Some(bytes) = bytes_of_message(&event.data()) else {
            return;
        };
        let mut broker = broker.borrow_mut();
        broker.handle_bytes(conn, &bytes, now());
        while let Some((_, out)) = broker.poll_transmit() {
            let buffer = to_array_buffer(&out);
            reply
                .post_message_with_transferable(&buffer, &js_sys::Array::of1(&buffer))
                .unwrap();
        }
    });
    port.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    on_message
}

#[wasm_bindgen_test]
async fn publish_and_subscribe_over_a_message_port() {
    let broker = Rc::new(RefCell::new(Broker::new(BrokerConfig::default())));
    let channel = MessageChannel::new().unwrap();
    let _host = host_broker(channel.port2(), broker.clone());
    let received = Rc::new(RefCell::new(Vec::new()));
    let sink = received.clone();
    let client = connect_port(
        channel.port1(),
        ClientOptions {
            client_id: "wasm-test".into(),
            ..ClientOptions::default()
        },
        Box::new(move |client, event| match event {
            ClientEvent::Connected { .. } => {
                client.subscribe("sensor/#", QoS::AtMostOnce).unwrap();
            }
            ClientEvent::Subscribed { .. } => {
                client
                    .publish(
                        "sensor/temperature",
                        b"22.5".to_vec(),
                        QoS::AtMostOnce,
                        false,
                    )
                    .unwrap();
            }
            ClientEvent::Message(p) => sink.borrow_mut().push((p.topic, p.payload, p.qos)),
            _ => {}
        }),
    )
    .unwrap();
    for _ in 0..100 {
        if !received.borrow().is_empty() {
            break;
        }
        sleep(20).await;
    }
    let got = received.borrow().clone();
    assert_eq!(got.len(), 1, "one message, once");
    assert_eq!(got[0].0, "sensor/temperature");
    assert_eq!(&got[0].1[..], b"22.5");
    assert_eq!(got[0].2, QoS::AtMostOnce);
    client.close();
}

#[wasm_bindgen_test]
async fn packets_made_in_one_turn_leave_in_one_post_message() {
    let broker = Rc::new(RefCell::new(Broker::new(BrokerConfig::default())));
    let channel = MessageChannel::new().unwrap();
    let _host = host_broker(channel.port2(), broker.clone());
    let connected = Rc::new(RefCell::new(false));
    let flag = connected.clone();
    let client = connect_port(
        channel.port1(),
        ClientOptions {
            client_id: "batch".into(),
            ..ClientOptions::default()
        },
        Box::new(move |_, event| {
            if matches!(event, ClientEvent::Connected { .. }) {
                *flag.borrow_mut() = true;
            }
        }),
    )
    .unwrap();
    for _ in 0..100 {
        if *connected.borrow() {
            break;
        }
        sleep(10).await;
    }
    assert!(*connected.borrow());
    let before = client.messages_posted();
    for i in 0..30 {
        client
            .client
            .publish("batch", format!("{i}").into_bytes(), QoS::AtMostOnce, false)
            .unwrap();
    }
    assert_eq!(
        client.messages_posted(),
        before,
        "nothing leaves during the turn"
    );
    wasm_bindgen_futures::JsFuture::from(js_sys::Promise::resolve(&JsValue::NULL))
        .await
        .unwrap();
    assert_eq!(
        client.messages_posted(),
        before + 1,
        "30 packets, one postMessage"
    );
    client.close();
}
