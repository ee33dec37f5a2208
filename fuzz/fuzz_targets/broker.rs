//! The broker core under arbitrary packet sequences from several clients: valid packets
//! built from the input (so the fuzzer reaches deep states), raw bytes, closes and time.
//! It must never panic, and what it keeps must stay within the configured limits.

#![no_main]

use libfuzzer_sys::fuzz_target;
use std::time::Duration;
use tabmq_broker::{Broker, BrokerConfig, ConnId};
use tabmq_core::*;

const IDS: [&str; 4] = ["a", "b", "c", ""];
const TOPICS: [&str; 6] = ["t", "t/x", "$SYS/x", "u/v/w", "t/+", "#"];

fn config() -> BrokerConfig {
    BrokerConfig {
        max_packet_size: 4096,
        max_connections: 6,
        max_subscriptions_per_client: 4,
        max_queued_messages: 8,
        max_queued_bytes: 2048,
        max_retained_messages: 5,
        max_retained_bytes: 1024,
        max_inflight: 3,
        receive_maximum: 4,
        ..BrokerConfig::default()
    }
}

struct Input<'a>(&'a [u8]);

impl Input<'_> {
    fn byte(&mut self) -> Option<u8> {
        let (&b, rest) = self.0.split_first()?;
        self.0 = rest;
        Some(b)
    }
}

fn packet(kind: u8, arg: u8, v5: bool) -> Option<Packet> {
    let topic = TOPICS[usize::from(arg) % TOPICS.len()];
    let qos = QoS::from_u8(arg % 3).unwrap_or(QoS::AtMostOnce);
    let id = PacketId::new(u16::from(arg % 5) + 1)?;
    let mut properties = Properties::default();
    if v5 && arg & 0x40 != 0 {
        properties.message_expiry_interval = Some(u32::from(arg % 4));
    }
    Some(match kind % 8 {
        0 => Packet::Connect(Connect {
            protocol: if v5 { ProtocolVersion::V5 } else { ProtocolVersion::V311 },
            client_id: IDS[usize::from(arg) % IDS.len()].into(),
            clean_start: arg & 0x10 != 0,
            keep_alive: u16::from(arg % 3),
            properties: Properties::with(|p| {
                if v5 && arg & 0x20 != 0 {
                    p.session_expiry_interval = Some(u32::from(arg % 7));
                }
            }),
            will: (arg & 0x80 != 0).then(|| LastWill {
                topic: "will".into(),
                payload: Bytes::from_static(b"w"),
                qos,
                retain: arg & 1 != 0,
                properties: Properties::with(|p| {
                    if v5 {
                        p.will_delay_interval = Some(u32::from(arg % 3));
                    }
                }),
            }),
            ..Connect::default()
        }),
        1 => Packet::Subscribe(Subscribe {
            packet_id: id,
            filters: vec![SubscribeFilter::new(
                if arg & 0x80 != 0 { format!("$share/g/{topic}") } else { topic.into() },
                qos,
            )],
            properties,
        }),
        2 => Packet::Publish(Publish {
            dup: false,
            qos,
            retain: arg & 0x20 != 0,
            topic: topic.replace(['+', '#'], "p"),
            packet_id: (qos != QoS::AtMostOnce).then_some(id),
            payload: Bytes::from(vec![arg; usize::from(arg % 64)]),
            properties,
        }),
        3 => Packet::PubAck(Ack::new(id)),
        4 => Packet::PubRec(Ack::new(id)),
        5 => Packet::PubRel(Ack::new(id)),
        6 => Packet::PubComp(Ack::new(id)),
        _ => Packet::Unsubscribe(Unsubscribe {
            packet_id: id,
            filters: vec![topic.into()],
            properties: Properties::default(),
        }),
    })
}

fuzz_target!(|data: &[u8]| {
    let config = config();
    let mut broker = Broker::new(config.clone());
    let mut now = Instant::from_millis(0);
    let mut conns: Vec<(ConnId, bool)> = Vec::new();
    let mut input = Input(data);
    for _ in 0..512 {
        let Some(op) = input.byte() else { break };
        let arg = input.byte().unwrap_or(0);
        let slot = usize::from(op >> 4) % 4;
        match op & 0x0f {
            0 => {
                if conns.len() < 8 {
                    conns.push((broker.accept(now), arg & 1 != 0));
                }
            }
            1..=10 => {
                if let Some(&(conn, v5)) = conns.get(slot) {
                    if let Some(p) = packet(op & 0x0f, arg, v5) {
                        let mut out = BytesMut::new();
                        if encode(&p, if v5 { ProtocolVersion::V5 } else { ProtocolVersion::V311 }, &mut out).is_ok() {
                            // Split anywhere, as a network would.
                            let cut = usize::from(arg) % (out.len() + 1);
                            broker.handle_bytes(conn, &out[..cut], now);
                            broker.handle_bytes(conn, &out[cut..], now);
                        }
                    }
                }
            }
            11 => {
                if let Some(&(conn, _)) = conns.get(slot) {
                    let n = usize::from(arg).min(input.0.len());
                    let (raw, rest) = input.0.split_at(n);
                    input.0 = rest;
                    broker.handle_bytes(conn, raw, now);
                }
            }
            12 => {
                if slot < conns.len() {
                    let (conn, _) = conns.remove(slot);
                    broker.close(conn, now);
                }
            }
            _ => {
                now = now + Duration::from_millis(u64::from(arg) * 100);
                broker.handle_timeout(now);
            }
        }
        while broker.poll_transmit().is_some() {}
        while let Some(closed) = broker.poll_close() {
            conns.retain(|(c, _)| *c != closed);
        }
        // What it keeps stays within the limits.
        assert!(broker.retained_count() <= config.max_retained_messages + 32, "retained");
        assert!(broker.subscription_count() <= broker.session_count() * config.max_subscriptions_per_client);
        for id in IDS.iter().filter(|i| !i.is_empty()) {
            if let Some((in_flight, queued)) = broker.session_pending(id) {
                assert!(in_flight <= usize::from(config.max_inflight));
                assert!(queued <= config.max_queued_messages);
            }
        }
    }
});
