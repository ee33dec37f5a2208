//! MQTT 5 properties: one typed struct for every packet, with the spec's rules on which
//! packet may carry which property, which may repeat, and which values are forbidden.

use crate::error::{EncodeError, Violation, DUPLICATE};
use crate::packet::{QoS, MQTT5};
use crate::prelude::*;
use crate::property_values::{put_prefixed, SINGLE_VALUED};
pub use crate::property_values::{PropertyValues, ReceivedOrder};
use crate::topic::validate_topic_name;
use crate::varint::{put_varint, varint_len, MAX_VARINT};
use bytes::{BufMut, BytesMut};

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

fn put_user_property(out: &mut BytesMut, k: &str, v: &str) {
    out.put_u8(0x26);
    put_prefixed(out, k.as_bytes());
    put_prefixed(out, v.as_bytes());
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
        if !values.is_empty() {
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
        self.0.as_deref().is_none_or(PropertyValues::is_empty)
    }

    /// Checks that every property set may appear in `ctx`, with an allowed value.
    pub(crate) fn check(&self, ctx: Ctx) -> Result<(), EncodeError> {
        let invalid = |reason| {
            EncodeError::Invalid(Violation {
                statement: "§2.2.2.2",
                reason,
            })
        };
        if !MQTT5 {
            // Nothing in a build without MQTT 5 makes properties (see the `mqtt5` feature).
            return if self.is_empty() {
                Ok(())
            } else {
                Err(invalid("this build has no MQTT 5 properties"))
            };
        }
        if self.0.is_none() {
            return Ok(());
        }
        let mut result = Ok(());
        self.for_each(|id, _, _| {
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

    /// Calls `f` with each property's identifier, its encoded value length (without the
    /// identifier byte), and the longest string or binary in it, which must fit a two-byte
    /// length (0 for numbers).
    fn for_each(&self, mut f: impl FnMut(u8, usize, usize)) {
        for id in SINGLE_VALUED {
            let Some(field) = self.field(id) else {
                continue;
            };
            if let Some(len) = field.value_len() {
                f(id, len, field.prefixed_len().unwrap_or(0));
            }
        }
        for &sub in &self.subscription_identifiers {
            f(0x0b, varint_len(sub as usize), 0);
        }
        for (k, v) in &self.user_properties {
            f(0x26, 4 + k.len() + v.len(), k.len().max(v.len()));
        }
    }

    /// Length of the property list, without its own length prefix.
    pub(crate) fn body_len(&self) -> Result<usize, EncodeError> {
        if !MQTT5 || self.0.is_none() {
            return Ok(0);
        }
        let mut len = 0;
        let mut too_long = None;
        // One pass for both: the length, and that every string or binary value (a user
        // property's key and value each) fits its two-byte length prefix.
        self.for_each(|_, value_len, prefixed| {
            len += 1 + value_len;
            if prefixed > usize::from(u16::MAX) {
                too_long = Some(prefixed);
            }
        });
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
        if !MQTT5 || body == 0 {
            return;
        }
        let start = out.len();
        // Identifiers are below 64: the ones written so far are bits of one word.
        let mut done = Written(0);
        for &id in first {
            self.put_property(out, id);
            done.add(id);
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
                    done.add(id);
                }
                _ => {}
            }
        }
        // A list decoded and sent on unchanged is whole by now: no need to look for more.
        if out.len() - start == body {
            return;
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
    #[inline]
    fn put_property(&self, out: &mut BytesMut, id: u8) {
        match id {
            0x0b => {
                for &sub in &self.subscription_identifiers {
                    out.put_u8(0x0b);
                    put_varint(out, sub as usize);
                }
            }
            0x26 => {
                for (k, v) in &self.user_properties {
                    put_user_property(out, k, v);
                }
            }
            _ => {
                if let Some(field) = self.field(id) {
                    field.put(out, id);
                }
            }
        }
    }
}

/// A set of property identifiers (all below 64).
struct Written(u64);

impl Written {
    fn add(&mut self, id: u8) {
        self.0 |= 1 << (id & 63);
    }

    fn contains(&self, id: &u8) -> bool {
        self.0 & (1 << (id & 63)) != 0
    }
}
