//! A connection's outgoing bytes. Small packets are encoded into one buffer, so a turn's
//! packets leave together; a PUBLISH with a large payload is encoded up to its payload,
//! and the payload follows as the shared `Bytes` every session holds, uncopied: a message
//! fanned out to a hundred slow readers is held once, not a hundred times.

use std::collections::VecDeque;
use tabmq_core::{
    encode, encode_publish_head, Bytes, BytesMut, EncodeError, Packet, ProtocolVersion,
};

/// Payloads at least this large are sent uncopied.
const SHARED_PAYLOAD: usize = 8 * 1024;

#[derive(Debug, Default)]
pub(crate) struct Output {
    /// Pieces ready to go, in order, before `buf`.
    ready: VecDeque<Bytes>,
    ready_len: usize,
    /// Encoded packets after `ready`.
    buf: BytesMut,
}

impl Output {
    /// Bytes waiting.
    pub fn len(&self) -> usize {
        self.ready_len + self.buf.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ready.is_empty() && self.buf.is_empty()
    }

    /// Appends `packet`; returns how many bytes it takes on the wire.
    pub fn push(
        &mut self,
        packet: &Packet,
        version: ProtocolVersion,
    ) -> Result<usize, EncodeError> {
        let before = self.len();
        match packet {
            Packet::Publish(p) if p.payload.len() >= SHARED_PAYLOAD => {
                encode_publish_head(p, version, &mut self.buf)?;
                self.seal();
                self.ready_len += p.payload.len();
                self.ready.push_back(p.payload.clone());
            }
            _ => encode(packet, version, &mut self.buf)?,
        }
        Ok(self.len() - before)
    }

    /// Moves what is in `buf` to the ready pieces.
    fn seal(&mut self) {
        if !self.buf.is_empty() {
            let piece = self.buf.split().freeze();
            self.ready_len += piece.len();
            self.ready.push_back(piece);
        }
    }

    /// The next piece to send, in order.
    pub fn take(&mut self) -> Option<Bytes> {
        if let Some(piece) = self.ready.pop_front() {
            self.ready_len -= piece.len();
            return Some(piece);
        }
        (!self.buf.is_empty()).then(|| self.buf.split().freeze())
    }

    pub fn clear(&mut self) {
        self.ready.clear();
        self.ready_len = 0;
        self.buf.clear();
    }
}
