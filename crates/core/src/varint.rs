//! The variable byte integer: remaining lengths, property lengths, subscription ids.

use crate::error::{violation, DecodeError};
use bytes::{Buf, BufMut, Bytes, BytesMut};

/// The largest value four bytes can say.
pub const MAX_VARINT: u32 = 268_435_455;

/// Reads a variable byte integer from the front of `buf`: `Ok(None)` if it is cut short,
/// else the value and how many bytes it took.
pub(crate) fn read_varint(buf: &[u8]) -> Result<Option<(u32, usize)>, DecodeError> {
    let mut value = 0u32;
    for i in 0..4 {
        let Some(&byte) = buf.get(i) else {
            return Ok(None);
        };
        value |= u32::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            if i > 0 && byte == 0 {
                return Err(violation(
                    "MQTT-1.5.5-1",
                    "variable byte integer not encoded in the fewest bytes",
                ));
            }
            return Ok(Some((value, i + 1)));
        }
    }
    Err(violation(
        "§1.5.5",
        "variable byte integer longer than four bytes",
    ))
}

/// Takes a variable byte integer off a packet body; running out of body is malformed.
pub(crate) fn take_varint(body: &mut Bytes) -> Result<u32, DecodeError> {
    match read_varint(body)? {
        Some((value, len)) => {
            body.advance(len);
            Ok(value)
        }
        None => Err(violation(
            "§2.2.3",
            "variable byte integer runs past the packet",
        )),
    }
}

/// Bytes `value` takes on the wire.
pub(crate) fn varint_len(value: usize) -> usize {
    match value {
        0..=127 => 1,
        128..=16_383 => 2,
        16_384..=2_097_151 => 3,
        _ => 4,
    }
}

/// Appends `value`, which must be at most [`MAX_VARINT`].
pub(crate) fn put_varint(out: &mut BytesMut, mut value: usize) {
    loop {
        let mut byte = (value % 128) as u8;
        value /= 128;
        if value > 0 {
            byte |= 0x80;
        }
        out.put_u8(byte);
        if value == 0 {
            return;
        }
    }
}
