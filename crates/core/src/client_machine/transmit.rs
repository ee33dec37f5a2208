//! What leaves for a transport, and how long a host may hold it for the application's
//! answers.

use super::{ClientMachine, Done, Link, Out, TransportId};
use crate::reason::ReasonCode;
use bytes::{Bytes, BytesMut};

/// Turns of its event loop (microtask turns in a browser) a host holds bytes made while
/// the application may be answering what it was handed, so that an answer made a few
/// awaits later (an await takes one to three turns) leaves in the same write as the
/// acknowledgement before it. Two writes a moment apart meet Mosquitto 2.0.11's ~100 ms
/// stall: its WebSocket listener reads the second outside its epoll wait and answers it
/// only at the next wake-up (see bench/results.md's client notes).
pub const ANSWER_TURNS: u32 = 8;

/// Bytes for one transport, from [`ClientMachine::poll_transmit`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit {
    pub transport: TransportId,
    pub bytes: Bytes,
    /// Turns of its event loop the host may hold these bytes, gathering what follows into
    /// the same write: [`ANSWER_TURNS`] when a message or a completion was handed out since
    /// bytes last left, which the application may be answering; else 0, write once the
    /// current task's synchronous work is done (a command made unprompted, such as the
    /// first publish after a quiet spell). Every connection's answers wait alike: when only
    /// acknowledgements waited, publishes on other connections of the same page passed
    /// them, and the in-tab broker's QoS 1 fan-in fell by a third.
    pub hold_turns: u32,
}

impl ClientMachine {
    /// Bytes for a transport: every ready packet for the same transport, as one buffer.
    /// The engine's latest packets wait in it until asked for, so a host that polls once
    /// per turn (or per burst) sends one buffer, copied nowhere on the way.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        let mut taken: Option<(TransportId, Bytes)> = None;
        // Completions made below belong to the next bytes' wait, not to these.
        let handed_out = core::mem::take(&mut self.handed_out);
        while let Some(Out::Bytes {
            transport, after, ..
        }) = self.out.front()
        {
            if *after > self.persisted || taken.as_ref().is_some_and(|(t, _)| t != transport) {
                break;
            }
            let Some(Out::Bytes {
                transport,
                bytes,
                written,
                ..
            }) = self.out.pop_front()
            else {
                break;
            };
            for token in written {
                self.complete(token, Ok(Done::Published(ReasonCode::SUCCESS)));
            }
            taken = Some(append(taken, transport, bytes));
        }
        // What the engine made since: the current link's, once the session it follows
        // from is stored.
        let current = match self.link {
            Link::Up(t) | Link::Closing(t, _) => Some(t),
            _ => None,
        };
        let ready = self.out.is_empty() && self.persist_seq <= self.persisted;
        if let (true, Some(t)) = (ready, current) {
            if taken.as_ref().is_none_or(|(tt, _)| *tt == t) {
                if let Some(bytes) = self.engine.poll_transmit() {
                    for token in core::mem::take(&mut self.written_next) {
                        self.complete(token, Ok(Done::Published(ReasonCode::SUCCESS)));
                    }
                    taken = Some(append(taken, t, bytes));
                }
            }
        }
        let Some((transport, bytes)) = taken else {
            self.handed_out |= handed_out;
            return None;
        };
        Some(Transmit {
            transport,
            bytes,
            hold_turns: if handed_out { ANSWER_TURNS } else { 0 },
        })
    }
}

/// `bytes` after what was `taken` for the same transport.
fn append(
    taken: Option<(TransportId, Bytes)>,
    transport: TransportId,
    bytes: Bytes,
) -> (TransportId, Bytes) {
    match taken {
        None => (transport, bytes),
        Some((t, first)) => {
            let mut all = BytesMut::with_capacity(first.len() + bytes.len());
            all.extend_from_slice(&first);
            all.extend_from_slice(&bytes);
            (t, all.freeze())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client_events::ClientOptions;
    use crate::packet::{Ack, ConnAck, Packet, PacketId, ProtocolVersion, Publish, QoS};
    use crate::session::ClientSession;
    use crate::time::Instant;
    use crate::{encode_to_vec, Action, BrokerUrl, Command, ConnectionPolicy, Token};

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
}
