//! The decoder on arbitrary bytes, in both versions: it must never panic, never buffer
//! past the size limit, and every packet it accepts must encode and decode back to itself.

#![no_main]

use libfuzzer_sys::fuzz_target;
use tabmq_core::{decode, decode_packet, encode_to_vec, BytesMut, ProtocolVersion};

const MAX_PACKET: usize = 4096;

fuzz_target!(|data: &[u8]| {
    for version in [ProtocolVersion::V311, ProtocolVersion::V5] {
        let mut buf = BytesMut::from(data);
        while let Ok(Some(packet)) = decode(&mut buf, version, MAX_PACKET) {
            let bytes = encode_to_vec(&packet, version).expect("a decoded packet encodes");
            let again = decode_packet(bytes.into(), version).expect("its encoding decodes");
            assert_eq!(again, packet);
        }
        assert!(buf.capacity() <= MAX_PACKET.max(data.len()) * 2 + 64);
    }
});
