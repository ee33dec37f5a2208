//! Real Mosquitto output, captured on loopback and decoded: CONNACK, SUBACK, PUBLISH,
//! PUBACK, PUBREC, PUBREL, PUBCOMP, UNSUBACK and PINGRESP, in both protocol versions.
//!
//! Needs Debian's mosquitto, which `cargo xtask test` installs; it runs there with
//! `--ignored`.

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};
use support::Mosquitto;
use tabmq_core::*;

/// A raw MQTT connection: our encoder out, our decoder in.
struct Wire {
    stream: TcpStream,
    buf: BytesMut,
    version: ProtocolVersion,
}

impl Wire {
    fn open(port: u16, version: ProtocolVersion) -> Wire {
        let stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        Wire {
            stream,
            buf: BytesMut::new(),
            version,
        }
    }

    fn send(&mut self, packet: Packet) {
        let bytes = encode_to_vec(&packet, self.version).unwrap();
        self.stream.write_all(&bytes).unwrap();
    }

    /// The next packet Mosquitto sends; bounded by the read timeout.
    fn next(&mut self) -> Packet {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            if let Some(p) = decode(&mut self.buf, self.version, 1 << 20).unwrap() {
                return p;
            }
            assert!(Instant::now() < deadline, "no packet from mosquitto");
            let mut chunk = [0u8; 4096];
            let n = self.stream.read(&mut chunk).unwrap();
            assert!(n > 0, "mosquitto closed the connection");
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }
}

fn id(n: u16) -> PacketId {
    PacketId::new(n).unwrap()
}

fn capture_all_flows(version: ProtocolVersion) {
    let broker = Mosquitto::start("");
    let v5 = version == ProtocolVersion::V5;
    let mut w = Wire::open(broker.port, version);
    w.send(Packet::Connect(Connect {
        protocol: version,
        client_id: format!("capture-{}", version.level()),
        clean_start: true,
        keep_alive: 30,
        ..Connect::default()
    }));
    let Packet::ConnAck(ack) = w.next() else {
        panic!("expected CONNACK")
    };
    assert_eq!(ack.code, ReasonCode::SUCCESS);
    assert!(!ack.session_present);

    w.send(Packet::Subscribe(Subscribe {
        packet_id: id(1),
        filters: vec![SubscribeFilter::new("capture/#", QoS::ExactlyOnce)],
        properties: Properties::default(),
    }));
    let Packet::SubAck(suback) = w.next() else {
        panic!("expected SUBACK")
    };
    assert_eq!(suback.packet_id, id(1));
    assert_eq!(suback.reason_codes, [ReasonCode::GRANTED_QOS_2]);

    // QoS 1 to our own subscription: PUBACK for ours, and the message back at QoS 1.
    w.send(Packet::Publish(Publish {
        qos: QoS::AtLeastOnce,
        topic: "capture/one".into(),
        packet_id: Some(id(2)),
        payload: Bytes::from_static(b"q1"),
        ..Publish::default()
    }));
    let mut got_puback = false;
    let mut delivered = None;
    for _ in 0..2 {
        match w.next() {
            Packet::PubAck(a) => {
                assert_eq!(a.packet_id, id(2));
                assert_eq!(a.reason_code, ReasonCode::SUCCESS);
                got_puback = true;
            }
            Packet::Publish(p) => delivered = Some(p),
            other => panic!("unexpected {other:?}"),
        }
    }
    assert!(got_puback);
    let p = delivered.expect("the QoS 1 message came back");
    assert_eq!(
        (&*p.topic, &p.payload[..], p.qos),
        ("capture/one", &b"q1"[..], QoS::AtLeastOnce)
    );
    w.send(Packet::PubAck(Ack::new(p.packet_id.unwrap())));

    // QoS 2: PUBREC, PUBREL, PUBCOMP for ours; and the inbound flow for the copy.
    w.send(Packet::Publish(Publish {
        qos: QoS::ExactlyOnce,
        topic: "capture/two".into(),
        packet_id: Some(id(3)),
        payload: Bytes::from_static(b"q2"),
        ..Publish::default()
    }));
    let Packet::PubRec(rec) = w.next() else {
        panic!("expected PUBREC")
    };
    assert_eq!(rec.packet_id, id(3));
    w.send(Packet::PubRel(Ack::new(id(3))));
    let mut got_pubcomp = false;
    let mut inbound = None;
    for _ in 0..2 {
        match w.next() {
            Packet::PubComp(c) => {
                assert_eq!(c.packet_id, id(3));
                got_pubcomp = true;
            }
            Packet::Publish(p) => inbound = Some(p),
            other => panic!("unexpected {other:?}"),
        }
    }
    assert!(got_pubcomp);
    let p = inbound.expect("the QoS 2 message came back");
    assert_eq!(
        (&*p.topic, &p.payload[..], p.qos),
        ("capture/two", &b"q2"[..], QoS::ExactlyOnce)
    );
    let their_id = p.packet_id.unwrap();
    w.send(Packet::PubRec(Ack::new(their_id)));
    let Packet::PubRel(rel) = w.next() else {
        panic!("expected PUBREL")
    };
    assert_eq!(rel.packet_id, their_id);
    w.send(Packet::PubComp(Ack::new(their_id)));

    w.send(Packet::Unsubscribe(Unsubscribe {
        packet_id: id(4),
        filters: vec!["capture/#".into()],
        properties: Properties::default(),
    }));
    let Packet::UnsubAck(unsuback) = w.next() else {
        panic!("expected UNSUBACK")
    };
    assert_eq!(unsuback.packet_id, id(4));
    if v5 {
        assert_eq!(unsuback.reason_codes, [ReasonCode::SUCCESS]);
    } else {
        assert!(unsuback.reason_codes.is_empty());
    }

    w.send(Packet::PingReq);
    assert_eq!(w.next(), Packet::PingResp);
    w.send(Packet::disconnect());
}

#[test]
#[ignore = "needs mosquitto; cargo xtask test runs it"]
fn mosquitto_output_decodes_mqtt_311() {
    capture_all_flows(ProtocolVersion::V311);
}

#[test]
#[ignore = "needs mosquitto; cargo xtask test runs it"]
fn mosquitto_output_decodes_mqtt_5() {
    capture_all_flows(ProtocolVersion::V5);
}
