//! How long the client machine's bytes may wait for the application's answer
//! (`Transmit::hold_turns`).

use tabmq_core::*;

const NOW: Instant = Instant::from_millis(1_000);

fn from_broker(m: &mut ClientMachine, t: TransportId, packet: Packet) {
    let bytes = encode_to_vec(&packet, ProtocolVersion::V311).unwrap();
    m.handle_bytes(t, &bytes, NOW);
}

fn connected() -> (ClientMachine, TransportId) {
    let url = BrokerUrl::parse("ws://broker").unwrap();
    let mut m = ClientMachine::new(
        ClientOptions::default(),
        ConnectionPolicy::default(),
        url,
        ClientSession::new(),
    );
    m.connect(NOW);
    let Some(Action::Open { transport, .. }) = m.poll_action() else {
        panic!("the machine opens a transport");
    };
    m.handle_opened(transport, NOW);
    assert_eq!(m.poll_transmit().map(|o| o.hold_turns), Some(0), "CONNECT");
    let ack = ConnAck {
        session_present: false,
        code: ReasonCode::SUCCESS,
        properties: Default::default(),
    };
    from_broker(&mut m, transport, Packet::ConnAck(ack));
    (m, transport)
}

fn message(qos: QoS, id: u16, dup: bool) -> Packet {
    Packet::Publish(Publish {
        topic: "t".into(),
        qos,
        dup,
        packet_id: PacketId::new(id),
        payload: Bytes::from_static(b"m"),
        ..Publish::default()
    })
}

fn hold(m: &mut ClientMachine) -> Option<u32> {
    let out = m.poll_transmit().map(|o| o.hold_turns);
    assert_eq!(m.poll_transmit(), None, "one buffer at a time");
    out
}

fn publish(m: &mut ClientMachine, token: u64, qos: QoS) {
    let publish = Publish {
        topic: "t".into(),
        qos,
        payload: Bytes::from_static(b"p"),
        ..Publish::default()
    };
    m.command(Token(token), Command::Publish(publish), NOW)
        .unwrap();
}

#[test]
fn bytes_wait_for_answers_only_after_something_was_handed_out() {
    let (mut m, t) = connected();
    // Unprompted: nothing was handed out, nothing waits.
    publish(&mut m, 1, QoS::AtLeastOnce);
    assert_eq!(hold(&mut m), Some(0), "a first publish");
    // Its completion is handed out; the publish made in answer waits for more.
    from_broker(
        &mut m,
        t,
        Packet::PubAck(Ack::new(PacketId::new(1).unwrap())),
    );
    assert_eq!(hold(&mut m), None, "a PUBACK needs no answer");
    publish(&mut m, 2, QoS::AtLeastOnce);
    assert_eq!(
        hold(&mut m),
        Some(ANSWER_TURNS),
        "an answer to a completion"
    );
    // A delivered message: its acknowledgement waits for the application's answer.
    from_broker(&mut m, t, message(QoS::AtLeastOnce, 1, false));
    assert_eq!(hold(&mut m), Some(ANSWER_TURNS), "PUBACK");
    from_broker(&mut m, t, message(QoS::ExactlyOnce, 2, false));
    assert_eq!(hold(&mut m), Some(ANSWER_TURNS), "PUBREC");
    // A repeat is not handed out again, and a release hands nothing out.
    from_broker(&mut m, t, message(QoS::ExactlyOnce, 2, true));
    assert_eq!(hold(&mut m), Some(0), "PUBREC of a duplicate");
    let rel = Packet::PubRel(Ack::new(PacketId::new(2).unwrap()));
    from_broker(&mut m, t, rel);
    assert_eq!(hold(&mut m), Some(0), "PUBCOMP");
    // QoS 0 needs no acknowledgement; the wait carries over to the answer.
    from_broker(&mut m, t, message(QoS::AtMostOnce, 0, false));
    assert_eq!(hold(&mut m), None);
    publish(&mut m, 3, QoS::AtLeastOnce);
    assert_eq!(
        hold(&mut m),
        Some(ANSWER_TURNS),
        "an answer to a QoS 0 message"
    );
    // A QoS 0 publish completes as it leaves: the next bytes are an answer to that.
    publish(&mut m, 4, QoS::AtMostOnce);
    assert_eq!(hold(&mut m), Some(0), "unprompted");
    publish(&mut m, 5, QoS::AtMostOnce);
    assert_eq!(hold(&mut m), Some(ANSWER_TURNS), "after a QoS 0 completion");
}
