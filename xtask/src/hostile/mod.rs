//! `cargo xtask hostile`: hostile and slow clients against `tabmq broker` and, in the same
//! run with the same configuration, Debian's Mosquitto. In every scenario a well-behaved
//! client probes the broker (a QoS 1 message to itself, every 100 ms, and a fresh
//! connection every second); the broker's memory is sampled from /proc throughout.
//!
//! tabmq must: serve every probe within 2 s; stay at or under 2× Mosquitto's peak memory
//! (resident set, which includes each broker's own baseline); come back to within 10% of
//! its starting memory afterwards; and pass the scenario's own check (no messages lost by
//! fast subscribers, every will delivered, ...). Mosquitto's figures are reported beside.

mod bad_input;
mod scenarios;
mod wire;

use crate::procfs::cpu_seconds;
use crate::setup::Env;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tabmq_core::{Packet, ProtocolVersion, QoS};
use wire::Client;

const PROBE_LIMIT: Duration = Duration::from_secs(2);
const PEAK_RATIO: f64 = 2.0;
const RETURN_RATIO: f64 = 1.10;

/// Which broker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Tabmq,
    Mosquitto,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Tabmq => "tabmq",
            Kind::Mosquitto => "mosquitto",
        }
    }
}

/// A broker process, killed when dropped.
struct Broker {
    child: Child,
    addr: SocketAddr,
}

impl Drop for Broker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Resident memory of `pid`, KiB (0 once it is gone).
fn rss_kib(pid: u32) -> u64 {
    crate::procfs::rss_kib(pid).unwrap_or(0)
}

fn free_port() -> Result<u16, String> {
    let l = TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    Ok(l.local_addr().map_err(|e| e.to_string())?.port())
}

fn start(env: &Env, kind: Kind, extra: &str) -> Result<Broker, String> {
    let port = free_port()?;
    // One file per broker kind, rewritten for each scenario: a broker reads it only as it
    // starts, and scenarios run one at a time.
    let conf = env.tools.join(format!("hostile-{}.conf", kind.name()));
    let text = format!("listener {port} 127.0.0.1\nallow_anonymous true\n{extra}");
    std::fs::write(&conf, text).map_err(|e| e.to_string())?;
    let mut command = match kind {
        Kind::Tabmq => Command::new(env.root.join("target/release/tabmq")),
        Kind::Mosquitto => Command::new("/usr/sbin/mosquitto"),
    };
    if kind == Kind::Tabmq {
        command.arg("broker");
    }
    let mut child = command
        .arg("-c")
        .arg(&conf)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("{}: {e}", kind.name()))?;
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(addr).is_err() {
        if Instant::now() > deadline || matches!(child.try_wait(), Ok(Some(_))) {
            let _ = child.kill();
            return Err(format!("{} did not listen on {port}", kind.name()));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok(Broker { child, addr })
}

/// What the probe saw.
#[derive(Default)]
struct ProbeReport {
    worst: Duration,
    rounds: u64,
    failures: Vec<String>,
}

/// The well-behaved client: a QoS 1 message to its own subscription every 100 ms, timed
/// from PUBLISH to delivery, and a fresh connection every second.
fn probe(addr: SocketAddr, stop: &AtomicBool) -> ProbeReport {
    let mut report = ProbeReport::default();
    let mut client: Option<Client> = None;
    let mut last_fresh = Instant::now();
    let mut n = 0usize;
    while !stop.load(Ordering::Relaxed) {
        let started = Instant::now();
        let round = (|| -> Result<(), String> {
            if client.is_none() {
                let mut c = Client::open(addr, ProtocolVersion::V311, "probe")?;
                c.subscribe("probe/echo", QoS::AtLeastOnce)?;
                client = Some(c);
            }
            let c = client.as_mut().ok_or("no probe connection")?;
            n += 1;
            let payload = n.to_le_bytes().to_vec();
            c.send(&wire::publish(
                "probe/echo",
                payload.clone(),
                QoS::AtLeastOnce,
                n,
                false,
            ))?;
            let deadline = started + PROBE_LIMIT * 3;
            let got = c.until(
                deadline,
                |p| matches!(p, Packet::Publish(m) if m.payload[..] == payload[..]),
            )?;
            got.ok_or("no delivery")?;
            if last_fresh.elapsed() > Duration::from_secs(1) {
                last_fresh = Instant::now();
                let fresh = Client::open(addr, ProtocolVersion::V5, "probe-fresh")?;
                drop(fresh);
            }
            Ok(())
        })();
        let took = started.elapsed();
        report.rounds += 1;
        report.worst = report.worst.max(took);
        if let Err(e) = round {
            client = None;
            if report.failures.len() < 5 {
                report.failures.push(e);
            }
        } else if took > PROBE_LIMIT && report.failures.len() < 5 {
            report
                .failures
                .push(format!("a round took {} ms", took.as_millis()));
        }
        std::thread::sleep(Duration::from_millis(100).saturating_sub(took));
    }
    report
}

/// One broker's figures in one scenario.
struct Measured {
    baseline: u64,
    peak: u64,
    after: u64,
    cpu: f64,
    probe: ProbeReport,
    check: Result<String, String>,
}

fn measure(env: &Env, kind: Kind, scenario: &scenarios::Scenario) -> Result<Measured, String> {
    let broker = start(env, kind, scenario.config)?;
    let pid = broker.child.id();
    let addr = broker.addr;
    std::thread::sleep(Duration::from_millis(200));
    let stop = Arc::new(AtomicBool::new(false));
    let peak = Arc::new(AtomicU64::new(0));
    let (probe_stop, sampler_stop) = (stop.clone(), stop.clone());
    let probe_thread = std::thread::spawn(move || probe(addr, &probe_stop));
    // The start is the broker in its steady state: the probe has run a while, fresh
    // connection included, so what a first connection allocates once is in it.
    std::thread::sleep(Duration::from_millis(1200));
    let baseline = rss_kib(pid);
    let peak_w = peak.clone();
    let sampler = std::thread::spawn(move || {
        while !sampler_stop.load(Ordering::Relaxed) {
            peak_w.fetch_max(rss_kib(pid), Ordering::Relaxed);
            std::thread::sleep(Duration::from_millis(20));
        }
    });
    let cpu_before = cpu_seconds(pid);
    let check = (scenario.run)(addr, kind);
    let cpu = cpu_seconds(pid) - cpu_before;
    // Afterwards: tabmq's memory should come back while the probe goes on (it hands
    // memory back every 2 s after activity). Mosquitto's is only reported.
    let settle = Instant::now()
        + match kind {
            Kind::Tabmq => Duration::from_secs(6),
            Kind::Mosquitto => Duration::from_millis(500),
        };
    let mut after = rss_kib(pid);
    while after as f64 > baseline as f64 * RETURN_RATIO && Instant::now() < settle {
        std::thread::sleep(Duration::from_millis(200));
        after = rss_kib(pid);
    }
    stop.store(true, Ordering::Relaxed);
    let probe = probe_thread.join().map_err(|_| "the probe panicked")?;
    let _ = sampler.join();
    Ok(Measured {
        baseline,
        peak: peak.load(Ordering::Relaxed).max(after),
        after,
        cpu,
        probe,
        check,
    })
}

fn mib(kib: u64) -> String {
    format!("{:.1}", kib as f64 / 1024.0)
}

/// Runs every scenario (or those whose name contains one of `only`); fails on any miss.
pub fn run(env: &Env, only: &[String]) -> Result<(), String> {
    let (mut passed, mut failed) = (0, 0);
    let mut table = vec![
        "| scenario | tabmq peak MiB | Mosquitto peak MiB | ratio | tabmq after/start | worst probe ms (tabmq / Mosquitto) | CPU s (tabmq / Mosquitto) | check |".to_owned(),
        "|---|---:|---:|---:|---:|---:|---:|---|".to_owned(),
    ];
    for scenario in scenarios::all() {
        if !only.is_empty() && !only.iter().any(|o| scenario.name.contains(o.as_str())) {
            continue;
        }
        eprintln!("hostile: {}", scenario.name);
        let clock = Instant::now();
        let theirs = measure(env, Kind::Mosquitto, &scenario)?;
        let split = clock.elapsed();
        let ours = measure(env, Kind::Tabmq, &scenario)?;
        eprintln!(
            "  {:.1} s beside Mosquitto's {:.1} s",
            (clock.elapsed() - split).as_secs_f64(),
            split.as_secs_f64()
        );
        let ratio = ours.peak as f64 / theirs.peak.max(1) as f64;
        let returned = ours.after as f64 / ours.baseline.max(1) as f64;
        let mut misses = Vec::new();
        if ours.probe.worst > PROBE_LIMIT || !ours.probe.failures.is_empty() {
            misses.push(format!("probe: {:?}", ours.probe.failures));
        }
        if ratio > PEAK_RATIO {
            misses.push(format!("peak {ratio:.2}× Mosquitto's"));
        }
        if returned > RETURN_RATIO {
            misses.push(format!("memory after is {returned:.2}× the start"));
        }
        if let Err(e) = &ours.check {
            misses.push(e.clone());
        }
        let check = match (&ours.check, &theirs.check) {
            (Ok(o), Ok(t)) => format!("tabmq: {o}; Mosquitto: {t}"),
            (Ok(o), Err(t)) => format!("tabmq: {o}; Mosquitto failed: {t}"),
            (Err(o), _) => format!("tabmq failed: {o}"),
        };
        table.push(format!(
            "| {} | {} | {} | {ratio:.2} | {returned:.2} | {} / {} | {:.2} / {:.2} | {check} |",
            scenario.name,
            mib(ours.peak),
            mib(theirs.peak),
            ours.probe.worst.as_millis(),
            theirs.probe.worst.as_millis(),
            ours.cpu,
            theirs.cpu,
        ));
        if misses.is_empty() {
            passed += 1;
            eprintln!("  ok");
        } else {
            failed += 1;
            eprintln!("  FAIL: {}", misses.join("; "));
        }
    }
    println!("\n{}\n", table.join("\n"));
    let report = env.tools.join("hostile.md");
    let _ = std::fs::write(&report, table.join("\n") + "\n");
    println!(
        "hostile clients: {passed} passed, {failed} failed (table in {})",
        report.display()
    );
    if failed > 0 {
        Err(format!("{failed} hostile-client scenarios failed"))
    } else {
        Ok(())
    }
}
