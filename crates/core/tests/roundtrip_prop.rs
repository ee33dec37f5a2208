//! decode(encode(p)) == p over generated packets of both protocol versions.

#![cfg(not(target_arch = "wasm32"))]

use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;
use tabmq_core::*;

fn text() -> impl Strategy<Value = String> {
    // Any printable text: no U+0000, no surrogates (Rust strings cannot hold them).
    "\\PC{0,12}"
}

fn topic() -> impl Strategy<Value = String> {
    "[a-z0-9é$ ]{1,6}(/[a-z0-9é]{0,6}){0,3}"
}

fn filter() -> impl Strategy<Value = String> {
    prop_oneof![
        topic(),
        Just("#".to_owned()),
        "[a-z]{1,4}/\\+(/[a-z]{1,4})?",
        "\\+/[a-z]{1,4}/#",
    ]
}

fn binary() -> impl Strategy<Value = Bytes> {
    vec(any::<u8>(), 0..24).prop_map(Bytes::from)
}

fn packet_id() -> impl Strategy<Value = PacketId> {
    (1..=u16::MAX).prop_map(|n| PacketId::new(n).unwrap())
}

fn qos() -> impl Strategy<Value = QoS> {
    (0u8..=2).prop_map(|q| QoS::from_u8(q).unwrap())
}

fn reason(codes: &'static [u8]) -> impl Strategy<Value = ReasonCode> {
    proptest::sample::select(codes).prop_map(ReasonCode)
}

/// Every property, each present or not, then cut down to what `ctx` allows.
fn properties(version: ProtocolVersion, ctx: PropertyContext) -> BoxedStrategy<Properties> {
    if version == ProtocolVersion::V311 {
        return Just(Properties::default()).boxed();
    }
    let first = (
        // Any byte: values other than 0 and 1 are kept unaltered [MQTT-3.3.2-4].
        option::of(any::<u8>()),
        option::of(any::<u32>()),
        option::of(text()),
        option::of(topic()),
        option::of(binary()),
        vec(1..=MAX_VARINT, 0..3),
        option::of(any::<u32>()),
        option::of(text()),
        option::of(any::<u16>()),
        option::of(text()),
    );
    let second = (
        option::of(binary()),
        option::of(any::<bool>()),
        option::of(any::<u32>()),
        option::of(any::<bool>()),
        option::of(text()),
        option::of(text()),
        option::of(text()),
        option::of(1..=u16::MAX),
        option::of(any::<u16>()),
        option::of(1..=u16::MAX),
    );
    let third = (
        option::of(prop_oneof![Just(QoS::AtMostOnce), Just(QoS::AtLeastOnce)]),
        option::of(any::<bool>()),
        vec((text(), text()), 0..3),
        option::of(1..=u32::MAX),
        option::of(any::<bool>()),
        option::of(any::<bool>()),
        option::of(any::<bool>()),
    );
    (first, second, third)
        .prop_map(move |(a, b, c)| {
            let mut v = PropertyValues {
                received_order: Default::default(),
                payload_format_indicator: a.0,
                message_expiry_interval: a.1,
                content_type: a.2,
                response_topic: a.3,
                correlation_data: a.4,
                subscription_identifiers: a.5,
                session_expiry_interval: a.6,
                assigned_client_identifier: a.7,
                server_keep_alive: a.8,
                authentication_method: a.9,
                authentication_data: b.0,
                request_problem_information: b.1,
                will_delay_interval: b.2,
                request_response_information: b.3,
                response_information: b.4,
                server_reference: b.5,
                reason_string: b.6,
                receive_maximum: b.7,
                topic_alias_maximum: b.8,
                topic_alias: b.9,
                maximum_qos: c.0,
                retain_available: c.1,
                user_properties: c.2,
                maximum_packet_size: c.3,
                wildcard_subscription_available: c.4,
                subscription_identifiers_available: c.5,
                shared_subscription_available: c.6,
            };
            restrict(&mut v, ctx);
            Properties::from_values(v)
        })
        .boxed()
}

/// Clears what `ctx` may not carry.
fn restrict(v: &mut PropertyValues, ctx: PropertyContext) {
    macro_rules! keep {
        ($id:expr, $field:ident) => {
            if !property_allowed($id, ctx) {
                v.$field = Default::default();
            }
        };
    }
    keep!(0x01, payload_format_indicator);
    keep!(0x02, message_expiry_interval);
    keep!(0x03, content_type);
    keep!(0x08, response_topic);
    keep!(0x09, correlation_data);
    keep!(0x0b, subscription_identifiers);
    keep!(0x11, session_expiry_interval);
    keep!(0x12, assigned_client_identifier);
    keep!(0x13, server_keep_alive);
    keep!(0x15, authentication_method);
    keep!(0x16, authentication_data);
    keep!(0x17, request_problem_information);
    keep!(0x18, will_delay_interval);
    keep!(0x19, request_response_information);
    keep!(0x1a, response_information);
    keep!(0x1c, server_reference);
    keep!(0x1f, reason_string);
    keep!(0x21, receive_maximum);
    keep!(0x22, topic_alias_maximum);
    keep!(0x23, topic_alias);
    keep!(0x24, maximum_qos);
    keep!(0x25, retain_available);
    keep!(0x26, user_properties);
    keep!(0x27, maximum_packet_size);
    keep!(0x28, wildcard_subscription_available);
    keep!(0x29, subscription_identifiers_available);
    keep!(0x2a, shared_subscription_available);
    if ctx == PropertyContext::Subscribe {
        v.subscription_identifiers.truncate(1);
    }
}

fn ack(version: ProtocolVersion, ctx: PropertyContext, codes: &'static [u8]) -> BoxedStrategy<Ack> {
    let code = if version == ProtocolVersion::V5 {
        reason(codes).boxed()
    } else {
        Just(ReasonCode::SUCCESS).boxed()
    };
    (packet_id(), code, properties(version, ctx))
        .prop_map(|(packet_id, reason_code, properties)| Ack {
            packet_id,
            reason_code,
            properties,
        })
        .boxed()
}

const PUBACK_CODES: &[u8] = &[0x00, 0x10, 0x80, 0x83, 0x87, 0x90, 0x91, 0x97, 0x99];
const PUBREL_CODES: &[u8] = &[0x00, 0x92];
const SUBACK_V5: &[u8] = &[
    0x00, 0x01, 0x02, 0x80, 0x83, 0x87, 0x8f, 0x91, 0x97, 0x9e, 0xa1, 0xa2,
];
const SUBACK_V311: &[u8] = &[0x00, 0x01, 0x02, 0x80];
const UNSUBACK_CODES: &[u8] = &[0x00, 0x11, 0x80, 0x83, 0x87, 0x8f, 0x91];
const CONNACK_V5: &[u8] = &[0x00, 0x80, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8a, 0x9c];
const DISCONNECT_CODES: &[u8] = &[0x00, 0x04, 0x80, 0x81, 0x82, 0x8e, 0x93, 0x94, 0x95];

fn packet(version: ProtocolVersion) -> BoxedStrategy<Packet> {
    use PropertyContext as C;
    let v5 = version == ProtocolVersion::V5;
    let will = (
        topic(),
        binary(),
        qos(),
        any::<bool>(),
        properties(version, C::Will),
    )
        .prop_map(|(topic, payload, qos, retain, properties)| LastWill {
            topic,
            payload,
            qos,
            retain,
            properties,
        });
    let connect = (
        text(),
        any::<bool>(),
        any::<u16>(),
        option::of(text()),
        option::of(binary()),
        option::of(will),
        properties(version, C::Connect),
        (any::<bool>(), any::<bool>()),
    )
        .prop_map(
            move |(
                client_id,
                clean_start,
                keep_alive,
                username,
                password,
                will,
                properties,
                (mqtt31, bridge),
            )| {
                // 3.1.1 allows a password only with a user name.
                let password = if v5 || username.is_some() {
                    password
                } else {
                    None
                };
                Packet::Connect(Connect {
                    protocol: version,
                    // MQTT 3.1's name and the bridge bit exist beside 3.1.1 only.
                    mqtt31: mqtt31 && !v5,
                    bridge: bridge && !v5,
                    client_id,
                    clean_start,
                    keep_alive,
                    username,
                    password,
                    will,
                    properties,
                })
            },
        );
    let connack_code = if v5 {
        reason(CONNACK_V5).boxed()
    } else {
        (0u8..=5).prop_map(ReasonCode).boxed()
    };
    let connack = (any::<bool>(), connack_code, properties(version, C::ConnAck)).prop_map(
        |(present, code, properties)| {
            Packet::ConnAck(ConnAck {
                session_present: present && code == ReasonCode::SUCCESS,
                code,
                properties,
            })
        },
    );
    let publish = (
        any::<bool>(),
        qos(),
        any::<bool>(),
        topic(),
        packet_id(),
        binary(),
        properties(version, C::Publish),
    )
        .prop_map(|(dup, qos, retain, topic, id, payload, properties)| {
            let with_id = qos != QoS::AtMostOnce;
            Packet::Publish(Publish {
                dup: dup && with_id,
                qos,
                retain,
                topic: topic.into(),
                packet_id: with_id.then_some(id),
                payload,
                properties,
            })
        });
    let subscription = (filter(), qos(), any::<bool>(), any::<bool>(), 0u8..=2).prop_map(
        move |(filter, qos, no_local, rap, rh)| SubscribeFilter {
            filter,
            qos,
            no_local: v5 && no_local,
            retain_as_published: v5 && rap,
            retain_handling: if v5 {
                RetainHandling::from_u8(rh).unwrap()
            } else {
                RetainHandling::SendOnSubscribe
            },
        },
    );
    let subscribe = (
        packet_id(),
        vec(subscription, 1..4),
        properties(version, C::Subscribe),
    )
        .prop_map(|(packet_id, filters, properties)| {
            Packet::Subscribe(Subscribe {
                packet_id,
                filters,
                properties,
            })
        });
    let suback = (
        packet_id(),
        vec(reason(if v5 { SUBACK_V5 } else { SUBACK_V311 }), 0..4),
        properties(version, C::SubAck),
    )
        .prop_map(|(packet_id, reason_codes, properties)| {
            Packet::SubAck(SubAck {
                packet_id,
                reason_codes,
                properties,
            })
        });
    let unsubscribe = (
        packet_id(),
        vec(filter(), 1..4),
        properties(version, C::Unsubscribe),
    )
        .prop_map(|(packet_id, filters, properties)| {
            Packet::Unsubscribe(Unsubscribe {
                packet_id,
                filters,
                properties,
            })
        });
    let unsuback = (
        packet_id(),
        vec(reason(UNSUBACK_CODES), 0..4),
        properties(version, C::UnsubAck),
    )
        .prop_map(move |(packet_id, codes, properties)| {
            Packet::UnsubAck(UnsubAck {
                packet_id,
                reason_codes: if v5 { codes } else { vec![] },
                properties,
            })
        });
    let disconnect_code = if v5 {
        reason(DISCONNECT_CODES).boxed()
    } else {
        Just(ReasonCode::SUCCESS).boxed()
    };
    let disconnect = (disconnect_code, properties(version, C::Disconnect)).prop_map(
        |(reason_code, properties)| {
            Packet::Disconnect(Disconnect {
                reason_code,
                properties,
            })
        },
    );
    let mut choices: Vec<BoxedStrategy<Packet>> = vec![
        connect.boxed(),
        connack.boxed(),
        publish.boxed(),
        ack(version, C::PubAck, PUBACK_CODES)
            .prop_map(Packet::PubAck)
            .boxed(),
        ack(version, C::PubRec, PUBACK_CODES)
            .prop_map(Packet::PubRec)
            .boxed(),
        ack(version, C::PubRel, PUBREL_CODES)
            .prop_map(Packet::PubRel)
            .boxed(),
        ack(version, C::PubComp, PUBREL_CODES)
            .prop_map(Packet::PubComp)
            .boxed(),
        subscribe.boxed(),
        suback.boxed(),
        unsubscribe.boxed(),
        unsuback.boxed(),
        Just(Packet::PingReq).boxed(),
        Just(Packet::PingResp).boxed(),
        disconnect.boxed(),
    ];
    if v5 {
        let auth = (reason(&[0x00, 0x18, 0x19]), properties(version, C::Auth)).prop_map(
            |(reason_code, properties)| {
                Packet::Auth(Auth {
                    reason_code,
                    properties,
                })
            },
        );
        choices.push(auth.boxed());
    }
    proptest::strategy::Union::new(choices).boxed()
}

fn round_trips(packet: &Packet, version: ProtocolVersion) -> Result<(), TestCaseError> {
    let bytes = encode_to_vec(packet, version)
        .map_err(|e| TestCaseError::fail(format!("encoding {packet:?}: {e}")))?;
    let decoded = decode_packet(Bytes::from(bytes.clone()), version)
        .map_err(|e| TestCaseError::fail(format!("decoding {bytes:02x?}: {e}")))?;
    prop_assert_eq!(&decoded, packet);
    // Split anywhere, the incremental decoder agrees.
    let cut = bytes.len() / 2;
    let mut buf = BytesMut::from(&bytes[..cut]);
    prop_assert_eq!(decode(&mut buf, version, usize::MAX).unwrap(), None);
    buf.extend_from_slice(&bytes[cut..]);
    prop_assert_eq!(
        decode(&mut buf, version, usize::MAX).unwrap(),
        Some(decoded)
    );
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    #[test]
    fn every_v311_packet_round_trips(p in packet(ProtocolVersion::V311)) {
        round_trips(&p, ProtocolVersion::V311)?;
    }

    #[test]
    fn every_v5_packet_round_trips(p in packet(ProtocolVersion::V5)) {
        round_trips(&p, ProtocolVersion::V5)?;
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in vec(any::<u8>(), 0..64), v5 in any::<bool>()) {
        let version = if v5 { ProtocolVersion::V5 } else { ProtocolVersion::V311 };
        let mut buf = BytesMut::from(&bytes[..]);
        // Whatever happens, it is a value, not a panic; and a packet decoded from
        // arbitrary bytes encodes again.
        while let Ok(Some(packet)) = decode(&mut buf, version, 1024) {
            prop_assert!(encode_to_vec(&packet, version).is_ok(), "{:?}", packet);
        }
    }
}
