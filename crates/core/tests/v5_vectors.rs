//! MQTT 5 byte vectors: every packet type, every property, in both directions.

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;
#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

use tabmq_core::*;

const V5: ProtocolVersion = ProtocolVersion::V5;

fn id(n: u16) -> PacketId {
    PacketId::new(n).unwrap()
}

fn round_trip(packet: Packet, bytes: &[u8]) {
    assert_eq!(
        encode_to_vec(&packet, V5).unwrap(),
        bytes,
        "encoding {packet:?}"
    );
    assert_eq!(
        decode_packet(Bytes::copy_from_slice(bytes), V5).unwrap(),
        packet,
        "decoding {bytes:02x?}"
    );
}

/// Which packet a property vector is carried in.
#[derive(Clone, Copy)]
enum Carrier {
    Connect,
    Will,
    ConnAck,
    Publish,
    Subscribe,
    Disconnect,
    Auth,
}

/// Wraps hand-written property bytes in a minimal packet of the carrier's kind, with the
/// packet's other bytes also written out by hand.
fn carried(carrier: Carrier, props: &[u8]) -> (Vec<u8>, Box<dyn Fn(Properties) -> Packet>) {
    let mut list = vec![props.len() as u8];
    list.extend_from_slice(props);
    let (first, body): (u8, Vec<u8>) = match carrier {
        Carrier::Connect => {
            let mut b = vec![0, 4, b'M', b'Q', b'T', b'T', 5, 0x02, 0, 0];
            b.extend(&list);
            b.extend([0, 0]);
            (0x10, b)
        }
        Carrier::Will => {
            // Variable header, an empty CONNECT property list, client id "", then the will.
            let mut b = vec![0, 4, b'M', b'Q', b'T', b'T', 5, 0x06, 0, 0, 0, 0, 0];
            b.extend(&list);
            b.extend([0, 1, b'w', 0, 0]);
            (0x10, b)
        }
        Carrier::ConnAck => {
            let mut b = vec![0, 0];
            b.extend(&list);
            (0x20, b)
        }
        Carrier::Publish => {
            let mut b = vec![0, 1, b't'];
            b.extend(&list);
            (0x30, b)
        }
        Carrier::Subscribe => {
            let mut b = vec![0, 1];
            b.extend(&list);
            b.extend([0, 1, b'f', 0]);
            (0x82, b)
        }
        Carrier::Disconnect | Carrier::Auth => {
            let mut b = vec![0];
            b.extend(&list);
            (
                if matches!(carrier, Carrier::Auth) {
                    0xf0
                } else {
                    0xe0
                },
                b,
            )
        }
    };
    let mut bytes = vec![first, body.len() as u8];
    bytes.extend(body);
    let build: Box<dyn Fn(Properties) -> Packet> = match carrier {
        Carrier::Connect => Box::new(|p| {
            Packet::Connect(Connect {
                protocol: V5,
                clean_start: true,
                properties: p,
                ..Connect::default()
            })
        }),
        Carrier::Will => Box::new(|p| {
            Packet::Connect(Connect {
                protocol: V5,
                clean_start: true,
                will: Some(LastWill {
                    topic: "w".into(),
                    properties: p,
                    ..LastWill::default()
                }),
                ..Connect::default()
            })
        }),
        Carrier::ConnAck => Box::new(|p| {
            Packet::ConnAck(ConnAck {
                properties: p,
                ..ConnAck::default()
            })
        }),
        Carrier::Publish => Box::new(|p| {
            Packet::Publish(Publish {
                topic: "t".into(),
                properties: p,
                ..Publish::default()
            })
        }),
        Carrier::Subscribe => Box::new(|p| {
            Packet::Subscribe(Subscribe {
                packet_id: id(1),
                filters: vec![SubscribeFilter::new("f", QoS::AtMostOnce)],
                properties: p,
            })
        }),
        Carrier::Disconnect => Box::new(|p| {
            Packet::Disconnect(Disconnect {
                reason_code: ReasonCode::SUCCESS,
                properties: p,
            })
        }),
        Carrier::Auth => Box::new(|p| {
            Packet::Auth(Auth {
                reason_code: ReasonCode::SUCCESS,
                properties: p,
            })
        }),
    };
    (bytes, build)
}

fn props(f: impl FnOnce(&mut Properties)) -> Properties {
    let mut p = Properties::default();
    f(&mut p);
    p
}

#[test]
fn every_property_round_trips_through_its_bytes() {
    use Carrier::*;
    let cases: Vec<(&str, Carrier, Vec<u8>, Properties)> = vec![
        (
            "payload format indicator",
            Publish,
            vec![0x01, 0x01],
            props(|p| p.payload_format_indicator = Some(1)),
        ),
        (
            "message expiry interval",
            Publish,
            vec![0x02, 0, 0, 0x0e, 0x10],
            props(|p| p.message_expiry_interval = Some(3600)),
        ),
        (
            "content type",
            Publish,
            vec![0x03, 0, 4, b'j', b's', b'o', b'n'],
            props(|p| p.content_type = Some("json".into())),
        ),
        (
            "response topic",
            Publish,
            vec![0x08, 0, 3, b'r', b'/', b'1'],
            props(|p| p.response_topic = Some("r/1".into())),
        ),
        (
            "correlation data",
            Publish,
            vec![0x09, 0, 2, 0xbe, 0xef],
            props(|p| p.correlation_data = Some(Bytes::from_static(&[0xbe, 0xef]))),
        ),
        (
            "subscription identifier",
            Subscribe,
            vec![0x0b, 0x80, 0x01],
            props(|p| p.subscription_identifiers = vec![128]),
        ),
        (
            "subscription identifiers, repeated in PUBLISH",
            Publish,
            vec![0x0b, 0x01, 0x0b, 0x02],
            props(|p| p.subscription_identifiers = vec![1, 2]),
        ),
        (
            "session expiry interval",
            Connect,
            vec![0x11, 0, 0, 0, 0x3c],
            props(|p| p.session_expiry_interval = Some(60)),
        ),
        (
            "assigned client identifier",
            ConnAck,
            vec![0x12, 0, 2, b'i', b'd'],
            props(|p| p.assigned_client_identifier = Some("id".into())),
        ),
        (
            "server keep alive",
            ConnAck,
            vec![0x13, 0, 0x1e],
            props(|p| p.server_keep_alive = Some(30)),
        ),
        (
            "authentication method",
            Auth,
            vec![0x15, 0, 5, b'S', b'C', b'R', b'A', b'M'],
            props(|p| p.authentication_method = Some("SCRAM".into())),
        ),
        (
            "authentication data",
            Auth,
            vec![0x16, 0, 1, 0x07],
            props(|p| p.authentication_data = Some(Bytes::from_static(&[7]))),
        ),
        (
            "request problem information",
            Connect,
            vec![0x17, 0x00],
            props(|p| p.request_problem_information = Some(false)),
        ),
        (
            "will delay interval",
            Will,
            vec![0x18, 0, 0, 0, 0x05],
            props(|p| p.will_delay_interval = Some(5)),
        ),
        (
            "request response information",
            Connect,
            vec![0x19, 0x01],
            props(|p| p.request_response_information = Some(true)),
        ),
        (
            "response information",
            ConnAck,
            vec![0x1a, 0, 2, b'r', b'i'],
            props(|p| p.response_information = Some("ri".into())),
        ),
        (
            "server reference",
            Disconnect,
            vec![0x1c, 0, 2, b's', b'2'],
            props(|p| p.server_reference = Some("s2".into())),
        ),
        (
            "reason string",
            ConnAck,
            vec![0x1f, 0, 2, b'o', b'k'],
            props(|p| p.reason_string = Some("ok".into())),
        ),
        (
            "receive maximum",
            Connect,
            vec![0x21, 0, 0x0a],
            props(|p| p.receive_maximum = Some(10)),
        ),
        (
            "topic alias maximum",
            ConnAck,
            vec![0x22, 0, 0x05],
            props(|p| p.topic_alias_maximum = Some(5)),
        ),
        (
            "topic alias",
            Publish,
            vec![0x23, 0, 0x01],
            props(|p| p.topic_alias = Some(1)),
        ),
        (
            "maximum QoS",
            ConnAck,
            vec![0x24, 0x01],
            props(|p| p.maximum_qos = Some(QoS::AtLeastOnce)),
        ),
        (
            "retain available",
            ConnAck,
            vec![0x25, 0x00],
            props(|p| p.retain_available = Some(false)),
        ),
        (
            "user property",
            Publish,
            vec![0x26, 0, 1, b'k', 0, 1, b'v', 0x26, 0, 1, b'k', 0, 1, b'w'],
            props(|p| p.user_properties = vec![("k".into(), "v".into()), ("k".into(), "w".into())]),
        ),
        (
            "maximum packet size",
            Connect,
            vec![0x27, 0, 0, 0x10, 0],
            props(|p| p.maximum_packet_size = Some(4096)),
        ),
        (
            "wildcard subscription available",
            ConnAck,
            vec![0x28, 0x01],
            props(|p| p.wildcard_subscription_available = Some(true)),
        ),
        (
            "subscription identifiers available",
            ConnAck,
            vec![0x29, 0x00],
            props(|p| p.subscription_identifiers_available = Some(false)),
        ),
        (
            "shared subscription available",
            ConnAck,
            vec![0x2a, 0x01],
            props(|p| p.shared_subscription_available = Some(true)),
        ),
    ];
    let mut seen_ids = std::collections::BTreeSet::new();
    for (name, carrier, prop_bytes, expected) in cases {
        seen_ids.insert(prop_bytes[0]);
        let (bytes, build) = carried(carrier, &prop_bytes);
        let packet = build(expected);
        assert_eq!(
            decode_packet(Bytes::copy_from_slice(&bytes), V5).unwrap(),
            packet,
            "decoding {name}"
        );
        assert_eq!(
            encode_to_vec(&packet, V5).unwrap(),
            bytes,
            "encoding {name}"
        );
    }
    assert_eq!(
        seen_ids.len(),
        27,
        "every property identifier of MQTT 5 is covered"
    );
}

#[test]
fn connect_v5_with_will_properties_and_password_without_user_name() {
    let packet = Packet::Connect(Connect {
        protocol: V5,
        client_id: "c".into(),
        clean_start: false,
        keep_alive: 60,
        username: None,
        password: Some(Bytes::from_static(b"p")),
        will: Some(LastWill {
            topic: "w".into(),
            payload: Bytes::from_static(b"x"),
            qos: QoS::ExactlyOnce,
            retain: true,
            properties: props(|p| p.will_delay_interval = Some(1)),
        }),
        properties: props(|p| p.session_expiry_interval = Some(10)),
        ..Connect::default()
    });
    #[rustfmt::skip]
    let bytes = [
        0x10, 0x22,
        0, 4, b'M', b'Q', b'T', b'T', 5, 0x74, 0, 60,
        5, 0x11, 0, 0, 0, 10,
        0, 1, b'c',
        5, 0x18, 0, 0, 0, 1,
        0, 1, b'w',
        0, 1, b'x',
        0, 1, b'p',
    ];
    assert_eq!(bytes[1] as usize, bytes.len() - 2);
    round_trip(packet, &bytes);
}

#[test]
fn connack_v5_with_reason_code() {
    round_trip(
        Packet::ConnAck(ConnAck {
            session_present: false,
            code: ReasonCode::NOT_AUTHORIZED,
            properties: Properties::default(),
        }),
        &[0x20, 0x03, 0x00, 0x87, 0x00],
    );
}

#[test]
fn publish_v5_qos2_with_properties_and_payload() {
    round_trip(
        Packet::Publish(Publish {
            dup: true,
            qos: QoS::ExactlyOnce,
            retain: false,
            topic: "a".into(),
            packet_id: Some(id(7)),
            payload: Bytes::from_static(b"hi"),
            properties: props(|p| p.message_expiry_interval = Some(1)),
        }),
        &[
            0x3c, 0x0d, 0, 1, b'a', 0, 7, 5, 0x02, 0, 0, 0, 1, b'h', b'i',
        ],
    );
}

#[test]
fn acks_v5_short_and_long_forms() {
    // Success with no properties: the reason code and property length are left out.
    round_trip(Packet::PubAck(Ack::new(id(1))), &[0x40, 0x02, 0, 1]);
    // A reason code alone.
    round_trip(
        Packet::PubRec(Ack {
            packet_id: id(1),
            reason_code: ReasonCode::NO_MATCHING_SUBSCRIBERS,
            properties: Properties::default(),
        }),
        &[0x50, 0x03, 0, 1, 0x10],
    );
    // A reason code and properties.
    round_trip(
        Packet::PubComp(Ack {
            packet_id: id(1),
            reason_code: ReasonCode::PACKET_IDENTIFIER_NOT_FOUND,
            properties: props(|p| p.reason_string = Some("x".into())),
        }),
        &[0x70, 0x08, 0, 1, 0x92, 4, 0x1f, 0, 1, b'x'],
    );
    round_trip(Packet::PubRel(Ack::new(id(9))), &[0x62, 0x02, 0, 9]);
    // A received form with reason 0 and an empty property list decodes to the short one.
    assert_eq!(
        decode_packet(Bytes::from_static(&[0x62, 0x04, 0, 1, 0, 0]), V5).unwrap(),
        Packet::PubRel(Ack::new(id(1)))
    );
}

#[test]
fn subscribe_v5_options() {
    round_trip(
        Packet::Subscribe(Subscribe {
            packet_id: id(2),
            filters: vec![SubscribeFilter {
                filter: "a/+".into(),
                qos: QoS::AtLeastOnce,
                no_local: true,
                retain_as_published: true,
                retain_handling: RetainHandling::DoNotSend,
            }],
            properties: Properties::default(),
        }),
        &[0x82, 0x09, 0, 2, 0, 0, 3, b'a', b'/', b'+', 0x2d],
    );
}

#[test]
fn suback_unsubscribe_unsuback_v5() {
    round_trip(
        Packet::SubAck(SubAck {
            packet_id: id(2),
            reason_codes: vec![ReasonCode::GRANTED_QOS_1, ReasonCode::NOT_AUTHORIZED],
            properties: Properties::default(),
        }),
        &[0x90, 0x05, 0, 2, 0, 0x01, 0x87],
    );
    round_trip(
        Packet::Unsubscribe(Unsubscribe {
            packet_id: id(3),
            filters: vec!["$share/g/a".into()],
            properties: Properties::default(),
        }),
        &[
            0xa2, 0x0f, 0, 3, 0, 0, 10, b'$', b's', b'h', b'a', b'r', b'e', b'/', b'g', b'/', b'a',
        ],
    );
    round_trip(
        Packet::UnsubAck(UnsubAck {
            packet_id: id(3),
            reason_codes: vec![ReasonCode::NO_SUBSCRIPTION_EXISTED],
            properties: Properties::default(),
        }),
        &[0xb0, 0x04, 0, 3, 0, 0x11],
    );
}

#[test]
fn pings_v5() {
    round_trip(Packet::PingReq, &[0xc0, 0x00]);
    round_trip(Packet::PingResp, &[0xd0, 0x00]);
}

#[test]
fn disconnect_and_auth_v5() {
    round_trip(Packet::disconnect(), &[0xe0, 0x00]);
    round_trip(
        Packet::Disconnect(Disconnect {
            reason_code: ReasonCode::DISCONNECT_WITH_WILL_MESSAGE,
            properties: Properties::default(),
        }),
        &[0xe0, 0x01, 0x04],
    );
    round_trip(Packet::Auth(Auth::default()), &[0xf0, 0x00]);
    round_trip(
        Packet::Auth(Auth {
            reason_code: ReasonCode::CONTINUE_AUTHENTICATION,
            properties: Properties::default(),
        }),
        &[0xf0, 0x01, 0x18],
    );
}
