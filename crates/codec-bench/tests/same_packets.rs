//! The bench's stream reads the same in both codecs, so the bench compares like with like.

use tabmq_codec_bench::{publish_stream, Version, PAYLOAD_SIZES};
use tabmq_core::{BytesMut, Packet};

/// Both codecs read the whole stream as the same packets, so the bench compares like
/// with like.
#[test]
fn both_codecs_read_the_stream() {
    for version in [Version::V311, Version::V5] {
        for size in PAYLOAD_SIZES {
            let (stream, count) = publish_stream(version, size).expect("the stream encodes");
            let mut ours = BytesMut::from(&stream[..]);
            let mut theirs = BytesMut::from(&stream[..]);
            for _ in 0..count {
                let Ok(Some(Packet::Publish(p))) =
                    tabmq_core::decode(&mut ours, version.tabmq(), 1 << 20)
                else {
                    panic!("tabmq did not read a PUBLISH");
                };
                let (topic, payload) = match version {
                    Version::V311 => match mqttbytes::v4::read(&mut theirs, 1 << 20) {
                        Ok(mqttbytes::v4::Packet::Publish(q)) => (q.topic, q.payload),
                        other => panic!("mqttbytes 3.1.1: {other:?}"),
                    },
                    Version::V5 => match mqttbytes::v5::read(&mut theirs, 1 << 20) {
                        Ok(mqttbytes::v5::Packet::Publish(q)) => (q.topic, q.payload),
                        other => panic!("mqttbytes 5.0: {other:?}"),
                    },
                };
                assert_eq!(&*p.topic, topic.as_str());
                assert_eq!(p.payload, payload);
                assert_eq!(p.payload.len(), size);
            }
            assert!(ours.is_empty() && theirs.is_empty());
        }
    }
}
