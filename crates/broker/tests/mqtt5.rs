//! MQTT 5 behaviour of the broker core, with v5 client engines.

mod harness;

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;
#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

use harness::{sent, v5_connect, wire, Sim};
use tabmq_core::*;

fn v5(id: &str) -> ClientOptions {
    ClientOptions {
        protocol: ProtocolVersion::V5,
        ..Sim::client(id)
    }
}

fn subscribe_with(sim: &mut Sim, c: usize, filter: SubscribeFilter) {
    let now = sim.now;
    sim.clients[c].engine.subscribe(vec![filter], now).unwrap();
    sim.run();
}

#[test]
fn v311_and_v5_clients_share_one_broker() {
    let mut sim = Sim::new();
    let old = sim.connect(Sim::client("old"));
    let new = sim.connect(v5("new"));
    sim.subscribe(old, "t", QoS::AtLeastOnce);
    sim.subscribe(new, "t", QoS::AtLeastOnce);
    sim.publish(new, "t", "from v5", QoS::AtLeastOnce, false);
    sim.publish(old, "t", "from v3", QoS::AtLeastOnce, false);
    assert_eq!(sim.clients[old].payloads(), ["from v5", "from v3"]);
    assert_eq!(sim.clients[new].payloads(), ["from v5", "from v3"]);
}

#[test]
fn a_v5_message_with_properties_reaches_a_v311_subscriber_without_them() {
    let mut sim = Sim::new();
    let old = sim.connect(Sim::client("old"));
    let new = sim.connect(v5("new"));
    sim.subscribe(old, "t/#", QoS::ExactlyOnce);
    sim.subscribe(new, "t/#", QoS::ExactlyOnce);
    for qos in [QoS::AtMostOnce, QoS::AtLeastOnce, QoS::ExactlyOnce] {
        let publish = Publish {
            topic: format!("t/{}", qos.as_u8()).into(),
            payload: Bytes::from_static(b"with properties"),
            qos,
            properties: Properties::with(|p| {
                p.content_type = Some("text/plain".into());
                p.user_properties.push(("room".into(), "kitchen".into()));
            }),
            ..Publish::default()
        };
        let now = sim.now;
        sim.clients[new].engine.publish_with(publish, now).unwrap();
        sim.run();
    }
    // Dropped for failing to encode as 3.1.1, they would never arrive, nor complete.
    assert_eq!(sim.clients[old].payloads(), ["with properties"; 3]);
    assert!(sim.clients[old]
        .messages()
        .iter()
        .all(|m| m.properties.is_empty()));
    let kept = sim.clients[new].messages();
    assert!(kept
        .iter()
        .all(|m| m.properties.content_type.as_deref() == Some("text/plain")));
    assert_eq!(
        sim.broker.session_pending("old"),
        Some((0, 0)),
        "every flow completed"
    );
}

#[test]
fn no_local_skips_the_publishers_own_messages() {
    let mut sim = Sim::new();
    let c = sim.connect(v5("echo"));
    subscribe_with(
        &mut sim,
        c,
        SubscribeFilter {
            no_local: true,
            ..SubscribeFilter::new("chat", QoS::AtMostOnce)
        },
    );
    let other = sim.connect(v5("other"));
    sim.publish(c, "chat", "mine", QoS::AtMostOnce, false);
    sim.publish(other, "chat", "theirs", QoS::AtMostOnce, false);
    assert_eq!(sim.clients[c].payloads(), ["theirs"]);
}

#[test]
fn retain_as_published_keeps_the_retain_flag() {
    let mut sim = Sim::new();
    let keep = sim.connect(v5("keep"));
    let plain = sim.connect(v5("plain"));
    subscribe_with(
        &mut sim,
        keep,
        SubscribeFilter {
            retain_as_published: true,
            ..SubscribeFilter::new("t", QoS::AtMostOnce)
        },
    );
    sim.subscribe(plain, "t", QoS::AtMostOnce);
    let publisher = sim.connect(v5("pub"));
    sim.publish(publisher, "t", "r", QoS::AtMostOnce, true);
    assert!(sim.clients[keep].messages()[0].retain);
    assert!(!sim.clients[plain].messages()[0].retain);
}

#[test]
fn retain_handling_2_sends_no_retained_messages_and_1_only_for_new_subscriptions() {
    let mut sim = Sim::new();
    let publisher = sim.connect(v5("pub"));
    sim.publish(publisher, "status", "up", QoS::AtMostOnce, true);
    let never = sim.connect(v5("never"));
    subscribe_with(
        &mut sim,
        never,
        SubscribeFilter {
            retain_handling: RetainHandling::DoNotSend,
            ..SubscribeFilter::new("status", QoS::AtMostOnce)
        },
    );
    assert!(sim.clients[never].messages().is_empty());
    let if_new = sim.connect(v5("if-new"));
    let filter = SubscribeFilter {
        retain_handling: RetainHandling::SendIfNew,
        ..SubscribeFilter::new("status", QoS::AtMostOnce)
    };
    subscribe_with(&mut sim, if_new, filter.clone());
    subscribe_with(&mut sim, if_new, filter);
    assert_eq!(
        sim.clients[if_new].payloads(),
        ["up"],
        "sent once, not on re-subscribe"
    );
}

#[test]
fn disconnect_with_will_message_0x04_publishes_the_will() {
    let mut sim = Sim::new();
    let watcher = sim.connect(v5("watcher"));
    sim.subscribe(watcher, "gone", QoS::AtMostOnce);
    let leaving = sim.connect(ClientOptions {
        will: Some(LastWill {
            topic: "gone".into(),
            payload: Bytes::from_static(b"bye"),
            ..LastWill::default()
        }),
        ..v5("leaving")
    });
    let conn = sim.clients[leaving].conn;
    let mut bytes = BytesMut::new();
    let with_will = Packet::Disconnect(Disconnect {
        reason_code: ReasonCode::DISCONNECT_WITH_WILL_MESSAGE,
        properties: Properties::default(),
    });
    encode(&with_will, ProtocolVersion::V5, &mut bytes).unwrap();
    let now = sim.now;
    sim.broker.handle_bytes(conn, &bytes, now);
    sim.run();
    assert_eq!(sim.clients[watcher].payloads(), ["bye"]);
}

#[test]
fn an_empty_client_id_is_assigned_and_announced_in_connack() {
    let mut sim = Sim::new();
    let conn = sim.broker.accept(sim.now);
    let connect = Packet::Connect(Connect {
        protocol: ProtocolVersion::V5,
        clean_start: false,
        ..Connect::default()
    });
    let bytes = encode_to_vec(&connect, ProtocolVersion::V5).unwrap();
    sim.broker.handle_bytes(conn, &bytes, sim.now);
    let (_, reply) = sim.broker.poll_transmit().unwrap();
    let Packet::ConnAck(ack) = decode_packet(reply, ProtocolVersion::V5).unwrap() else {
        panic!("not a CONNACK");
    };
    assert_eq!(ack.code, ReasonCode::SUCCESS);
    assert!(ack
        .properties
        .assigned_client_identifier
        .as_deref()
        .is_some_and(|id| !id.is_empty()));
}

#[test]
fn takeover_tells_the_old_v5_connection_0x8e() {
    let mut sim = Sim::new();
    let first = sim.connect(v5("same"));
    sim.connect(v5("same"));
    assert!(sim.clients[first].events.contains(&ClientEvent::Closed(
        CloseReason::DisconnectedByBroker(ReasonCode::SESSION_TAKEN_OVER)
    )));
}

#[test]
fn mqtt_3_1_2_2_an_unsupported_level_gets_connack_0x01() {
    let mut sim = Sim::new();
    let conn = sim.broker.accept(sim.now);
    let level6 = [
        0x10, 0x0c, 0, 4, b'M', b'Q', b'T', b'T', 6, 0x02, 0, 0, 0, 0,
    ];
    sim.broker.handle_bytes(conn, &level6, sim.now);
    let (_, reply) = sim.broker.poll_transmit().unwrap();
    assert_eq!(&reply[..], &[0x20, 0x02, 0x00, 0x01]);
    assert_eq!(sim.broker.poll_close(), Some(conn));
}

#[test]
fn a_malformed_packet_from_a_v5_client_is_answered_with_disconnect_0x81() {
    let mut sim = Sim::new();
    let c = sim.connect(v5("bad"));
    let conn = sim.clients[c].conn;
    // PUBLISH with a property that PUBLISH may not carry (Session Expiry Interval).
    let bad = [0x30, 0x09, 0, 1, b't', 5, 0x11, 0, 0, 0, 1];
    sim.broker.handle_bytes(conn, &bad, sim.now);
    let (_, reply) = sim.broker.poll_transmit().unwrap();
    assert_eq!(&reply[..], &[0xe0, 0x01, 0x81]);
    assert_eq!(sim.broker.poll_close(), Some(conn));
}

#[test]
fn unsuback_v5_says_whether_the_subscription_existed() {
    let mut sim = Sim::new();
    let c = sim.connect(ClientOptions {
        trace_packets: true,
        ..v5("unsub")
    });
    sim.subscribe(c, "a", QoS::AtMostOnce);
    let now = sim.now;
    sim.clients[c]
        .engine
        .unsubscribe(vec!["a".into(), "b".into()], now)
        .unwrap();
    sim.run();
    let unsuback = sim.clients[c].events.iter().find_map(|e| match e {
        ClientEvent::PacketReceived(Packet::UnsubAck(u)) => Some(u.reason_codes.clone()),
        _ => None,
    });
    assert_eq!(
        unsuback,
        Some(vec![
            ReasonCode::SUCCESS,
            ReasonCode::NO_SUBSCRIPTION_EXISTED
        ])
    );
}

/// Bytes of `packets`, MQTT 5.
#[test]
fn the_broker_keeps_within_a_subscribers_receive_maximum() {
    let mut broker = tabmq_broker::Broker::new(tabmq_broker::BrokerConfig::default());
    let now = Instant::from_millis(0);
    let sub = broker.accept(now);
    let subscribe = Packet::Subscribe(Subscribe {
        packet_id: PacketId::new(1).unwrap(),
        filters: vec![SubscribeFilter::new("t", QoS::AtLeastOnce)],
        properties: Properties::default(),
    });
    let hello = v5_connect("slow", Properties::with(|p| p.receive_maximum = Some(2)));
    broker.handle_bytes(sub, &wire(&[hello, subscribe]), now);
    sent(&mut broker);
    let publisher = broker.accept(now);
    let mut packets = vec![v5_connect("fast", Properties::default())];
    for n in 1..=5u16 {
        packets.push(Packet::Publish(Publish {
            qos: QoS::AtLeastOnce,
            topic: "t".into(),
            packet_id: PacketId::new(n),
            ..Publish::default()
        }));
    }
    broker.handle_bytes(publisher, &wire(&packets), now);
    let to_subscriber = |packets: &[Packet]| {
        packets
            .iter()
            .filter_map(|p| match p {
                Packet::Publish(p) => p.packet_id,
                _ => None,
            })
            .collect::<Vec<_>>()
    };
    let first = to_subscriber(&sent(&mut broker));
    assert_eq!(first.len(), 2, "only two unacknowledged at a time");
    broker.handle_bytes(sub, &wire(&[Packet::PubAck(Ack::new(first[0]))]), now);
    assert_eq!(
        to_subscriber(&sent(&mut broker)).len(),
        1,
        "one ack frees one slot"
    );
}

#[test]
fn a_client_beyond_the_brokers_receive_maximum_is_disconnected_0x93() {
    let config = tabmq_broker::BrokerConfig {
        max_inflight: 2,
        ..tabmq_broker::BrokerConfig::default()
    };
    let mut broker = tabmq_broker::Broker::new(config);
    let now = Instant::from_millis(0);
    let conn = broker.accept(now);
    broker.handle_bytes(
        conn,
        &wire(&[v5_connect("eager", Properties::default())]),
        now,
    );
    match &sent(&mut broker)[..] {
        [Packet::ConnAck(ack)] => assert_eq!(ack.properties.receive_maximum, Some(2)),
        other => panic!("{other:?}"),
    }
    let qos2 = |n: u16| {
        Packet::Publish(Publish {
            qos: QoS::ExactlyOnce,
            topic: "t".into(),
            packet_id: PacketId::new(n),
            ..Publish::default()
        })
    };
    broker.handle_bytes(conn, &wire(&[qos2(1), qos2(2), qos2(3)]), now);
    let answers = sent(&mut broker);
    assert_eq!(
        answers.last(),
        Some(&Packet::Disconnect(Disconnect {
            reason_code: ReasonCode::RECEIVE_MAXIMUM_EXCEEDED,
            properties: Properties::default(),
        }))
    );
    assert_eq!(broker.poll_close(), Some(conn));
}
