//! Incremental decoding: bytes in, packets out.
//!
//! A partial frame is not an error: [`decode`] answers `Ok(None)` and leaves the bytes where
//! they are, so a transport can hand over whatever arrived. The size check happens on the
//! fixed header, before a byte of the body is buffered.

use crate::error::{violation, DecodeError};
use crate::packet::*;
use crate::topic::{validate_topic_filter, validate_topic_name};
use bytes::{Buf, Bytes, BytesMut};

/// The largest remaining length four bytes can say.
pub const MAX_REMAINING_LENGTH: usize = 268_435_455;

/// A fixed header: the first byte and the length of the rest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FixedHeader {
    /// Packet type in the high nibble, flags in the low one.
    pub first_byte: u8,
    /// Length of the variable header and payload.
    pub remaining_length: usize,
    /// Bytes taken by the fixed header itself (2 to 5).
    pub header_len: usize,
}

impl FixedHeader {
    /// The whole frame's size.
    pub fn frame_len(&self) -> usize {
        self.header_len + self.remaining_length
    }
}

/// Reads a fixed header from the front of `buf`; `Ok(None)` if it is not all there yet.
pub fn decode_fixed_header(buf: &[u8]) -> Result<Option<FixedHeader>, DecodeError> {
    let Some(&first_byte) = buf.first() else {
        return Ok(None);
    };
    let mut remaining_length = 0usize;
    for i in 0..4 {
        let Some(&byte) = buf.get(1 + i) else {
            return Ok(None);
        };
        remaining_length |= usize::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            // A zero final byte after the first means a longer encoding than needed.
            if i > 0 && byte == 0 {
                return Err(violation(
                    "MQTT-1.5.5-1",
                    "remaining length not encoded in the fewest bytes",
                ));
            }
            return Ok(Some(FixedHeader {
                first_byte,
                remaining_length,
                header_len: 2 + i,
            }));
        }
    }
    Err(violation(
        "MQTT-2.2.3",
        "remaining length longer than four bytes",
    ))
}

/// Takes the first complete packet off the front of `buf`.
///
/// Returns `Ok(None)` while the packet is incomplete. A packet whose fixed header announces
/// more than `max_packet_size` bytes is refused at once.
pub fn decode(buf: &mut BytesMut, max_packet_size: usize) -> Result<Option<Packet>, DecodeError> {
    let Some(header) = decode_fixed_header(buf)? else {
        return Ok(None);
    };
    let size = header.frame_len();
    if size > max_packet_size {
        return Err(DecodeError::PacketTooLarge {
            size,
            max: max_packet_size,
        });
    }
    if buf.len() < size {
        // Reserving now saves the transport a string of small reallocations.
        buf.reserve(size - buf.len());
        return Ok(None);
    }
    let frame = buf.split_to(size).freeze();
    decode_frame(header, frame).map(Some)
}

/// Decodes one whole packet; trailing bytes after it are an error.
pub fn decode_packet(bytes: Bytes) -> Result<Packet, DecodeError> {
    let Some(header) = decode_fixed_header(&bytes)? else {
        return Err(violation("MQTT-2.2.3", "packet is truncated"));
    };
    match bytes.len().cmp(&header.frame_len()) {
        std::cmp::Ordering::Less => Err(violation("MQTT-2.2.3", "packet is truncated")),
        std::cmp::Ordering::Greater => Err(violation(
            "MQTT-2.2.3",
            "bytes follow the end of the packet",
        )),
        std::cmp::Ordering::Equal => decode_frame(header, bytes),
    }
}

fn decode_frame(header: FixedHeader, mut frame: Bytes) -> Result<Packet, DecodeError> {
    frame.advance(header.header_len);
    let mut body = Body(frame);
    let flags = header.first_byte & 0x0f;
    let packet = match header.first_byte >> 4 {
        1 => {
            expect_flags(flags, 0)?;
            Packet::Connect(decode_connect(&mut body)?)
        }
        2 => {
            expect_flags(flags, 0)?;
            Packet::ConnAck(decode_connack(&mut body)?)
        }
        3 => Packet::Publish(decode_publish(flags, &mut body)?),
        4 => {
            expect_flags(flags, 0)?;
            Packet::PubAck(body.packet_id()?)
        }
        5 => {
            expect_flags(flags, 0)?;
            Packet::PubRec(body.packet_id()?)
        }
        6 => {
            if flags != 0b0010 {
                return Err(violation("MQTT-3.6.1-1", "PUBREL flags must be 0010"));
            }
            Packet::PubRel(body.packet_id()?)
        }
        7 => {
            expect_flags(flags, 0)?;
            Packet::PubComp(body.packet_id()?)
        }
        8 => {
            if flags != 0b0010 {
                return Err(violation("MQTT-3.8.1-1", "SUBSCRIBE flags must be 0010"));
            }
            Packet::Subscribe(decode_subscribe(&mut body)?)
        }
        9 => {
            expect_flags(flags, 0)?;
            Packet::SubAck(decode_suback(&mut body)?)
        }
        10 => {
            if flags != 0b0010 {
                return Err(violation("MQTT-3.10.1-1", "UNSUBSCRIBE flags must be 0010"));
            }
            Packet::Unsubscribe(decode_unsubscribe(&mut body)?)
        }
        11 => {
            expect_flags(flags, 0)?;
            Packet::UnsubAck(body.packet_id()?)
        }
        12 => {
            expect_flags(flags, 0)?;
            Packet::PingReq
        }
        13 => {
            expect_flags(flags, 0)?;
            Packet::PingResp
        }
        14 => {
            expect_flags(flags, 0)?;
            Packet::Disconnect
        }
        _ => return Err(violation("MQTT-2.2.1", "reserved packet type")),
    };
    if body.0.has_remaining() {
        return Err(violation(
            "MQTT-2.2.3",
            "remaining length is longer than the packet's fields",
        ));
    }
    Ok(packet)
}

fn expect_flags(flags: u8, expected: u8) -> Result<(), DecodeError> {
    if flags == expected {
        Ok(())
    } else {
        Err(violation(
            "MQTT-2.2.2-2",
            "reserved fixed header flags are set",
        ))
    }
}

/// The variable header and payload of one frame, read front to back.
struct Body(Bytes);

impl Body {
    fn u8(&mut self) -> Result<u8, DecodeError> {
        if self.0.is_empty() {
            return Err(too_short());
        }
        Ok(self.0.get_u8())
    }

    fn u16(&mut self) -> Result<u16, DecodeError> {
        if self.0.len() < 2 {
            return Err(too_short());
        }
        Ok(self.0.get_u16())
    }

    fn packet_id(&mut self) -> Result<PacketId, DecodeError> {
        PacketId::new(self.u16()?)
            .ok_or_else(|| violation("MQTT-2.3.1-1", "packet identifier is zero"))
    }

    fn binary(&mut self) -> Result<Bytes, DecodeError> {
        let len = usize::from(self.u16()?);
        if self.0.len() < len {
            return Err(too_short());
        }
        Ok(self.0.split_to(len))
    }

    fn string(&mut self) -> Result<String, DecodeError> {
        let raw = self.binary()?;
        // Rust's UTF-8 check also refuses the surrogates U+D800..U+DFFF.
        let text = std::str::from_utf8(&raw)
            .map_err(|_| violation("MQTT-1.5.3-1", "string is not well-formed UTF-8"))?;
        if text.contains('\0') {
            return Err(violation("MQTT-1.5.3-2", "string contains U+0000"));
        }
        Ok(text.to_owned())
    }

    fn rest(&mut self) -> Bytes {
        std::mem::take(&mut self.0)
    }
}

fn too_short() -> DecodeError {
    violation(
        "MQTT-2.2.3",
        "remaining length is shorter than the packet's fields",
    )
}

fn decode_connect(body: &mut Body) -> Result<Connect, DecodeError> {
    if body.string()? != "MQTT" {
        return Err(violation("MQTT-3.1.2-1", "protocol name is not \"MQTT\""));
    }
    let protocol = match body.u8()? {
        4 => ProtocolVersion::V311,
        _ => return Err(violation("MQTT-3.1.2-2", "unsupported protocol level")),
    };
    let flags = body.u8()?;
    if flags & 0x01 != 0 {
        return Err(violation("MQTT-3.1.2-3", "CONNECT reserved flag is set"));
    }
    let clean_session = flags & 0x02 != 0;
    let will_flag = flags & 0x04 != 0;
    let will_qos = (flags >> 3) & 0x03;
    let will_retain = flags & 0x20 != 0;
    let password_flag = flags & 0x40 != 0;
    let username_flag = flags & 0x80 != 0;
    if !will_flag && (will_qos != 0 || will_retain) {
        return Err(violation(
            "MQTT-3.1.2-11",
            "will QoS or retain set without a will",
        ));
    }
    if !username_flag && password_flag {
        return Err(violation(
            "MQTT-3.1.2-22",
            "password flag set without a user name",
        ));
    }
    let keep_alive = body.u16()?;
    let client_id = body.string()?;
    let will = if will_flag {
        let qos =
            QoS::from_u8(will_qos).ok_or_else(|| violation("MQTT-3.1.2-14", "will QoS is 3"))?;
        let topic = body.string()?;
        validate_topic_name(&topic).map_err(DecodeError::Malformed)?;
        let payload = body.binary()?;
        Some(LastWill {
            topic,
            payload,
            qos,
            retain: will_retain,
        })
    } else {
        None
    };
    let username = if username_flag {
        Some(body.string()?)
    } else {
        None
    };
    let password = if password_flag {
        Some(body.binary()?)
    } else {
        None
    };
    Ok(Connect {
        protocol,
        client_id,
        clean_session,
        keep_alive,
        username,
        password,
        will,
    })
}

fn decode_connack(body: &mut Body) -> Result<ConnAck, DecodeError> {
    let flags = body.u8()?;
    if flags & 0xfe != 0 {
        return Err(violation("MQTT-3.2.2", "CONNACK reserved flags are set"));
    }
    let code = ConnectReturnCode::from_u8(body.u8()?)
        .ok_or_else(|| violation("MQTT-3.2.2", "unknown CONNACK return code"))?;
    let session_present = flags & 0x01 != 0;
    if session_present && code != ConnectReturnCode::Accepted {
        return Err(violation(
            "MQTT-3.2.2-4",
            "session present set on a refused connection",
        ));
    }
    Ok(ConnAck {
        session_present,
        code,
    })
}

fn decode_publish(flags: u8, body: &mut Body) -> Result<Publish, DecodeError> {
    let dup = flags & 0x08 != 0;
    let qos = QoS::from_u8((flags >> 1) & 0x03)
        .ok_or_else(|| violation("MQTT-3.3.1-4", "PUBLISH QoS is 3"))?;
    let retain = flags & 0x01 != 0;
    if dup && qos == QoS::AtMostOnce {
        return Err(violation("MQTT-3.3.1-2", "DUP set on a QoS 0 PUBLISH"));
    }
    let topic = body.string()?;
    validate_topic_name(&topic).map_err(DecodeError::Malformed)?;
    let packet_id = if qos == QoS::AtMostOnce {
        None
    } else {
        Some(body.packet_id()?)
    };
    Ok(Publish {
        dup,
        qos,
        retain,
        topic,
        packet_id,
        payload: body.rest(),
    })
}

fn decode_subscribe(body: &mut Body) -> Result<Subscribe, DecodeError> {
    let packet_id = body.packet_id()?;
    let mut filters = Vec::new();
    while !body.0.is_empty() {
        let filter = body.string()?;
        validate_topic_filter(&filter).map_err(DecodeError::Malformed)?;
        let options = body.u8()?;
        if options & 0xfc != 0 {
            return Err(violation(
                "MQTT-3-8.3-4",
                "reserved bits of requested QoS are set",
            ));
        }
        let qos =
            QoS::from_u8(options).ok_or_else(|| violation("MQTT-3-8.3-4", "requested QoS is 3"))?;
        filters.push(SubscribeFilter { filter, qos });
    }
    if filters.is_empty() {
        return Err(violation("MQTT-3.8.3-3", "SUBSCRIBE has no topic filter"));
    }
    Ok(Subscribe { packet_id, filters })
}

fn decode_suback(body: &mut Body) -> Result<SubAck, DecodeError> {
    let packet_id = body.packet_id()?;
    let mut return_codes = Vec::with_capacity(body.0.len());
    while !body.0.is_empty() {
        return_codes.push(match body.u8()? {
            0x80 => SubscribeReturnCode::Failure,
            code => SubscribeReturnCode::Granted(
                QoS::from_u8(code)
                    .ok_or_else(|| violation("MQTT-3.9.3-2", "reserved SUBACK return code"))?,
            ),
        });
    }
    Ok(SubAck {
        packet_id,
        return_codes,
    })
}

fn decode_unsubscribe(body: &mut Body) -> Result<Unsubscribe, DecodeError> {
    let packet_id = body.packet_id()?;
    let mut filters = Vec::new();
    while !body.0.is_empty() {
        let filter = body.string()?;
        validate_topic_filter(&filter).map_err(DecodeError::Malformed)?;
        filters.push(filter);
    }
    if filters.is_empty() {
        return Err(violation(
            "MQTT-3.10.3-2",
            "UNSUBSCRIBE has no topic filter",
        ));
    }
    Ok(Unsubscribe { packet_id, filters })
}
