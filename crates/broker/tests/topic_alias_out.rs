//! Outbound topic aliases: towards an MQTT 5 client that announces a Topic Alias Maximum,
//! a topic sent before goes as its alias alone (Mosquitto 2.0 never does this). Checked on
//! the bytes the broker writes.

mod harness;

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;
#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

use harness::*;
use tabmq_broker::{Broker, BrokerConfig, ConnId};
use tabmq_core::*;

/// A subscriber announcing `alias_max`, on "#", and a publisher; both connected.
fn pair(alias_max: Option<u16>) -> (Broker, ConnId, ConnId, Instant) {
    let mut broker = Broker::new(BrokerConfig::default());
    let now = Instant::from_millis(1_000);
    let sub = broker.accept(now);
    let mut p = Properties::default();
    p.topic_alias_maximum = alias_max;
    broker.handle_bytes(sub, &wire(&[v5_connect("sub", p)]), now);
    broker.handle_bytes(
        sub,
        &wire(&[subscribe_packet(
            1,
            vec![SubscribeFilter::new("#", QoS::AtMostOnce)],
            Properties::default(),
        )]),
        now,
    );
    let publisher = broker.accept(now);
    broker.handle_bytes(
        publisher,
        &wire(&[v5_connect("pub", Properties::default())]),
        now,
    );
    sent(&mut broker);
    (broker, sub, publisher, now)
}

/// The raw bytes the broker writes to `conn` for what `publisher` sends.
fn bytes_for(
    broker: &mut Broker,
    conn: ConnId,
    publisher: ConnId,
    topics: &[&str],
    now: Instant,
) -> Vec<u8> {
    let packets: Vec<Packet> = topics
        .iter()
        .map(|t| Packet::Publish(publish_packet(t, "v", QoS::AtMostOnce, None)))
        .collect();
    broker.handle_bytes(publisher, &wire(&packets), now);
    let mut out = Vec::new();
    while let Some((c, bytes)) = broker.poll_transmit() {
        if c == conn {
            out.extend_from_slice(&bytes);
        }
    }
    out
}

#[test]
fn mqtt_3_3_2_10_a_repeated_topic_goes_as_its_alias_alone() {
    let (mut broker, sub, publisher, now) = pair(Some(2));
    let bytes = bytes_for(
        &mut broker,
        sub,
        publisher,
        &[
            "room/1/temp",
            "room/1/temp",
            "room/2/temp",
            "room/3/temp",
            "room/2/temp",
        ],
        now,
    );
    #[rustfmt::skip]
    let expected = [
        // The first time: the topic, and alias 1 set for it.
        &[0x30, 0x12, 0, 11][..], b"room/1/temp", &[3, 0x23, 0, 1], b"v",
        // Then the alias alone, with an empty topic.
        &[0x30, 0x07, 0, 0, 3, 0x23, 0, 1], b"v",
        &[0x30, 0x12, 0, 11], b"room/2/temp", &[3, 0x23, 0, 2], b"v",
        // Past the client's maximum of 2: the topic in full, no alias.
        &[0x30, 0x0f, 0, 11], b"room/3/temp", &[0], b"v",
        &[0x30, 0x07, 0, 0, 3, 0x23, 0, 2], b"v",
    ]
    .concat();
    assert_eq!(bytes, expected);
    // The client resolves them as any MQTT 5 client would.
    let mut buf = BytesMut::from(&bytes[..]);
    let mut aliases = std::collections::HashMap::new();
    let mut topics = Vec::new();
    while let Some(Packet::Publish(p)) = decode(&mut buf, ProtocolVersion::V5, usize::MAX).unwrap()
    {
        let alias = p.properties.topic_alias;
        let topic = if p.topic.is_empty() {
            alias
                .and_then(|a| aliases.get(&a).cloned())
                .unwrap_or_default()
        } else {
            if let Some(a) = alias {
                aliases.insert(a, p.topic.clone());
            }
            p.topic.clone()
        };
        topics.push(topic);
    }
    assert_eq!(
        topics,
        [
            "room/1/temp",
            "room/1/temp",
            "room/2/temp",
            "room/3/temp",
            "room/2/temp"
        ]
    );
}

#[test]
fn mqtt_3_3_2_9_no_alias_goes_to_a_client_that_announced_none() {
    let (mut broker, sub, publisher, now) = pair(None);
    let bytes = bytes_for(&mut broker, sub, publisher, &["a", "a"], now);
    assert_eq!(
        bytes,
        [
            [0x30, 5, 0, 1, b'a', 0, b'v'],
            [0x30, 5, 0, 1, b'a', 0, b'v']
        ]
        .concat()
    );
}

#[test]
fn aliases_live_and_die_with_the_connection() {
    let (mut broker, sub, publisher, now) = pair(Some(5));
    bytes_for(&mut broker, sub, publisher, &["t"], now);
    // The client reconnects: its new connection starts with no aliases [MQTT-3.3.2-7].
    broker.close(sub, now);
    let again = broker.accept(now);
    let mut p = Properties::default();
    p.topic_alias_maximum = Some(5);
    broker.handle_bytes(again, &wire(&[v5_connect("sub", p)]), now);
    broker.handle_bytes(
        again,
        &wire(&[subscribe_packet(
            1,
            vec![SubscribeFilter::new("#", QoS::AtMostOnce)],
            Properties::default(),
        )]),
        now,
    );
    sent(&mut broker);
    let bytes = bytes_for(&mut broker, again, publisher, &["t"], now);
    assert_eq!(bytes, [0x30, 8, 0, 1, b't', 3, 0x23, 0, 1, b'v']);
}

#[test]
fn ten_thousand_messages_on_twenty_topics_take_far_fewer_bytes_with_aliases() {
    let topics: Vec<String> = (0..20)
        .map(|i| format!("building/floor-{}/room-{i}/sensor/temperature", i % 4))
        .collect();
    let stream: Vec<&str> = (0..10_000).map(|i| topics[i % 20].as_str()).collect();
    let mut total = Vec::new();
    for alias_max in [None, Some(20)] {
        let (mut broker, sub, publisher, now) = pair(alias_max);
        let mut n = 0;
        for chunk in stream.chunks(500) {
            n += bytes_for(&mut broker, sub, publisher, chunk, now).len();
        }
        total.push(n);
    }
    let (without, with) = (total[0], total[1]);
    // Each message carries a 45-byte topic; with aliases it carries 3 bytes of alias.
    assert!(
        with * 4 < without,
        "{with} bytes with aliases, {without} without"
    );
    println!("10,000 messages on 20 topics: {without} bytes without aliases, {with} with");
}
