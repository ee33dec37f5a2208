//! The values of an MQTT 5 property list, and each single-valued property reached by its
//! identifier as a [`Field`] of its wire type. The codec and the JavaScript conversions
//! handle a type once (how it is measured, read, written, converted) instead of once per
//! property: 25 properties share 7 types, and code per property is what made the property
//! reader and writer the largest functions in the client's wasm.

use crate::packet::QoS;
use crate::prelude::*;
use bytes::{BufMut, Bytes, BytesMut};

/// Every MQTT 5 property. Absent is `None` (or empty, for the two that may repeat).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PropertyValues {
    /// 0: unspecified bytes; 1: UTF-8. Other values are kept and forwarded unaltered, as
    /// [MQTT-3.3.2-4] asks of a server; the spec names no error for them.
    pub payload_format_indicator: Option<u8>,
    pub message_expiry_interval: Option<u32>,
    pub content_type: Option<String>,
    pub response_topic: Option<String>,
    pub correlation_data: Option<Bytes>,
    /// One in SUBSCRIBE; any number in PUBLISH, one per matching subscription.
    pub subscription_identifiers: Vec<u32>,
    pub session_expiry_interval: Option<u32>,
    pub assigned_client_identifier: Option<String>,
    pub server_keep_alive: Option<u16>,
    pub authentication_method: Option<String>,
    pub authentication_data: Option<Bytes>,
    pub request_problem_information: Option<bool>,
    pub will_delay_interval: Option<u32>,
    pub request_response_information: Option<bool>,
    pub response_information: Option<String>,
    pub server_reference: Option<String>,
    pub reason_string: Option<String>,
    pub receive_maximum: Option<u16>,
    pub topic_alias_maximum: Option<u16>,
    pub topic_alias: Option<u16>,
    /// 0 or 1; a server that supports QoS 2 leaves it out.
    pub maximum_qos: Option<QoS>,
    pub retain_available: Option<bool>,
    pub user_properties: Vec<(String, String)>,
    pub maximum_packet_size: Option<u32>,
    pub wildcard_subscription_available: Option<bool>,
    pub subscription_identifiers_available: Option<bool>,
    pub shared_subscription_available: Option<bool>,
    /// The order the properties arrived in, so a broker forwards them as they came
    /// (Mosquitto does, and byte-exact tests compare). Not part of equality.
    pub received_order: ReceivedOrder,
}

/// Property identifiers in the order they were decoded, one entry per occurrence (a
/// User Property that appears twice appears twice). Equality ignores it: two property
/// lists with the same values are the same whatever order they came in.
#[derive(Debug, Clone, Default)]
pub struct ReceivedOrder(pub Vec<u8>);

impl PartialEq for ReceivedOrder {
    fn eq(&self, _: &ReceivedOrder) -> bool {
        true
    }
}

impl Eq for ReceivedOrder {}

/// A single-valued property's field, by its type on the wire.
#[derive(Debug, Clone, Copy)]
pub enum Field<'a> {
    /// Payload Format Indicator: a byte, kept whole (other values than 0 and 1 are
    /// forwarded unaltered).
    Byte(&'a Option<u8>),
    /// A byte that is 0 or 1.
    Flag(&'a Option<bool>),
    /// Maximum QoS: a byte that is 0 or 1.
    Qos(&'a Option<QoS>),
    Two(&'a Option<u16>),
    Four(&'a Option<u32>),
    /// A UTF-8 string with a two-byte length.
    Text(&'a Option<String>),
    /// Binary data with a two-byte length.
    Binary(&'a Option<Bytes>),
}

/// [`Field`], to write.
#[derive(Debug)]
pub enum FieldMut<'a> {
    Byte(&'a mut Option<u8>),
    Flag(&'a mut Option<bool>),
    Qos(&'a mut Option<QoS>),
    Two(&'a mut Option<u16>),
    Four(&'a mut Option<u32>),
    Text(&'a mut Option<String>),
    Binary(&'a mut Option<Bytes>),
}

/// One table of the single-valued properties: identifier, field, wire type.
macro_rules! single_valued {
    ($($id:literal => $field:ident: $kind:ident,)*) => {
        /// The single-valued properties' identifiers, in identifier order (the two that
        /// repeat, Subscription Identifier 0x0B and User Property 0x26, are not fields).
        pub const SINGLE_VALUED: [u8; 25] = [$($id),*];

        impl PropertyValues {
            /// The field of single-valued property `id`; `None` for any other identifier.
            pub fn field(&self, id: u8) -> Option<Field<'_>> {
                Some(match id {
                    $($id => Field::$kind(&self.$field),)*
                    _ => return None,
                })
            }

            /// The field of single-valued property `id`, to set.
            pub fn field_mut(&mut self, id: u8) -> Option<FieldMut<'_>> {
                Some(match id {
                    $($id => FieldMut::$kind(&mut self.$field),)*
                    _ => return None,
                })
            }
        }
    };
}

single_valued! {
    0x01 => payload_format_indicator: Byte,
    0x02 => message_expiry_interval: Four,
    0x03 => content_type: Text,
    0x08 => response_topic: Text,
    0x09 => correlation_data: Binary,
    0x11 => session_expiry_interval: Four,
    0x12 => assigned_client_identifier: Text,
    0x13 => server_keep_alive: Two,
    0x15 => authentication_method: Text,
    0x16 => authentication_data: Binary,
    0x17 => request_problem_information: Flag,
    0x18 => will_delay_interval: Four,
    0x19 => request_response_information: Flag,
    0x1a => response_information: Text,
    0x1c => server_reference: Text,
    0x1f => reason_string: Text,
    0x21 => receive_maximum: Two,
    0x22 => topic_alias_maximum: Two,
    0x23 => topic_alias: Two,
    0x24 => maximum_qos: Qos,
    0x25 => retain_available: Flag,
    0x27 => maximum_packet_size: Four,
    0x28 => wildcard_subscription_available: Flag,
    0x29 => subscription_identifiers_available: Flag,
    0x2a => shared_subscription_available: Flag,
}

impl Field<'_> {
    /// The encoded value's length (without the identifier byte), if the property is set.
    pub fn value_len(self) -> Option<usize> {
        match self {
            Field::Byte(v) => v.map(|_| 1),
            Field::Flag(v) => v.map(|_| 1),
            Field::Qos(v) => v.map(|_| 1),
            Field::Two(v) => v.map(|_| 2),
            Field::Four(v) => v.map(|_| 4),
            Field::Text(v) => v.as_ref().map(|s| 2 + s.len()),
            Field::Binary(v) => v.as_ref().map(|b| 2 + b.len()),
        }
    }

    /// The length of a string or binary value, which must fit its two-byte prefix.
    pub(crate) fn prefixed_len(self) -> Option<usize> {
        match self {
            Field::Text(v) => v.as_ref().map(String::len),
            Field::Binary(v) => v.as_ref().map(Bytes::len),
            _ => None,
        }
    }

    /// Appends the property with identifier `id`, if it is set.
    pub(crate) fn put(self, out: &mut BytesMut, id: u8) {
        if self.value_len().is_none() {
            return;
        }
        out.put_u8(id);
        match self {
            Field::Byte(v) => out.put_u8(v.unwrap_or_default()),
            Field::Flag(v) => out.put_u8(u8::from(v.unwrap_or_default())),
            Field::Qos(v) => out.put_u8(v.map_or(0, QoS::as_u8)),
            Field::Two(v) => out.put_u16(v.unwrap_or_default()),
            Field::Four(v) => out.put_u32(v.unwrap_or_default()),
            Field::Text(v) => put_prefixed(out, v.as_deref().unwrap_or_default().as_bytes()),
            Field::Binary(v) => put_prefixed(out, v.as_deref().unwrap_or_default()),
        }
    }
}

/// A two-byte length, then `bytes`; the length has been checked.
pub(crate) fn put_prefixed(out: &mut BytesMut, bytes: &[u8]) {
    out.put_u16(bytes.len() as u16);
    out.put_slice(bytes);
}

impl PropertyValues {
    /// Whether no property is set.
    pub fn is_empty(&self) -> bool {
        self.subscription_identifiers.is_empty()
            && self.user_properties.is_empty()
            && SINGLE_VALUED
                .iter()
                .all(|&id| self.field(id).and_then(Field::value_len).is_none())
    }
}
