//! Incremental decoding: bytes in, packets out, for MQTT 3.1.1 and 5.0.
//!
//! A partial frame is not an error: [`decode`] answers `Ok(None)` and leaves the bytes where
//! they are, so a transport can hand over whatever arrived. The size check happens on the
//! fixed header, before a byte of the body is buffered. CONNECT says its own version; every
//! other packet is read in the version the connection agreed on.

use crate::error::{violation, DecodeError};
use crate::packet::*;
use crate::prelude::*;
use crate::properties::{Properties, PropertyContext as Ctx};
use crate::property_decode::{take_binary, take_shared_string, take_string};
use crate::reason::{reason_code_allowed, ReasonCode, ReasonContext};
use crate::topic::{validate_shared_filter, validate_topic_filter, validate_topic_name};
use crate::varint::read_varint;
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
    Ok(read_varint(&buf[1..])?.map(|(len, len_bytes)| FixedHeader {
        first_byte,
        remaining_length: len as usize,
        header_len: 1 + len_bytes,
    }))
}

/// Takes the first complete packet off the front of `buf`.
///
/// Returns `Ok(None)` while the packet is incomplete. A packet whose fixed header announces
/// more than `max_packet_size` bytes is refused at once.
pub fn decode(
    buf: &mut BytesMut,
    version: ProtocolVersion,
    max_packet_size: usize,
) -> Result<Option<Packet>, DecodeError> {
    take_frame::<ANY>(buf, version, max_packet_size)
}

/// [`decode`] for a client: the packets only a client sends (CONNECT, SUBSCRIBE,
/// UNSUBSCRIBE, PINGREQ) are refused, a Protocol Error by the spec's direction of flow
/// (§2.1.2). The client's wasm then carries no decoder for them.
pub fn decode_from_server(
    buf: &mut BytesMut,
    version: ProtocolVersion,
    max_packet_size: usize,
) -> Result<Option<Packet>, DecodeError> {
    take_frame::<FROM_SERVER>(buf, version, max_packet_size)
}

fn take_frame<const ACCEPT: u16>(
    buf: &mut BytesMut,
    version: ProtocolVersion,
    max_packet_size: usize,
) -> Result<Option<Packet>, DecodeError> {
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
        // Room for more of the packet, growing geometrically but never past its size: a
        // header that announces 256 MB and never sends it must not take 256 MB.
        let missing = size - buf.len();
        buf.reserve(missing.min(buf.len().max(64 * 1024)));
        return Ok(None);
    }
    let frame = buf.split_to(size).freeze();
    decode_frame::<ACCEPT>(header, frame, version).map(Some)
}

// Which packet types a decoder accepts, one bit per type. Each mask is a separate copy of
// the decoder, so a build that uses only one (the client's wasm) carries only the decoders
// that mask lets through.
const ANY: u16 = 0xffff;
/// Everything but CONNECT (1), SUBSCRIBE (8), UNSUBSCRIBE (10) and PINGREQ (12).
const FROM_SERVER: u16 = !(1 << 1 | 1 << 8 | 1 << 10 | 1 << 12);

/// A whole PUBLISH (a stored message), or `None` for anything else. It shares the client's
/// decoder (a PUBLISH flows both ways), so the client's wasm holds one decoder, not two.
pub(crate) fn decode_publish(bytes: Bytes, version: ProtocolVersion) -> Option<Publish> {
    match whole_packet::<FROM_SERVER>(bytes, version) {
        Ok(Packet::Publish(p)) => Some(p),
        _ => None,
    }
}

/// Decodes one whole packet; trailing bytes after it are an error.
pub fn decode_packet(bytes: Bytes, version: ProtocolVersion) -> Result<Packet, DecodeError> {
    whole_packet::<ANY>(bytes, version)
}

fn whole_packet<const ACCEPT: u16>(
    bytes: Bytes,
    version: ProtocolVersion,
) -> Result<Packet, DecodeError> {
    let Some(header) = decode_fixed_header(&bytes)? else {
        return Err(violation("§2.2.3", "packet is truncated"));
    };
    match bytes.len().cmp(&header.frame_len()) {
        core::cmp::Ordering::Less => Err(violation("§2.2.3", "packet is truncated")),
        core::cmp::Ordering::Greater => {
            Err(violation("§2.2.3", "bytes follow the end of the packet"))
        }
        core::cmp::Ordering::Equal => decode_frame::<ACCEPT>(header, bytes, version),
    }
}

fn decode_frame<const ACCEPT: u16>(
    header: FixedHeader,
    mut frame: Bytes,
    version: ProtocolVersion,
) -> Result<Packet, DecodeError> {
    frame.advance(header.header_len);
    let mut r = Reader {
        body: frame,
        version,
    };
    let flags = header.first_byte & 0x0f;
    let kind = header.first_byte >> 4;
    let packet = check_flags(kind, flags)
        .and_then(|()| r.packet::<ACCEPT>(kind, flags))
        .map_err(|e| match (e, r.version) {
            (DecodeError::Malformed(v), ProtocolVersion::V5) => DecodeError::Malformed(v.in_v5()),
            (e, _) => e,
        })?;
    if r.body.has_remaining() {
        return Err(violation(
            "§2.2.3",
            "remaining length is longer than the packet's fields",
        ));
    }
    Ok(packet)
}

impl Reader {
    fn packet<const ACCEPT: u16>(&mut self, kind: u8, flags: u8) -> Result<Packet, DecodeError> {
        // Each guard is a constant per arm, so a mask's build drops the arms it refuses.
        let accepts = |k: u8| ACCEPT & (1 << k) != 0;
        let r = self;
        Ok(match kind {
            1 if accepts(1) => Packet::Connect(r.connect()?),
            2 if accepts(2) => Packet::ConnAck(r.connack()?),
            3 if accepts(3) => Packet::Publish(r.publish(flags)?),
            4 if accepts(4) => Packet::PubAck(r.ack(ReasonContext::PubAck, Ctx::PubAck)?),
            5 if accepts(5) => Packet::PubRec(r.ack(ReasonContext::PubRec, Ctx::PubRec)?),
            6 if accepts(6) => Packet::PubRel(r.ack(ReasonContext::PubRel, Ctx::PubRel)?),
            7 if accepts(7) => Packet::PubComp(r.ack(ReasonContext::PubComp, Ctx::PubComp)?),
            8 if accepts(8) => Packet::Subscribe(r.subscribe()?),
            9 if accepts(9) => Packet::SubAck(r.suback()?),
            10 if accepts(10) => Packet::Unsubscribe(r.unsubscribe()?),
            11 if accepts(11) => Packet::UnsubAck(r.unsuback()?),
            12 if accepts(12) => Packet::PingReq,
            13 if accepts(13) => Packet::PingResp,
            14 if accepts(14) => Packet::Disconnect(r.disconnect()?),
            15 if accepts(15) && r.v5() => Packet::Auth(r.auth()?),
            0 | 15 => return Err(violation("§2.2.1", "reserved packet type")),
            _ => {
                return Err(violation(
                    "§2.1.2",
                    "this packet type does not flow this way",
                ))
            }
        })
    }
}

/// The fixed header's flags: fixed values for every packet but PUBLISH.
fn check_flags(kind: u8, flags: u8) -> Result<(), DecodeError> {
    let expected = match kind {
        3 => flags,
        6 | 8 | 10 => 0b0010,
        _ => 0,
    };
    if flags == expected {
        return Ok(());
    }
    let statement = match kind {
        6 => "MQTT-3.6.1-1",
        8 => "MQTT-3.8.1-1",
        10 => "MQTT-3.10.1-1",
        _ => "MQTT-2.2.2-2",
    };
    Err(violation(
        statement,
        "reserved fixed header flags are wrong",
    ))
}

fn too_short() -> DecodeError {
    violation(
        "§2.2.3",
        "remaining length is shorter than the packet's fields",
    )
}

/// The variable header and payload of one frame, read front to back.
struct Reader {
    body: Bytes,
    version: ProtocolVersion,
}

impl Reader {
    fn v5(&self) -> bool {
        self.version == ProtocolVersion::V5
    }

    fn u8(&mut self) -> Result<u8, DecodeError> {
        if self.body.is_empty() {
            return Err(too_short());
        }
        Ok(self.body.get_u8())
    }

    fn u16(&mut self) -> Result<u16, DecodeError> {
        if self.body.len() < 2 {
            return Err(too_short());
        }
        Ok(self.body.get_u16())
    }

    fn packet_id(&mut self) -> Result<PacketId, DecodeError> {
        PacketId::new(self.u16()?)
            .ok_or_else(|| violation("MQTT-2.3.1-1", "packet identifier is zero"))
    }

    fn string(&mut self) -> Result<String, DecodeError> {
        take_string(&mut self.body)
    }

    fn binary(&mut self) -> Result<Bytes, DecodeError> {
        take_binary(&mut self.body)
    }

    fn properties(&mut self, ctx: Ctx) -> Result<Properties, DecodeError> {
        if self.v5() {
            Properties::decode(&mut self.body, ctx)
        } else {
            Ok(Properties::default())
        }
    }

    fn reason(&mut self, ctx: ReasonContext) -> Result<ReasonCode, DecodeError> {
        let code = ReasonCode(self.u8()?);
        if reason_code_allowed(ctx, code) {
            Ok(code)
        } else {
            Err(violation("§2.4", "reason code not allowed in this packet"))
        }
    }

    fn connect(&mut self) -> Result<Connect, DecodeError> {
        let name = self.string()?;
        let level = self.u8()?;
        // The bridge bit is defined for 3.1 and 3.1.1 only; 5.0 bridges use properties.
        let bridge = level & 0x80 != 0 && matches!(level & 0x7f, 3 | 4);
        let plain = if bridge { level & 0x7f } else { level };
        let (protocol, mqtt31) = match (name.as_str(), plain) {
            ("MQIsdp", 3) => (ProtocolVersion::V311, true),
            ("MQTT", 4) => (ProtocolVersion::V311, false),
            ("MQTT", 5) => (ProtocolVersion::V5, false),
            ("MQTT" | "MQIsdp", _) => {
                return Err(DecodeError::UnsupportedProtocolVersion { level })
            }
            _ => return Err(violation("MQTT-3.1.2-1", "protocol name is not \"MQTT\"")),
        };
        // CONNECT says which version the rest of it, and of the connection, is in.
        self.version = protocol;
        let flags = self.u8()?;
        // 3.1 reserved the bit without requiring it to be zero.
        if flags & 0x01 != 0 && !mqtt31 {
            return Err(violation("MQTT-3.1.2-3", "CONNECT reserved flag is set"));
        }
        let clean_start = flags & 0x02 != 0;
        let will_flag = flags & 0x04 != 0;
        let will_qos = (flags >> 3) & 0x03;
        let will_retain = flags & 0x20 != 0;
        let password_flag = flags & 0x40 != 0;
        let username_flag = flags & 0x80 != 0;
        if !will_flag && will_qos != 0 {
            return Err(violation("MQTT-3.1.2-13", "will QoS set without a will"));
        }
        if !will_flag && will_retain {
            return Err(violation("MQTT-3.1.2-15", "will retain set without a will"));
        }
        if !self.v5() && !username_flag && password_flag {
            return Err(violation(
                "MQTT-3.1.2-22",
                "password flag set without a user name",
            ));
        }
        let keep_alive = self.u16()?;
        let properties = self.properties(Ctx::Connect)?;
        let client_id = self.string()?;
        let will = if will_flag {
            let qos = QoS::from_u8(will_qos)
                .ok_or_else(|| violation("MQTT-3.1.2-14", "will QoS is 3"))?;
            let properties = self.properties(Ctx::Will)?;
            let topic = self.string()?;
            validate_topic_name(&topic).map_err(DecodeError::Malformed)?;
            let payload = self.binary()?;
            Some(LastWill {
                topic,
                payload,
                qos,
                retain: will_retain,
                properties,
            })
        } else {
            None
        };
        let username = username_flag.then(|| self.string()).transpose()?;
        let password = password_flag.then(|| self.binary()).transpose()?;
        Ok(Connect {
            protocol,
            mqtt31,
            bridge,
            client_id,
            clean_start,
            keep_alive,
            username,
            password,
            will,
            properties,
        })
    }

    fn connack(&mut self) -> Result<ConnAck, DecodeError> {
        let flags = self.u8()?;
        if flags & 0xfe != 0 {
            let statement = if self.v5() {
                "MQTT-3.2.2-1"
            } else {
                "§3.2.2.1"
            };
            return Err(violation(statement, "CONNACK reserved flags are set"));
        }
        let session_present = flags & 0x01 != 0;
        let code = if self.v5() {
            self.reason(ReasonContext::ConnAck)?
        } else {
            let code = self.u8()?;
            if code > 5 {
                return Err(violation("§3.2.2.3", "reserved CONNACK return code"));
            }
            ReasonCode(code)
        };
        if session_present && code != ReasonCode::SUCCESS {
            let statement = if self.v5() {
                "MQTT-3.2.2-6"
            } else {
                "MQTT-3.2.2-4"
            };
            return Err(violation(
                statement,
                "session present on a refused connection",
            ));
        }
        let properties = self.properties(Ctx::ConnAck)?;
        Ok(ConnAck {
            session_present,
            code,
            properties,
        })
    }

    fn publish(&mut self, flags: u8) -> Result<Publish, DecodeError> {
        let dup = flags & 0x08 != 0;
        let qos = QoS::from_u8((flags >> 1) & 0x03)
            .ok_or_else(|| violation("MQTT-3.3.1-4", "PUBLISH QoS is 3"))?;
        let retain = flags & 0x01 != 0;
        if dup && qos == QoS::AtMostOnce {
            return Err(violation("MQTT-3.3.1-2", "DUP set on a QoS 0 PUBLISH"));
        }
        let topic = take_shared_string(&mut self.body)?;
        let packet_id = match qos {
            QoS::AtMostOnce => None,
            _ => Some(self.packet_id()?),
        };
        let properties = self.properties(Ctx::Publish)?;
        // MQTT 5 lets a topic alias stand in for an empty topic name.
        if !(topic.is_empty() && properties.topic_alias.is_some()) {
            validate_topic_name(&topic).map_err(DecodeError::Malformed)?;
        }
        Ok(Publish {
            dup,
            qos,
            retain,
            topic,
            packet_id,
            payload: core::mem::take(&mut self.body),
            properties,
        })
    }

    fn ack(&mut self, reason: ReasonContext, ctx: Ctx) -> Result<Ack, DecodeError> {
        let packet_id = self.packet_id()?;
        let mut ack = Ack::new(packet_id);
        // MQTT 5 may leave out the reason code (then 0) and the properties.
        if self.v5() && !self.body.is_empty() {
            ack.reason_code = self.reason(reason)?;
            if !self.body.is_empty() {
                ack.properties = self.properties(ctx)?;
            }
        }
        Ok(ack)
    }

    fn subscribe(&mut self) -> Result<Subscribe, DecodeError> {
        let packet_id = self.packet_id()?;
        let properties = self.properties(Ctx::Subscribe)?;
        let mut filters = Vec::new();
        while !self.body.is_empty() {
            let filter = self.string()?;
            let options = self.u8()?;
            filters.push(self.subscription(filter, options)?);
        }
        if filters.is_empty() {
            return Err(violation("MQTT-3.8.3-3", "SUBSCRIBE has no topic filter"));
        }
        Ok(Subscribe {
            packet_id,
            filters,
            properties,
        })
    }

    fn subscription(&self, filter: String, options: u8) -> Result<SubscribeFilter, DecodeError> {
        let reserved = if self.v5() { 0xc0 } else { 0xfc };
        if options & reserved != 0 {
            let statement = if self.v5() {
                "MQTT-3.8.3-5"
            } else {
                "MQTT-3-8.3-4"
            };
            return Err(violation(
                statement,
                "reserved subscription option bits are set",
            ));
        }
        let qos_statement = if self.v5() {
            "§3.8.3.1"
        } else {
            "MQTT-3-8.3-4"
        };
        let qos = QoS::from_u8(options & 0x03)
            .ok_or_else(|| violation(qos_statement, "requested QoS is 3"))?;
        let retain_handling = RetainHandling::from_u8((options >> 4) & 0x03)
            .ok_or_else(|| violation("§3.8.3.1", "retain handling is 3"))?;
        let no_local = options & 0x04 != 0;
        if self.v5() && filter.starts_with("$share/") {
            validate_shared_filter(&filter).map_err(DecodeError::Malformed)?;
            if no_local {
                return Err(violation(
                    "MQTT-3.8.3-4",
                    "No Local on a shared subscription",
                ));
            }
        } else {
            validate_topic_filter(&filter).map_err(DecodeError::Malformed)?;
        }
        Ok(SubscribeFilter {
            filter,
            qos,
            no_local,
            retain_as_published: options & 0x08 != 0,
            retain_handling,
        })
    }

    fn suback(&mut self) -> Result<SubAck, DecodeError> {
        let packet_id = self.packet_id()?;
        let properties = self.properties(Ctx::SubAck)?;
        let mut reason_codes = Vec::new();
        while !self.body.is_empty() {
            if self.v5() {
                reason_codes.push(self.reason(ReasonContext::SubAck)?);
            } else {
                let code = self.u8()?;
                if !matches!(code, 0 | 1 | 2 | 0x80) {
                    return Err(violation("MQTT-3.9.3-2", "reserved SUBACK return code"));
                }
                reason_codes.push(ReasonCode(code));
            }
        }
        Ok(SubAck {
            packet_id,
            reason_codes,
            properties,
        })
    }

    fn unsubscribe(&mut self) -> Result<Unsubscribe, DecodeError> {
        let packet_id = self.packet_id()?;
        let properties = self.properties(Ctx::Unsubscribe)?;
        let mut filters = Vec::new();
        while !self.body.is_empty() {
            let filter = self.string()?;
            if filter.starts_with("$share/") && self.v5() {
                validate_shared_filter(&filter).map_err(DecodeError::Malformed)?;
            } else {
                validate_topic_filter(&filter).map_err(DecodeError::Malformed)?;
            }
            filters.push(filter);
        }
        if filters.is_empty() {
            return Err(violation(
                "MQTT-3.10.3-2",
                "UNSUBSCRIBE has no topic filter",
            ));
        }
        Ok(Unsubscribe {
            packet_id,
            filters,
            properties,
        })
    }

    fn unsuback(&mut self) -> Result<UnsubAck, DecodeError> {
        let packet_id = self.packet_id()?;
        let properties = self.properties(Ctx::UnsubAck)?;
        let mut reason_codes = Vec::new();
        while self.v5() && !self.body.is_empty() {
            reason_codes.push(self.reason(ReasonContext::UnsubAck)?);
        }
        Ok(UnsubAck {
            packet_id,
            reason_codes,
            properties,
        })
    }

    fn disconnect(&mut self) -> Result<Disconnect, DecodeError> {
        let mut disconnect = Disconnect::default();
        if self.v5() && !self.body.is_empty() {
            disconnect.reason_code = self.reason(ReasonContext::Disconnect)?;
            if !self.body.is_empty() {
                disconnect.properties = self.properties(Ctx::Disconnect)?;
            }
        }
        Ok(disconnect)
    }

    fn auth(&mut self) -> Result<Auth, DecodeError> {
        let mut auth = Auth::default();
        if !self.body.is_empty() {
            auth.reason_code = self.reason(ReasonContext::Auth)?;
            if !self.body.is_empty() {
                auth.properties = self.properties(Ctx::Auth)?;
            }
        }
        Ok(auth)
    }
}
