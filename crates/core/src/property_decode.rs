//! Reading MQTT 5 property lists: each property at most once (but the repeatable ones),
//! only where its packet allows it, and with a value the spec allows.

use crate::error::{violation, DecodeError, DUPLICATE};
use crate::packet::QoS;
use crate::prelude::*;
use crate::properties::{property_allowed, Properties, PropertyContext as Ctx, NOT_ALLOWED};
use crate::topic::validate_topic_name;
use crate::varint::take_varint;
use bytes::{Buf, Bytes};

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
    let raw = take_binary(body)?;
    // Rust's UTF-8 check also refuses the surrogates U+D800..U+DFFF; cited by the 3.1.1
    // numbers, which a 5.0 packet's error renames.
    let text = core::str::from_utf8(&raw)
        .map_err(|_| violation("MQTT-1.5.3-1", "string is not well-formed UTF-8"))?;
    if text.contains('\0') {
        return Err(violation("MQTT-1.5.3-2", "string contains U+0000"));
    }
    Ok(text.to_owned())
}

fn take_flag(body: &mut Bytes, reason: &'static str) -> Result<bool, DecodeError> {
    match take_u8(body)? {
        0 => Ok(false),
        1 => Ok(true),
        _ => Err(violation("§2.2.2.2", reason)),
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
            0x01 => set_once(&mut self.payload_format_indicator, take_u8(list)?),
            0x02 => set_once(&mut self.message_expiry_interval, take_u32(list)?),
            0x03 => set_once(&mut self.content_type, take_string(list)?),
            0x08 => {
                let topic = take_string(list)?;
                validate_topic_name(&topic).map_err(|_| {
                    violation("MQTT-3.3.2-14", "response topic contains a wildcard")
                })?;
                set_once(&mut self.response_topic, topic)
            }
            0x09 => set_once(&mut self.correlation_data, take_binary(list)?),
            0x0b => {
                let id = nonzero(take_varint(list)?, "subscription identifier is zero")?;
                if ctx == Ctx::Subscribe && !self.subscription_identifiers.is_empty() {
                    return Err(malformed(DUPLICATE));
                }
                self.subscription_identifiers.push(id);
                Ok(())
            }
            0x11 => set_once(&mut self.session_expiry_interval, take_u32(list)?),
            0x12 => set_once(&mut self.assigned_client_identifier, take_string(list)?),
            0x13 => set_once(&mut self.server_keep_alive, take_u16(list)?),
            0x15 => set_once(&mut self.authentication_method, take_string(list)?),
            0x16 => set_once(&mut self.authentication_data, take_binary(list)?),
            0x17 => set_once(
                &mut self.request_problem_information,
                take_flag(list, "request problem information is not 0 or 1")?,
            ),
            0x18 => set_once(&mut self.will_delay_interval, take_u32(list)?),
            0x19 => set_once(
                &mut self.request_response_information,
                take_flag(list, "request response information is not 0 or 1")?,
            ),
            0x1a => set_once(&mut self.response_information, take_string(list)?),
            0x1c => set_once(&mut self.server_reference, take_string(list)?),
            0x1f => set_once(&mut self.reason_string, take_string(list)?),
            0x21 => set_once(
                &mut self.receive_maximum,
                nonzero(take_u16(list)?, "receive maximum is zero")?,
            ),
            0x22 => set_once(&mut self.topic_alias_maximum, take_u16(list)?),
            0x23 => set_once(
                &mut self.topic_alias,
                nonzero(take_u16(list)?, "topic alias is zero [MQTT-3.3.2-8]")?,
            ),
            0x24 => {
                let qos = match take_u8(list)? {
                    0 => QoS::AtMostOnce,
                    1 => QoS::AtLeastOnce,
                    _ => return Err(malformed("maximum QoS is not 0 or 1")),
                };
                set_once(&mut self.maximum_qos, qos)
            }
            0x25 => set_once(
                &mut self.retain_available,
                take_flag(list, "retain available is not 0 or 1")?,
            ),
            0x26 => {
                let key = take_string(list)?;
                let value = take_string(list)?;
                self.user_properties.push((key, value));
                Ok(())
            }
            0x27 => set_once(
                &mut self.maximum_packet_size,
                nonzero(take_u32(list)?, "maximum packet size is zero")?,
            ),
            0x28 => set_once(
                &mut self.wildcard_subscription_available,
                take_flag(list, "wildcard subscription available is not 0 or 1")?,
            ),
            0x29 => set_once(
                &mut self.subscription_identifiers_available,
                take_flag(list, "subscription identifiers available is not 0 or 1")?,
            ),
            0x2a => set_once(
                &mut self.shared_subscription_available,
                take_flag(list, "shared subscription available is not 0 or 1")?,
            ),
            _ => Err(malformed("unknown property identifier")),
        }
    }
}
