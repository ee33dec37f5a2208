//! MQTT 5 well-formedness rules, each tested by the statement it enforces.

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;
#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

use tabmq_core::*;

const V5: ProtocolVersion = ProtocolVersion::V5;

fn error_of(bytes: &[u8]) -> DecodeError {
    match decode_packet(Bytes::copy_from_slice(bytes), V5) {
        Err(e) => e,
        Ok(p) => panic!("{bytes:02x?} decoded to {p:?}"),
    }
}

fn statement_of(bytes: &[u8]) -> &'static str {
    error_of(bytes).statement().unwrap_or("none")
}

/// A QoS 0 PUBLISH to "t" carrying `props` as its property list.
fn publish_with(props: &[u8]) -> Vec<u8> {
    let mut body = vec![0, 1, b't', props.len() as u8];
    body.extend_from_slice(props);
    let mut bytes = vec![0x30, body.len() as u8];
    bytes.extend(body);
    bytes
}

#[test]
fn mqtt_2_2_2_2_a_property_not_allowed_in_the_packet_is_malformed() {
    // Session Expiry Interval belongs to CONNECT, CONNACK and DISCONNECT, not PUBLISH.
    let err = error_of(&publish_with(&[0x11, 0, 0, 0, 1]));
    assert_eq!(err.statement(), Some("§2.2.2.2"));
    assert_eq!(err.reason_code(), ReasonCode::MALFORMED_PACKET);
}

#[test]
fn mqtt_2_2_2_2_an_unknown_property_identifier_is_malformed() {
    assert_eq!(statement_of(&publish_with(&[0x04, 0])), "§2.2.2.2");
}

#[test]
fn a_duplicate_property_is_a_protocol_error() {
    let err = error_of(&publish_with(&[0x01, 0, 0x01, 1]));
    assert_eq!(err.statement(), Some("§2.2.2.2"));
    assert_eq!(err.reason_code(), ReasonCode::PROTOCOL_ERROR);
}

#[test]
fn user_properties_and_subscription_identifiers_may_repeat_in_publish() {
    let bytes = publish_with(&[
        0x26, 0, 1, b'a', 0, 0, 0x26, 0, 1, b'a', 0, 0, 0x0b, 1, 0x0b, 1,
    ]);
    let Packet::Publish(p) = decode_packet(Bytes::from(bytes), V5).unwrap() else {
        panic!("not a PUBLISH");
    };
    assert_eq!(p.properties.user_properties.len(), 2);
    assert_eq!(p.properties.subscription_identifiers, [1, 1]);
}

#[test]
fn a_subscription_identifier_may_not_repeat_in_subscribe() {
    let mut bytes = vec![0x82, 0, 0, 1, 4, 0x0b, 1, 0x0b, 2, 0, 1, b'f', 0];
    bytes[1] = (bytes.len() - 2) as u8;
    let err = error_of(&bytes);
    assert_eq!(err.reason_code(), ReasonCode::PROTOCOL_ERROR);
}

#[test]
fn forbidden_zero_values_are_refused() {
    // Topic Alias 0 [MQTT-3.3.2-8], Subscription Identifier 0.
    for props in [&[0x23u8, 0, 0][..], &[0x0b, 0][..]] {
        assert_eq!(
            statement_of(&publish_with(props)),
            "§2.2.2.2",
            "{props:02x?}"
        );
    }
    // Receive Maximum 0 and Maximum Packet Size 0, in CONNACK.
    for props in [&[0x21u8, 0, 0][..], &[0x27, 0, 0, 0, 0][..]] {
        let mut bytes = vec![0x20, 3 + props.len() as u8, 0, 0, props.len() as u8];
        bytes.extend_from_slice(props);
        assert_eq!(statement_of(&bytes), "§2.2.2.2", "{props:02x?}");
    }
}

#[test]
fn flag_properties_take_only_0_or_1() {
    // Request Problem Information, in CONNECT: 2 is neither.
    let connect = [
        0x10, 0x0f, 0, 4, b'M', b'Q', b'T', b'T', 5, 0x02, 0, 0, 2, 0x17, 2, 0, 0,
    ];
    assert_eq!(statement_of(&connect), "§2.2.2.2");
}

#[test]
fn mqtt_3_3_2_4_an_unknown_payload_format_indicator_is_kept_unaltered() {
    // The spec names no error for values past 1, and a server must forward the
    // indicator unaltered, so the value is kept for the broker to pass on.
    let bytes = publish_with(&[0x01, 0xed]);
    let packet = decode_packet(Bytes::from(bytes.clone()), ProtocolVersion::V5)
        .expect("an unknown payload format indicator decodes");
    let Packet::Publish(p) = &packet else {
        panic!("not a PUBLISH: {packet:?}");
    };
    assert_eq!(p.properties.payload_format_indicator, Some(0xed));
    assert_eq!(
        tabmq_core::encode_to_vec(&packet, ProtocolVersion::V5).expect("encodes"),
        bytes
    );
}

#[test]
fn mqtt_3_3_2_14_response_topic_without_wildcards() {
    assert_eq!(
        statement_of(&publish_with(&[0x08, 0, 1, b'#'])),
        "MQTT-3.3.2-14"
    );
}

#[test]
fn mqtt_1_5_4_1_and_1_5_4_2_strings() {
    assert_eq!(statement_of(&[0x30, 0x04, 0, 1, 0xff, 0]), "MQTT-1.5.4-1");
    assert_eq!(statement_of(&[0x30, 0x04, 0, 1, 0, 0]), "MQTT-1.5.4-2");
}

#[test]
fn mqtt_1_5_5_1_property_length_in_the_fewest_bytes() {
    // Property length 0 written in two bytes.
    assert_eq!(
        statement_of(&[0x30, 0x05, 0, 1, b't', 0x80, 0x00]),
        "MQTT-1.5.5-1"
    );
}

#[test]
fn an_empty_topic_needs_a_topic_alias() {
    assert_eq!(statement_of(&[0x30, 0x03, 0, 0, 0]), "MQTT-4.7.3-1");
    let aliased = [0x30, 0x06, 0, 0, 3, 0x23, 0, 1];
    assert!(decode_packet(Bytes::copy_from_slice(&aliased), V5).is_ok());
}

#[test]
fn mqtt_3_8_3_5_reserved_subscription_option_bits() {
    assert_eq!(
        statement_of(&[0x82, 0x07, 0, 1, 0, 0, 1, b'f', 0x40]),
        "MQTT-3.8.3-5"
    );
}

#[test]
fn retain_handling_3_is_a_protocol_error() {
    assert_eq!(
        statement_of(&[0x82, 0x07, 0, 1, 0, 0, 1, b'f', 0x30]),
        "§3.8.3.1"
    );
}

#[test]
fn mqtt_3_8_3_4_no_local_on_a_shared_subscription() {
    let mut bytes = vec![0x82, 0, 0, 1, 0, 0, 10];
    bytes.extend_from_slice(b"$share/g/a");
    bytes.push(0x04);
    bytes[1] = (bytes.len() - 2) as u8;
    assert_eq!(statement_of(&bytes), "MQTT-3.8.3-4");
}

#[test]
fn mqtt_4_8_2_1_and_4_8_2_2_share_name_rules() {
    for (filter, statement) in [
        ("$share//a", "MQTT-4.8.2-1"),
        ("$share/g+/a", "§4.8.2"),
        ("$share/g", "MQTT-4.8.2-2"),
    ] {
        let mut bytes = vec![0x82, 0, 0, 1, 0, 0, filter.len() as u8];
        bytes.extend_from_slice(filter.as_bytes());
        bytes.push(0);
        bytes[1] = (bytes.len() - 2) as u8;
        assert_eq!(statement_of(&bytes), statement, "{filter}");
    }
}

#[test]
fn statements_renumbered_in_5_0_are_cited_by_their_5_0_number() {
    // '#' not last: [MQTT-4.7.1-2] in 3.1.1, [MQTT-4.7.1-1] in 5.0.
    let misplaced_hash = [0x82, 0x08, 0, 1, 0, 0, 2, b'#', b'a', 0];
    assert_eq!(statement_of(&misplaced_hash), "MQTT-4.7.1-1");
    let v311 = decode_packet(
        Bytes::from_static(&[0x82, 0x07, 0, 1, 0, 2, b'#', b'a', 0]),
        ProtocolVersion::V311,
    );
    assert_eq!(v311.unwrap_err().statement(), Some("MQTT-4.7.1-2"));
    // Reserved flags: [MQTT-2.2.2-2] in 3.1.1, [MQTT-2.1.3-1] in 5.0.
    assert_eq!(statement_of(&[0x41, 0x02, 0, 1]), "MQTT-2.1.3-1");
    // Packet id 0: [MQTT-2.3.1-1] in 3.1.1, [MQTT-2.2.1-3] in 5.0.
    assert_eq!(statement_of(&[0x40, 0x02, 0, 0]), "MQTT-2.2.1-3");
    // SUBSCRIBE with no filter: [MQTT-3.8.3-3] in 3.1.1, [MQTT-3.8.3-2] in 5.0.
    assert_eq!(statement_of(&[0x82, 0x03, 0, 1, 0]), "MQTT-3.8.3-2");
    // Will QoS without a will: [MQTT-3.1.2-13] in 3.1.1, [MQTT-3.1.2-11] in 5.0.
    let connect = [
        0x10, 0x0d, 0, 4, b'M', b'Q', b'T', b'T', 5, 0x0a, 0, 0, 0, 0, 0,
    ];
    assert_eq!(statement_of(&connect), "MQTT-3.1.2-11");
}

#[test]
fn reason_codes_not_allowed_for_the_packet_are_refused() {
    // 0x04 (disconnect with will) is a DISCONNECT reason, not a PUBACK one.
    assert_eq!(statement_of(&[0x40, 0x03, 0, 1, 0x04]), "§2.4");
    // 0x92 is for PUBREL/PUBCOMP only.
    assert_eq!(statement_of(&[0x40, 0x03, 0, 1, 0x92]), "§2.4");
    assert_eq!(statement_of(&[0xf0, 0x01, 0x80]), "§2.4");
}

#[test]
fn mqtt_3_2_2_6_session_present_with_a_failure_code() {
    assert_eq!(statement_of(&[0x20, 0x03, 0x01, 0x80, 0]), "MQTT-3.2.2-6");
}

#[test]
fn mqtt_3_1_2_2_an_unsupported_protocol_level_is_its_own_error() {
    let connect = [
        0x10, 0x0c, 0, 4, b'M', b'Q', b'T', b'T', 6, 0x02, 0, 0, 0, 0,
    ];
    assert_eq!(
        error_of(&connect),
        DecodeError::UnsupportedProtocolVersion { level: 6 }
    );
    // "MQIsdp" is MQTT 3.1, whose only level is 3.
    let mqisdp_4 = [
        0x10, 0x0e, 0, 6, b'M', b'Q', b'I', b's', b'd', b'p', 4, 0x02, 0, 0, 0, 0,
    ];
    assert_eq!(
        error_of(&mqisdp_4),
        DecodeError::UnsupportedProtocolVersion { level: 4 }
    );
    // 5.0 has no bridge bit: 0x85 is no level at all.
    let bridged_5 = [
        0x10, 0x0d, 0, 4, b'M', b'Q', b'T', b'T', 0x85, 0x02, 0, 0, 0, 0, 0,
    ];
    assert_eq!(
        error_of(&bridged_5),
        DecodeError::UnsupportedProtocolVersion { level: 0x85 }
    );
}

#[test]
fn mqtt_3_1_mqisdp_level_3_and_the_bridge_bit_decode_and_encode_back() {
    let cases: [(&[u8], bool, bool); 3] = [
        (b"MQIsdp", false, false),
        (b"MQIsdp", true, false),
        (b"MQTT", false, true),
    ];
    for (name, bridge, v311) in cases {
        let level = if v311 { 4 } else { 3 } | if bridge { 0x80 } else { 0 };
        let mut bytes = vec![0x10, (name.len() + 10) as u8, 0, name.len() as u8];
        bytes.extend_from_slice(name);
        bytes.extend_from_slice(&[level, 0x02, 0, 60, 0, 2, b'i', b'd']);
        let packet = decode_packet(Bytes::from(bytes.clone()), ProtocolVersion::V311)
            .expect("a 3.1 or bridge CONNECT decodes");
        let Packet::Connect(c) = &packet else {
            panic!("not a CONNECT: {packet:?}");
        };
        assert_eq!((c.mqtt31, c.bridge), (!v311, bridge));
        assert_eq!(c.protocol, ProtocolVersion::V311);
        assert_eq!(c.client_id, "id");
        let again = tabmq_core::encode_to_vec(&packet, ProtocolVersion::V311).expect("encodes");
        assert_eq!(again, bytes);
    }
}

#[test]
fn auth_is_not_a_packet_of_3_1_1() {
    let err = decode_packet(Bytes::from_static(&[0xf0, 0x00]), ProtocolVersion::V311);
    assert_eq!(err.unwrap_err().statement(), Some("§2.2.1"));
}

#[test]
fn the_encoder_refuses_mqtt5_fields_on_a_311_wire() {
    let publish = Packet::Publish(Publish {
        topic: "t".into(),
        properties: Properties::with(|p| p.content_type = Some("json".into())),
        ..Publish::default()
    });
    assert!(encode_to_vec(&publish, ProtocolVersion::V311).is_err());
    assert!(encode_to_vec(&publish, V5).is_ok());
    let with_will_delay = Packet::Publish(Publish {
        topic: "t".into(),
        properties: Properties::with(|p| p.will_delay_interval = Some(1)),
        ..Publish::default()
    });
    assert!(
        encode_to_vec(&with_will_delay, V5).is_err(),
        "a will property on PUBLISH"
    );
}

#[test]
fn no_short_input_panics_in_either_version() {
    for version in [ProtocolVersion::V311, V5] {
        for a in 0..=255u8 {
            for b in 0..=255u8 {
                for tail in [&[][..], &[0x00][..], &[0x01, 0x00][..]] {
                    let mut bytes = vec![a, 2 + tail.len() as u8, 0x00, b];
                    bytes.extend_from_slice(tail);
                    let mut buf = BytesMut::from(&bytes[..]);
                    let _ = decode(&mut buf, version, 64);
                }
            }
        }
    }
}
