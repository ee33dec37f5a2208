//! What Mosquitto's own test suite found wrong, kept as regression tests in our own suite,
//! each named by the spec statement or the Mosquitto behaviour it proves. They drive the
//! broker core with raw packets (and, for MQTT 3.1, raw bytes).

mod harness;

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;
#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

use harness::*;
use tabmq_broker::{BrokerConfig, ConnId};
use tabmq_core::*;

fn v311(id: &str, clean: bool) -> Packet {
    Packet::Connect(Connect {
        protocol: ProtocolVersion::V311,
        client_id: id.into(),
        clean_start: clean,
        keep_alive: 60,
        ..Connect::default()
    })
}

fn v5_persistent(id: &str, max_packet: Option<u32>) -> Packet {
    let mut p = Properties::default();
    p.session_expiry_interval = Some(600);
    p.maximum_packet_size = max_packet;
    let mut connect = v5_connect(id, p);
    if let Packet::Connect(c) = &mut connect {
        c.clean_start = false;
    }
    connect
}

fn sub(n: u16, filter: &str, qos: QoS) -> Packet {
    subscribe_packet(
        n,
        vec![SubscribeFilter::new(filter, qos)],
        Properties::default(),
    )
}

fn publish(topic: &str, payload: &str, qos: QoS, id: Option<u16>, retain: bool) -> Packet {
    let mut p = publish_packet(topic, payload, qos, id);
    p.retain = retain;
    Packet::Publish(p)
}

#[test]
fn mqtt_3_1_2_24_and_25_messages_over_the_clients_maximum_packet_size_are_never_sent() {
    let mut raw = Raw::new(BrokerConfig::default());
    let (p, _) = raw.connect(v5_connect("p", Properties::default()));
    let big = "x".repeat(200);
    // A retained message over the limit is not sent on SUBSCRIBE.
    raw.send(p, &[publish("r", &big, QoS::AtLeastOnce, Some(1), true)]);
    let (s, _) = raw.connect(v5_persistent("s", Some(100)));
    raw.send(
        s,
        &[sub(1, "r", QoS::AtLeastOnce), sub(2, "t", QoS::AtLeastOnce)],
    );
    assert!(
        publishes(&raw.take(s)).is_empty(),
        "the retained message is too big"
    );
    // Messages queued while the client was away are checked when they leave.
    raw.broker.close(s, raw.now);
    raw.take_all();
    raw.send(
        p,
        &[
            publish("t", &big, QoS::AtLeastOnce, Some(2), false),
            publish("t", "fits", QoS::AtLeastOnce, Some(3), false),
        ],
    );
    let (s, ack) = raw.connect(v5_persistent("s", Some(100)));
    assert!(ack.session_present);
    let got = raw.take(s);
    let payloads: Vec<&[u8]> = publishes(&got).iter().map(|m| &m.payload[..]).collect();
    assert_eq!(payloads, [&b"fits"[..]]);
    // [MQTT-3.1.2-25]: the big one counts as delivered; nothing of it is left in flight.
    let id = publishes(&got)[0].packet_id.unwrap();
    raw.send(s, &[Packet::PubAck(Ack::new(id))]);
    assert_eq!(raw.broker.session_pending("s"), Some((0, 0)));
    // And a live client is not sent one either.
    raw.send(p, &[publish("t", &big, QoS::AtMostOnce, None, false)]);
    assert!(publishes(&raw.take(s)).is_empty());
}

/// The in-flight message `sub` holds after `qos` delivery, and the broker.
fn one_in_flight(qos: QoS) -> (Raw, ConnId, PacketId) {
    let mut raw = Raw::new(BrokerConfig::default());
    let (s, _) = raw.connect(v5_connect("s", Properties::default()));
    raw.send(s, &[sub(1, "t", QoS::ExactlyOnce)]);
    let (p, _) = raw.connect(v5_connect("p", Properties::default()));
    raw.take_all();
    raw.send(p, &[publish("t", "m", qos, Some(1), false)]);
    if qos == QoS::ExactlyOnce {
        raw.send(p, &[Packet::PubRel(Ack::new(pid(1)))]);
    }
    let got = raw.take(s);
    let id = publishes(&got)[0].packet_id.unwrap();
    (raw, s, id)
}

#[test]
fn like_mosquitto_an_acknowledgement_of_the_wrong_kind_closes_the_connection() {
    type Wrong = fn(PacketId) -> Packet;
    let cases: [(QoS, Wrong, &str); 4] = [
        (
            QoS::AtLeastOnce,
            |id| Packet::PubRec(Ack::new(id)),
            "PUBREC for QoS 1",
        ),
        (
            QoS::AtLeastOnce,
            |id| Packet::PubComp(Ack::new(id)),
            "PUBCOMP for QoS 1",
        ),
        (
            QoS::ExactlyOnce,
            |id| Packet::PubAck(Ack::new(id)),
            "PUBACK for QoS 2",
        ),
        (
            QoS::ExactlyOnce,
            |id| Packet::PubComp(Ack::new(id)),
            "PUBCOMP before PUBREC",
        ),
    ];
    for (qos, wrong, what) in cases {
        let (mut raw, s, id) = one_in_flight(qos);
        raw.send(s, &[wrong(id)]);
        assert_eq!(raw.closed(), [s], "{what}");
        // Without a DISCONNECT, as Mosquitto closes it.
        assert!(raw.take(s).is_empty(), "{what}");
    }
    // The right one, and one for an id not in flight (a repeat after a reconnect), are
    // fine.
    let (mut raw, s, id) = one_in_flight(QoS::AtLeastOnce);
    raw.send(
        s,
        &[
            Packet::PubAck(Ack::new(id)),
            Packet::PubAck(Ack::new(pid(99))),
        ],
    );
    assert!(raw.closed().is_empty());
}

#[test]
fn mqtt_3_2_2_2_and_3_2_2_3_no_session_is_present_after_a_takeover_of_a_clean_session() {
    // 3.1.1: a clean session taken over by a client that asks to keep its session.
    let mut raw = Raw::new(BrokerConfig::default());
    let (first, _) = raw.connect(v311("c", true));
    let (_, ack) = raw.connect(v311("c", false));
    assert!(
        !ack.session_present,
        "the old session ended with its connection"
    );
    assert_eq!(raw.closed(), [first]);
    // A persistent session taken over with clean session: none either.
    let mut raw = Raw::new(BrokerConfig::default());
    raw.connect(v311("d", false));
    let (_, ack) = raw.connect(v311("d", true));
    assert!(!ack.session_present);
    // A persistent session taken over by one that keeps it: present.
    let mut raw = Raw::new(BrokerConfig::default());
    raw.connect(v311("e", false));
    let (_, ack) = raw.connect(v311("e", false));
    assert!(ack.session_present);
    // 5.0: an expiry of zero ends the session with its connection.
    let mut raw = Raw::new(BrokerConfig::default());
    raw.connect(v5_connect("f", Properties::default()));
    let (_, ack) = raw.connect(v5_persistent("f", None));
    assert!(!ack.session_present);
}

#[test]
fn mqtt_4_12_0_1_an_unsupported_authentication_method_gets_connack_0x8c() {
    let mut raw = Raw::new(BrokerConfig::default());
    let mut p = Properties::default();
    p.authentication_method = Some("SCRAM-SHA-256".into());
    p.authentication_data = Some(Bytes::from_static(b"n,,n=user,r=nonce"));
    let (conn, ack) = raw.connect(v5_connect("c", p));
    assert_eq!(ack.code, ReasonCode::BAD_AUTHENTICATION_METHOD);
    assert_eq!(raw.closed(), [conn]);
}

/// MQTT 3.1's CONNECT ("MQIsdp", level `level`), clean, keepalive 60, client id `id`.
fn mqisdp_connect(level: u8, id: &str) -> Vec<u8> {
    let mut body = vec![0, 6];
    body.extend_from_slice(b"MQIsdp");
    body.extend_from_slice(&[level, 0x02, 0, 60]);
    body.extend_from_slice(&(id.len() as u16).to_be_bytes());
    body.extend_from_slice(id.as_bytes());
    let mut bytes = vec![0x10, body.len() as u8];
    bytes.extend(body);
    bytes
}

#[test]
fn like_mosquitto_mqtt_3_1_clients_connect_publish_and_subscribe() {
    let mut broker = tabmq_broker::Broker::new(BrokerConfig::default());
    let now = Instant::from_millis(1_000);
    let conn = broker.accept(now);
    broker.handle_bytes(conn, &mqisdp_connect(3, "old-device"), now);
    // CONNACK 0: `20 02 00 00`, with no session present flag (3.1 has none).
    assert_eq!(
        broker.poll_transmit().map(|(_, b)| b.to_vec()),
        Some(vec![0x20, 2, 0, 0])
    );
    let v311 = |packets: &[Packet]| wire_as(ProtocolVersion::V311, packets);
    broker.handle_bytes(conn, &v311(&[sub(1, "sensors/#", QoS::AtLeastOnce)]), now);
    broker.handle_bytes(
        conn,
        &v311(&[publish(
            "sensors/t",
            "21.5",
            QoS::AtLeastOnce,
            Some(2),
            false,
        )]),
        now,
    );
    let mut got = BytesMut::new();
    while let Some((_, bytes)) = broker.poll_transmit() {
        got.extend_from_slice(&bytes);
    }
    let mut packets = Vec::new();
    while let Some(p) = decode(&mut got, ProtocolVersion::V311, usize::MAX).unwrap() {
        packets.push(p);
    }
    assert!(matches!(&packets[0], Packet::SubAck(a) if a.reason_codes == [ReasonCode(1)]));
    assert!(packets.iter().any(|p| matches!(p, Packet::PubAck(_))));
    assert_eq!(&publishes(&packets)[0].payload[..], b"21.5");
    // A 3.1 PUBREL may carry DUP, as 3.1 allowed.
    broker.handle_bytes(conn, &[0x6a, 2, 0, 9], now);
    assert_eq!(
        broker.poll_transmit().map(|(_, b)| b.to_vec()),
        Some(vec![0x70, 2, 0, 9]),
        "PUBCOMP"
    );
}

#[test]
fn mqtt_3_1_2_2_mqisdp_at_a_level_other_than_3_is_refused_with_return_code_1() {
    let mut broker = tabmq_broker::Broker::new(BrokerConfig::default());
    let now = Instant::from_millis(1_000);
    let conn = broker.accept(now);
    broker.handle_bytes(conn, &mqisdp_connect(4, "x"), now);
    assert_eq!(
        broker.poll_transmit().map(|(_, b)| b.to_vec()),
        Some(vec![0x20, 2, 0, 1])
    );
}

#[test]
fn like_mosquitto_a_bridge_connects_with_the_bridge_bit_and_gets_no_echo() {
    let mut broker = tabmq_broker::Broker::new(BrokerConfig::default());
    let now = Instant::from_millis(1_000);
    let conn = broker.accept(now);
    // MQTT 3.1.1 with the bridge bit: level 0x84.
    let mut connect = wire_as(ProtocolVersion::V311, &[v311("bridge", true)]);
    connect[8] = 0x84;
    broker.handle_bytes(conn, &connect, now);
    assert_eq!(
        broker.poll_transmit().map(|(_, b)| b.to_vec()),
        Some(vec![0x20, 2, 0, 0])
    );
    let v311 = |packets: &[Packet]| wire_as(ProtocolVersion::V311, packets);
    broker.handle_bytes(conn, &v311(&[sub(1, "a/#", QoS::AtMostOnce)]), now);
    broker.handle_bytes(
        conn,
        &v311(&[publish("a/b", "m", QoS::AtMostOnce, None, true)]),
        now,
    );
    let mut got = BytesMut::new();
    while let Some((_, bytes)) = broker.poll_transmit() {
        got.extend_from_slice(&bytes);
    }
    let mut packets = Vec::new();
    while let Some(p) = decode(&mut got, ProtocolVersion::V311, usize::MAX).unwrap() {
        packets.push(p);
    }
    // A bridge's own messages do not come back to it (No Local for bridges).
    assert_eq!(publishes(&packets).len(), 0, "{packets:?}");
}

#[test]
fn like_mosquitto_connack_announces_topic_alias_maximum_10_and_receive_maximum_20_only() {
    let mut raw = Raw::new(BrokerConfig::default());
    let mut connect = v5_connect("c", Properties::default());
    if let Packet::Connect(c) = &mut connect {
        c.keep_alive = 60;
    }
    let (_, ack) = raw.connect(connect);
    let p = &ack.properties;
    assert_eq!(p.topic_alias_maximum, Some(10));
    assert_eq!(p.receive_maximum, Some(20));
    assert_eq!(
        p.maximum_packet_size, None,
        "Mosquitto announces none by default"
    );
    assert_eq!(p.maximum_qos, None);
    assert_eq!(p.retain_available, None);
    // And in Mosquitto's order: Topic Alias Maximum first, Receive Maximum last.
    let bytes = encode_to_vec(&Packet::ConnAck(ack), ProtocolVersion::V5).unwrap();
    assert_eq!(bytes, [0x20, 9, 0, 0, 6, 0x22, 0, 10, 0x21, 0, 20]);
}

#[test]
fn mqtt_3_3_4_7_the_announced_receive_maximum_bounds_unreleased_qos_2_messages() {
    let mut raw = Raw::new(BrokerConfig::default());
    let (c, _) = raw.connect(v5_connect("c", Properties::default()));
    for n in 1..=20 {
        raw.send(c, &[publish("t", "m", QoS::ExactlyOnce, Some(n), false)]);
    }
    assert!(raw.closed().is_empty());
    raw.send(c, &[publish("t", "m", QoS::ExactlyOnce, Some(21), false)]);
    let answers = raw.take(c);
    assert!(
        matches!(answers.last(), Some(Packet::Disconnect(d)) if d.reason_code == ReasonCode::RECEIVE_MAXIMUM_EXCEEDED),
        "{answers:?}"
    );
    assert_eq!(raw.closed(), [c]);
}

#[test]
fn like_mosquitto_a_qos_2_message_is_routed_on_its_pubrel_and_a_third_copy_is_an_error() {
    let mut raw = Raw::new(BrokerConfig::default());
    let (s, _) = raw.connect(v5_connect("s", Properties::default()));
    raw.send(s, &[sub(1, "t", QoS::AtMostOnce)]);
    let (p, _) = raw.connect(v5_connect("p", Properties::default()));
    raw.take_all();
    let m = publish("t", "once", QoS::ExactlyOnce, Some(7), false);
    raw.send(p, std::slice::from_ref(&m));
    assert!(matches!(&raw.take(p)[..], [Packet::PubRec(_)]));
    assert!(publishes(&raw.take(s)).is_empty(), "held until PUBREL");
    // A resend (the PUBREC was lost) is answered again, once.
    raw.send(p, std::slice::from_ref(&m));
    assert!(matches!(&raw.take(p)[..], [Packet::PubRec(_)]));
    raw.send(p, &[Packet::PubRel(Ack::new(pid(7)))]);
    assert!(matches!(&raw.take(p)[..], [Packet::PubComp(_)]));
    assert_eq!(publishes(&raw.take(s)).len(), 1);
    // A third copy of an unreleased message on one connection is a protocol error.
    let m2 = publish("t", "twice", QoS::ExactlyOnce, Some(8), false);
    raw.send(p, &[m2.clone(), m2.clone(), m2]);
    let answers = raw.take(p);
    assert!(
        matches!(answers.last(), Some(Packet::Disconnect(d)) if d.reason_code == ReasonCode::PROTOCOL_ERROR),
        "{answers:?}"
    );
}

#[test]
fn mqtt_3_3_2_4_an_unknown_payload_format_indicator_is_forwarded_unaltered() {
    let mut raw = Raw::new(BrokerConfig::default());
    let (s, _) = raw.connect(v5_connect("s", Properties::default()));
    raw.send(s, &[sub(1, "t", QoS::AtMostOnce)]);
    let (p, _) = raw.connect(v5_connect("p", Properties::default()));
    raw.take_all();
    // Built by hand: PUBLISH "t" with Payload Format Indicator 0xED.
    let bytes = [0x30, 7, 0, 1, b't', 2, 0x01, 0xed, b'm'];
    raw.broker.handle_bytes(p, &bytes, raw.now);
    let got = raw.take(s);
    let forwarded = publishes(&got)
        .first()
        .map(|m| Packet::Publish((*m).clone()));
    let bytes = forwarded.map(|m| encode_to_vec(&m, ProtocolVersion::V5).unwrap());
    assert!(
        bytes.is_some_and(|b| b.windows(2).any(|w| w == [0x01, 0xed])),
        "{got:?}"
    );
}

#[test]
fn like_mosquitto_a_publish_to_sys_or_share_is_not_authorized() {
    let mut raw = Raw::new(BrokerConfig::default());
    let (c, _) = raw.connect(v5_connect("c", Properties::default()));
    for (i, topic) in ["$SYS/broker/uptime", "$share/g/t"].iter().enumerate() {
        raw.send(
            c,
            &[publish(
                topic,
                "m",
                QoS::AtLeastOnce,
                Some(i as u16 + 1),
                false,
            )],
        );
        assert!(
            matches!(&raw.take(c)[..], [Packet::PubAck(a)] if a.reason_code == ReasonCode::NOT_AUTHORIZED),
            "{topic}"
        );
    }
}

#[test]
fn mqtt_3_1_2_8_a_will_delay_outlives_a_session_that_ends_with_its_connection() {
    // Mosquitto waits the delay even when the session ends at once ("promptly" is a
    // SHOULD), so a client that comes back in time, even clean, cancels its will.
    let mut raw = Raw::new(BrokerConfig::default());
    let (s, _) = raw.connect(v5_connect("s", Properties::default()));
    raw.send(s, &[sub(1, "will", QoS::AtMostOnce)]);
    let will_connect = || {
        let mut connect = v5_connect("w", Properties::default());
        if let Packet::Connect(c) = &mut connect {
            let mut properties = Properties::default();
            properties.will_delay_interval = Some(3);
            c.will = Some(LastWill {
                topic: "will".into(),
                payload: Bytes::from_static(b"gone"),
                properties,
                ..LastWill::default()
            });
        }
        connect
    };
    let (w, _) = raw.connect(will_connect());
    raw.broker.close(w, raw.now);
    raw.advance(1_000);
    assert!(publishes(&raw.take(s)).is_empty(), "not before the delay");
    raw.advance(2_500);
    assert_eq!(publishes(&raw.take(s)).len(), 1, "after it");
    // Back within the delay: cancelled.
    let (w, _) = raw.connect(will_connect());
    raw.broker.close(w, raw.now);
    raw.advance(1_000);
    raw.connect(v5_connect("w", Properties::default()));
    raw.advance(5_000);
    assert!(publishes(&raw.take(s)).is_empty());
}

#[test]
fn like_mosquitto_no_authenticator_never_means_everyone() {
    use tabmq_broker::{ListenerConfig, Security};
    let config = |allow_anonymous| BrokerConfig {
        listeners: vec![ListenerConfig {
            security: Security {
                allow_anonymous,
                ..Security::default()
            },
            ..ListenerConfig::default()
        }],
        ..BrokerConfig::default()
    };
    let with_user = |id: &str| {
        let mut c = v311(id, true);
        if let Packet::Connect(c) = &mut c {
            c.username = Some("anyone".into());
            c.password = Some(Bytes::from_static(b"anything"));
        }
        c
    };
    // allow_anonymous false and no password file: nobody, whatever username it sends.
    let mut raw = Raw::new(config(false));
    assert_eq!(raw.connect(with_user("a")).1.code, ReasonCode(5));
    assert_eq!(raw.connect(v311("b", true)).1.code, ReasonCode(5));
    // allow_anonymous true and no password file: everybody.
    let mut raw = Raw::new(config(true));
    assert_eq!(raw.connect(with_user("c")).1.code, ReasonCode(0));
    assert_eq!(raw.connect(v311("d", true)).1.code, ReasonCode(0));
}
