//! Each well-formedness rule, tested by the statement it enforces.

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;
#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

use tabmq_core::*;

fn statement_of(bytes: &[u8]) -> &'static str {
    match decode_packet(Bytes::copy_from_slice(bytes), ProtocolVersion::V311) {
        Err(e) => e.statement().unwrap_or("none"),
        Ok(p) => panic!("{bytes:02x?} decoded to {p:?}"),
    }
}

#[test]
fn mqtt_2_3_1_1_packet_id_zero_is_refused() {
    assert_eq!(statement_of(&[0x40, 0x02, 0x00, 0x00]), "MQTT-2.3.1-1");
    assert_eq!(
        statement_of(&[0x32, 0x05, 0x00, 0x01, b't', 0x00, 0x00]),
        "MQTT-2.3.1-1"
    );
}

#[test]
fn mqtt_2_2_2_2_reserved_flags_are_refused() {
    assert_eq!(statement_of(&[0x41, 0x02, 0x00, 0x01]), "MQTT-2.2.2-2");
    assert_eq!(statement_of(&[0xc1, 0x00]), "MQTT-2.2.2-2");
}

#[test]
fn mqtt_3_6_1_1_pubrel_flags() {
    assert_eq!(statement_of(&[0x60, 0x02, 0x00, 0x01]), "MQTT-3.6.1-1");
}

#[test]
fn mqtt_3_8_1_1_subscribe_flags() {
    assert_eq!(
        statement_of(&[0x80, 0x06, 0x00, 0x01, 0x00, 0x01, b'a', 0x00]),
        "MQTT-3.8.1-1"
    );
}

#[test]
fn mqtt_3_3_1_4_qos_3_is_refused() {
    assert_eq!(
        statement_of(&[0x36, 0x05, 0x00, 0x01, b't', 0x00, 0x01]),
        "MQTT-3.3.1-4"
    );
}

#[test]
fn mqtt_3_3_1_2_dup_on_qos0_is_refused() {
    assert_eq!(
        statement_of(&[0x38, 0x03, 0x00, 0x01, b't']),
        "MQTT-3.3.1-2"
    );
}

#[test]
fn mqtt_3_3_2_2_wildcard_in_topic_name_is_refused() {
    assert_eq!(
        statement_of(&[0x30, 0x03, 0x00, 0x01, b'+']),
        "MQTT-3.3.2-2"
    );
    assert_eq!(
        statement_of(&[0x30, 0x03, 0x00, 0x01, b'#']),
        "MQTT-3.3.2-2"
    );
}

#[test]
fn mqtt_1_5_3_1_ill_formed_utf8_is_refused() {
    // 0xED 0xA0 0x80 would be U+D800, a surrogate.
    assert_eq!(
        statement_of(&[0x30, 0x05, 0x00, 0x03, 0xed, 0xa0, 0x80]),
        "MQTT-1.5.3-1"
    );
    assert_eq!(
        statement_of(&[0x30, 0x03, 0x00, 0x01, 0xff]),
        "MQTT-1.5.3-1"
    );
}

#[test]
fn mqtt_1_5_3_2_null_character_is_refused() {
    assert_eq!(
        statement_of(&[0x30, 0x04, 0x00, 0x02, b'a', 0x00]),
        "MQTT-1.5.3-2"
    );
}

#[test]
fn mqtt_3_8_3_3_subscribe_without_filters_is_refused() {
    assert_eq!(statement_of(&[0x82, 0x02, 0x00, 0x01]), "MQTT-3.8.3-3");
}

#[test]
fn mqtt_3_10_3_2_unsubscribe_without_filters_is_refused() {
    assert_eq!(statement_of(&[0xa2, 0x02, 0x00, 0x01]), "MQTT-3.10.3-2");
}

#[test]
fn mqtt_4_7_1_2_misplaced_multi_level_wildcard_in_subscribe() {
    assert_eq!(
        statement_of(&[0x82, 0x07, 0x00, 0x01, 0x00, 0x02, b'a', b'#', 0x00]),
        "MQTT-4.7.1-2"
    );
}

#[test]
fn mqtt_3_8_3_4_reserved_bits_of_requested_qos() {
    assert_eq!(
        statement_of(&[0x82, 0x06, 0x00, 0x01, 0x00, 0x01, b'a', 0x04]),
        "MQTT-3-8.3-4"
    );
}

#[test]
fn mqtt_3_1_2_1_protocol_name_and_3_1_2_3_reserved_flag() {
    let mut connect = vec![
        0x10, 0x0c, 0x00, 0x04, b'M', b'Q', b'T', b'T', 0x04, 0x02, 0x00, 0x3c, 0x00, 0x00,
    ];
    assert!(decode_packet(Bytes::copy_from_slice(&connect), ProtocolVersion::V311).is_ok());
    connect[9] = 0x03;
    assert_eq!(statement_of(&connect), "MQTT-3.1.2-3");
    connect[9] = 0x02;
    connect[4] = b'X';
    assert_eq!(statement_of(&connect), "MQTT-3.1.2-1");
}

#[test]
fn mqtt_3_1_2_22_password_without_user_name() {
    let connect = [
        0x10, 0x0e, 0x00, 0x04, b'M', b'Q', b'T', b'T', 0x04, 0x42, 0x00, 0x3c, 0x00, 0x00, 0x00,
        0x00,
    ];
    assert_eq!(statement_of(&connect), "MQTT-3.1.2-22");
}

#[test]
fn mqtt_1_5_5_1_remaining_length_in_the_fewest_bytes() {
    assert_eq!(statement_of(&[0xc0, 0x80, 0x00]), "MQTT-1.5.5-1");
}

#[test]
fn remaining_length_over_four_bytes_is_refused() {
    let err = decode_fixed_header(&[0x30, 0xff, 0xff, 0xff, 0xff, 0x01]).unwrap_err();
    assert_eq!(err.statement(), Some("§1.5.5"));
}

#[test]
fn trailing_bytes_inside_a_packet_are_refused() {
    // A PUBACK whose remaining length claims 3 bytes.
    assert_eq!(statement_of(&[0x40, 0x03, 0x00, 0x01, 0x00]), "§2.2.3");
    // Bytes after the packet's end.
    assert!(decode_packet(
        Bytes::from_static(&[0xc0, 0x00, 0x00]),
        ProtocolVersion::V311
    )
    .is_err());
}

#[test]
fn encoding_refuses_what_decoding_would_refuse() {
    let bad = Packet::Publish(Publish {
        dup: false,
        qos: QoS::AtMostOnce,
        retain: false,
        topic: "a/+".into(),
        packet_id: None,
        payload: Bytes::new(),
        properties: Properties::default(),
    });
    match encode_to_vec(&bad, ProtocolVersion::V311) {
        Err(EncodeError::Invalid(v)) => assert_eq!(v.statement, "MQTT-3.3.2-2"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn no_input_of_a_few_bytes_panics() {
    // Every 1- and 2-byte input, and 3-byte inputs over the packet types: errors or
    // "need more", never a panic.
    for a in 0..=255u8 {
        let mut buf = BytesMut::from(&[a][..]);
        let _ = decode(&mut buf, ProtocolVersion::V311, 64);
        for b in 0..=255u8 {
            let mut buf = BytesMut::from(&[a, b][..]);
            let _ = decode(&mut buf, ProtocolVersion::V311, 64);
            let mut buf = BytesMut::from(&[a, 0x01, b][..]);
            let _ = decode(&mut buf, ProtocolVersion::V311, 64);
        }
    }
}

#[test]
fn mqtt_2_1_2_a_client_refuses_the_packets_only_clients_send() {
    // CONNECT, SUBSCRIBE, UNSUBSCRIBE and PINGREQ flow from client to server only.
    let from_client: [&[u8]; 4] = [
        &[0x10, 0x0c, 0, 4, b'M', b'Q', b'T', b'T', 4, 2, 0, 0, 0, 0],
        &[0x82, 0x06, 0, 1, 0, 1, b'a', 0],
        &[0xa2, 0x05, 0, 1, 0, 1, b'a'],
        &[0xc0, 0x00],
    ];
    for bytes in from_client {
        let mut buf = BytesMut::from(bytes);
        match decode_from_server(&mut buf, ProtocolVersion::V311, usize::MAX) {
            Err(e) => assert_eq!(e.statement(), Some("§2.1.2"), "{bytes:02x?}"),
            Ok(p) => panic!("{bytes:02x?} decoded to {p:?}"),
        }
        // A broker's decoder takes each of them.
        let mut buf = BytesMut::from(bytes);
        assert!(matches!(
            decode(&mut buf, ProtocolVersion::V311, usize::MAX),
            Ok(Some(_))
        ));
    }
    // What servers send still decodes, and a reserved type is still reserved.
    let mut buf = BytesMut::from(&[0xd0, 0x00][..]);
    assert_eq!(
        decode_from_server(&mut buf, ProtocolVersion::V311, usize::MAX).unwrap(),
        Some(Packet::PingResp)
    );
    let mut buf = BytesMut::from(&[0x00, 0x00][..]);
    let e = decode_from_server(&mut buf, ProtocolVersion::V311, usize::MAX).unwrap_err();
    assert_eq!(e.statement(), Some("§2.2.1"));
}
