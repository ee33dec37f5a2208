//! The broker core driven by real client engines over a simulated network.

mod harness;

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;
#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

use harness::Sim;
use tabmq_core::*;

#[test]
fn qos0_reaches_matching_subscribers_only() {
    let mut sim = Sim::new();
    let exact = sim.connect(Sim::client("exact"));
    let plus = sim.connect(Sim::client("plus"));
    let hash = sim.connect(Sim::client("hash"));
    let other = sim.connect(Sim::client("other"));
    let publisher = sim.connect(Sim::client("pub"));
    sim.subscribe(exact, "sensor/temperature", QoS::AtMostOnce);
    sim.subscribe(plus, "sensor/+", QoS::AtMostOnce);
    sim.subscribe(hash, "#", QoS::AtMostOnce);
    sim.subscribe(other, "sensor/humidity", QoS::AtMostOnce);
    sim.publish(
        publisher,
        "sensor/temperature",
        "22.5",
        QoS::AtMostOnce,
        false,
    );
    for c in [exact, plus, hash] {
        assert_eq!(sim.clients[c].payloads(), ["22.5"]);
        let m = sim.clients[c].messages()[0];
        assert_eq!(m.topic, "sensor/temperature");
        assert_eq!(m.qos, QoS::AtMostOnce);
    }
    assert!(sim.clients[other].messages().is_empty());
}

#[test]
fn every_client_is_connected_first() {
    let mut sim = Sim::new();
    let c = sim.connect(Sim::client("a"));
    assert_eq!(
        sim.clients[c].events[0],
        ClientEvent::Connected {
            session_present: false
        }
    );
    assert_eq!(sim.broker.connection_count(), 1);
}

#[test]
fn bytes_arriving_one_at_a_time_still_route() {
    let mut sim = Sim::new();
    let sub = sim.connect(Sim::client("sub"));
    sim.subscribe(sub, "a/#", QoS::AtMostOnce);
    let conn = sim.broker.accept(sim.now);
    let mut bytes = BytesMut::new();
    let connect = Packet::Connect(Connect {
        client_id: "slow".into(),
        clean_start: true,
        ..Connect::default()
    });
    let publish = Packet::Publish(Publish {
        topic: "a/b".into(),
        payload: Bytes::from_static(b"x"),
        ..Publish::default()
    });
    encode(&connect, ProtocolVersion::V311, &mut bytes).unwrap();
    encode(&publish, ProtocolVersion::V311, &mut bytes).unwrap();
    for byte in bytes.iter() {
        sim.broker.handle_bytes(conn, &[*byte], sim.now);
    }
    sim.run();
    assert_eq!(sim.clients[sub].payloads(), ["x"]);
}

#[test]
fn effective_qos_is_the_lower_of_publish_and_subscription() {
    let mut sim = Sim::new();
    let sub0 = sim.connect(Sim::client("sub0"));
    let sub2 = sim.connect(Sim::client("sub2"));
    let publisher = sim.connect(Sim::client("pub"));
    sim.subscribe(sub0, "t", QoS::AtMostOnce);
    sim.subscribe(sub2, "t", QoS::ExactlyOnce);
    sim.publish(publisher, "t", "one", QoS::AtLeastOnce, false);
    assert_eq!(sim.clients[sub0].messages()[0].qos, QoS::AtMostOnce);
    assert_eq!(sim.clients[sub2].messages()[0].qos, QoS::AtLeastOnce);
}

#[test]
fn qos1_and_qos2_flows_complete_and_deliver_once() {
    let mut sim = Sim::new();
    let sub = sim.connect(Sim::client("sub"));
    let publisher = sim.connect(Sim::client("pub"));
    sim.subscribe(sub, "t", QoS::ExactlyOnce);
    sim.publish(publisher, "t", "q1", QoS::AtLeastOnce, false);
    sim.publish(publisher, "t", "q2", QoS::ExactlyOnce, false);
    assert_eq!(sim.clients[sub].payloads(), ["q1", "q2"]);
    let completed = sim.clients[publisher]
        .events
        .iter()
        .filter(|e| matches!(e, ClientEvent::Published { .. }))
        .count();
    assert_eq!(completed, 2);
    assert_eq!(sim.clients[publisher].engine.in_flight(), 0);
    assert_eq!(sim.clients[sub].engine.in_flight(), 0);
}

#[test]
fn retained_message_is_delivered_on_subscribe_and_cleared_by_empty_payload() {
    let mut sim = Sim::new();
    let publisher = sim.connect(Sim::client("pub"));
    sim.publish(publisher, "status/door", "open", QoS::AtLeastOnce, true);
    assert_eq!(sim.broker.retained_count(), 1);
    let late = sim.connect(Sim::client("late"));
    sim.subscribe(late, "status/#", QoS::AtLeastOnce);
    let m = sim.clients[late].messages()[0];
    assert!(m.retain, "[MQTT-3.3.1-6] retained copies carry retain 1");
    assert_eq!(&m.payload[..], b"open");
    sim.publish(publisher, "status/door", "", QoS::AtMostOnce, true);
    assert_eq!(sim.broker.retained_count(), 0);
    let later = sim.connect(Sim::client("later"));
    sim.subscribe(later, "status/#", QoS::AtLeastOnce);
    assert!(sim.clients[later].messages().is_empty());
}

#[test]
fn live_messages_to_existing_subscribers_have_retain_0_mqtt_3_3_1_9() {
    let mut sim = Sim::new();
    let sub = sim.connect(Sim::client("sub"));
    let publisher = sim.connect(Sim::client("pub"));
    sim.subscribe(sub, "t", QoS::AtMostOnce);
    sim.publish(publisher, "t", "v", QoS::AtMostOnce, true);
    assert!(!sim.clients[sub].messages()[0].retain);
}

fn with_will(id: &str) -> ClientOptions {
    ClientOptions {
        will: Some(LastWill {
            topic: "clients/gone".into(),
            payload: Bytes::from(id.to_owned()),
            qos: QoS::AtLeastOnce,
            retain: false,
            properties: Properties::default(),
        }),
        ..Sim::client(id)
    }
}

#[test]
fn will_is_published_on_abnormal_disconnect_only() {
    let mut sim = Sim::new();
    let watcher = sim.connect(Sim::client("watcher"));
    sim.subscribe(watcher, "clients/gone", QoS::AtLeastOnce);
    let polite = sim.connect(with_will("polite"));
    let crashed = sim.connect(with_will("crashed"));
    let now = sim.now;
    sim.clients[polite].engine.disconnect(now);
    sim.run();
    sim.cut(crashed);
    assert_eq!(sim.clients[watcher].payloads(), ["crashed"]);
}

#[test]
fn keepalive_timeout_after_one_and_a_half_periods_sends_the_will() {
    let mut sim = Sim::new();
    let watcher = sim.connect(ClientOptions {
        keep_alive: 0,
        ..Sim::client("watcher")
    });
    sim.subscribe(watcher, "clients/gone", QoS::AtMostOnce);
    let silent = sim.connect(ClientOptions {
        keep_alive: 10,
        ..with_will("silent")
    });
    // The client goes silent: it stops driving its engine.
    sim.clients[silent].closed = true;
    sim.advance(14_000);
    assert!(sim.clients[watcher].messages().is_empty());
    sim.advance(1_001);
    assert_eq!(sim.clients[watcher].payloads(), ["silent"]);
}

#[test]
fn a_live_client_pings_and_stays_connected() {
    let mut sim = Sim::new();
    let c = sim.connect(ClientOptions {
        keep_alive: 5,
        ..Sim::client("pinger")
    });
    for _ in 0..10 {
        sim.advance(5_000);
    }
    assert!(!sim.clients[c].closed);
    assert_eq!(sim.broker.connection_count(), 1);
}

#[test]
fn persistent_session_queues_qos1_while_offline() {
    let mut sim = Sim::new();
    let persistent = ClientOptions {
        clean_session: false,
        ..Sim::client("offline-sub")
    };
    let sub = sim.connect(persistent.clone());
    sim.subscribe(sub, "orders/#", QoS::AtLeastOnce);
    sim.cut(sub);
    let publisher = sim.connect(Sim::client("pub"));
    sim.publish(publisher, "orders/1", "first", QoS::AtLeastOnce, false);
    sim.publish(
        publisher,
        "orders/2",
        "qos0 is not queued",
        QoS::AtMostOnce,
        false,
    );
    sim.publish(publisher, "orders/3", "third", QoS::ExactlyOnce, false);
    let back = sim.connect(persistent);
    assert_eq!(
        sim.clients[back].events[0],
        ClientEvent::Connected {
            session_present: true
        }
    );
    assert_eq!(sim.clients[back].payloads(), ["first", "third"]);
}

#[test]
fn clean_session_forgets_subscriptions() {
    let mut sim = Sim::new();
    let sub = sim.connect(Sim::client("forgetful"));
    sim.subscribe(sub, "t", QoS::AtLeastOnce);
    sim.cut(sub);
    let publisher = sim.connect(Sim::client("pub"));
    sim.publish(publisher, "t", "lost", QoS::AtLeastOnce, false);
    let back = sim.connect(Sim::client("forgetful"));
    assert_eq!(
        sim.clients[back].events[0],
        ClientEvent::Connected {
            session_present: false
        }
    );
    assert!(sim.clients[back].messages().is_empty());
}

#[test]
fn dollar_topics_are_not_matched_by_hash_mqtt_4_7_2_1() {
    let mut sim = Sim::new();
    let sub = sim.connect(Sim::client("sub"));
    sim.subscribe(sub, "#", QoS::AtMostOnce);
    let publisher = sim.connect(Sim::client("pub"));
    sim.publish(publisher, "$SYS/x", "hidden", QoS::AtMostOnce, false);
    assert!(sim.clients[sub].messages().is_empty());
}

#[test]
fn a_packet_before_connect_closes_the_connection_mqtt_3_1_0_1() {
    let mut sim = Sim::new();
    let conn = sim.broker.accept(sim.now);
    sim.broker.handle_bytes(conn, &[0xc0, 0x00], sim.now);
    assert_eq!(sim.broker.poll_close(), Some(conn));
    assert_eq!(sim.broker.connection_count(), 0);
}

#[test]
fn malformed_bytes_close_the_connection() {
    let mut sim = Sim::new();
    let c = sim.connect(Sim::client("bad"));
    let conn = sim.clients[c].conn;
    sim.broker
        .handle_bytes(conn, &[0x36, 0x03, 0x00, 0x01, b't'], sim.now);
    assert_eq!(sim.broker.poll_close(), Some(conn));
}

#[test]
fn a_second_connection_with_the_same_id_takes_over_mqtt_3_1_4_2() {
    let mut sim = Sim::new();
    let first = sim.connect(Sim::client("dup-id"));
    let second = sim.connect(Sim::client("dup-id"));
    assert!(sim.clients[first].closed);
    assert!(!sim.clients[second].closed);
    assert_eq!(sim.broker.connection_count(), 1);
}

#[test]
fn empty_client_id_needs_clean_session_mqtt_3_1_3_8() {
    let mut sim = Sim::new();
    let refused = sim.connect(ClientOptions {
        clean_session: false,
        ..Sim::client("")
    });
    assert_eq!(
        sim.clients[refused].events[0],
        ClientEvent::Closed(CloseReason::Refused(
            ConnectReturnCode::IdentifierRejected.into()
        ))
    );
    let assigned = sim.connect(Sim::client(""));
    assert!(matches!(
        sim.clients[assigned].events[0],
        ClientEvent::Connected { .. }
    ));
}

#[test]
fn no_duplicates_after_resubscribe_on_reconnect_mqttjs_909() {
    let mut sim = Sim::new();
    let persistent = ClientOptions {
        clean_session: false,
        ..Sim::client("dashboard")
    };
    let sub = sim.connect(persistent.clone());
    sim.subscribe(sub, "sensors/#", QoS::AtLeastOnce);
    sim.cut(sub);
    let publisher = sim.connect(Sim::client("sensor"));
    sim.publish(
        publisher,
        "sensors/a",
        "while away",
        QoS::AtLeastOnce,
        false,
    );
    // Back with the session present: the queued message arrives once.
    let back = sim.connect(persistent);
    assert_eq!(sim.clients[back].payloads(), ["while away"]);
    // Subscribing again to the same filter, as MQTT.js did on every reconnect, replaces
    // the subscription [MQTT-3.8.4-3]: still one copy per message.
    sim.subscribe(back, "sensors/#", QoS::AtLeastOnce);
    sim.publish(publisher, "sensors/a", "after", QoS::AtLeastOnce, false);
    assert_eq!(sim.clients[back].payloads(), ["while away", "after"]);
}

#[test]
fn a_restored_broker_keeps_retained_messages_and_persistent_sessions() {
    let mut sim = Sim::new();
    let persistent = ClientOptions {
        clean_session: false,
        ..Sim::client("keeper")
    };
    let keeper = sim.connect(persistent.clone());
    sim.subscribe(keeper, "news/#", QoS::AtLeastOnce);
    sim.cut(keeper);
    let fleeting = sim.connect(Sim::client("fleeting"));
    sim.subscribe(fleeting, "news/#", QoS::AtLeastOnce);
    let publisher = sim.connect(Sim::client("pub"));
    sim.publish(publisher, "news/a", "queued", QoS::AtLeastOnce, false);
    sim.publish(publisher, "status", "up", QoS::AtMostOnce, true);
    let snapshot = sim.broker.snapshot();
    // A restart ends every connection; the restored broker numbers them afresh.
    sim.clients.clear();
    sim.broker =
        tabmq_broker::Broker::restore(tabmq_broker::BrokerConfig::default(), &snapshot).unwrap();
    assert_eq!(sim.broker.retained_count(), 1);
    assert_eq!(sim.broker.session_pending("keeper"), Some((0, 1)));
    assert_eq!(
        sim.broker.session_pending("fleeting"),
        None,
        "clean sessions end"
    );
    let back = sim.connect(persistent);
    assert_eq!(
        sim.clients[back].events[0],
        ClientEvent::Connected {
            session_present: true
        }
    );
    assert_eq!(sim.clients[back].payloads(), ["queued"]);
    assert!(tabmq_broker::Broker::restore(Default::default(), &[7, 7]).is_err());
}

#[test]
fn the_inspector_sees_sessions_subscriptions_queues_and_retained_messages_and_may_delete_one() {
    let mut sim = Sim::new();
    let offline = sim.connect(ClientOptions {
        clean_session: false,
        ..Sim::client("offline-sub")
    });
    sim.subscribe(offline, "sensor/#", QoS::AtLeastOnce);
    sim.cut(offline);
    let publisher = sim.connect(Sim::client("pub"));
    sim.subscribe(publisher, "cmd/+", QoS::ExactlyOnce);
    sim.publish(publisher, "sensor/t", "21", QoS::AtLeastOnce, true);
    sim.publish(publisher, "sensor/h", "40", QoS::AtMostOnce, true);
    let view = sim.broker.inspect(sim.now);
    let ids: Vec<_> = view.sessions.iter().map(|s| s.client_id.as_str()).collect();
    assert_eq!(ids, ["offline-sub", "pub"]);
    let kept = &view.sessions[0];
    assert!(!kept.connected);
    assert_eq!(
        kept.subscriptions,
        [("sensor/#".to_owned(), QoS::AtLeastOnce)]
    );
    // The QoS 1 message waits for it; the QoS 0 one is not queued (queue_qos0_messages).
    assert_eq!(kept.queued, 1);
    assert_eq!(
        kept.expires_in, None,
        "a 3.1.1 persistent session never expires"
    );
    assert!(view.sessions[1].connected);
    assert_eq!(
        view.sessions[1].subscriptions,
        [("cmd/+".to_owned(), QoS::ExactlyOnce)]
    );
    let topics: Vec<_> = view.retained.iter().map(|r| r.topic.as_str()).collect();
    assert_eq!(topics, ["sensor/h", "sensor/t"]);
    assert_eq!(&view.retained[1].payload[..], b"21");
    assert_eq!(view.counters.connections, 1);
    assert_eq!(view.counters.publish_received, 2);

    assert!(sim.broker.delete_retained("sensor/t"));
    assert!(!sim.broker.delete_retained("sensor/t"));
    let late = sim.connect(Sim::client("late"));
    sim.subscribe(late, "sensor/#", QoS::AtMostOnce);
    assert_eq!(sim.clients[late].payloads(), ["40"]);
}
