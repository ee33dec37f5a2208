//! Decoding PUBLISH frames: tabmq's codec against the `mqttbytes` crate (rumqtt's codec) and
//! against a plain copy of the same bytes, in one Criterion run, at 16 B, 256 B, 4 KiB and
//! 64 KiB payloads, in MQTT 3.1.1 and 5.0.
//!
//! `cargo bench -p tabmq-codec-bench --bench decode`. Criterion keeps its estimates under
//! `target/criterion/decode/`; `cargo xtask bench codec` reads them into `bench/results.md`.

use bytes::BytesMut;
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use std::hint::black_box;
use std::time::Duration;
use tabmq_codec_bench::{publish_stream, Version, PAYLOAD_SIZES};
use tabmq_core::{decode, Packet};

const MAX: usize = 1 << 20;

fn decode_publishes(c: &mut Criterion) {
    for version in [Version::V311, Version::V5] {
        for size in PAYLOAD_SIZES {
            let (stream, count) =
                publish_stream(version, size).expect("the bench's stream encodes");
            let mut group = c.benchmark_group(format!("decode/{}/{size}", version.label()));
            group.throughput(Throughput::Bytes(stream.len() as u64));
            // Each side gets the same stream in a fresh buffer, made outside the timing.
            let fresh = || BytesMut::from(&stream[..]);
            group.bench_function("tabmq", |b| {
                b.iter_batched(
                    fresh,
                    |mut buf| {
                        let mut n = 0;
                        while let Ok(Some(p)) = decode(&mut buf, version.tabmq(), MAX) {
                            debug_assert!(matches!(p, Packet::Publish(_)));
                            black_box(p);
                            n += 1;
                        }
                        assert_eq!(n, count, "tabmq decoded {n} of {count}");
                    },
                    BatchSize::LargeInput,
                )
            });
            group.bench_function("mqttbytes", |b| {
                b.iter_batched(
                    fresh,
                    |mut buf| {
                        let mut n = 0;
                        while !buf.is_empty() {
                            let decoded = match version {
                                Version::V311 => mqttbytes::v4::read(&mut buf, MAX).map(drop),
                                Version::V5 => mqttbytes::v5::read(&mut buf, MAX).map(drop),
                            };
                            assert!(decoded.is_ok(), "mqttbytes: {decoded:?}");
                            n += 1;
                        }
                        assert_eq!(n, count, "mqttbytes decoded {n} of {count}");
                    },
                    BatchSize::LargeInput,
                )
            });
            let mut copy = vec![0u8; stream.len()];
            group.bench_function("memcpy", |b| {
                b.iter(|| {
                    copy.copy_from_slice(black_box(&stream));
                    black_box(&copy);
                })
            });
            group.finish();
        }
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(30);
    targets = decode_publishes
}
criterion_main!(benches);
