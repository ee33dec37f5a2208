//! Reading MQTT 5 property lists: each property at most once (but the repeatable ones),
//! only where its packet allows it, and with a value the spec allows.

use crate::error::{violation, DecodeError, DUPLICATE};
use crate::packet::{QoS, MQTT5};
use crate::prelude::*;
use crate::properties::{property_allowed, Properties, PropertyContext as Ctx, NOT_ALLOWED};
use crate::property_values::FieldMut;
use crate::topic::validate_topic_name;
use crate::varint::take_varint;
use bytes::{Buf, Bytes};
use bytestring::ByteString;

fn malformed(reason: &'static str) -> DecodeError {
    violation("§2.2.2.2", reason)
}

fn set_once<T>(slot: &mut Option<T>, value: T) -> Result<(), DecodeError> {
    if slot.is_some() {
        return Err(malformed(DUPLICATE));
    }
    *slot = Some(value);
    Ok(())
}

fn take_u8(body: &mut Bytes) -> Result<u8, DecodeError> {
    if body.is_empty() {
        return Err(malformed("property value runs past the property list"));
    }
    Ok(body.get_u8())
}

fn take_u16(body: &mut Bytes) -> Result<u16, DecodeError> {
    if body.len() < 2 {
        return Err(malformed("property value runs past the property list"));
    }
    Ok(body.get_u16())
}

fn take_u32(body: &mut Bytes) -> Result<u32, DecodeError> {
    if body.len() < 4 {
        return Err(malformed("property value runs past the property list"));
    }
    Ok(body.get_u32())
}

pub(crate) fn take_binary(body: &mut Bytes) -> Result<Bytes, DecodeError> {
    if body.len() < 2 {
        return Err(violation("§2.2.3", "field runs past the packet"));
    }
    let len = usize::from(body.get_u16());
    if body.len() < len {
        return Err(violation("§2.2.3", "field runs past the packet"));
    }
    Ok(body.split_to(len))
}

pub(crate) fn take_string(body: &mut Bytes) -> Result<String, DecodeError> {
    take_shared_string(body).map(String::from)
}

/// A UTF-8 string field as a slice of the frame, with no copy.
pub(crate) fn take_shared_string(body: &mut Bytes) -> Result<ByteString, DecodeError> {
    let raw = take_binary(body)?;
    // Rust's UTF-8 check also refuses the surrogates U+D800..U+DFFF; cited by the 3.1.1
    // numbers, which a 5.0 packet's error renames.
    let text = ByteString::try_from(raw)
        .map_err(|_| violation("MQTT-1.5.3-1", "string is not well-formed UTF-8"))?;
    if text.as_bytes().contains(&0) {
        return Err(violation("MQTT-1.5.3-2", "string contains U+0000"));
    }
    Ok(text)
}

fn take_flag(body: &mut Bytes) -> Result<bool, DecodeError> {
    match take_u8(body)? {
        0 => Ok(false),
        1 => Ok(true),
        _ => Err(malformed("a property that is 0 or 1 has another value")),
    }
}

fn nonzero<T: Default + PartialEq>(value: T, reason: &'static str) -> Result<T, DecodeError> {
    if value == T::default() {
        Err(violation("§2.2.2.2", reason))
    } else {
        Ok(value)
    }
}

impl Properties {
    /// Reads a property list (its length first) off the front of `body`.
    pub(crate) fn decode(body: &mut Bytes, ctx: Ctx) -> Result<Properties, DecodeError> {
        let len = take_varint(body)? as usize;
        if body.len() < len {
            return Err(violation("§2.2.3", "property length runs past the packet"));
        }
        let mut list = body.split_to(len);
        let mut p = Properties::default();
        if !MQTT5 {
            // Only a stored session reads MQTT 5 framing in such a build, and its client
            // speaks 3.1.1, which would not send them.
            return Ok(p);
        }
        while !list.is_empty() {
            // Identifiers are variable byte integers, but every defined one fits in one
            // byte, so anything longer is an unknown identifier anyway.
            let id = take_varint(&mut list)?;
            let id = u8::try_from(id).map_err(|_| malformed("unknown property identifier"))?;
            if !property_allowed(id, ctx) {
                return Err(malformed(if (0x01..=0x2a).contains(&id) {
                    NOT_ALLOWED
                } else {
                    "unknown property identifier"
                }));
            }
            p.read_one(id, &mut list, ctx)?;
            p.received_order.0.push(id);
        }
        Ok(p)
    }

    fn read_one(&mut self, id: u8, list: &mut Bytes, ctx: Ctx) -> Result<(), DecodeError> {
        match id {
            0x0b => {
                let id = nonzero(take_varint(list)?, "subscription identifier is zero")?;
                if ctx == Ctx::Subscribe && !self.subscription_identifiers.is_empty() {
                    return Err(malformed(DUPLICATE));
                }
                self.subscription_identifiers.push(id);
                return Ok(());
            }
            0x26 => {
                let key = take_string(list)?;
                let value = take_string(list)?;
                self.user_properties.push((key, value));
                return Ok(());
            }
            _ => {}
        }
        let Some(field) = self.field_mut(id) else {
            return Err(malformed("unknown property identifier"));
        };
        match field {
            FieldMut::Byte(slot) => set_once(slot, take_u8(list)?)?,
            FieldMut::Flag(slot) => set_once(slot, take_flag(list)?)?,
            FieldMut::Qos(slot) => {
                let qos = match take_u8(list)? {
                    0 => QoS::AtMostOnce,
                    1 => QoS::AtLeastOnce,
                    _ => return Err(malformed("maximum QoS is not 0 or 1")),
                };
                set_once(slot, qos)?
            }
            FieldMut::Two(slot) => set_once(slot, take_u16(list)?)?,
            FieldMut::Four(slot) => set_once(slot, take_u32(list)?)?,
            FieldMut::Text(slot) => set_once(slot, take_string(list)?)?,
            FieldMut::Binary(slot) => set_once(slot, take_binary(list)?)?,
        }
        // The values the spec forbids for particular properties.
        let zero = match id {
            0x08 => {
                let topic = self.response_topic.as_deref().unwrap_or_default();
                return validate_topic_name(topic)
                    .map_err(|_| violation("MQTT-3.3.2-14", "response topic contains a wildcard"));
            }
            0x21 => self.receive_maximum == Some(0),
            0x23 => self.topic_alias == Some(0),
            0x27 => self.maximum_packet_size == Some(0),
            _ => false,
        };
        if zero {
            // Receive Maximum, Topic Alias [MQTT-3.3.2-8], Maximum Packet Size.
            return Err(malformed("a property that may not be zero is zero"));
        }
        Ok(())
    }
}
