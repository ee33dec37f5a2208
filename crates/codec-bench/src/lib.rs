//! The frames the codec benchmark decodes: PUBLISH packets at QoS 1 on a dashboard-like
//! topic, back to back, encoded by tabmq's encoder.

use tabmq_core::{encode, BytesMut, EncodeError, Packet, PacketId, ProtocolVersion, Publish, QoS};

/// The payload sizes measured: a sensor reading, a small JSON document, a page, a large blob.
pub const PAYLOAD_SIZES: [usize; 4] = [16, 256, 4096, 65536];

/// How many bytes of frames each measurement decodes, at least: enough that one pass
/// dwarfs the timer's resolution, small enough to stay in the L2 cache for small packets.
const STREAM_BYTES: usize = 256 * 1024;

/// The protocol version of a stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    V311,
    V5,
}

impl Version {
    pub fn label(self) -> &'static str {
        match self {
            Version::V311 => "3.1.1",
            Version::V5 => "5.0",
        }
    }

    pub fn tabmq(self) -> ProtocolVersion {
        match self {
            Version::V311 => ProtocolVersion::V311,
            Version::V5 => ProtocolVersion::V5,
        }
    }
}

/// A stream of QoS 1 PUBLISH frames with `payload_size`-byte payloads, and how many there are.
pub fn publish_stream(
    version: Version,
    payload_size: usize,
) -> Result<(Vec<u8>, usize), EncodeError> {
    let count = (STREAM_BYTES / (payload_size + 40)).clamp(8, 4096);
    let mut out = BytesMut::new();
    for i in 0..count {
        let payload: Vec<u8> = (0..payload_size).map(|b| (b + i) as u8).collect();
        let publish = Publish {
            dup: false,
            qos: QoS::AtLeastOnce,
            retain: false,
            topic: format!("home/kitchen/sensor-{}/temperature", i % 16).into(),
            packet_id: PacketId::new((i % 65_535 + 1) as u16),
            payload: payload.into(),
            properties: Default::default(),
        };
        encode(&Packet::Publish(publish), version.tabmq(), &mut out)?;
    }
    Ok((out.to_vec(), count))
}
