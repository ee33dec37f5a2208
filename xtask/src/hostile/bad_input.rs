//! The scenarios that send bytes no client should: a length that never arrives, malformed
//! packets, and seeded mutations of valid sessions. The broker must close each connection
//! (or ignore the bytes) and stay up; the harness checks it still serves afterwards.

use super::wire::{self, Client};
use super::Kind;
use std::io::Read;
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tabmq_core::{Packet, ProtocolVersion, QoS};

const V311: ProtocolVersion = ProtocolVersion::V311;
const V5: ProtocolVersion = ProtocolVersion::V5;

pub(super) fn declared_huge(addr: SocketAddr, _: Kind) -> Result<String, String> {
    let mut held = Vec::new();
    for i in 0..5 {
        let mut c = Client::open(addr, V311, &format!("liar-{i}"))?;
        // PUBLISH, QoS 0, remaining length 268,435,455: 0xff 0xff 0xff 0x7f.
        let mut bytes = vec![0x30, 0xff, 0xff, 0xff, 0x7f, 0, 1, b't'];
        bytes.extend(vec![0u8; 64 * 1024]);
        c.write(&bytes)?;
        held.push(c);
    }
    std::thread::sleep(Duration::from_secs(3));
    Ok("5 connections, 64 KB of 256 MB each".into())
}

/// A tiny seeded generator (xorshift64*), so every run sends the same bytes.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Sends `bytes` on a new connection and reads until it closes or `wait` passes.
fn send_and_drain(addr: SocketAddr, bytes: &[u8], wait: Duration) -> Result<bool, String> {
    let mut c = Client::raw(addr)?;
    let _ = c.write(bytes);
    c.stream
        .set_read_timeout(Some(Duration::from_millis(50)))
        .ok();
    let deadline = Instant::now() + wait;
    let mut buf = [0u8; 4096];
    while Instant::now() < deadline {
        match c.stream.read(&mut buf) {
            Ok(0) => return Ok(true),
            Ok(_) => {}
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(_) => return Ok(true),
        }
    }
    Ok(false)
}

pub(super) fn malformed(addr: SocketAddr, _: Kind) -> Result<String, String> {
    let mut rng = Rng(0x7ab5_0001);
    let fixed: [&[u8]; 6] = [
        &[0x10, 0x02, 0x00, 0x00],             // CONNECT with no protocol name
        &[0xf0, 0x00],                         // reserved packet type first
        &[0x10, 0xff, 0xff, 0xff, 0xff, 0x01], // a five-byte length
        &[0x30, 0x02, 0x00, 0x00],             // PUBLISH before CONNECT
        &[
            0x10, 0x0c, 0, 4, b'M', b'Q', b'T', b'T', 4, 0x01, 0, 0, 0, 0,
        ], // reserved flag
        &[
            0x10, 0x10, 0, 4, b'M', b'Q', b'T', b'T', 5, 0x02, 0, 0, 0x05, 0x26, 0xff, 0xff, 0, 0,
        ], // a property that runs past
    ];
    let mut closed = 0;
    let mut threads = Vec::new();
    for t in 0..4 {
        let mut seeds: Vec<Vec<u8>> = Vec::new();
        for i in 0..75 {
            let mut bytes = fixed[(i + t) % fixed.len()].to_vec();
            let extra = rng.below(64);
            bytes.extend((0..extra).map(|_| rng.next() as u8));
            seeds.push(bytes);
        }
        threads.push(std::thread::spawn(move || {
            seeds
                .iter()
                .map(|b| send_and_drain(addr, b, Duration::from_secs(1)).unwrap_or(false))
                .filter(|&c| c)
                .count()
        }));
    }
    for t in threads {
        closed += t.join().map_err(|_| "a thread panicked")?;
    }
    Ok(format!("{closed} of 300 closed by the broker within 1 s"))
}

pub(super) fn mutation_fuzz(addr: SocketAddr, _: Kind) -> Result<String, String> {
    let mut rng = Rng(0x5eed_f022);
    let valid: Vec<Packet> = vec![
        wire::subscribe(
            &["fuzz/#".to_owned(), "a/+/b".to_owned()],
            QoS::ExactlyOnce,
            1,
        ),
        wire::publish("fuzz/x", b"payload".to_vec(), QoS::AtLeastOnce, 2, true),
        wire::publish("fuzz/y", vec![7; 300], QoS::ExactlyOnce, 3, false),
        Packet::PingReq,
        Packet::PubRel(tabmq_core::Ack::new(wire::id(2))),
    ];
    let mut cases = Vec::new();
    for i in 0..400 {
        let version = if i % 2 == 0 { V311 } else { V5 };
        let mut bytes = tabmq_core::encode_to_vec(
            &wire::connect_packet(version, &format!("fuzz-{i}"), None),
            version,
        )
        .map_err(|e| e.to_string())?;
        let mut body = Vec::new();
        for _ in 0..3 {
            let p = &valid[rng.below(valid.len())];
            body.extend(tabmq_core::encode_to_vec(p, version).map_err(|e| e.to_string())?);
        }
        for _ in 0..1 + rng.below(4) {
            match rng.below(4) {
                0 => {
                    let at = rng.below(body.len());
                    body[at] ^= 1 << rng.below(8);
                }
                1 => {
                    let at = rng.below(body.len());
                    body[at] = rng.next() as u8;
                }
                2 => {
                    let at = rng.below(body.len());
                    body.insert(at, rng.next() as u8);
                }
                _ => body.truncate(rng.below(body.len()) + 1),
            }
        }
        bytes.extend(body);
        cases.push(bytes);
    }
    let chunks: Vec<Vec<Vec<u8>>> = cases.chunks(50).map(|c| c.to_vec()).collect();
    let threads: Vec<_> = chunks
        .into_iter()
        .map(|chunk| {
            std::thread::spawn(move || {
                for bytes in chunk {
                    // A mutation that left a valid session open is held briefly.
                    let _ = send_and_drain(addr, &bytes, Duration::from_millis(150));
                }
            })
        })
        .collect();
    for t in threads {
        t.join().map_err(|_| "a thread panicked")?;
    }
    Ok("400 mutated sessions sent".into())
}
