//! Encoding: packets to bytes, appended to a buffer so that several packets can leave in
//! one transport write. The encoder refuses what the decoder would refuse, and anything
//! MQTT 5 only (properties, reason codes, AUTH) on a 3.1.1 wire.

use crate::decode::MAX_REMAINING_LENGTH;
use crate::error::{EncodeError, Violation};
use crate::packet::*;
use crate::prelude::*;
use crate::properties::{Properties, PropertyContext as Ctx};
use crate::reason::{reason_code_allowed, ReasonCode, ReasonContext};
use crate::topic::{validate_shared_filter, validate_topic_filter, validate_topic_name};
use crate::varint::{put_varint, varint_len};
use bytes::{BufMut, Bytes, BytesMut};

/// Appends the encoding of `packet` in `version` to `out`; CONNECT is always encoded in
/// its own `protocol`. On error `out` is left as it was.
pub fn encode(
    packet: &Packet,
    version: ProtocolVersion,
    out: &mut BytesMut,
) -> Result<(), EncodeError> {
    let version = match packet {
        Packet::Connect(c) => c.protocol,
        _ => version,
    };
    let w = Writer { version };
    w.check(packet)?;
    let remaining = w.body_len(packet)?;
    if remaining > MAX_REMAINING_LENGTH {
        return Err(EncodeError::PacketTooLarge { size: remaining });
    }
    out.reserve(1 + varint_len(remaining) + remaining);
    out.put_u8(first_byte(packet));
    put_varint(out, remaining);
    w.put_body(packet, out);
    Ok(())
}

/// Appends a PUBLISH without its payload: the fixed header (whose remaining length counts
/// the payload) and the variable header. The payload is to follow on the wire as it is,
/// so a sender can pass a shared payload on uncopied. On error `out` is left as it was.
pub fn encode_publish_head(
    publish: &Publish,
    version: ProtocolVersion,
    out: &mut BytesMut,
) -> Result<(), EncodeError> {
    let w = Writer { version };
    let packet = Packet::Publish(Publish {
        payload: Bytes::new(),
        ..publish.clone()
    });
    w.check(&packet)?;
    let remaining = w.body_len(&packet)? + publish.payload.len();
    if remaining > MAX_REMAINING_LENGTH {
        return Err(EncodeError::PacketTooLarge { size: remaining });
    }
    out.reserve(1 + varint_len(remaining) + remaining - publish.payload.len());
    out.put_u8(first_byte(&packet));
    put_varint(out, remaining);
    w.put_body(&packet, out);
    Ok(())
}

/// How many bytes [`encode`] would write for `packet`, without writing them: what a
/// sender checks against a peer's Maximum Packet Size before it copies a payload.
pub fn encoded_len(packet: &Packet, version: ProtocolVersion) -> Result<usize, EncodeError> {
    let version = match packet {
        Packet::Connect(c) => c.protocol,
        _ => version,
    };
    let remaining = Writer { version }.body_len(packet)?;
    if remaining > MAX_REMAINING_LENGTH {
        return Err(EncodeError::PacketTooLarge { size: remaining });
    }
    Ok(1 + varint_len(remaining) + remaining)
}

/// The encoding of `packet` as a new buffer.
pub fn encode_to_vec(packet: &Packet, version: ProtocolVersion) -> Result<Vec<u8>, EncodeError> {
    let mut out = BytesMut::new();
    encode(packet, version, &mut out)?;
    Ok(out.to_vec())
}

fn invalid(statement: &'static str, reason: &'static str) -> EncodeError {
    EncodeError::Invalid(Violation { statement, reason })
}

fn first_byte(packet: &Packet) -> u8 {
    let flags = match packet {
        Packet::Publish(p) => (u8::from(p.dup) << 3) | (p.qos.as_u8() << 1) | u8::from(p.retain),
        Packet::PubRel(_) | Packet::Subscribe(_) | Packet::Unsubscribe(_) => 0b0010,
        _ => 0,
    };
    (packet.type_number() << 4) | flags
}

fn field(field: &'static str, len: usize) -> Result<usize, EncodeError> {
    if len > usize::from(u16::MAX) {
        return Err(EncodeError::FieldTooLong { field, len });
    }
    Ok(2 + len)
}

fn put_field(out: &mut BytesMut, data: &[u8]) {
    // Lengths were checked by `field`, so the cast cannot truncate.
    out.put_u16(data.len() as u16);
    out.put_slice(data);
}

fn subscription_options(f: &SubscribeFilter) -> u8 {
    f.qos.as_u8()
        | (u8::from(f.no_local) << 2)
        | (u8::from(f.retain_as_published) << 3)
        | ((f.retain_handling as u8) << 4)
}

/// How an acknowledgement-like packet's tail is written in MQTT 5: nothing when the reason
/// is success with no properties, the reason alone without properties, or both.
fn short_tail(code: ReasonCode, props: &Properties) -> Result<usize, EncodeError> {
    Ok(match (code == ReasonCode::SUCCESS, props.is_empty()) {
        (true, true) => 0,
        (_, true) => 1,
        _ => 1 + props.wire_len()?,
    })
}

fn put_short_tail(out: &mut BytesMut, code: ReasonCode, props: &Properties) {
    match (code == ReasonCode::SUCCESS, props.is_empty()) {
        (true, true) => {}
        (_, true) => out.put_u8(code.0),
        _ => {
            out.put_u8(code.0);
            props.encode(out);
        }
    }
}

struct Writer {
    version: ProtocolVersion,
}

impl Writer {
    fn v5(&self) -> bool {
        self.version == ProtocolVersion::V5
    }

    fn props(&self, props: &Properties, ctx: Ctx) -> Result<(), EncodeError> {
        if self.v5() {
            props.check(ctx)
        } else if props.is_empty() {
            Ok(())
        } else {
            Err(invalid("§2.2.2", "MQTT 3.1.1 packets have no properties"))
        }
    }

    fn reason(&self, code: ReasonCode, ctx: ReasonContext) -> Result<(), EncodeError> {
        let ok = if self.v5() {
            reason_code_allowed(ctx, code)
        } else {
            code == ReasonCode::SUCCESS
        };
        if ok {
            Ok(())
        } else {
            Err(invalid("§2.4", "reason code not allowed in this packet"))
        }
    }

    fn filter(&self, filter: &str) -> Result<(), EncodeError> {
        if self.v5() && filter.starts_with("$share/") {
            validate_shared_filter(filter)
        } else {
            validate_topic_filter(filter)
        }
        .map_err(EncodeError::Invalid)
    }

    fn check(&self, packet: &Packet) -> Result<(), EncodeError> {
        match packet {
            Packet::Connect(c) => {
                self.props(&c.properties, Ctx::Connect)?;
                if let Some(will) = &c.will {
                    validate_topic_name(&will.topic).map_err(EncodeError::Invalid)?;
                    self.props(&will.properties, Ctx::Will)?;
                }
                if !self.v5() && c.password.is_some() && c.username.is_none() {
                    return Err(invalid(
                        "MQTT-3.1.2-22",
                        "a password needs a user name in MQTT 3.1.1",
                    ));
                }
            }
            Packet::ConnAck(c) => {
                self.props(&c.properties, Ctx::ConnAck)?;
                let known = if self.v5() {
                    reason_code_allowed(ReasonContext::ConnAck, c.code)
                } else {
                    c.code.0 <= 5
                };
                if !known {
                    return Err(invalid("§2.4", "reason code not allowed in CONNACK"));
                }
                if c.session_present && c.code != ReasonCode::SUCCESS {
                    return Err(invalid(
                        "MQTT-3.2.2-4",
                        "session present on a refused connection",
                    ));
                }
            }
            Packet::Publish(p) => {
                self.props(&p.properties, Ctx::Publish)?;
                let aliased = self.v5() && p.properties.topic_alias.is_some();
                if !(aliased && p.topic.is_empty()) {
                    validate_topic_name(&p.topic).map_err(EncodeError::Invalid)?;
                }
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
            Packet::PubAck(a) => self.ack(a, ReasonContext::PubAck, Ctx::PubAck)?,
            Packet::PubRec(a) => self.ack(a, ReasonContext::PubRec, Ctx::PubRec)?,
            Packet::PubRel(a) => self.ack(a, ReasonContext::PubRel, Ctx::PubRel)?,
            Packet::PubComp(a) => self.ack(a, ReasonContext::PubComp, Ctx::PubComp)?,
            Packet::Subscribe(s) => {
                self.props(&s.properties, Ctx::Subscribe)?;
                if s.filters.is_empty() {
                    return Err(invalid("MQTT-3.8.3-3", "SUBSCRIBE needs a topic filter"));
                }
                for f in &s.filters {
                    self.filter(&f.filter)?;
                    let has_v5_options = f.no_local
                        || f.retain_as_published
                        || f.retain_handling != RetainHandling::SendOnSubscribe;
                    if !self.v5() && has_v5_options {
                        return Err(invalid(
                            "MQTT-3-8.3-4",
                            "subscription options are MQTT 5 only",
                        ));
                    }
                    if f.no_local && f.filter.starts_with("$share/") {
                        return Err(invalid("MQTT-3.8.3-4", "No Local on a shared subscription"));
                    }
                }
            }
            Packet::SubAck(s) => {
                self.props(&s.properties, Ctx::SubAck)?;
                for code in &s.reason_codes {
                    let ok = if self.v5() {
                        reason_code_allowed(ReasonContext::SubAck, *code)
                    } else {
                        matches!(code.0, 0 | 1 | 2 | 0x80)
                    };
                    if !ok {
                        return Err(invalid("MQTT-3.9.3-2", "reason code not allowed in SUBACK"));
                    }
                }
            }
            Packet::Unsubscribe(u) => {
                self.props(&u.properties, Ctx::Unsubscribe)?;
                if u.filters.is_empty() {
                    return Err(invalid("MQTT-3.10.3-2", "UNSUBSCRIBE needs a topic filter"));
                }
                for f in &u.filters {
                    self.filter(f)?;
                }
            }
            Packet::UnsubAck(u) => {
                self.props(&u.properties, Ctx::UnsubAck)?;
                if !self.v5() && !u.reason_codes.is_empty() {
                    return Err(invalid("§3.11", "UNSUBACK has no reason codes in 3.1.1"));
                }
                for code in &u.reason_codes {
                    self.reason(*code, ReasonContext::UnsubAck)?;
                }
            }
            Packet::Disconnect(d) => {
                self.props(&d.properties, Ctx::Disconnect)?;
                self.reason(d.reason_code, ReasonContext::Disconnect)?;
            }
            Packet::Auth(a) => {
                if !self.v5() {
                    return Err(invalid("§2.2.1", "AUTH is MQTT 5 only"));
                }
                self.props(&a.properties, Ctx::Auth)?;
                self.reason(a.reason_code, ReasonContext::Auth)?;
            }
            Packet::PingReq | Packet::PingResp => {}
        }
        Ok(())
    }

    fn ack(&self, a: &Ack, reason: ReasonContext, ctx: Ctx) -> Result<(), EncodeError> {
        self.props(&a.properties, ctx)?;
        self.reason(a.reason_code, reason)
    }

    /// The property list's length on the wire, or 0 in 3.1.1.
    fn props_len(&self, props: &Properties) -> Result<usize, EncodeError> {
        if self.v5() {
            props.wire_len()
        } else {
            Ok(0)
        }
    }

    fn body_len(&self, packet: &Packet) -> Result<usize, EncodeError> {
        Ok(match packet {
            Packet::Connect(c) => {
                // "MQIsdp" is two bytes longer than "MQTT".
                let name = if c.mqtt31 { 12 } else { 10 };
                let mut len = name + self.props_len(&c.properties)?;
                len += field("client id", c.client_id.len())?;
                if let Some(w) = &c.will {
                    len += self.props_len(&w.properties)?;
                    len += field("will topic", w.topic.len())?;
                    len += field("will payload", w.payload.len())?;
                }
                if let Some(u) = &c.username {
                    len += field("user name", u.len())?;
                }
                if let Some(p) = &c.password {
                    len += field("password", p.len())?;
                }
                len
            }
            Packet::ConnAck(c) => 2 + self.props_len(&c.properties)?,
            Packet::Publish(p) => {
                field("topic", p.topic.len())?
                    + if p.packet_id.is_some() { 2 } else { 0 }
                    + self.props_len(&p.properties)?
                    + p.payload.len()
            }
            Packet::PubAck(a) | Packet::PubRec(a) | Packet::PubRel(a) | Packet::PubComp(a) => {
                2 + if self.v5() {
                    short_tail(a.reason_code, &a.properties)?
                } else {
                    0
                }
            }
            Packet::Subscribe(s) => {
                let mut len = 2 + self.props_len(&s.properties)?;
                for f in &s.filters {
                    len += field("topic filter", f.filter.len())? + 1;
                }
                len
            }
            Packet::SubAck(s) => 2 + self.props_len(&s.properties)? + s.reason_codes.len(),
            Packet::Unsubscribe(u) => {
                let mut len = 2 + self.props_len(&u.properties)?;
                for f in &u.filters {
                    len += field("topic filter", f.len())?;
                }
                len
            }
            Packet::UnsubAck(u) => 2 + self.props_len(&u.properties)? + u.reason_codes.len(),
            Packet::Disconnect(d) if self.v5() => short_tail(d.reason_code, &d.properties)?,
            Packet::Auth(a) => short_tail(a.reason_code, &a.properties)?,
            Packet::PingReq | Packet::PingResp | Packet::Disconnect(_) => 0,
        })
    }

    fn put_props(&self, out: &mut BytesMut, props: &Properties) {
        if self.v5() {
            props.encode(out);
        }
    }

    fn put_body(&self, packet: &Packet, out: &mut BytesMut) {
        match packet {
            Packet::Connect(c) => {
                let (name, level): (&[u8], u8) = if c.mqtt31 {
                    (b"MQIsdp", 3)
                } else {
                    (b"MQTT", c.protocol.level())
                };
                put_field(out, name);
                let bridge = c.bridge && c.protocol == ProtocolVersion::V311;
                out.put_u8(level | if bridge { 0x80 } else { 0 });
                let mut flags = u8::from(c.clean_start) << 1;
                if let Some(w) = &c.will {
                    flags |= 0x04 | (w.qos.as_u8() << 3) | (u8::from(w.retain) << 5);
                }
                flags |= u8::from(c.password.is_some()) << 6;
                flags |= u8::from(c.username.is_some()) << 7;
                out.put_u8(flags);
                out.put_u16(c.keep_alive);
                self.put_props(out, &c.properties);
                put_field(out, c.client_id.as_bytes());
                if let Some(w) = &c.will {
                    self.put_props(out, &w.properties);
                    put_field(out, w.topic.as_bytes());
                    put_field(out, &w.payload);
                }
                if let Some(u) = &c.username {
                    put_field(out, u.as_bytes());
                }
                if let Some(p) = &c.password {
                    put_field(out, p);
                }
            }
            Packet::ConnAck(c) => {
                out.put_u8(u8::from(c.session_present));
                out.put_u8(c.code.0);
                if self.v5() {
                    c.properties
                        .encode_in_order(out, &crate::properties::CONNACK_ORDER, &[]);
                }
            }
            Packet::Publish(p) => {
                put_field(out, p.topic.as_bytes());
                if let Some(id) = p.packet_id {
                    out.put_u16(id.get());
                }
                if self.v5() {
                    use crate::properties::{PUBLISH_FIRST, PUBLISH_LAST};
                    p.properties
                        .encode_in_order(out, &PUBLISH_FIRST, &PUBLISH_LAST);
                }
                out.put_slice(&p.payload);
            }
            Packet::PubAck(a) | Packet::PubRec(a) | Packet::PubRel(a) | Packet::PubComp(a) => {
                out.put_u16(a.packet_id.get());
                if self.v5() {
                    put_short_tail(out, a.reason_code, &a.properties);
                }
            }
            Packet::Subscribe(s) => {
                out.put_u16(s.packet_id.get());
                self.put_props(out, &s.properties);
                for f in &s.filters {
                    put_field(out, f.filter.as_bytes());
                    out.put_u8(subscription_options(f));
                }
            }
            Packet::SubAck(s) => {
                out.put_u16(s.packet_id.get());
                self.put_props(out, &s.properties);
                out.extend(s.reason_codes.iter().map(|c| c.0));
            }
            Packet::Unsubscribe(u) => {
                out.put_u16(u.packet_id.get());
                self.put_props(out, &u.properties);
                for f in &u.filters {
                    put_field(out, f.as_bytes());
                }
            }
            Packet::UnsubAck(u) => {
                out.put_u16(u.packet_id.get());
                self.put_props(out, &u.properties);
                out.extend(u.reason_codes.iter().map(|c| c.0));
            }
            Packet::Disconnect(d) if self.v5() => put_short_tail(out, d.reason_code, &d.properties),
            Packet::Auth(a) => put_short_tail(out, a.reason_code, &a.properties),
            Packet::PingReq | Packet::PingResp | Packet::Disconnect(_) => {}
        }
    }
}
