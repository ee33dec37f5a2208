//! Byte vectors written out from the MQTT 3.1.1 specification's examples, checked in both
//! directions, and the incremental-decoding contract.

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;
#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

use tabmq_core::*;

fn id(n: u16) -> PacketId {
    PacketId::new(n).unwrap()
}

/// Encodes `packet`, compares with `bytes`, and decodes `bytes` back to `packet`.
fn round_trip(packet: Packet, bytes: &[u8]) {
    assert_eq!(
        encode_to_vec(&packet, ProtocolVersion::V311).unwrap(),
        bytes,
        "encoding {packet:?}"
    );
    assert_eq!(
        decode_packet(Bytes::copy_from_slice(bytes), ProtocolVersion::V311).unwrap(),
        packet,
        "decoding {bytes:02x?}"
    );
}

#[test]
fn connect_with_will_user_and_password_spec_3_1_2_10() {
    // The spec's variable header example: level 4, flags 0xCE (user name, password,
    // will QoS 1, will flag, clean session), keepalive 10.
    let packet = Packet::Connect(Connect {
        protocol: ProtocolVersion::V311,
        client_id: "c1".into(),
        clean_start: true,
        keep_alive: 10,
        username: Some("u".into()),
        password: Some(Bytes::from_static(b"pw")),
        will: Some(LastWill {
            topic: "w".into(),
            payload: Bytes::from_static(b"bye"),
            qos: QoS::AtLeastOnce,
            retain: false,
            properties: Properties::default(),
        }),
        properties: Properties::default(),
        ..Connect::default()
    });
    #[rustfmt::skip]
    let bytes = [
        0x10, 0x1d,
        0x00, 0x04, b'M', b'Q', b'T', b'T', 0x04, 0xce, 0x00, 0x0a,
        0x00, 0x02, b'c', b'1',
        0x00, 0x01, b'w',
        0x00, 0x03, b'b', b'y', b'e',
        0x00, 0x01, b'u',
        0x00, 0x02, b'p', b'w',
    ];
    round_trip(packet, &bytes);
}

#[test]
fn connack_return_codes_and_session_present() {
    round_trip(
        Packet::ConnAck(ConnAck {
            session_present: false,
            code: ConnectReturnCode::Accepted.into(),
            properties: Properties::default(),
        }),
        &[0x20, 0x02, 0x00, 0x00],
    );
    round_trip(
        Packet::ConnAck(ConnAck {
            session_present: true,
            code: ConnectReturnCode::Accepted.into(),
            properties: Properties::default(),
        }),
        &[0x20, 0x02, 0x01, 0x00],
    );
    round_trip(
        Packet::ConnAck(ConnAck {
            session_present: false,
            code: ConnectReturnCode::NotAuthorized.into(),
            properties: Properties::default(),
        }),
        &[0x20, 0x02, 0x00, 0x05],
    );
}

#[test]
fn publish_qos0_and_qos1_spec_3_3_2_3() {
    // The spec's example: topic "a/b", packet id 10.
    round_trip(
        Packet::Publish(Publish {
            dup: false,
            qos: QoS::AtLeastOnce,
            retain: false,
            topic: "a/b".into(),
            packet_id: Some(id(10)),
            payload: Bytes::from_static(b"hi"),
            properties: Properties::default(),
        }),
        &[
            0x32, 0x09, 0x00, 0x03, b'a', b'/', b'b', 0x00, 0x0a, b'h', b'i',
        ],
    );
    round_trip(
        Packet::Publish(Publish {
            dup: false,
            qos: QoS::AtMostOnce,
            retain: true,
            topic: "a/b".into(),
            packet_id: None,
            payload: Bytes::new(),
            properties: Properties::default(),
        }),
        &[0x31, 0x05, 0x00, 0x03, b'a', b'/', b'b'],
    );
}

#[test]
fn acknowledgements_of_the_qos_flows() {
    round_trip(Packet::PubAck(Ack::new(id(10))), &[0x40, 0x02, 0x00, 0x0a]);
    round_trip(Packet::PubRec(Ack::new(id(10))), &[0x50, 0x02, 0x00, 0x0a]);
    round_trip(Packet::PubRel(Ack::new(id(10))), &[0x62, 0x02, 0x00, 0x0a]);
    round_trip(Packet::PubComp(Ack::new(id(10))), &[0x70, 0x02, 0x00, 0x0a]);
    round_trip(
        Packet::UnsubAck(UnsubAck {
            packet_id: id(10),
            reason_codes: vec![],
            properties: Properties::default(),
        }),
        &[0xb0, 0x02, 0x00, 0x0a],
    );
}

#[test]
fn subscribe_spec_3_8_3_1() {
    // The spec's example: packet id 10, "a/b" at QoS 1 and "c/d" at QoS 2.
    round_trip(
        Packet::Subscribe(Subscribe {
            packet_id: id(10),
            filters: vec![
                SubscribeFilter::new("a/b", QoS::AtLeastOnce),
                SubscribeFilter::new("c/d", QoS::ExactlyOnce),
            ],
            properties: Properties::default(),
        }),
        &[
            0x82, 0x0e, 0x00, 0x0a, 0x00, 0x03, b'a', b'/', b'b', 0x01, 0x00, 0x03, b'c', b'/',
            b'd', 0x02,
        ],
    );
}

#[test]
fn suback_spec_3_9_3_1() {
    // The spec's example: granted QoS 0, granted QoS 2, failure.
    round_trip(
        Packet::SubAck(SubAck {
            packet_id: id(10),
            reason_codes: vec![
                ReasonCode::GRANTED_QOS_0,
                ReasonCode::GRANTED_QOS_2,
                ReasonCode::UNSPECIFIED_ERROR,
            ],
            properties: Properties::default(),
        }),
        &[0x90, 0x05, 0x00, 0x0a, 0x00, 0x02, 0x80],
    );
}

#[test]
fn unsubscribe_spec_3_10_3_1() {
    round_trip(
        Packet::Unsubscribe(Unsubscribe {
            packet_id: id(10),
            filters: vec!["a/b".into(), "c/d".into()],
            properties: Properties::default(),
        }),
        &[
            0xa2, 0x0c, 0x00, 0x0a, 0x00, 0x03, b'a', b'/', b'b', 0x00, 0x03, b'c', b'/', b'd',
        ],
    );
}

#[test]
fn packets_without_a_body() {
    round_trip(Packet::PingReq, &[0xc0, 0x00]);
    round_trip(Packet::PingResp, &[0xd0, 0x00]);
    round_trip(Packet::disconnect(), &[0xe0, 0x00]);
}

#[test]
fn remaining_length_table_spec_2_2_3() {
    let cases: [(usize, &[u8]); 8] = [
        (0, &[0x00]),
        (127, &[0x7f]),
        (128, &[0x80, 0x01]),
        (16_383, &[0xff, 0x7f]),
        (16_384, &[0x80, 0x80, 0x01]),
        (2_097_151, &[0xff, 0xff, 0x7f]),
        (2_097_152, &[0x80, 0x80, 0x80, 0x01]),
        (268_435_455, &[0xff, 0xff, 0xff, 0x7f]),
    ];
    for (len, encoded) in cases {
        let mut header = vec![0x30];
        header.extend_from_slice(encoded);
        let parsed = decode_fixed_header(&header).unwrap().unwrap();
        assert_eq!(parsed.remaining_length, len);
        assert_eq!(parsed.header_len, 1 + encoded.len());
    }
    // A QoS 0 PUBLISH with a 200-byte body takes a two-byte length.
    let publish = Packet::Publish(Publish {
        dup: false,
        qos: QoS::AtMostOnce,
        retain: false,
        topic: "t".into(),
        packet_id: None,
        payload: Bytes::from(vec![7u8; 197]),
        properties: Properties::default(),
    });
    let bytes = encode_to_vec(&publish, ProtocolVersion::V311).unwrap();
    assert_eq!(&bytes[..3], &[0x30, 0xc8, 0x01]);
}

#[test]
fn a_partial_frame_needs_more_bytes_not_an_error() {
    let bytes = encode_to_vec(
        &Packet::Publish(Publish {
            dup: false,
            qos: QoS::AtMostOnce,
            retain: false,
            topic: "sensor/temperature".into(),
            packet_id: None,
            payload: Bytes::from_static(b"22.5"),
            properties: Properties::default(),
        }),
        ProtocolVersion::V311,
    )
    .unwrap();
    let mut buf = BytesMut::new();
    for (i, byte) in bytes.iter().enumerate() {
        buf.extend_from_slice(&[*byte]);
        let decoded = decode(&mut buf, ProtocolVersion::V311, 1024).unwrap();
        if i + 1 < bytes.len() {
            assert_eq!(decoded, None, "after {} of {} bytes", i + 1, bytes.len());
        } else {
            assert!(matches!(decoded, Some(Packet::Publish(_))));
        }
    }
    assert!(buf.is_empty());
}

#[test]
fn several_packets_in_one_buffer_decode_in_order() {
    let mut buf = BytesMut::from(&[0xc0, 0x00, 0xd0, 0x00, 0xe0][..]);
    assert_eq!(
        decode(&mut buf, ProtocolVersion::V311, 1024).unwrap(),
        Some(Packet::PingReq)
    );
    assert_eq!(
        decode(&mut buf, ProtocolVersion::V311, 1024).unwrap(),
        Some(Packet::PingResp)
    );
    assert_eq!(decode(&mut buf, ProtocolVersion::V311, 1024).unwrap(), None);
    assert_eq!(buf.len(), 1);
}

#[test]
fn the_size_limit_is_checked_on_the_header_before_the_body_arrives() {
    // Announces 2,097,152 bytes; only the header is here.
    let mut buf = BytesMut::from(&[0x30, 0x80, 0x80, 0x80, 0x01][..]);
    assert_eq!(
        decode(&mut buf, ProtocolVersion::V311, 1024),
        Err(DecodeError::PacketTooLarge {
            size: 2_097_157,
            max: 1024
        })
    );
}
