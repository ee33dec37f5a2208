//! The packet inspector: hex to JSON and back.

use crate::Failure;
use std::io::{BufRead, Read, Write};
use tabmq_core::{
    decode as decode_one, encode_to_vec, from_hex, packet_from_json, packet_to_json, to_hex,
    BytesMut, DecodeError, Packet, ProtocolVersion, MAX_REMAINING_LENGTH,
};

fn write_failed(e: std::io::Error) -> Failure {
    Failure {
        message: format!("writing output: {e}"),
        status: 1,
    }
}

fn describe(e: &DecodeError) -> String {
    match e.statement() {
        Some(_) => e.to_string(),
        None => format!("malformed packet: {e}"),
    }
}

/// Hex on `input` to JSON lines on `output`.
pub fn decode(
    mut input: impl Read,
    mut output: impl Write,
    version: ProtocolVersion,
) -> Result<(), Failure> {
    let mut text = String::new();
    input
        .read_to_string(&mut text)
        .map_err(|e| Failure::input(format!("reading stdin: {e}")))?;
    let bytes = from_hex(&text).map_err(|e| Failure::input(e.0))?;
    let mut buf = BytesMut::from(&bytes[..]);
    // The connection's version can change with each CONNECT, as a broker would see it.
    let mut version = version;
    while !buf.is_empty() {
        let offset = bytes.len() - buf.len();
        match decode_one(&mut buf, version, MAX_REMAINING_LENGTH + 5) {
            Ok(Some(packet)) => {
                if let Packet::Connect(c) = &packet {
                    version = c.protocol;
                }
                let line = packet_to_json(&packet, version);
                writeln!(output, "{line}").map_err(write_failed)?;
            }
            Ok(None) => {
                return Err(Failure::input(format!(
                    "the packet at byte {offset} is incomplete: {} bytes left",
                    buf.len()
                )))
            }
            Err(e) => {
                return Err(Failure::input(format!(
                    "at byte {offset}: {}",
                    describe(&e)
                )))
            }
        }
    }
    Ok(())
}

/// JSON lines on `input` to hex lines on `output`.
pub fn encode(
    input: impl BufRead,
    mut output: impl Write,
    version: ProtocolVersion,
) -> Result<(), Failure> {
    let mut version = version;
    for (n, line) in input.lines().enumerate() {
        let line = line.map_err(|e| Failure::input(format!("reading stdin: {e}")))?;
        if line.trim().is_empty() {
            continue;
        }
        let value: serde_json::Value = serde_json::from_str(&line)
            .map_err(|e| Failure::input(format!("line {}: not JSON: {e}", n + 1)))?;
        let (packet, packet_version) = packet_from_json(&value, version)
            .map_err(|e| Failure::input(format!("line {}: {e}", n + 1)))?;
        if matches!(packet, Packet::Connect(_)) {
            version = packet_version;
        }
        let bytes = encode_to_vec(&packet, packet_version)
            .map_err(|e| Failure::input(format!("line {}: {e}", n + 1)))?;
        writeln!(output, "{}", to_hex(&bytes)).map_err(write_failed)?;
    }
    Ok(())
}
