//! The wire between a page and the client worker that runs its connections: frames in
//! transferable ArrayBuffers, gathered one buffer per event-loop turn like MQTT bytes are.
//!
//! A frame is `kind: u8`, `req: u32` (little endian; the command a reply answers, else 0),
//! `len: u32` and `len` bytes of body. Most bodies are MQTT packets encoded with the
//! connection's protocol version, so the codec that carries them to the broker also carries
//! them across the thread boundary.

use crate::completion::CommandError;
use tabmq_core::{
    encode, BytesMut, ClientError, EncodeError, LostReason, Packet, ProtocolVersion, ReasonCode,
};

/// Page to worker: a PUBLISH packet to publish (its packet id is assigned there).
pub const PUBLISH: u8 = 1;
/// Page to worker: a SUBSCRIBE packet.
pub const SUBSCRIBE: u8 = 2;
/// Page to worker: an UNSUBSCRIBE packet.
pub const UNSUBSCRIBE: u8 = 3;
/// Page to worker: DISCONNECT and stop; with body `[1]`, drop the connection without
/// DISCONNECT instead (the broker then publishes the will).
pub const END: u8 = 4;
/// Page to worker: connect again now.
pub const RECONNECT: u8 = 5;
/// Page to worker: report packets (body `[1]`) or stop (`[0]`).
pub const TRACE: u8 = 6;
/// Page to worker: change the faults (see `host::handle_fault`).
pub const FAULT: u8 = 7;

/// Worker to page: a command completed; the body is its reason codes.
pub const DONE: u8 = 16;
/// Worker to page: a command failed; the body is [`encode_error`]'s.
pub const FAILED: u8 = 17;
/// Worker to page: CONNACK accepted; the body is one byte, session present.
pub const CONNECTED: u8 = 18;
/// Worker to page: a new attempt to connect starts.
pub const RECONNECTING: u8 = 19;
/// Worker to page: the connection was lost and another attempt will follow.
pub const OFFLINE: u8 = 20;
/// Worker to page: the connection ended; the body is why, as text.
pub const CLOSED: u8 = 21;
/// Worker to page: something went wrong; the body is `code` and UTF-8 text after a NUL.
pub const ERROR: u8 = 22;
/// Worker to page: a message arrived; the body is its PUBLISH packet.
pub const MESSAGE: u8 = 23;
/// Worker to page: a packet was sent to the broker.
pub const PACKET_SENT: u8 = 24;
/// Worker to page: a packet came from the broker.
pub const PACKET_RECEIVED: u8 = 25;
/// Worker to page: the client ended for good after END.
pub const ENDED: u8 = 26;
/// Worker to page: the broker sent DISCONNECT (MQTT 5); the body is its reason code.
pub const DISCONNECTED: u8 = 27;
/// Worker to page: a fault was applied; the body is `[action, packet type]` (action 1
/// dropped, 2 duplicated, 3 delayed).
pub const FAULT_APPLIED: u8 = 28;

const HEADER: usize = 9;

/// One frame, borrowed from the buffer it came in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Frame<'a> {
    pub kind: u8,
    pub req: u32,
    pub body: &'a [u8],
}

/// Appends a frame to `out`. Bodies come from our own codec and stay far below 4 GiB.
pub fn push_frame(out: &mut Vec<u8>, kind: u8, req: u32, body: &[u8]) {
    out.push(kind);
    out.extend_from_slice(&req.to_le_bytes());
    out.extend_from_slice(&(body.len() as u32).to_le_bytes());
    out.extend_from_slice(body);
}

/// A frame whose body is `packet`, encoded in place: one copy fewer on the way of every
/// message than encoding first and framing after.
pub fn packet_frame(
    kind: u8,
    req: u32,
    packet: &Packet,
    version: ProtocolVersion,
) -> Result<Vec<u8>, EncodeError> {
    let mut frame = BytesMut::with_capacity(64);
    frame.extend_from_slice(&[kind]);
    frame.extend_from_slice(&req.to_le_bytes());
    frame.extend_from_slice(&[0; 4]);
    encode(packet, version, &mut frame)?;
    let len = (frame.len() - HEADER) as u32;
    frame[5..HEADER].copy_from_slice(&len.to_le_bytes());
    Ok(frame.to_vec())
}

/// The frames in `buffer`, in order. A truncated tail ends the iteration: messages carry
/// whole frames, so one only comes from a bug, and dropping it beats reading garbage.
pub fn frames(buffer: &[u8]) -> impl Iterator<Item = Frame<'_>> {
    let mut rest = buffer;
    std::iter::from_fn(move || {
        let header = rest.get(..HEADER)?;
        let kind = header[0];
        let req = u32::from_le_bytes([header[1], header[2], header[3], header[4]]);
        let len = u32::from_le_bytes([header[5], header[6], header[7], header[8]]) as usize;
        let body = rest.get(HEADER..HEADER.checked_add(len)?)?;
        rest = &rest[HEADER + len..];
        Some(Frame { kind, req, body })
    })
}

// Error codes, shared with the npm package's `Error.code`.
const NOT_CONNECTED: u8 = 1;
const QUEUE_FULL: u8 = 2;
const PACKET_IDS_EXHAUSTED: u8 = 3;
const REFUSED_OTHER: u8 = 4;
const REASON: u8 = 5;
const SESSION_LOST: u8 = 6;
const CONNECTION_LOST: u8 = 7;
const DROPPED: u8 = 8;

/// A command's failure as a FAILED body: a code byte and the broker's reason code.
pub fn encode_error(error: &CommandError) -> [u8; 2] {
    match error {
        CommandError::Refused(ClientError::NotConnected) => [NOT_CONNECTED, 0],
        CommandError::Refused(ClientError::QueueFull) => [QUEUE_FULL, 0],
        CommandError::Refused(ClientError::PacketIdsExhausted) => [PACKET_IDS_EXHAUSTED, 0],
        CommandError::Refused(_) => [REFUSED_OTHER, 0],
        CommandError::Failed(code) => [REASON, code.0],
        CommandError::Lost(LostReason::SessionLost) => [SESSION_LOST, 0],
        CommandError::Lost(_) => [CONNECTION_LOST, 0],
        _ => [DROPPED, 0],
    }
}

/// The failure a FAILED body names. Invalid topics and packets too large to encode are
/// refused in the page, before anything crosses, so they never come back this way.
pub fn decode_error(body: &[u8]) -> CommandError {
    match body {
        [NOT_CONNECTED, ..] => CommandError::Refused(ClientError::NotConnected),
        [QUEUE_FULL, ..] => CommandError::Refused(ClientError::QueueFull),
        [PACKET_IDS_EXHAUSTED, ..] => CommandError::Refused(ClientError::PacketIdsExhausted),
        [REASON, code, ..] => CommandError::Failed(ReasonCode(*code)),
        [SESSION_LOST, ..] => CommandError::Lost(LostReason::SessionLost),
        [CONNECTION_LOST, ..] => CommandError::Lost(LostReason::ConnectionLost),
        _ => CommandError::Dropped,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_come_back_in_order_and_a_truncated_tail_is_dropped() {
        let mut out = Vec::new();
        push_frame(&mut out, PUBLISH, 7, b"abc");
        push_frame(&mut out, END, 0, b"");
        push_frame(&mut out, DONE, u32::MAX, &[0x10]);
        let whole: Vec<_> = frames(&out).collect();
        assert_eq!(
            whole,
            vec![
                Frame {
                    kind: PUBLISH,
                    req: 7,
                    body: b"abc"
                },
                Frame {
                    kind: END,
                    req: 0,
                    body: b""
                },
                Frame {
                    kind: DONE,
                    req: u32::MAX,
                    body: &[0x10]
                },
            ]
        );
        for cut in 0..out.len() {
            assert!(frames(&out[..cut]).count() < 3, "cut at {cut}");
        }
        // A length that overflows is not a frame.
        let mut huge = vec![PUBLISH, 0, 0, 0, 0];
        huge.extend_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(frames(&huge).count(), 0);
    }

    #[test]
    fn a_packet_frame_is_the_frame_of_its_encoding() {
        let packet = Packet::PingReq;
        let framed = packet_frame(PUBLISH, 9, &packet, ProtocolVersion::V5);
        let encoded = tabmq_core::encode_to_vec(&packet, ProtocolVersion::V5);
        let mut expected = Vec::new();
        push_frame(&mut expected, PUBLISH, 9, &encoded.unwrap_or_default());
        assert_eq!(framed.ok(), Some(expected));
    }

    #[test]
    fn command_errors_cross_with_their_meaning() {
        for error in [
            CommandError::Refused(ClientError::NotConnected),
            CommandError::Refused(ClientError::QueueFull),
            CommandError::Refused(ClientError::PacketIdsExhausted),
            CommandError::Failed(ReasonCode(0x87)),
            CommandError::Lost(LostReason::SessionLost),
            CommandError::Lost(LostReason::ConnectionLost),
            CommandError::Dropped,
        ] {
            assert_eq!(decode_error(&encode_error(&error)), error);
        }
        assert_eq!(decode_error(&[]), CommandError::Dropped);
    }
}
