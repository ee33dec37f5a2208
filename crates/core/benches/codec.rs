//! Native codec throughput against the memory-bandwidth ceiling: decoding a corpus
//! against a plain copy of the same bytes, in the same process.
//!
//! `cargo bench -p tabmq-core --bench codec -- FILE:VERSION...`, where FILE holds packets
//! back to back and VERSION is 311 or 5. Prints one JSON object per corpus.

use std::hint::black_box;
use std::time::{Duration, Instant};
use tabmq_core::{decode, encode, BytesMut, Packet, ProtocolVersion};

const MAX: usize = 1 << 28;

/// The fastest of `rounds` timings of `f`; the minimum is the least disturbed by others.
fn fastest(rounds: usize, mut f: impl FnMut()) -> Duration {
    (0..rounds)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed()
        })
        .min()
        .unwrap_or_default()
}

fn main() {
    let corpora: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    for spec in corpora {
        let (path, version) = spec.rsplit_once(':').unwrap_or((&spec, "311"));
        let version = if version == "5" {
            ProtocolVersion::V5
        } else {
            ProtocolVersion::V311
        };
        let stream = std::fs::read(path).unwrap_or_else(|e| panic!("{path}: {e}"));
        let mut packets: Vec<Packet> = Vec::new();
        let mut buf = BytesMut::from(&stream[..]);
        while let Some(p) = decode(&mut buf, version, MAX).unwrap() {
            packets.push(p);
        }
        let repeat = (50_000_000 / stream.len().max(1)).clamp(1, 2_000);
        let decode_time = fastest(7, || {
            for _ in 0..repeat {
                let mut buf = BytesMut::from(&stream[..]);
                while let Some(p) = decode(&mut buf, version, MAX).unwrap() {
                    black_box(p);
                }
            }
        });
        let mut out = BytesMut::with_capacity(stream.len());
        let encode_time = fastest(7, || {
            for _ in 0..repeat {
                out.clear();
                for p in &packets {
                    encode(p, version, &mut out).unwrap();
                }
                black_box(&out);
            }
        });
        let mut copy = vec![0u8; stream.len()];
        let copy_time = fastest(7, || {
            for _ in 0..repeat {
                copy.copy_from_slice(black_box(&stream));
                black_box(&copy);
            }
        });
        let mb = (stream.len() * repeat) as f64 / 1e6;
        let n = (packets.len() * repeat) as f64;
        println!(
            "{{\"corpus\":\"{path}\",\"version\":\"{}\",\"packets\":{},\"bytes\":{},\
             \"decode_packets_per_s\":{:.0},\"decode_mb_per_s\":{:.1},\
             \"encode_packets_per_s\":{:.0},\"encode_mb_per_s\":{:.1},\"copy_mb_per_s\":{:.1}}}",
            version.level(),
            packets.len(),
            stream.len(),
            n / decode_time.as_secs_f64(),
            mb / decode_time.as_secs_f64(),
            n / encode_time.as_secs_f64(),
            mb / encode_time.as_secs_f64(),
            mb / copy_time.as_secs_f64(),
        );
    }
}
