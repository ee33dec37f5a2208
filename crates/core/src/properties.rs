//! MQTT 5 properties: one typed struct for every packet, with the spec's rules on which
//! packet may carry which property, which may repeat, and which values are forbidden.

use crate::error::{EncodeError, Violation, DUPLICATE};
use crate::packet::QoS;
use crate::prelude::*;
use crate::topic::validate_topic_name;
use crate::varint::{put_varint, varint_len, MAX_VARINT};
use bytes::{BufMut, Bytes, BytesMut};

/// Where a property list stands: it decides which properties are allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PropertyContext {
    Connect,
    ConnAck,
    Publish,
    /// The will properties inside CONNECT.
    Will,
    PubAck,
    PubRec,
    PubRel,
    PubComp,
    Subscribe,
    SubAck,
    Unsubscribe,
    UnsubAck,
    Disconnect,
    Auth,
}

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

fn put_user_property(out: &mut BytesMut, k: &str, v: &str) {
    out.put_u8(0x26);
    out.put_u16(k.len() as u16);
    out.put_slice(k.as_bytes());
    out.put_u16(v.len() as u16);
    out.put_slice(v.as_bytes());
}

/// Every property identifier, in the order `encode` writes them.
const ALL_IDS: [u8; 27] = [
    0x01, 0x02, 0x03, 0x08, 0x09, 0x0b, 0x11, 0x12, 0x13, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x1c,
    0x1f, 0x21, 0x22, 0x23, 0x24, 0x25, 0x26, 0x27, 0x28, 0x29, 0x2a,
];

/// CONNACK's properties in the order Mosquitto 2.0 writes them (`connect__on_authorised`,
/// then `send__connack`); the rest follow in identifier order.
pub(crate) const CONNACK_ORDER: [u8; 9] = [0x22, 0x13, 0x12, 0x15, 0x16, 0x25, 0x27, 0x21, 0x24];

/// PUBLISH as Mosquitto forwards it (`send__real_publish`): Subscription Identifiers first,
/// the publisher's properties, then the Message Expiry Interval that remains.
pub(crate) const PUBLISH_FIRST: [u8; 1] = [0x0b];
pub(crate) const PUBLISH_LAST: [u8; 1] = [0x02];

static NO_PROPERTIES: PropertyValues = PropertyValues {
    payload_format_indicator: None,
    message_expiry_interval: None,
    content_type: None,
    response_topic: None,
    correlation_data: None,
    subscription_identifiers: Vec::new(),
    session_expiry_interval: None,
    assigned_client_identifier: None,
    server_keep_alive: None,
    authentication_method: None,
    authentication_data: None,
    request_problem_information: None,
    will_delay_interval: None,
    request_response_information: None,
    response_information: None,
    server_reference: None,
    reason_string: None,
    receive_maximum: None,
    topic_alias_maximum: None,
    topic_alias: None,
    maximum_qos: None,
    retain_available: None,
    user_properties: Vec::new(),
    maximum_packet_size: None,
    wildcard_subscription_available: None,
    subscription_identifiers_available: None,
    shared_subscription_available: None,
    received_order: ReceivedOrder(Vec::new()),
};

/// A packet's MQTT 5 properties.
///
/// Most packets carry none, so this is one pointer wide: it reads as an empty
/// [`PropertyValues`] until a field is written, and only then allocates. Fields are reached
/// through `Deref`: `props.topic_alias`, `props.user_properties.push(..)`.
#[derive(Clone, Default)]
pub struct Properties(Option<Box<PropertyValues>>);

impl Properties {
    /// Properties holding `values`.
    pub fn from_values(values: PropertyValues) -> Properties {
        let mut p = Properties::default();
        if values != NO_PROPERTIES {
            p.0 = Some(Box::new(values));
        }
        p
    }

    /// Sets fields through `f`, for building in one expression.
    pub fn with(f: impl FnOnce(&mut PropertyValues)) -> Properties {
        let mut values = PropertyValues::default();
        f(&mut values);
        Properties::from_values(values)
    }
}

impl core::ops::Deref for Properties {
    type Target = PropertyValues;
    fn deref(&self) -> &PropertyValues {
        self.0.as_deref().unwrap_or(&NO_PROPERTIES)
    }
}

impl core::ops::DerefMut for Properties {
    fn deref_mut(&mut self) -> &mut PropertyValues {
        self.0.get_or_insert_with(Box::default)
    }
}

impl PartialEq for Properties {
    fn eq(&self, other: &Properties) -> bool {
        **self == **other
    }
}

impl Eq for Properties {}

impl core::fmt::Debug for Properties {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        if self.is_empty() {
            f.write_str("Properties {}")
        } else {
            (**self).fmt(f)
        }
    }
}

use PropertyContext as Ctx;

/// The spec's table in section 2.2.2.2: whether a packet in `ctx` may carry the property
/// with identifier `id`.
pub fn property_allowed(id: u8, ctx: Ctx) -> bool {
    match id {
        0x01 | 0x02 | 0x03 | 0x08 | 0x09 => matches!(ctx, Ctx::Publish | Ctx::Will),
        0x0b => matches!(ctx, Ctx::Publish | Ctx::Subscribe),
        0x11 => matches!(ctx, Ctx::Connect | Ctx::ConnAck | Ctx::Disconnect),
        0x12 | 0x13 | 0x1a | 0x24 | 0x25 | 0x28 | 0x29 | 0x2a => ctx == Ctx::ConnAck,
        0x15 | 0x16 => matches!(ctx, Ctx::Connect | Ctx::ConnAck | Ctx::Auth),
        0x17 | 0x19 => ctx == Ctx::Connect,
        0x18 => ctx == Ctx::Will,
        0x1c => matches!(ctx, Ctx::ConnAck | Ctx::Disconnect),
        0x1f => matches!(
            ctx,
            Ctx::ConnAck
                | Ctx::PubAck
                | Ctx::PubRec
                | Ctx::PubRel
                | Ctx::PubComp
                | Ctx::SubAck
                | Ctx::UnsubAck
                | Ctx::Disconnect
                | Ctx::Auth
        ),
        0x21 | 0x22 | 0x27 => matches!(ctx, Ctx::Connect | Ctx::ConnAck),
        0x23 => ctx == Ctx::Publish,
        0x26 => true,
        _ => false,
    }
}

/// Why a property list is refused, in both directions (`DUPLICATE`, which error.rs answers with Protocol Error, lives there).
pub(crate) const NOT_ALLOWED: &str = "property not allowed in this packet";

impl Properties {
    /// Whether no property is set.
    pub fn is_empty(&self) -> bool {
        **self == NO_PROPERTIES
    }

    /// Checks that every property set may appear in `ctx`, with an allowed value.
    pub(crate) fn check(&self, ctx: Ctx) -> Result<(), EncodeError> {
        let invalid = |reason| {
            EncodeError::Invalid(Violation {
                statement: "§2.2.2.2",
                reason,
            })
        };
        let mut result = Ok(());
        self.for_each(|id, _| {
            if result.is_ok() && !property_allowed(id, ctx) {
                result = Err(invalid(NOT_ALLOWED));
            }
        });
        result?;
        if ctx == Ctx::Subscribe && self.subscription_identifiers.len() > 1 {
            return Err(invalid(DUPLICATE));
        }
        if self
            .subscription_identifiers
            .iter()
            .any(|&id| id == 0 || id > MAX_VARINT)
        {
            return Err(invalid("subscription identifier out of 1..=268435455"));
        }
        if self.receive_maximum == Some(0)
            || self.topic_alias == Some(0)
            || self.maximum_packet_size == Some(0)
        {
            return Err(invalid("a property that may not be zero is zero"));
        }
        if self.maximum_qos == Some(QoS::ExactlyOnce) {
            return Err(invalid("maximum QoS is not 0 or 1"));
        }
        if let Some(topic) = &self.response_topic {
            validate_topic_name(topic).map_err(EncodeError::Invalid)?;
        }
        Ok(())
    }

    /// Calls `f` with each property's identifier and its encoded value length (without
    /// the identifier byte).
    fn for_each(&self, mut f: impl FnMut(u8, usize)) {
        let s = |s: &Option<String>| s.as_ref().map(|s| 2 + s.len());
        let b = |b: &Option<Bytes>| b.as_ref().map(|b| 2 + b.len());
        let fields: [(u8, Option<usize>); 25] = [
            (0x01, self.payload_format_indicator.map(|_| 1)),
            (0x02, self.message_expiry_interval.map(|_| 4)),
            (0x03, s(&self.content_type)),
            (0x08, s(&self.response_topic)),
            (0x09, b(&self.correlation_data)),
            (0x11, self.session_expiry_interval.map(|_| 4)),
            (0x12, s(&self.assigned_client_identifier)),
            (0x13, self.server_keep_alive.map(|_| 2)),
            (0x15, s(&self.authentication_method)),
            (0x16, b(&self.authentication_data)),
            (0x17, self.request_problem_information.map(|_| 1)),
            (0x18, self.will_delay_interval.map(|_| 4)),
            (0x19, self.request_response_information.map(|_| 1)),
            (0x1a, s(&self.response_information)),
            (0x1c, s(&self.server_reference)),
            (0x1f, s(&self.reason_string)),
            (0x21, self.receive_maximum.map(|_| 2)),
            (0x22, self.topic_alias_maximum.map(|_| 2)),
            (0x23, self.topic_alias.map(|_| 2)),
            (0x24, self.maximum_qos.map(|_| 1)),
            (0x25, self.retain_available.map(|_| 1)),
            (0x27, self.maximum_packet_size.map(|_| 4)),
            (0x28, self.wildcard_subscription_available.map(|_| 1)),
            (0x29, self.subscription_identifiers_available.map(|_| 1)),
            (0x2a, self.shared_subscription_available.map(|_| 1)),
        ];
        for (id, len) in fields {
            if let Some(len) = len {
                f(id, len);
            }
        }
        for &sub in &self.subscription_identifiers {
            f(0x0b, varint_len(sub as usize));
        }
        for (k, v) in &self.user_properties {
            f(0x26, 4 + k.len() + v.len());
        }
    }

    /// Length of the property list, without its own length prefix.
    pub(crate) fn body_len(&self) -> Result<usize, EncodeError> {
        let mut len = 0;
        let mut too_long = None;
        self.for_each(|_, value_len| len += 1 + value_len);
        let strings = [
            &self.content_type,
            &self.response_topic,
            &self.assigned_client_identifier,
            &self.authentication_method,
            &self.response_information,
            &self.server_reference,
            &self.reason_string,
        ];
        for s in strings.into_iter().flatten() {
            if s.len() > usize::from(u16::MAX) {
                too_long = Some(s.len());
            }
        }
        for b in [&self.correlation_data, &self.authentication_data]
            .into_iter()
            .flatten()
        {
            if b.len() > usize::from(u16::MAX) {
                too_long = Some(b.len());
            }
        }
        for (k, v) in &self.user_properties {
            if k.len().max(v.len()) > usize::from(u16::MAX) {
                too_long = Some(k.len().max(v.len()));
            }
        }
        match too_long {
            Some(len) => Err(EncodeError::FieldTooLong {
                field: "property",
                len,
            }),
            None => Ok(len),
        }
    }

    /// Length on the wire, with the length prefix.
    pub(crate) fn wire_len(&self) -> Result<usize, EncodeError> {
        let body = self.body_len()?;
        Ok(varint_len(body) + body)
    }

    /// Appends the list with its length prefix, in identifier order; `body_len` must have
    /// been checked.
    pub(crate) fn encode(&self, out: &mut BytesMut) {
        self.encode_in_order(out, &[], &[]);
    }

    /// Appends the list with its length prefix: the identifiers in `first`, in that order,
    /// then every other property in identifier order, then those in `last`. The spec leaves
    /// the order free; CONNACK and PUBLISH use this to write their properties in Mosquitto's
    /// order, which byte-exact tests written against Mosquitto expect.
    pub(crate) fn encode_in_order(&self, out: &mut BytesMut, first: &[u8], last: &[u8]) {
        let body = self.body_len().unwrap_or(0);
        put_varint(out, body);
        let mut done: Vec<u8> = Vec::new();
        for &id in first {
            self.put_property(out, id);
            done.push(id);
        }
        // Properties as they arrived, one occurrence at a time for those that repeat.
        let (mut users, mut subs) = (0, 0);
        for &id in &self.received_order.0 {
            if done.contains(&id) || last.contains(&id) {
                continue;
            }
            match id {
                0x26 => {
                    if let Some((k, v)) = self.user_properties.get(users) {
                        put_user_property(out, k, v);
                    }
                    users += 1;
                }
                0x0b => {
                    if let Some(&sub) = self.subscription_identifiers.get(subs) {
                        out.put_u8(0x0b);
                        put_varint(out, sub as usize);
                    }
                    subs += 1;
                }
                _ if !done.contains(&id) => {
                    self.put_property(out, id);
                    done.push(id);
                }
                _ => {}
            }
        }
        // What was set since, in identifier order.
        for &id in ALL_IDS.iter() {
            if done.contains(&id) || last.contains(&id) {
                continue;
            }
            match id {
                0x26 => {
                    for (k, v) in self.user_properties.iter().skip(users) {
                        put_user_property(out, k, v);
                    }
                }
                0x0b => {
                    for &sub in self.subscription_identifiers.iter().skip(subs) {
                        out.put_u8(0x0b);
                        put_varint(out, sub as usize);
                    }
                }
                _ => self.put_property(out, id),
            }
        }
        for &id in last {
            self.put_property(out, id);
        }
    }

    /// Appends property `id` (every instance of it, for those that repeat), if present.
    fn put_property(&self, out: &mut BytesMut, id: u8) {
        let put_str = |out: &mut BytesMut, s: &Option<String>| {
            if let Some(s) = s {
                out.put_u8(id);
                out.put_u16(s.len() as u16);
                out.put_slice(s.as_bytes());
            }
        };
        let put_bin = |out: &mut BytesMut, b: &Option<Bytes>| {
            if let Some(b) = b {
                out.put_u8(id);
                out.put_u16(b.len() as u16);
                out.put_slice(b);
            }
        };
        let put_flag = |out: &mut BytesMut, v: Option<bool>| {
            if let Some(v) = v {
                out.put_u8(id);
                out.put_u8(u8::from(v));
            }
        };
        let put_u16 = |out: &mut BytesMut, v: Option<u16>| {
            if let Some(v) = v {
                out.put_u8(id);
                out.put_u16(v);
            }
        };
        let put_u32 = |out: &mut BytesMut, v: Option<u32>| {
            if let Some(v) = v {
                out.put_u8(id);
                out.put_u32(v);
            }
        };
        match id {
            0x01 => {
                if let Some(v) = self.payload_format_indicator {
                    out.put_u8(0x01);
                    out.put_u8(v);
                }
            }
            0x02 => put_u32(out, self.message_expiry_interval),
            0x03 => put_str(out, &self.content_type),
            0x08 => put_str(out, &self.response_topic),
            0x09 => put_bin(out, &self.correlation_data),
            0x0b => {
                for &sub in &self.subscription_identifiers {
                    out.put_u8(0x0b);
                    put_varint(out, sub as usize);
                }
            }
            0x11 => put_u32(out, self.session_expiry_interval),
            0x12 => put_str(out, &self.assigned_client_identifier),
            0x13 => put_u16(out, self.server_keep_alive),
            0x15 => put_str(out, &self.authentication_method),
            0x16 => put_bin(out, &self.authentication_data),
            0x17 => put_flag(out, self.request_problem_information),
            0x18 => put_u32(out, self.will_delay_interval),
            0x19 => put_flag(out, self.request_response_information),
            0x1a => put_str(out, &self.response_information),
            0x1c => put_str(out, &self.server_reference),
            0x1f => put_str(out, &self.reason_string),
            0x21 => put_u16(out, self.receive_maximum),
            0x22 => put_u16(out, self.topic_alias_maximum),
            0x23 => put_u16(out, self.topic_alias),
            0x24 => {
                if let Some(q) = self.maximum_qos {
                    out.put_u8(0x24);
                    out.put_u8(q.as_u8());
                }
            }
            0x25 => put_flag(out, self.retain_available),
            0x26 => {
                for (k, v) in &self.user_properties {
                    put_user_property(out, k, v);
                }
            }
            0x27 => put_u32(out, self.maximum_packet_size),
            0x28 => put_flag(out, self.wildcard_subscription_available),
            0x29 => put_flag(out, self.subscription_identifiers_available),
            0x2a => put_flag(out, self.shared_subscription_available),
            _ => {}
        }
    }
}
