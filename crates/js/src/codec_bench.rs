use tabmq_core::{decode, encode, BytesMut, Packet, ProtocolVersion, MAX_REMAINING_LENGTH};
use wasm_bindgen::prelude::*;

/// A corpus of packets for timing the codec from JavaScript: decode the whole stream, or
/// encode every packet, as many times as asked.
#[wasm_bindgen]
pub struct CodecBench {
    stream: Vec<u8>,
    packets: Vec<Packet>,
    version: ProtocolVersion,
    out: BytesMut,
}

#[wasm_bindgen]
impl CodecBench {
    /// `stream` holds packets back to back in one protocol version.
    #[wasm_bindgen(constructor)]
    pub fn new(stream: &[u8], v5: bool) -> Result<CodecBench, JsError> {
        let version = if v5 {
            ProtocolVersion::V5
        } else {
            ProtocolVersion::V311
        };
        let mut buf = BytesMut::from(stream);
        let mut packets = Vec::new();
        while let Some(p) = decode(&mut buf, version, MAX_REMAINING_LENGTH + 5)
            .map_err(|e| JsError::new(&e.to_string()))?
        {
            packets.push(p);
        }
        if !buf.is_empty() {
            return Err(JsError::new("the stream ends inside a packet"));
        }
        Ok(CodecBench {
            stream: stream.to_vec(),
            packets,
            out: BytesMut::with_capacity(stream.len()),
            version,
        })
    }

    /// Packets in the corpus.
    pub fn count(&self) -> u32 {
        self.packets.len() as u32
    }

    /// Decodes the whole stream `rounds` times; returns the packets decoded.
    pub fn decode_rounds(&self, rounds: u32) -> Result<u32, JsError> {
        let mut total = 0u32;
        for _ in 0..rounds {
            let mut buf = BytesMut::from(&self.stream[..]);
            while let Some(_p) = decode(&mut buf, self.version, MAX_REMAINING_LENGTH + 5)
                .map_err(|e| JsError::new(&e.to_string()))?
            {
                total += 1;
            }
        }
        Ok(total)
    }

    /// Encodes every packet `rounds` times; returns the bytes written.
    pub fn encode_rounds(&mut self, rounds: u32) -> Result<u32, JsError> {
        let mut total = 0usize;
        for _ in 0..rounds {
            self.out.clear();
            for p in &self.packets {
                encode(p, self.version, &mut self.out).map_err(|e| JsError::new(&e.to_string()))?;
            }
            total += self.out.len();
        }
        Ok(total as u32)
    }
}
