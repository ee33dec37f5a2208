//! MQTT 5 features of the broker, driven with raw packets: shared subscriptions, topic
//! aliases, message expiry, subscription identifiers, forwarded properties, will delay,
//! session expiry and what CONNACK announces.

mod harness;

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;
#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

use harness::*;
use tabmq_broker::{BrokerConfig, ConnId};
use tabmq_core::*;

fn props(f: impl FnOnce(&mut Properties)) -> Properties {
    let mut p = Properties::default();
    f(&mut p);
    p
}

fn payloads(packets: &[Packet]) -> Vec<String> {
    publishes(packets)
        .iter()
        .map(|p| String::from_utf8_lossy(&p.payload).into_owned())
        .collect()
}

#[test]
fn shared_subscriptions_deliver_each_message_to_one_member_in_turn() {
    let mut raw = Raw::new(BrokerConfig::default());
    let (a, ack) = raw.connect(v5_connect("a", Properties::default()));
    assert_eq!(
        ack.properties.shared_subscription_available, None,
        "available by default"
    );
    let (b, _) = raw.connect(v5_connect("b", Properties::default()));
    let (p, _) = raw.connect(v5_connect("p", Properties::default()));
    for (conn, n) in [(a, 1), (b, 2)] {
        let f = SubscribeFilter::new("$share/g/jobs/+", QoS::AtMostOnce);
        raw.send(conn, &[subscribe_packet(n, vec![f], Properties::default())]);
    }
    raw.take_all();
    for i in 0..4 {
        let publish = publish_packet("jobs/x", &format!("j{i}"), QoS::AtMostOnce, None);
        raw.send(p, &[Packet::Publish(publish)]);
    }
    let sent = raw.take_all();
    let to = |c| -> Vec<Packet> {
        sent.iter()
            .filter(|(x, _)| *x == c)
            .map(|(_, p)| p.clone())
            .collect()
    };
    assert_eq!(payloads(&to(a)).len(), 2);
    assert_eq!(payloads(&to(b)).len(), 2);
    let mut all = [payloads(&to(a)), payloads(&to(b))].concat();
    all.sort();
    assert_eq!(all, ["j0", "j1", "j2", "j3"]);
}

#[test]
fn mqtt_3_8_3_4_no_local_on_a_shared_subscription_is_a_protocol_error() {
    let mut raw = Raw::new(BrokerConfig::default());
    let (a, _) = raw.connect(v5_connect("a", Properties::default()));
    let f = SubscribeFilter::new("$share/g/t", QoS::AtMostOnce);
    let mut bytes = wire(&[subscribe_packet(1, vec![f], Properties::default())]);
    // Our encoder will not write it, so set the No Local bit in the options byte by hand.
    *bytes.last_mut().unwrap() |= 0x04;
    raw.broker.handle_bytes(a, &bytes, raw.now);
    match &raw.take(a)[..] {
        [Packet::Disconnect(d)] => assert_eq!(d.reason_code, ReasonCode::PROTOCOL_ERROR),
        other => panic!("{other:?}"),
    }
}

#[test]
fn shared_subscriptions_get_no_retained_messages() {
    let mut raw = Raw::new(BrokerConfig::default());
    let (p, _) = raw.connect(v5_connect("p", Properties::default()));
    let mut retained = publish_packet("t", "r", QoS::AtMostOnce, None);
    retained.retain = true;
    raw.send(p, &[Packet::Publish(retained)]);
    let (a, _) = raw.connect(v5_connect("a", Properties::default()));
    let filters = vec![SubscribeFilter::new("$share/g/t", QoS::AtMostOnce)];
    raw.send(a, &[subscribe_packet(1, filters, Properties::default())]);
    assert_eq!(payloads(&raw.take(a)), Vec::<String>::new());
}

#[test]
fn mqtt_3_3_2_12_inbound_topic_aliases_map_and_resolve() {
    let mut raw = Raw::new(BrokerConfig::default());
    let (s, _) = raw.connect(v5_connect("s", Properties::default()));
    raw.send(
        s,
        &[subscribe_packet(
            1,
            vec![SubscribeFilter::new("long/topic", QoS::AtMostOnce)],
            Properties::default(),
        )],
    );
    let (p, ack) = raw.connect(v5_connect("p", Properties::default()));
    assert_eq!(ack.properties.topic_alias_maximum, Some(10));
    raw.take_all();
    let mut first = publish_packet("long/topic", "one", QoS::AtMostOnce, None);
    first.properties.topic_alias = Some(3);
    let mut second = publish_packet("", "two", QoS::AtMostOnce, None);
    second.properties.topic_alias = Some(3);
    raw.send(p, &[Packet::Publish(first), Packet::Publish(second)]);
    let got = raw.take(s);
    assert_eq!(payloads(&got), ["one", "two"]);
    // Aliases are the sender's business: subscribers get the topic, without an alias.
    assert!(publishes(&got)
        .iter()
        .all(|m| m.topic == "long/topic" && m.properties.topic_alias.is_none()));
}

#[test]
fn a_topic_alias_beyond_the_maximum_gets_0x94_and_an_unknown_one_0x82() {
    let mut raw = Raw::new(BrokerConfig::default());
    let (p, _) = raw.connect(v5_connect("p", Properties::default()));
    let mut over = publish_packet("t", "x", QoS::AtMostOnce, None);
    over.properties.topic_alias = Some(11);
    raw.send(p, &[Packet::Publish(over)]);
    assert!(
        matches!(&raw.take(p)[..], [Packet::Disconnect(d)] if d.reason_code == ReasonCode::TOPIC_ALIAS_INVALID)
    );
    let (q, _) = raw.connect(v5_connect("q", Properties::default()));
    let mut unknown = publish_packet("", "x", QoS::AtMostOnce, None);
    unknown.properties.topic_alias = Some(2);
    raw.send(q, &[Packet::Publish(unknown)]);
    assert!(
        matches!(&raw.take(q)[..], [Packet::Disconnect(d)] if d.reason_code == ReasonCode::PROTOCOL_ERROR)
    );
}

#[test]
fn mqtt_3_3_2_7_topic_aliases_do_not_outlive_the_connection() {
    let mut raw = Raw::new(BrokerConfig::default());
    let (p, _) = raw.connect(v5_connect("p", Properties::default()));
    let mut first = publish_packet("t", "one", QoS::AtMostOnce, None);
    first.properties.topic_alias = Some(1);
    raw.send(
        p,
        &[
            Packet::Publish(first),
            Packet::Disconnect(Disconnect::default()),
        ],
    );
    let (p2, _) = raw.connect(v5_connect("p", Properties::default()));
    let mut again = publish_packet("", "two", QoS::AtMostOnce, None);
    again.properties.topic_alias = Some(1);
    raw.send(p2, &[Packet::Publish(again)]);
    assert!(
        matches!(&raw.take(p2)[..], [Packet::Disconnect(d)] if d.reason_code == ReasonCode::PROTOCOL_ERROR)
    );
}

fn persistent(id: &str) -> Packet {
    let mut c = v5_connect(id, props(|p| p.session_expiry_interval = Some(3600)));
    if let Packet::Connect(c) = &mut c {
        c.clean_start = false;
    }
    c
}

#[test]
fn mqtt_3_3_2_5_expired_messages_are_not_delivered_and_mqtt_3_3_2_6_the_rest_carry_what_remains() {
    let mut raw = Raw::new(BrokerConfig::default());
    let (s, _) = raw.connect(persistent("s"));
    raw.send(
        s,
        &[subscribe_packet(
            1,
            vec![SubscribeFilter::new("t", QoS::AtLeastOnce)],
            Properties::default(),
        )],
    );
    raw.send(s, &[Packet::Disconnect(Disconnect::default())]);
    let (p, _) = raw.connect(v5_connect("p", Properties::default()));
    let mut short = publish_packet("t", "short", QoS::AtLeastOnce, Some(1));
    short.properties.message_expiry_interval = Some(5);
    let mut long = publish_packet("t", "long", QoS::AtLeastOnce, Some(2));
    long.properties.message_expiry_interval = Some(60);
    raw.send(p, &[Packet::Publish(short), Packet::Publish(long)]);
    raw.advance(10_000);
    let (s2, ack) = raw.connect(persistent("s"));
    assert!(ack.session_present);
    let got = raw.take(s2);
    let messages = publishes(&got);
    assert_eq!(payloads(&got), ["long"]);
    assert_eq!(messages[0].properties.message_expiry_interval, Some(50));
}

#[test]
fn retained_messages_expire_too() {
    let mut raw = Raw::new(BrokerConfig::default());
    let (p, _) = raw.connect(v5_connect("p", Properties::default()));
    let mut r = publish_packet("t", "r", QoS::AtMostOnce, None);
    r.retain = true;
    r.properties.message_expiry_interval = Some(2);
    raw.send(p, &[Packet::Publish(r)]);
    let (early, _) = raw.connect(v5_connect("early", Properties::default()));
    raw.send(
        early,
        &[subscribe_packet(
            1,
            vec![SubscribeFilter::new("t", QoS::AtMostOnce)],
            Properties::default(),
        )],
    );
    assert_eq!(payloads(&raw.take(early)), ["r"]);
    raw.advance(3_000);
    let (late, _) = raw.connect(v5_connect("late", Properties::default()));
    raw.send(
        late,
        &[subscribe_packet(
            1,
            vec![SubscribeFilter::new("t", QoS::AtMostOnce)],
            Properties::default(),
        )],
    );
    assert_eq!(payloads(&raw.take(late)), Vec::<String>::new());
}

#[test]
fn mqtt_3_3_4_5_overlapping_subscriptions_send_a_copy_each_with_its_identifier_in_v5() {
    let mut raw = Raw::new(BrokerConfig::default());
    let (s, _) = raw.connect(v5_connect("s", Properties::default()));
    raw.send(
        s,
        &[subscribe_packet(
            1,
            vec![SubscribeFilter::new("a/+", QoS::AtLeastOnce)],
            props(|p| p.subscription_identifiers = vec![7]),
        )],
    );
    raw.send(
        s,
        &[subscribe_packet(
            2,
            vec![SubscribeFilter::new("a/#", QoS::AtMostOnce)],
            props(|p| p.subscription_identifiers = vec![9]),
        )],
    );
    let (p, _) = raw.connect(v5_connect("p", Properties::default()));
    raw.take_all();
    // A QoS 2 message is routed on its PUBREL, as Mosquitto routes it.
    raw.send(
        p,
        &[
            Packet::Publish(publish_packet("a/b", "m", QoS::ExactlyOnce, Some(1))),
            Packet::PubRel(Ack::new(PacketId::new(1).unwrap())),
        ],
    );
    let got = raw.take(s);
    let mut copies: Vec<(u8, Vec<u32>)> = publishes(&got)
        .iter()
        .map(|m| (m.qos.as_u8(), m.properties.subscription_identifiers.clone()))
        .collect();
    copies.sort();
    assert_eq!(copies, [(0, vec![9]), (1, vec![7])]);
}

#[test]
fn mqtt_3_3_5_1_overlapping_subscriptions_send_one_copy_at_the_highest_qos_in_3_1_1() {
    let mut sim = Sim::new();
    let s = sim.connect(Sim::client("s"));
    sim.subscribe(s, "a/#", QoS::AtMostOnce);
    sim.subscribe(s, "a/+", QoS::ExactlyOnce);
    sim.subscribe(s, "a/b", QoS::AtLeastOnce);
    let p = sim.connect(Sim::client("p"));
    sim.publish(p, "a/b", "m", QoS::ExactlyOnce, false);
    let got = sim.clients[s].messages();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].qos, QoS::ExactlyOnce);
}

#[test]
fn application_properties_are_forwarded_unchanged() {
    let mut raw = Raw::new(BrokerConfig::default());
    let (s, _) = raw.connect(v5_connect("s", Properties::default()));
    raw.send(
        s,
        &[subscribe_packet(
            1,
            vec![SubscribeFilter::new("req", QoS::AtMostOnce)],
            Properties::default(),
        )],
    );
    let (p, _) = raw.connect(v5_connect("p", Properties::default()));
    raw.take_all();
    let mut m = publish_packet("req", "{}", QoS::AtMostOnce, None);
    m.properties = props(|p| {
        p.user_properties = vec![("k".into(), "v".into()), ("k".into(), "w".into())];
        p.content_type = Some("application/json".into());
        p.payload_format_indicator = Some(1);
        p.response_topic = Some("reply/here".into());
        p.correlation_data = Some(Bytes::from_static(b"\x01\x02"));
    });
    raw.send(p, &[Packet::Publish(m.clone())]);
    let got = raw.take(s);
    assert_eq!(publishes(&got)[0].properties, m.properties);
}

#[test]
fn response_information_is_given_to_clients_that_ask() {
    let config = BrokerConfig {
        response_information: Some("responses/%c".into()),
        ..BrokerConfig::default()
    };
    let mut raw = Raw::new(config);
    let (_, asked) = raw.connect(v5_connect(
        "c1",
        props(|p| p.request_response_information = Some(true)),
    ));
    assert_eq!(
        asked.properties.response_information.as_deref(),
        Some("responses/c1")
    );
    let (_, silent) = raw.connect(v5_connect("c2", Properties::default()));
    assert_eq!(silent.properties.response_information, None);
}

#[test]
fn connack_announces_the_servers_limits() {
    let config = BrokerConfig {
        max_inflight: 50,
        max_packet_size: Some(4096),
        retain_available: false,
        max_keepalive: 30,
        listeners: vec![tabmq_broker::ListenerConfig {
            maximum_qos: QoS::AtLeastOnce,
            topic_alias_maximum: 5,
            ..Default::default()
        }],
        ..BrokerConfig::default()
    };
    let mut raw = Raw::new(config);
    let mut connect = v5_connect("c", Properties::default());
    if let Packet::Connect(c) = &mut connect {
        c.keep_alive = 600;
    }
    let (_, ack) = raw.connect(connect);
    let p = &ack.properties;
    assert_eq!(p.receive_maximum, Some(50));
    assert_eq!(p.maximum_qos, Some(QoS::AtLeastOnce));
    assert_eq!(p.maximum_packet_size, Some(4096));
    assert_eq!(p.topic_alias_maximum, Some(5));
    assert_eq!(p.retain_available, Some(false));
    assert_eq!(p.server_keep_alive, Some(30));
}

#[test]
fn mqtt_3_2_2_9_subscriptions_are_granted_at_most_the_maximum_qos() {
    let config = BrokerConfig {
        listeners: vec![tabmq_broker::ListenerConfig {
            maximum_qos: QoS::AtLeastOnce,
            ..Default::default()
        }],
        ..BrokerConfig::default()
    };
    let mut raw = Raw::new(config);
    let (s, _) = raw.connect(v5_connect("s", Properties::default()));
    raw.send(
        s,
        &[subscribe_packet(
            1,
            vec![SubscribeFilter::new("t", QoS::ExactlyOnce)],
            Properties::default(),
        )],
    );
    assert!(
        matches!(&raw.take(s)[..], [Packet::SubAck(a)] if a.reason_codes == [ReasonCode::GRANTED_QOS_1])
    );
    raw.send(
        s,
        &[Packet::Publish(publish_packet(
            "t",
            "x",
            QoS::ExactlyOnce,
            Some(1),
        ))],
    );
    assert!(
        matches!(&raw.take(s)[..], [Packet::Disconnect(d)] if d.reason_code == ReasonCode::QOS_NOT_SUPPORTED)
    );
}

fn with_will(id: &str, delay: u32, expiry: u32) -> Packet {
    Packet::Connect(Connect {
        protocol: ProtocolVersion::V5,
        client_id: id.into(),
        clean_start: true,
        will: Some(LastWill {
            topic: "wills".into(),
            payload: Bytes::from_static(b"gone"),
            qos: QoS::AtMostOnce,
            retain: false,
            properties: props(|p| p.will_delay_interval = Some(delay)),
        }),
        properties: props(|p| p.session_expiry_interval = Some(expiry)),
        ..Connect::default()
    })
}

fn watcher(raw: &mut Raw) -> ConnId {
    let (w, _) = raw.connect(v5_connect("watcher", Properties::default()));
    raw.send(
        w,
        &[subscribe_packet(
            1,
            vec![SubscribeFilter::new("wills", QoS::AtMostOnce)],
            Properties::default(),
        )],
    );
    raw.take(w);
    w
}

#[test]
fn mqtt_3_1_3_9_a_delayed_will_waits_and_is_cancelled_by_reconnecting() {
    let mut raw = Raw::new(BrokerConfig::default());
    let w = watcher(&mut raw);
    let (c, _) = raw.connect(with_will("c", 10, 3600));
    raw.broker.close(c, raw.now);
    raw.advance(5_000);
    assert_eq!(payloads(&raw.take(w)), Vec::<String>::new());
    let mut back = with_will("c", 10, 3600);
    if let Packet::Connect(c) = &mut back {
        c.clean_start = false;
    }
    raw.connect(back);
    raw.advance(10_000);
    assert_eq!(payloads(&raw.take(w)), Vec::<String>::new());
}

#[test]
fn a_delayed_will_is_published_after_its_delay() {
    let mut raw = Raw::new(BrokerConfig::default());
    let w = watcher(&mut raw);
    let (c, _) = raw.connect(with_will("c", 10, 3600));
    raw.broker.close(c, raw.now);
    raw.advance(9_000);
    assert_eq!(payloads(&raw.take(w)), Vec::<String>::new());
    assert!(raw.broker.poll_timeout().is_some());
    raw.advance(1_000);
    assert_eq!(payloads(&raw.take(w)), ["gone"]);
}

#[test]
fn mqtt_3_1_2_8_the_will_goes_when_the_session_ends_if_that_is_sooner() {
    let mut raw = Raw::new(BrokerConfig::default());
    let w = watcher(&mut raw);
    let (c, _) = raw.connect(with_will("c", 60, 5));
    raw.broker.close(c, raw.now);
    raw.advance(5_000);
    assert_eq!(payloads(&raw.take(w)), ["gone"]);
    assert_eq!(raw.broker.session_pending("c"), None, "the session expired");
}

#[test]
fn sessions_expire_after_their_interval_and_not_before() {
    let mut raw = Raw::new(BrokerConfig::default());
    let mut connect = v5_connect("c", props(|p| p.session_expiry_interval = Some(30)));
    if let Packet::Connect(c) = &mut connect {
        c.clean_start = false;
    }
    let (c, _) = raw.connect(connect.clone());
    raw.send(c, &[Packet::Disconnect(Disconnect::default())]);
    raw.advance(29_000);
    assert!(raw.broker.session_pending("c").is_some());
    raw.advance(1_000);
    assert_eq!(raw.broker.session_pending("c"), None);
    let (_, ack) = raw.connect(connect);
    assert!(!ack.session_present);
}

#[test]
fn disconnect_may_shorten_the_session_expiry_but_not_extend_a_zero_one() {
    let mut raw = Raw::new(BrokerConfig::default());
    let (c, _) = raw.connect(persistent("c"));
    let shorten = Disconnect {
        reason_code: ReasonCode::SUCCESS,
        properties: props(|p| p.session_expiry_interval = Some(0)),
    };
    raw.send(c, &[Packet::Disconnect(shorten)]);
    assert_eq!(raw.broker.session_pending("c"), None);
    let (d, _) = raw.connect(v5_connect("d", Properties::default()));
    let extend = Disconnect {
        reason_code: ReasonCode::SUCCESS,
        properties: props(|p| p.session_expiry_interval = Some(60)),
    };
    raw.send(d, &[Packet::Disconnect(extend)]);
    assert!(
        matches!(&raw.take(d)[..], [Packet::Disconnect(x)] if x.reason_code == ReasonCode::PROTOCOL_ERROR)
    );
}

#[test]
fn a_restored_broker_keeps_subscription_identifiers_and_expiry() {
    let mut raw = Raw::new(BrokerConfig::default());
    let (s, _) = raw.connect(persistent("s"));
    raw.send(
        s,
        &[subscribe_packet(
            1,
            vec![SubscribeFilter::new("t", QoS::AtLeastOnce)],
            props(|p| p.subscription_identifiers = vec![42]),
        )],
    );
    raw.send(s, &[Packet::Disconnect(Disconnect::default())]);
    let snapshot = raw.broker.snapshot();
    let restored = tabmq_broker::Broker::restore(BrokerConfig::default(), &snapshot).unwrap();
    let mut raw2 = Raw::over(restored, raw.now);
    let (p, _) = raw2.connect(v5_connect("p", Properties::default()));
    raw2.send(
        p,
        &[Packet::Publish(publish_packet(
            "t",
            "kept",
            QoS::AtLeastOnce,
            Some(1),
        ))],
    );
    let (s2, ack) = raw2.connect(persistent("s"));
    assert!(ack.session_present);
    let got = raw2.take(s2);
    assert_eq!(publishes(&got)[0].properties.subscription_identifiers, [42]);
    raw2.advance(3_601_000);
    assert_eq!(raw2.broker.session_count(), 2, "p and s");
}

#[test]
fn a_shutdown_tells_v5_clients_0x8b_and_closes_every_connection() {
    let mut raw = Raw::new(BrokerConfig::default());
    let (new, _) = raw.connect(v5_connect("new", Properties::default()));
    let (old, _) = raw.connect(Packet::Connect(Connect {
        protocol: ProtocolVersion::V311,
        client_id: "old".into(),
        clean_start: true,
        ..Connect::default()
    }));
    raw.broker.shutdown(raw.now);
    assert!(
        matches!(&raw.take(new)[..], [Packet::Disconnect(d)] if d.reason_code == ReasonCode::SERVER_SHUTTING_DOWN)
    );
    assert!(
        raw.take(old).is_empty(),
        "3.1.1 has no DISCONNECT from the server"
    );
    let mut closed = raw.closed();
    closed.sort();
    assert_eq!(closed, [new, old]);
    assert_eq!(raw.broker.connection_count(), 0);
}

#[test]
fn a_restored_broker_keeps_retained_messages_of_every_qos() {
    let mut raw = Raw::new(BrokerConfig::default());
    let (p, _) = raw.connect(v5_connect("p", Properties::default()));
    for (i, qos) in [QoS::AtMostOnce, QoS::AtLeastOnce, QoS::ExactlyOnce]
        .into_iter()
        .enumerate()
    {
        let mut m = publish_packet(
            &format!("r/{i}"),
            "kept",
            qos,
            (qos != QoS::AtMostOnce).then_some(i as u16),
        );
        m.retain = true;
        raw.send(p, &[Packet::Publish(m)]);
        if qos == QoS::ExactlyOnce {
            raw.send(
                p,
                &[Packet::PubRel(Ack::new(PacketId::new(i as u16).unwrap()))],
            );
        }
    }
    let restored =
        tabmq_broker::Broker::restore(BrokerConfig::default(), &raw.broker.snapshot()).unwrap();
    let mut raw2 = Raw::over(restored, raw.now);
    let (s, _) = raw2.connect(v5_connect("s", Properties::default()));
    raw2.send(
        s,
        &[subscribe_packet(
            1,
            vec![SubscribeFilter::new("r/#", QoS::ExactlyOnce)],
            Properties::default(),
        )],
    );
    let got = raw2.take(s);
    let mut kept: Vec<(String, QoS, bool)> = publishes(&got)
        .iter()
        .map(|m| (m.topic.to_string(), m.qos, m.retain))
        .collect();
    kept.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        kept,
        [
            ("r/0".to_owned(), QoS::AtMostOnce, true),
            ("r/1".to_owned(), QoS::AtLeastOnce, true),
            ("r/2".to_owned(), QoS::ExactlyOnce, true)
        ]
    );
}
