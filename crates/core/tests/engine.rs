//! The client engine against a scripted broker: QoS flows, resends, sessions, limits, and
//! the regression tests named after known bugs of other clients.

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;
#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

use std::time::Duration;
use tabmq_core::*;

fn id(n: u16) -> PacketId {
    PacketId::new(n).unwrap()
}

fn at(ms: u64) -> Instant {
    Instant::from_millis(ms)
}

/// The engine, and the broker's side of the wire written by hand.
struct Peer {
    engine: ClientEngine,
    version: ProtocolVersion,
    events: Vec<ClientEvent>,
}

impl Peer {
    fn new(options: ClientOptions) -> Peer {
        Peer::with_session(options, ClientSession::new())
    }

    fn with_session(options: ClientOptions, session: ClientSession) -> Peer {
        let version = options.protocol;
        Peer {
            engine: ClientEngine::new(options, session),
            version,
            events: Vec::new(),
        }
    }

    /// Connects and answers CONNACK with `session_present`.
    fn connect(&mut self, session_present: bool) -> Vec<Packet> {
        self.engine.connect(at(0)).unwrap();
        let sent = self.sent();
        assert!(matches!(sent[0], Packet::Connect(_)));
        self.receive(Packet::ConnAck(ConnAck {
            session_present,
            ..ConnAck::default()
        }))
    }

    /// Packets the engine sent since the last call.
    fn sent(&mut self) -> Vec<Packet> {
        let mut packets = Vec::new();
        while let Some(bytes) = self.engine.poll_transmit() {
            let mut buf = BytesMut::from(&bytes[..]);
            while let Some(p) = decode(&mut buf, self.version, usize::MAX).unwrap() {
                packets.push(p);
            }
        }
        self.drain_events();
        packets
    }

    fn drain_events(&mut self) {
        while let Some(e) = self.engine.poll_event() {
            self.events.push(e);
        }
    }

    /// Delivers `packet` from the broker; returns what the engine sent in answer.
    fn receive(&mut self, packet: Packet) -> Vec<Packet> {
        let bytes = encode_to_vec(&packet, self.version).unwrap();
        self.engine.handle_bytes(&bytes, at(0));
        self.sent()
    }

    fn publish(&mut self, topic: &str, qos: QoS) -> Option<PacketId> {
        self.engine
            .publish(topic, Bytes::from_static(b"m"), qos, false, at(0))
            .unwrap()
    }

    fn messages(&self) -> usize {
        self.events
            .iter()
            .filter(|e| matches!(e, ClientEvent::Message(_)))
            .count()
    }
}

fn options(protocol: ProtocolVersion) -> ClientOptions {
    ClientOptions {
        protocol,
        client_id: "engine".into(),
        clean_session: false,
        keep_alive: 0,
        ..ClientOptions::default()
    }
}

fn incoming_qos2(n: u16) -> Packet {
    Packet::Publish(Publish {
        qos: QoS::ExactlyOnce,
        topic: "t".into(),
        packet_id: Some(id(n)),
        payload: Bytes::from_static(b"x"),
        ..Publish::default()
    })
}

#[test]
fn outbound_qos1_is_kept_until_puback_and_resent_with_dup_on_reconnect() {
    let mut peer = Peer::new(options(ProtocolVersion::V311));
    peer.connect(false);
    let pid = peer.publish("t", QoS::AtLeastOnce).unwrap();
    assert!(matches!(&peer.sent()[..], [Packet::Publish(p)] if !p.dup));
    peer.engine.connection_lost(at(1));
    let resent = peer.connect(true);
    match &resent[..] {
        [Packet::Publish(p)] => {
            assert!(p.dup, "DUP on resend");
            assert_eq!(p.packet_id, Some(pid), "the original id");
        }
        other => panic!("{other:?}"),
    }
    peer.receive(Packet::PubAck(Ack::new(pid)));
    assert!(peer.events.contains(&ClientEvent::Published {
        packet_id: pid,
        reason_code: ReasonCode::SUCCESS
    }));
    assert_eq!(peer.engine.packet_ids_in_use(), 0);
}

#[test]
fn qos2_publish_is_not_resent_after_pubrel_mqttjs_572_1001() {
    let mut peer = Peer::new(options(ProtocolVersion::V311));
    peer.connect(false);
    let pid = peer.publish("t", QoS::ExactlyOnce).unwrap();
    peer.sent();
    let answer = peer.receive(Packet::PubRec(Ack::new(pid)));
    assert_eq!(answer, [Packet::PubRel(Ack::new(pid))]);
    // The PUBCOMP is lost with the connection.
    peer.engine.connection_lost(at(1));
    let resent = peer.connect(true);
    assert_eq!(
        resent,
        [Packet::PubRel(Ack::new(pid))],
        "PUBREL again, never the PUBLISH"
    );
    peer.receive(Packet::PubComp(Ack::new(pid)));
    assert_eq!(peer.engine.in_flight(), 0);
}

#[test]
fn inbound_qos2_is_delivered_once_and_pubrel_answered_for_unknown_ids() {
    let mut peer = Peer::new(options(ProtocolVersion::V311));
    peer.connect(false);
    assert_eq!(
        peer.receive(incoming_qos2(7)),
        [Packet::PubRec(Ack::new(id(7)))]
    );
    let mut dup = incoming_qos2(7);
    if let Packet::Publish(p) = &mut dup {
        p.dup = true;
    }
    assert_eq!(peer.receive(dup), [Packet::PubRec(Ack::new(id(7)))]);
    assert_eq!(
        peer.messages(),
        1,
        "a resent QoS 2 message is not delivered again"
    );
    assert_eq!(
        peer.receive(Packet::PubRel(Ack::new(id(7)))),
        [Packet::PubComp(Ack::new(id(7)))]
    );
    assert_eq!(
        peer.receive(Packet::PubRel(Ack::new(id(99)))),
        [Packet::PubComp(Ack::new(id(99)))],
        "PUBREL for an unknown id still gets PUBCOMP"
    );
}

#[test]
fn inbound_qos2_dedup_survives_a_reconnect_and_a_restart() {
    let mut peer = Peer::new(options(ProtocolVersion::V311));
    peer.connect(false);
    peer.receive(incoming_qos2(3));
    peer.engine.connection_lost(at(1));
    let bytes = peer.engine.session().to_bytes();
    let mut restarted = Peer::with_session(
        options(ProtocolVersion::V311),
        ClientSession::from_bytes(&bytes).unwrap(),
    );
    restarted.connect(true);
    restarted.receive(incoming_qos2(3));
    assert_eq!(
        restarted.messages(),
        0,
        "already delivered before the restart"
    );
}

#[test]
fn inbound_qos2_beyond_receive_maximum_disconnects_with_0x93_mqttjs_pr_2065() {
    let mut peer = Peer::new(ClientOptions {
        receive_maximum: 2,
        ..options(ProtocolVersion::V5)
    });
    peer.engine.connect(at(0)).unwrap();
    match &peer.sent()[..] {
        [Packet::Connect(c)] => assert_eq!(c.properties.receive_maximum, Some(2)),
        other => panic!("{other:?}"),
    }
    peer.receive(Packet::ConnAck(ConnAck::default()));
    peer.receive(incoming_qos2(1));
    peer.receive(incoming_qos2(2));
    let answer = peer.receive(incoming_qos2(3));
    assert_eq!(
        answer,
        [Packet::Disconnect(Disconnect {
            reason_code: ReasonCode::RECEIVE_MAXIMUM_EXCEEDED,
            properties: Properties::default(),
        })]
    );
    assert_eq!(peer.messages(), 2);
    assert!(peer
        .events
        .contains(&ClientEvent::Closed(CloseReason::ReceiveMaximumExceeded)));
}

#[test]
fn outbound_respects_the_brokers_receive_maximum() {
    let mut peer = Peer::new(options(ProtocolVersion::V5));
    peer.engine.connect(at(0)).unwrap();
    peer.sent();
    peer.receive(Packet::ConnAck(ConnAck {
        properties: Properties::with(|p| p.receive_maximum = Some(1)),
        ..ConnAck::default()
    }));
    let first = peer.publish("t", QoS::AtLeastOnce).unwrap();
    let second = peer.publish("t", QoS::AtLeastOnce).unwrap();
    assert_eq!(peer.sent().len(), 1, "the second waits for a free slot");
    let after_ack = peer.receive(Packet::PubAck(Ack::new(first)));
    assert!(matches!(&after_ack[..], [Packet::Publish(p)] if p.packet_id == Some(second)));
}

#[test]
fn subscribe_never_takes_an_id_in_flight_rumqtt_1057() {
    let mut peer = Peer::new(options(ProtocolVersion::V311));
    peer.connect(false);
    let publish_id = peer.publish("t", QoS::AtLeastOnce).unwrap();
    let sub_id = peer
        .engine
        .subscribe(vec![SubscribeFilter::new("a", QoS::AtMostOnce)], at(0))
        .unwrap();
    assert_ne!(sub_id, publish_id);
    // Also after a restart from the stored session.
    peer.engine.connection_lost(at(1));
    let session = ClientSession::from_bytes(&peer.engine.session().to_bytes()).unwrap();
    let mut restarted = Peer::with_session(options(ProtocolVersion::V311), session);
    restarted.connect(true);
    let after = restarted
        .engine
        .subscribe(vec![SubscribeFilter::new("a", QoS::AtMostOnce)], at(0))
        .unwrap();
    assert_ne!(after, publish_id);
}

#[test]
fn without_the_session_pending_messages_end_as_lost() {
    let mut peer = Peer::new(options(ProtocolVersion::V311));
    peer.connect(false);
    let pid = peer.publish("t", QoS::ExactlyOnce).unwrap();
    peer.sent();
    peer.engine.connection_lost(at(1));
    let resent = peer.connect(false);
    assert!(resent.is_empty(), "nothing is resent into a new session");
    assert!(peer.events.contains(&ClientEvent::Lost {
        packet_id: pid,
        reason: LostReason::SessionLost
    }));
    assert_eq!(peer.engine.packet_ids_in_use(), 0);
}

#[test]
fn a_pending_subscribe_is_lost_with_its_connection() {
    let mut peer = Peer::new(options(ProtocolVersion::V311));
    peer.connect(false);
    let sid = peer
        .engine
        .subscribe(vec![SubscribeFilter::new("a", QoS::AtMostOnce)], at(0))
        .unwrap();
    peer.engine.connection_lost(at(1));
    peer.drain_events();
    assert!(peer.events.contains(&ClientEvent::Lost {
        packet_id: sid,
        reason: LostReason::ConnectionLost
    }));
}

#[test]
fn publishing_while_disconnected_is_queued_bounded_and_flushed_on_connect() {
    let mut peer = Peer::new(ClientOptions {
        max_queued: 3,
        ..options(ProtocolVersion::V311)
    });
    for _ in 0..3 {
        peer.publish("t", QoS::AtLeastOnce);
    }
    assert_eq!(
        peer.engine
            .publish("t", Bytes::new(), QoS::AtLeastOnce, false, at(0)),
        Err(ClientError::QueueFull)
    );
    assert_eq!(peer.engine.session().queued(), 3);
    let flushed = peer.connect(false);
    assert_eq!(flushed.len(), 3);
    assert!(flushed.iter().all(|p| matches!(p, Packet::Publish(_))));
}

#[test]
fn timed_retransmission_is_for_311_only_and_off_by_default() {
    for (protocol, retransmit, expect) in [
        (ProtocolVersion::V311, Some(Duration::from_secs(5)), true),
        (ProtocolVersion::V311, None, false),
        (ProtocolVersion::V5, Some(Duration::from_secs(5)), false),
    ] {
        let mut peer = Peer::new(ClientOptions {
            retransmit_after: retransmit,
            ..options(protocol)
        });
        peer.connect(false);
        peer.publish("t", QoS::AtLeastOnce);
        peer.sent();
        peer.engine.handle_timeout(at(6_000));
        let resent = peer.sent();
        assert_eq!(
            matches!(&resent[..], [Packet::Publish(p)] if p.dup),
            expect,
            "{protocol:?} {retransmit:?}: {resent:?}"
        );
    }
}

#[test]
fn keepalive_pings_when_idle_and_gives_up_without_pingresp() {
    let mut peer = Peer::new(ClientOptions {
        keep_alive: 10,
        ..options(ProtocolVersion::V311)
    });
    peer.connect(false);
    assert_eq!(peer.engine.poll_timeout(), Some(at(10_000)));
    peer.engine.handle_timeout(at(10_000));
    assert_eq!(peer.sent(), [Packet::PingReq]);
    peer.engine.handle_timeout(at(20_000));
    peer.drain_events();
    assert!(peer
        .events
        .contains(&ClientEvent::Closed(CloseReason::KeepAliveTimeout)));
    assert_eq!(peer.engine.state(), ConnectionState::Disconnected);
}

#[test]
fn a_session_round_trips_through_bytes_and_bad_bytes_are_refused() {
    let mut peer = Peer::new(options(ProtocolVersion::V5));
    peer.connect(false);
    peer.publish("a", QoS::AtLeastOnce);
    peer.publish("b", QoS::ExactlyOnce);
    peer.receive(incoming_qos2(4));
    peer.engine.connection_lost(at(1));
    peer.publish("c", QoS::AtLeastOnce);
    let session = peer.engine.session().clone();
    assert_eq!(
        (
            session.in_flight(),
            session.queued(),
            session.inbound_qos2()
        ),
        (2, 1, 1)
    );
    let bytes = session.to_bytes();
    assert_eq!(ClientSession::from_bytes(&bytes).unwrap(), session);
    assert!(ClientSession::from_bytes(&[]).is_err());
    assert!(ClientSession::from_bytes(&bytes[..bytes.len() / 2]).is_err());
    assert!(ClientSession::from_bytes(&[9, 9, 9]).is_err());
    // What every client resumes from its store: the session, nothing, or (unreadable) a
    // clean one with the reason.
    assert_eq!(ClientSession::resume(Some(&bytes)), (session, None));
    assert_eq!(ClientSession::resume(None), (ClientSession::new(), None));
    let (fresh, why) = ClientSession::resume(Some(&[9, 9, 9]));
    assert_eq!(fresh, ClientSession::new());
    assert!(why.is_some());
}

#[test]
fn a_stored_session_refuses_trailing_bytes_unknown_stages_and_counts_beyond_its_bytes() {
    let mut peer = Peer::new(options(ProtocolVersion::V311));
    peer.connect(false);
    peer.publish("a", QoS::ExactlyOnce);
    let first = peer.sent().len();
    assert_eq!(first, 1);
    // PUBREC: the message moves to its released stage, which must survive storage too.
    peer.receive(Packet::PubRec(Ack::new(id(1))));
    let bytes = peer.engine.session().to_bytes();
    let restored = ClientSession::from_bytes(&bytes).unwrap();
    assert_eq!(
        restored.resend(id(1)),
        Some(Packet::PubRel(Ack::new(id(1))))
    );

    let mut trailing = bytes.clone();
    trailing.push(0);
    assert!(ClientSession::from_bytes(&trailing).is_err());

    // A count of 4 billion messages in flight, with none stored: refused, not allocated.
    let mut huge = vec![3, 0, 0];
    huge.extend_from_slice(&u32::MAX.to_be_bytes());
    assert!(ClientSession::from_bytes(&huge).is_err());

    // The stage byte of the one message in flight (after format, last id, count, id).
    let mut bad_stage = bytes.clone();
    bad_stage[1 + 2 + 4 + 2] = 7;
    assert!(ClientSession::from_bytes(&bad_stage).is_err());
}

#[test]
fn a_subscribe_from_the_broker_is_a_protocol_error_spec_2_1_2() {
    // A SUBSCRIBE flows from client to server only: the client answers 0x82 and closes.
    let mut peer = Peer::new(options(ProtocolVersion::V5));
    peer.connect(false);
    let answer = peer.receive(Packet::Subscribe(Subscribe {
        packet_id: id(1),
        filters: vec![SubscribeFilter::new("a", QoS::AtMostOnce)],
        properties: Properties::default(),
    }));
    assert_eq!(
        answer,
        [Packet::Disconnect(Disconnect {
            reason_code: ReasonCode::PROTOCOL_ERROR,
            properties: Properties::default(),
        })]
    );
    assert!(peer.events.iter().any(|e| matches!(
        e,
        ClientEvent::Closed(CloseReason::ProtocolError(DecodeError::Malformed(v)))
            if v.statement == "§2.1.2"
    )));
}
