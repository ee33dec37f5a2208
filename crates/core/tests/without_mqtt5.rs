//! tabmq-core built without its `mqtt5` feature, as the npm package's MQTT 3.1.1 client
//! wasm is (`cargo test -p tabmq-core --no-default-features --test without_mqtt5`, run by
//! `cargo xtask test`). The session's stored form is MQTT 5 framing in both builds, so a
//! session stored by either reads in the other; this build writes every property list
//! empty and skips the ones it reads.
#![cfg(not(feature = "mqtt5"))]

use tabmq_core::{
    decode_from_server, encode_to_vec, Bytes, BytesMut, Packet, PacketId, Properties,
    ProtocolVersion, Publish, QoS, MQTT5,
};

fn publish(properties: Properties) -> Publish {
    Publish {
        topic: "a/b".into(),
        payload: Bytes::from_static(b"hi"),
        qos: QoS::AtLeastOnce,
        packet_id: PacketId::new(7),
        properties,
        ..Publish::default()
    }
}

/// A QoS 1 PUBLISH to "a/b", id 7, payload "hi", in MQTT 5 framing with `props` as its
/// property list.
fn v5_bytes(props: &[u8]) -> Vec<u8> {
    let mut body = vec![0, 3, b'a', b'/', b'b', 0, 7, props.len() as u8];
    body.extend_from_slice(props);
    body.extend_from_slice(b"hi");
    let mut out = vec![0x32, body.len() as u8];
    out.extend(body);
    out
}

#[test]
fn the_build_says_it_has_no_mqtt5() {
    const { assert!(!MQTT5) };
    assert!(!ProtocolVersion::V5.is_v5());
    assert!(!ProtocolVersion::V311.is_v5());
}

#[test]
fn the_stored_form_is_mqtt5_framing_with_an_empty_property_list() {
    let bytes = encode_to_vec(
        &Packet::Publish(publish(Properties::default())),
        ProtocolVersion::V5,
    )
    .expect("encodes");
    assert_eq!(bytes, v5_bytes(&[]));
}

#[test]
fn properties_stored_by_the_mqtt5_build_are_skipped_and_the_message_kept() {
    // User property ("k", "v") and Message Expiry 60, as the MQTT 5 build stores them.
    let props = [0x26, 0, 1, b'k', 0, 1, b'v', 0x02, 0, 0, 0, 60];
    let mut buf = BytesMut::from(&v5_bytes(&props)[..]);
    let packet = decode_from_server(&mut buf, ProtocolVersion::V5, 1024)
        .expect("decodes")
        .expect("whole");
    assert_eq!(packet, Packet::Publish(publish(Properties::default())));
    assert!(
        buf.is_empty(),
        "the whole packet was read, properties included"
    );
}

#[test]
fn a_property_list_running_past_the_packet_is_still_malformed() {
    let mut bytes = v5_bytes(&[]);
    bytes[9] = 40; // the property length (after the fixed header, topic and id), past the end
    let mut buf = BytesMut::from(&bytes[..]);
    assert!(decode_from_server(&mut buf, ProtocolVersion::V5, 1024).is_err());
}

#[test]
fn properties_cannot_be_written() {
    let with = Properties::with(|p| p.message_expiry_interval = Some(60));
    assert!(encode_to_vec(&Packet::Publish(publish(with)), ProtocolVersion::V5).is_err());
}
