//! Encoding: packets to bytes, appended to a buffer so that several packets can leave in
//! one transport write.

use crate::decode::MAX_REMAINING_LENGTH;
use crate::error::{EncodeError, Violation};
use crate::packet::*;
use crate::topic::{validate_topic_filter, validate_topic_name};
use bytes::{BufMut, BytesMut};

/// Appends the encoding of `packet` to `out`. On error `out` is left as it was.
pub fn encode(packet: &Packet, out: &mut BytesMut) -> Result<(), EncodeError> {
    check(packet)?;
    let remaining = body_len(packet)?;
    if remaining > MAX_REMAINING_LENGTH {
        return Err(EncodeError::PacketTooLarge { size: remaining });
    }
    out.reserve(5 + remaining);
    out.put_u8(first_byte(packet));
    put_remaining_length(out, remaining);
    put_body(packet, out);
    Ok(())
}

/// The encoding of `packet` as a new buffer.
pub fn encode_to_vec(packet: &Packet) -> Result<Vec<u8>, EncodeError> {
    let mut out = BytesMut::new();
    encode(packet, &mut out)?;
    Ok(out.to_vec())
}

fn invalid(statement: &'static str, reason: &'static str) -> EncodeError {
    EncodeError::Invalid(Violation { statement, reason })
}

fn check(packet: &Packet) -> Result<(), EncodeError> {
    match packet {
        Packet::Connect(c) => {
            if let Some(will) = &c.will {
                validate_topic_name(&will.topic).map_err(EncodeError::Invalid)?;
            }
            if c.password.is_some() && c.username.is_none() {
                return Err(invalid(
                    "MQTT-3.1.2-22",
                    "a password needs a user name in MQTT 3.1.1",
                ));
            }
        }
        Packet::Publish(p) => {
            validate_topic_name(&p.topic).map_err(EncodeError::Invalid)?;
            if (p.qos == QoS::AtMostOnce) != p.packet_id.is_none() {
                return Err(invalid(
                    "MQTT-2.3.1-1",
                    "a packet id is needed exactly when QoS is above 0",
                ));
            }
            if p.dup && p.qos == QoS::AtMostOnce {
                return Err(invalid("MQTT-3.3.1-2", "DUP on a QoS 0 PUBLISH"));
            }
        }
        Packet::Subscribe(s) => {
            if s.filters.is_empty() {
                return Err(invalid("MQTT-3.8.3-3", "SUBSCRIBE needs a topic filter"));
            }
            for f in &s.filters {
                validate_topic_filter(&f.filter).map_err(EncodeError::Invalid)?;
            }
        }
        Packet::Unsubscribe(u) => {
            if u.filters.is_empty() {
                return Err(invalid("MQTT-3.10.3-2", "UNSUBSCRIBE needs a topic filter"));
            }
            for f in &u.filters {
                validate_topic_filter(f).map_err(EncodeError::Invalid)?;
            }
        }
        Packet::ConnAck(c) if c.session_present && c.code != ConnectReturnCode::Accepted => {
            return Err(invalid(
                "MQTT-3.2.2-4",
                "session present on a refused connection",
            ));
        }
        _ => {}
    }
    Ok(())
}

fn first_byte(packet: &Packet) -> u8 {
    match packet {
        Packet::Connect(_) => 0x10,
        Packet::ConnAck(_) => 0x20,
        Packet::Publish(p) => {
            0x30 | (u8::from(p.dup) << 3) | (p.qos.as_u8() << 1) | u8::from(p.retain)
        }
        Packet::PubAck(_) => 0x40,
        Packet::PubRec(_) => 0x50,
        Packet::PubRel(_) => 0x62,
        Packet::PubComp(_) => 0x70,
        Packet::Subscribe(_) => 0x82,
        Packet::SubAck(_) => 0x90,
        Packet::Unsubscribe(_) => 0xa2,
        Packet::UnsubAck(_) => 0xb0,
        Packet::PingReq => 0xc0,
        Packet::PingResp => 0xd0,
        Packet::Disconnect => 0xe0,
    }
}

fn field_len(field: &'static str, len: usize) -> Result<usize, EncodeError> {
    if len > usize::from(u16::MAX) {
        return Err(EncodeError::FieldTooLong { field, len });
    }
    Ok(2 + len)
}

fn body_len(packet: &Packet) -> Result<usize, EncodeError> {
    Ok(match packet {
        Packet::Connect(c) => {
            let mut len = 10 + field_len("client id", c.client_id.len())?;
            if let Some(w) = &c.will {
                len += field_len("will topic", w.topic.len())?;
                len += field_len("will payload", w.payload.len())?;
            }
            if let Some(u) = &c.username {
                len += field_len("user name", u.len())?;
            }
            if let Some(p) = &c.password {
                len += field_len("password", p.len())?;
            }
            len
        }
        Packet::ConnAck(_) => 2,
        Packet::Publish(p) => {
            field_len("topic", p.topic.len())?
                + if p.packet_id.is_some() { 2 } else { 0 }
                + p.payload.len()
        }
        Packet::PubAck(_)
        | Packet::PubRec(_)
        | Packet::PubRel(_)
        | Packet::PubComp(_)
        | Packet::UnsubAck(_) => 2,
        Packet::Subscribe(s) => {
            let mut len = 2;
            for f in &s.filters {
                len += field_len("topic filter", f.filter.len())? + 1;
            }
            len
        }
        Packet::SubAck(s) => 2 + s.return_codes.len(),
        Packet::Unsubscribe(u) => {
            let mut len = 2;
            for f in &u.filters {
                len += field_len("topic filter", f.len())?;
            }
            len
        }
        Packet::PingReq | Packet::PingResp | Packet::Disconnect => 0,
    })
}

fn put_remaining_length(out: &mut BytesMut, mut len: usize) {
    loop {
        let mut byte = (len % 128) as u8;
        len /= 128;
        if len > 0 {
            byte |= 0x80;
        }
        out.put_u8(byte);
        if len == 0 {
            return;
        }
    }
}

// Lengths were checked by `body_len`, so the `as u16` casts below cannot truncate.
fn put_binary(out: &mut BytesMut, data: &[u8]) {
    out.put_u16(data.len() as u16);
    out.put_slice(data);
}

fn put_body(packet: &Packet, out: &mut BytesMut) {
    match packet {
        Packet::Connect(c) => {
            put_binary(out, b"MQTT");
            out.put_u8(c.protocol.level());
            let mut flags = u8::from(c.clean_session) << 1;
            if let Some(w) = &c.will {
                flags |= 0x04 | (w.qos.as_u8() << 3) | (u8::from(w.retain) << 5);
            }
            flags |= u8::from(c.password.is_some()) << 6;
            flags |= u8::from(c.username.is_some()) << 7;
            out.put_u8(flags);
            out.put_u16(c.keep_alive);
            put_binary(out, c.client_id.as_bytes());
            if let Some(w) = &c.will {
                put_binary(out, w.topic.as_bytes());
                put_binary(out, &w.payload);
            }
            if let Some(u) = &c.username {
                put_binary(out, u.as_bytes());
            }
            if let Some(p) = &c.password {
                put_binary(out, p);
            }
        }
        Packet::ConnAck(c) => {
            out.put_u8(u8::from(c.session_present));
            out.put_u8(c.code as u8);
        }
        Packet::Publish(p) => {
            put_binary(out, p.topic.as_bytes());
            if let Some(id) = p.packet_id {
                out.put_u16(id.get());
            }
            out.put_slice(&p.payload);
        }
        Packet::PubAck(id)
        | Packet::PubRec(id)
        | Packet::PubRel(id)
        | Packet::PubComp(id)
        | Packet::UnsubAck(id) => out.put_u16(id.get()),
        Packet::Subscribe(s) => {
            out.put_u16(s.packet_id.get());
            for f in &s.filters {
                put_binary(out, f.filter.as_bytes());
                out.put_u8(f.qos.as_u8());
            }
        }
        Packet::SubAck(s) => {
            out.put_u16(s.packet_id.get());
            for code in &s.return_codes {
                out.put_u8(match code {
                    SubscribeReturnCode::Granted(q) => q.as_u8(),
                    SubscribeReturnCode::Failure => 0x80,
                });
            }
        }
        Packet::Unsubscribe(u) => {
            out.put_u16(u.packet_id.get());
            for f in &u.filters {
                put_binary(out, f.as_bytes());
            }
        }
        Packet::PingReq | Packet::PingResp | Packet::Disconnect => {}
    }
}
