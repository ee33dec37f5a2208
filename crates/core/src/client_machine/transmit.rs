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
    /// them, and the in-tab broker's QoS 1 fan-in fell by 39% in a same-run comparison.
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
