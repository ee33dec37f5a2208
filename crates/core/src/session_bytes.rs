//! A session's stored form: plain fields and the messages as MQTT 5 PUBLISH bytes, so the
//! core needs no serialization framework (the wasm client carries none).
//!
//! Format 4, big-endian: the format byte; the last packet id (u16); the messages in
//! flight in sending order (u32 count; each id u16, stage u8, QoS u8, PUBLISH); the QoS 2
//! ids received and not released (u32 count; each u16, then a flag u8 and, when 1, the
//! PUBLISH held until its PUBREL); the queue (u32 count; each an expiry flag u8 and, when
//! 1, the deadline u64 in ms; then PUBLISH). A PUBLISH is its length (u32) and bytes.
//! Format 3, which had no flag after an inbound id, still loads.

use crate::packet::PacketId;
use crate::packet::Publish;
use crate::packet_id::PacketIdAllocator;
use crate::prelude::*;
use crate::session::{load, store, Outbound, Queued, SessionState, Stage};

const FORMAT: u8 = 4;
/// The format before held QoS 2 messages.
const FORMAT_3: u8 = 3;

/// Bytes that are not a session this version wrote. Whoever stored them is at fault.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionDecodeError(pub &'static str);

impl core::fmt::Display for SessionDecodeError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("not a stored session: ")?;
        f.write_str(self.0)
    }
}

impl core::error::Error for SessionDecodeError {}

fn put_u16(out: &mut Vec<u8>, n: u16) {
    out.extend_from_slice(&n.to_be_bytes());
}

fn put_u32(out: &mut Vec<u8>, n: usize) {
    // A session never holds 4 GiB: counts and lengths are bounded far below by limits.
    out.extend_from_slice(&u32::try_from(n).unwrap_or(u32::MAX).to_be_bytes());
}

fn put_blob(out: &mut Vec<u8>, bytes: &[u8]) {
    put_u32(out, bytes.len());
    out.extend_from_slice(bytes);
}

/// Reads the stored form; every read is checked against what is left.
struct Reader<'a> {
    rest: &'a [u8],
}

const TRUNCATED: SessionDecodeError = SessionDecodeError("it ends early");

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], SessionDecodeError> {
        if self.rest.len() < n {
            return Err(TRUNCATED);
        }
        let (head, rest) = self.rest.split_at(n);
        self.rest = rest;
        Ok(head)
    }

    fn u8(&mut self) -> Result<u8, SessionDecodeError> {
        Ok(self.take(1)?[0])
    }

    fn u16(&mut self) -> Result<u16, SessionDecodeError> {
        let b = self.take(2)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    fn u32(&mut self) -> Result<usize, SessionDecodeError> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize)
    }

    fn u64(&mut self) -> Result<u64, SessionDecodeError> {
        let mut b = [0; 8];
        b.copy_from_slice(self.take(8)?);
        Ok(u64::from_be_bytes(b))
    }

    /// A stored PUBLISH, checked to decode.
    fn publish(&mut self) -> Result<Publish, SessionDecodeError> {
        let len = self.u32()?;
        let bytes = self.take(len)?;
        load(bytes).ok_or(SessionDecodeError("a message does not decode"))
    }

    fn id(&mut self) -> Result<PacketId, SessionDecodeError> {
        PacketId::new(self.u16()?).ok_or(SessionDecodeError("packet id 0"))
    }
}

impl SessionState {
    /// The session as bytes, to keep.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = vec![FORMAT];
        put_u16(&mut out, self.last_packet_id);
        put_u32(&mut out, self.outbound.len());
        for (id, o) in self.outbound.iter() {
            put_u16(&mut out, id);
            out.push(u8::from(o.stage == Stage::Released));
            out.push(o.qos);
            put_blob(&mut out, &store(&o.publish));
        }
        put_u32(&mut out, self.inbound_qos2.len());
        for (id, held) in self.inbound_qos2.iter() {
            put_u16(&mut out, id);
            match held {
                Some(publish) => {
                    out.push(1);
                    put_blob(&mut out, &store(publish));
                }
                None => out.push(0),
            }
        }
        put_u32(&mut out, self.queued.len());
        for q in &self.queued {
            match q.expires_at {
                Some(at) => {
                    out.push(1);
                    out.extend_from_slice(&at.to_be_bytes());
                }
                None => out.push(0),
            }
            put_blob(&mut out, &store(&q.publish));
        }
        out
    }

    /// The session a client resumes from what its store saved: a session this version
    /// cannot read is set aside rather than fatal (the client starts clean, and the error
    /// says why, for the shell to report). Every client decides this here, once.
    pub fn resume(saved: Option<&[u8]>) -> (SessionState, Option<SessionDecodeError>) {
        match saved.map(SessionState::from_bytes) {
            None => (SessionState::default(), None),
            Some(Ok(session)) => (session, None),
            Some(Err(e)) => (SessionState::default(), Some(e)),
        }
    }

    /// A session from [`SessionState::to_bytes`]. Every stored message is checked, and
    /// trailing bytes are refused.
    pub fn from_bytes(bytes: &[u8]) -> Result<SessionState, SessionDecodeError> {
        let mut r = Reader { rest: bytes };
        let format = r.u8().ok();
        if format != Some(FORMAT) && format != Some(FORMAT_3) {
            return Err(SessionDecodeError("unknown format version"));
        }
        let mut session = SessionState {
            last_packet_id: r.u16()?,
            ..SessionState::default()
        };
        let mut in_use = Vec::new();
        // Counts are not trusted for allocation: every entry is read before it is kept.
        for _ in 0..r.u32()? {
            let id = r.id()?;
            let stage = match r.u8()? {
                0 => Stage::Published,
                1 => Stage::Released,
                _ => return Err(SessionDecodeError("unknown stage")),
            };
            let qos = r.u8()?;
            if !(1..=2).contains(&qos) || (stage == Stage::Released && qos != 2) {
                return Err(SessionDecodeError("a message in flight has a bad QoS"));
            }
            let publish = r.publish()?;
            if session.outbound.contains_key(id.get()) {
                return Err(SessionDecodeError("a packet id is in flight twice"));
            }
            session.outbound.insert(
                id.get(),
                Outbound {
                    stage,
                    qos,
                    publish,
                },
            );
            in_use.push(id);
        }
        for _ in 0..r.u32()? {
            let id = r.id()?;
            let held = match format {
                Some(FORMAT_3) => None,
                _ => match r.u8()? {
                    0 => None,
                    1 => Some(r.publish()?),
                    _ => return Err(SessionDecodeError("unknown held flag")),
                },
            };
            session.inbound_qos2.insert(id.get(), held);
        }
        for _ in 0..r.u32()? {
            let expires_at = match r.u8()? {
                0 => None,
                1 => Some(r.u64()?),
                _ => return Err(SessionDecodeError("unknown expiry flag")),
            };
            let publish = r.publish()?;
            in_use.extend(publish.packet_id);
            session.queued_bytes += publish.payload.len();
            session.queued.push_back(Queued {
                publish,
                expires_at,
            });
        }
        if !r.rest.is_empty() {
            return Err(SessionDecodeError("trailing bytes"));
        }
        session.ids = PacketIdAllocator::resume(session.last_packet_id, in_use);
        Ok(session)
    }
}
