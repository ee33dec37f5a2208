//! The hostile and slow clients, one function each. A scenario opens its connections,
//! does its harm, checks what it can (as the `Ok` text, or an `Err` when the broker got it
//! wrong), and closes everything before it returns.

use super::bad_input::{declared_huge, malformed, mutation_fuzz};
use super::wire::{self, Client};
use super::Kind;
use std::collections::HashSet;
use std::io::{Read, Write};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tabmq_core::{Bytes, LastWill, Packet, Properties, ProtocolVersion, QoS};

const V311: ProtocolVersion = ProtocolVersion::V311;
const V5: ProtocolVersion = ProtocolVersion::V5;

pub struct Scenario {
    pub name: &'static str,
    /// Configuration lines beside the listener.
    pub config: &'static str,
    pub run: fn(SocketAddr, Kind) -> Result<String, String>,
}

pub fn all() -> Vec<Scenario> {
    vec![
        Scenario {
            name: "2,000 SUBSCRIBEs to a 256 KB retained message, never reading",
            config: "",
            run: subscribe_flood,
        },
        Scenario {
            name: "100 subscribers that never read, 10 × 256 KB messages",
            config: "",
            run: stuck_fan_out,
        },
        Scenario {
            name: "a publisher outruns: 200,000 QoS 1 × 1 KB, 3 fast subscribers, 1 never reads",
            config: "",
            run: outrun,
        },
        Scenario {
            name: "32,768 unreleased QoS 2 messages",
            config: "max_inflight_messages 0\nmax_queued_messages 0\n",
            run: unreleased_qos2,
        },
        Scenario {
            name: "750 connections send one byte of CONNECT and stall",
            config: "",
            run: stalled_connects,
        },
        Scenario {
            name: "slow CONNECTs, a byte every 200 ms, never finished",
            config: "",
            run: slow_connects,
        },
        Scenario {
            name: "200 clients with 60 KB MQTT 5 wills, cut at once",
            config: "",
            run: wills,
        },
        Scenario {
            name: "a declared 256 MB PUBLISH that never comes",
            config: "",
            run: declared_huge,
        },
        Scenario {
            name: "malformed packets on 300 connections",
            config: "",
            run: malformed,
        },
        Scenario {
            name: "100,000 subscriptions",
            config: "",
            run: many_subscriptions,
        },
        Scenario {
            name: "connect/disconnect and takeover churn",
            config: "",
            run: churn,
        },
        Scenario {
            name: "50,000 retained topics",
            config: "",
            run: many_retained,
        },
        Scenario {
            name: "seeded mutation fuzz, 400 connections",
            config: "",
            run: mutation_fuzz,
        },
    ]
}

fn secs(s: u64) -> Instant {
    Instant::now() + Duration::from_secs(s)
}

fn subscribe_flood(addr: SocketAddr, _: Kind) -> Result<String, String> {
    let mut p = Client::open(addr, V311, "retainer")?;
    p.send(&wire::publish(
        "big",
        vec![b'x'; 256 * 1024],
        QoS::AtLeastOnce,
        1,
        true,
    ))?;
    p.until(secs(10), |p| matches!(p, Packet::PubAck(_)))?
        .ok_or("no PUBACK for the retained message")?;
    let mut hog = Client::open(addr, V311, "hog")?;
    let mut sent = 0;
    for i in 0..2000 {
        // A broker may stop reading from it; that is allowed, and ends the flood.
        hog.stream
            .set_write_timeout(Some(Duration::from_secs(2)))
            .ok();
        if hog
            .send(&wire::subscribe(&["big".to_owned()], QoS::AtMostOnce, i))
            .is_err()
        {
            break;
        }
        sent += 1;
    }
    std::thread::sleep(Duration::from_secs(3));
    drop(hog);
    // The retained message is state, not harm: cleared, so memory can come back.
    p.send(&wire::publish("big", Vec::new(), QoS::AtLeastOnce, 2, true))?;
    p.until(secs(10), |p| matches!(p, Packet::PubAck(_)))?;
    Ok(format!("{sent} SUBSCRIBEs sent"))
}

fn stuck_fan_out(addr: SocketAddr, _: Kind) -> Result<String, String> {
    let mut stuck = Vec::new();
    for i in 0..100 {
        let mut c = Client::open(addr, V311, &format!("stuck-{i}"))?;
        c.subscribe("fan/#", QoS::AtLeastOnce)?;
        stuck.push(c);
    }
    let mut p = Client::open(addr, V311, "fan-publisher")?;
    for i in 0..10 {
        p.send(&wire::publish(
            "fan/t",
            vec![b'y'; 256 * 1024],
            QoS::AtLeastOnce,
            i,
            false,
        ))?;
    }
    let mut acked = 0;
    while acked < 10 {
        if p.until(secs(20), |p| matches!(p, Packet::PubAck(_)))?
            .is_none()
        {
            break;
        }
        acked += 1;
    }
    std::thread::sleep(Duration::from_secs(2));
    drop(stuck);
    Ok(format!("{acked} of 10 acknowledged"))
}

/// A subscriber that reads and acknowledges everything; counts distinct sequence numbers.
fn fast_subscriber(
    addr: SocketAddr,
    n: usize,
    want: usize,
    stop: &AtomicBool,
) -> Result<usize, String> {
    let mut c = Client::open(addr, V311, &format!("fast-{n}"))?;
    c.subscribe("flood", QoS::AtLeastOnce)?;
    let mut seen = HashSet::with_capacity(want);
    let deadline = secs(90);
    while seen.len() < want && Instant::now() < deadline && !stop.load(Ordering::Relaxed) {
        if let Some(Packet::Publish(m)) = c.next(Instant::now() + Duration::from_millis(200))? {
            c.acknowledge(&Packet::Publish(m.clone()))?;
            if let Some(seq) = m.payload.get(..8) {
                let mut b = [0u8; 8];
                b.copy_from_slice(seq);
                seen.insert(u64::from_le_bytes(b));
            }
        }
    }
    Ok(seen.len())
}

fn outrun(addr: SocketAddr, _: Kind) -> Result<String, String> {
    const N: usize = 200_000;
    let stop = Arc::new(AtomicBool::new(false));
    let mut never = Client::open(addr, V311, "never-reads")?;
    never.subscribe("flood", QoS::AtLeastOnce)?;
    let fast: Vec<_> = (0..3)
        .map(|i| {
            let stop = stop.clone();
            std::thread::spawn(move || fast_subscriber(addr, i, N, &stop))
        })
        .collect();
    std::thread::sleep(Duration::from_millis(500));
    let p = Client::open(addr, V311, "flooder")?;
    let mut reader = p.stream.try_clone().map_err(|e| e.to_string())?;
    let acks = Arc::new(AtomicUsize::new(0));
    let acks_w = acks.clone();
    let ack_reader = std::thread::spawn(move || {
        // PUBACKs are 4 bytes each; count them from the raw stream.
        let mut buf = vec![0u8; 64 * 1024];
        let mut pending = 0usize;
        reader
            .set_read_timeout(Some(Duration::from_millis(200)))
            .ok();
        let deadline = secs(90);
        while acks_w.load(Ordering::Relaxed) < N && Instant::now() < deadline {
            match reader.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    pending += n;
                    acks_w.fetch_add(pending / 4, Ordering::Relaxed);
                    pending %= 4;
                }
                Err(_) => {}
            }
        }
    });
    let started = Instant::now();
    let mut out = p.stream.try_clone().map_err(|e| e.to_string())?;
    let mut batch = Vec::with_capacity(1 << 20);
    for i in 0..N {
        let mut payload = vec![b'z'; 1024];
        payload[..8].copy_from_slice(&(i as u64).to_le_bytes());
        let packet = wire::publish("flood", payload, QoS::AtLeastOnce, i, false);
        batch.extend(tabmq_core::encode_to_vec(&packet, V311).map_err(|e| e.to_string())?);
        if batch.len() > 256 * 1024 || i + 1 == N {
            out.write_all(&batch).map_err(|e| e.to_string())?;
            batch.clear();
        }
    }
    let _ = ack_reader.join();
    let acked_in = started.elapsed();
    let mut got = Vec::new();
    for f in fast {
        got.push(f.join().map_err(|_| "a subscriber panicked")??);
    }
    stop.store(true, Ordering::Relaxed);
    drop(never);
    let acked = acks.load(Ordering::Relaxed);
    let text = format!(
        "{acked} acknowledged in {:.1} s; fast subscribers got {got:?} of {N}",
        acked_in.as_secs_f64()
    );
    if got.iter().all(|&g| g == N) {
        Ok(text)
    } else {
        Err(text)
    }
}

fn unreleased_qos2(addr: SocketAddr, _: Kind) -> Result<String, String> {
    // Mosquitto's CPU grows with the square of this; 32,768 keeps its run to seconds.
    const N: usize = 32_768;
    let c = Client::open(addr, V311, "hoarder")?;
    let mut reader = c.stream.try_clone().map_err(|e| e.to_string())?;
    let recs = std::thread::spawn(move || {
        let mut buf = vec![0u8; 64 * 1024];
        let (mut total, mut closed) = (0usize, false);
        reader
            .set_read_timeout(Some(Duration::from_millis(200)))
            .ok();
        let deadline = secs(60);
        while total < N * 4 && Instant::now() < deadline {
            match reader.read(&mut buf) {
                Ok(0) => {
                    closed = true;
                    break;
                }
                Ok(n) => total += n,
                Err(_) => {}
            }
        }
        (total / 4, closed)
    });
    let mut out = c.stream.try_clone().map_err(|e| e.to_string())?;
    let mut batch = Vec::new();
    for i in 0..N {
        let packet = wire::publish("held", vec![b'q'; 16], QoS::ExactlyOnce, i, false);
        batch.extend(tabmq_core::encode_to_vec(&packet, V311).map_err(|e| e.to_string())?);
        if batch.len() > 64 * 1024 || i + 1 == N {
            out.write_all(&batch).map_err(|e| e.to_string())?;
            batch.clear();
        }
    }
    let (pubrecs, closed) = recs.join().map_err(|_| "the reader panicked")?;
    drop(c);
    let text = format!("{pubrecs} PUBRECs for {N} unreleased messages");
    if pubrecs == N && !closed {
        Ok(text)
    } else {
        Err(text)
    }
}

fn stalled_connects(addr: SocketAddr, _: Kind) -> Result<String, String> {
    let mut held = Vec::new();
    for _ in 0..750 {
        let mut c = Client::raw(addr)?;
        c.write(&[0x10])?;
        held.push(c);
    }
    std::thread::sleep(Duration::from_secs(3));
    Ok(format!("{} held", held.len()))
}

fn slow_connects(addr: SocketAddr, _: Kind) -> Result<String, String> {
    let connect =
        tabmq_core::encode_to_vec(&wire::connect_packet(V311, &"s".repeat(200), None), V311)
            .map_err(|e| e.to_string())?;
    let mut slow: Vec<Client> = (0..50)
        .map(|_| Client::raw(addr))
        .collect::<Result<_, _>>()?;
    for i in 0..15 {
        for c in &mut slow {
            let _ = c.write(&connect[i..i + 1]);
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    Ok("50 connections, 15 bytes each over 3 s".into())
}

fn wills(addr: SocketAddr, _: Kind) -> Result<String, String> {
    const N: usize = 200;
    let stop = Arc::new(AtomicBool::new(false));
    let stop_r = stop.clone();
    let reader = std::thread::spawn(move || -> Result<usize, String> {
        let mut c = Client::open(addr, V311, "will-reader")?;
        c.subscribe("wills/#", QoS::AtLeastOnce)?;
        let mut seen = HashSet::new();
        let deadline = secs(30);
        while seen.len() < N && Instant::now() < deadline && !stop_r.load(Ordering::Relaxed) {
            if let Some(Packet::Publish(m)) = c.next(Instant::now() + Duration::from_millis(200))? {
                c.acknowledge(&Packet::Publish(m.clone()))?;
                seen.insert(m.topic.clone());
            }
        }
        Ok(seen.len())
    });
    std::thread::sleep(Duration::from_millis(500));
    let mut clients = Vec::new();
    for i in 0..N {
        let will = LastWill {
            topic: format!("wills/{i}"),
            payload: Bytes::from(vec![b'w'; 60 * 1024]),
            qos: QoS::AtLeastOnce,
            retain: false,
            properties: Properties::default(),
        };
        clients.push(Client::open_with(
            addr,
            wire::connect_packet(V5, &format!("mortal-{i}"), Some(will)),
        )?);
    }
    // Cut, without DISCONNECT: every will is due.
    for c in &clients {
        let _ = c.stream.shutdown(std::net::Shutdown::Both);
    }
    drop(clients);
    let got = reader.join().map_err(|_| "the reader panicked")??;
    stop.store(true, Ordering::Relaxed);
    let text = format!("{got} of {N} wills delivered");
    if got == N {
        Ok(text)
    } else {
        Err(text)
    }
}

fn many_subscriptions(addr: SocketAddr, _: Kind) -> Result<String, String> {
    let mut clients = Vec::new();
    for c in 0..10 {
        let mut client = Client::open(addr, V311, &format!("subscriber-{c}"))?;
        let mut acked = 0;
        for batch in 0..100 {
            let filters: Vec<String> = (0..100)
                .map(|i| format!("subs/{c}/{}/+/value", batch * 100 + i))
                .collect();
            client.send(&wire::subscribe(&filters, QoS::AtLeastOnce, batch))?;
        }
        while acked < 100 {
            if client
                .until(secs(30), |p| matches!(p, Packet::SubAck(_)))?
                .is_none()
            {
                return Err(format!("client {c}: {acked} of 100 SUBACKs"));
            }
            acked += 1;
        }
        clients.push(client);
    }
    // A message on one of them still arrives.
    let mut p = Client::open(addr, V311, "subs-publisher")?;
    p.send(&wire::publish(
        "subs/7/777/x/value",
        b"hit".to_vec(),
        QoS::AtLeastOnce,
        1,
        false,
    ))?;
    let got = clients[7].until(secs(10), |p| matches!(p, Packet::Publish(_)))?;
    drop(clients);
    match got {
        Some(_) => Ok("100,000 granted; a message matched one".into()),
        None => Err("the matching message did not arrive".into()),
    }
}

fn churn(addr: SocketAddr, _: Kind) -> Result<String, String> {
    let threads: Vec<_> = (0..4)
        .map(|t| {
            std::thread::spawn(move || -> Result<usize, String> {
                let mut n = 0;
                for i in 0..500 {
                    let mut c = Client::open(addr, V311, &format!("churn-{t}-{i}"))?;
                    c.send(&Packet::disconnect())?;
                    n += 1;
                }
                Ok(n)
            })
        })
        .collect();
    // Takeovers: the same client id from two sockets in turn.
    let mut takeovers = 0;
    let mut held = Vec::new();
    for _ in 0..200 {
        held.push(Client::open(addr, V5, "contested")?);
        takeovers += 1;
        if held.len() > 2 {
            held.remove(0);
        }
    }
    let mut cycles = 0;
    for t in threads {
        cycles += t.join().map_err(|_| "a thread panicked")??;
    }
    Ok(format!(
        "{cycles} connect/disconnect cycles, {takeovers} takeovers"
    ))
}

fn many_retained(addr: SocketAddr, _: Kind) -> Result<String, String> {
    const N: usize = 50_000;
    let mut p = Client::open(addr, V311, "archivist")?;
    let mut batch = Vec::new();
    for i in 0..N {
        let packet = wire::publish(
            &format!("retained/{}/{i}", i % 100),
            vec![b'r'; 100],
            QoS::AtMostOnce,
            0,
            true,
        );
        batch.extend(tabmq_core::encode_to_vec(&packet, V311).map_err(|e| e.to_string())?);
        if batch.len() > 64 * 1024 || i + 1 == N {
            p.write(&batch)?;
            batch.clear();
        }
    }
    // A PINGREQ's answer says everything before it was read.
    p.send(&Packet::PingReq)?;
    p.until(secs(30), |p| matches!(p, Packet::PingResp))?
        .ok_or("no PINGRESP after the retained messages")?;
    let mut s = Client::open(addr, V311, "late-reader")?;
    s.send(&wire::subscribe(
        &["retained/#".to_owned()],
        QoS::AtMostOnce,
        1,
    ))?;
    let mut got = 0;
    let deadline = secs(60);
    while got < N {
        match s.next(deadline.min(Instant::now() + Duration::from_secs(5)))? {
            Some(Packet::Publish(_)) => got += 1,
            Some(_) => {}
            None => break,
        }
    }
    drop(s);
    // Cleared again, so that memory can come back.
    for i in 0..N {
        let packet = wire::publish(
            &format!("retained/{}/{i}", i % 100),
            Vec::new(),
            QoS::AtMostOnce,
            0,
            true,
        );
        batch.extend(tabmq_core::encode_to_vec(&packet, V311).map_err(|e| e.to_string())?);
        if batch.len() > 64 * 1024 || i + 1 == N {
            p.write(&batch)?;
            batch.clear();
        }
    }
    p.send(&Packet::PingReq)?;
    p.until(secs(30), |p| matches!(p, Packet::PingResp))?;
    let text = format!("a late subscriber got {got} of {N}");
    if got == N {
        Ok(text)
    } else {
        Err(text)
    }
}
