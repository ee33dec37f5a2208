//! Fault injection against real Mosquitto: a proxy of ours sits between tabmq and Mosquitto
//! on loopback and cuts the connection at random moments. Through it, 2,000 numbered
//! messages must all arrive (QoS 1), or arrive exactly once (QoS 2), in both directions:
//! `tabmq pub` into `mosquitto_sub -c`, and `mosquitto_pub` into `tabmq sub -c`.
//!
//! Needs Debian's mosquitto and mosquitto-clients; `cargo xtask test` runs it with
//! `--ignored`.

mod support;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::Ordering;
use std::sync::mpsc;
use std::time::{Duration, Instant};
use support::{CuttingProxy, Mosquitto};

const MESSAGES: usize = 2_000;
const CUTS: usize = 25;

fn tabmq() -> Command {
    Command::new(env!("CARGO_BIN_EXE_tabmq"))
}

/// A running subscriber whose output lines are collected by a thread.
struct Collector {
    child: Child,
    lines: mpsc::Receiver<String>,
}

impl Collector {
    fn start(mut cmd: Command) -> Collector {
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("subscriber starts");
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Collector { child, lines }
    }

    /// Counts of each number seen, until all of 1..=n are there (and, for `exact`, until
    /// `n` lines came), or the deadline.
    fn collect(&mut self, n: usize, exact: bool, deadline: Duration) -> BTreeMap<usize, usize> {
        let end = Instant::now() + deadline;
        let mut seen = BTreeMap::new();
        let mut lines = 0;
        while Instant::now() < end {
            let complete = seen.len() == n && (!exact || lines >= n);
            if complete {
                // Give late duplicates a moment to show up.
                std::thread::sleep(Duration::from_millis(300));
                while let Ok(line) = self.lines.try_recv() {
                    if let Ok(k) = line.trim().parse::<usize>() {
                        *seen.entry(k).or_insert(0) += 1;
                    }
                }
                break;
            }
            if let Ok(line) = self.lines.recv_timeout(Duration::from_millis(200)) {
                lines += 1;
                if let Ok(k) = line.trim().parse::<usize>() {
                    *seen.entry(k).or_insert(0) += 1;
                }
            }
        }
        seen
    }
}

impl Drop for Collector {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn numbers() -> String {
    (1..=MESSAGES).map(|k| format!("{k}\n")).collect()
}

/// Runs a publisher that reads the numbered messages from stdin; whether it succeeded.
fn publish_numbers(cmd: &mut Command) -> bool {
    let mut publisher = cmd.stdin(Stdio::piped()).spawn().unwrap();
    publisher
        .stdin
        .take()
        .unwrap()
        .write_all(numbers().as_bytes())
        .unwrap();
    publisher.wait().unwrap().success()
}

fn assert_delivery(seen: &BTreeMap<usize, usize>, qos: u8, label: &str) {
    let missing: Vec<usize> = (1..=MESSAGES).filter(|k| !seen.contains_key(k)).collect();
    assert!(
        missing.is_empty(),
        "{label}: {} missing, first {:?}",
        missing.len(),
        &missing[..missing.len().min(10)]
    );
    if qos == 2 {
        let dups: Vec<(&usize, &usize)> = seen.iter().filter(|(_, &c)| c != 1).collect();
        assert!(
            dups.is_empty(),
            "{label}: duplicates {:?}",
            &dups[..dups.len().min(10)]
        );
    }
}

/// Mosquitto that keeps enough for an offline subscriber.
fn mosquitto() -> Mosquitto {
    Mosquitto::start("max_queued_messages 10000\nmax_inflight_messages 100\n")
}

fn tabmq_pub_into_mosquitto_sub(qos: u8) {
    let broker = mosquitto();
    let proxy = CuttingProxy::start(broker.port, 0x5eed + u64::from(qos), CUTS);
    let port = broker.port.to_string();
    let topic = format!("fi/pub/{qos}");
    let sub_id = format!("fi-msub-{qos}");
    let mut sub = Command::new("mosquitto_sub");
    sub.args([
        "-h",
        "127.0.0.1",
        "-p",
        &port,
        "-c",
        "-i",
        &sub_id,
        "-q",
        &qos.to_string(),
        "-t",
        &topic,
    ]);
    let mut collector = Collector::start(sub);
    // Let the subscription settle before the first message.
    std::thread::sleep(Duration::from_millis(500));
    let published = publish_numbers(
        tabmq()
            .args(["pub", "-h", "127.0.0.1", "-p", &proxy.port.to_string()])
            .args([
                "-c",
                "-i",
                &format!("fi-tpub-{qos}"),
                "-q",
                &qos.to_string(),
                "-t",
                &topic,
            ])
            .args(["-l", "--stall-timeout", "60"]),
    );
    assert!(published, "tabmq pub exits 0 once every message completed");
    let seen = collector.collect(MESSAGES, qos == 2, Duration::from_secs(60));
    let cuts = proxy.cuts.load(Ordering::Relaxed);
    assert!(cuts >= 3, "the proxy cut only {cuts} times");
    assert_delivery(
        &seen,
        qos,
        &format!("tabmq pub -q {qos} through {cuts} cuts"),
    );
}

fn mosquitto_pub_into_tabmq_sub(qos: u8) {
    let broker = mosquitto();
    let proxy = CuttingProxy::start(broker.port, 0xfeed + u64::from(qos), CUTS);
    let topic = format!("fi/sub/{qos}");
    let sub_id = format!("fi-tsub-{qos}");
    let q = qos.to_string();
    // Make the persistent session first, directly, so nothing published is missed.
    let made = tabmq()
        .args(["sub", "-h", "127.0.0.1", "-p", &broker.port.to_string()])
        .args(["-c", "-i", &sub_id, "-q", &q, "-t", &topic, "-E"])
        .status()
        .unwrap();
    assert!(made.success());
    let mut sub = tabmq();
    sub.args(["sub", "-h", "127.0.0.1", "-p", &proxy.port.to_string()])
        .args([
            "-c",
            "-i",
            &sub_id,
            "-q",
            &q,
            "-t",
            &topic,
            "--stall-timeout",
            "60",
        ]);
    let mut collector = Collector::start(sub);
    let published = publish_numbers(
        Command::new("mosquitto_pub")
            .args(["-h", "127.0.0.1", "-p", &broker.port.to_string()])
            .args(["-q", &q, "-t", &topic, "-l"]),
    );
    assert!(published, "mosquitto_pub exits 0");
    let mut seen = collector.collect(MESSAGES, qos == 2, Duration::from_secs(90));
    let cuts = proxy.cuts.load(Ordering::Relaxed);
    assert!(cuts >= 3, "the proxy cut only {cuts} times");
    if qos == 2 {
        excuse_mosquittos_resends(&mut seen, &broker.log(), &sub_id);
    }
    assert_delivery(
        &seen,
        qos,
        &format!("tabmq sub -c -q {qos} through {cuts} cuts"),
    );
}

/// Mosquitto 2.0.11's QoS 2 bug: when its PUBREL write fails after a reconnect, it later
/// sends the message again as a PUBLISH, which a receiver that follows the spec (it let
/// the id go at PUBREL) delivers a second time. A second copy of message `k` is excused
/// only where Mosquitto's own log shows exactly that for it: PUBREL for `m{k}`, then a
/// PUBLISH of `m{k}` again. (The subscriber's session is new, so Mosquitto numbers its
/// messages 1, 2, ... in publishing order: message `k` is `m{k}`.) Anything else stays a
/// duplicate, and fails.
fn excuse_mosquittos_resends(seen: &mut BTreeMap<usize, usize>, log: &str, client: &str) {
    let resent_after_release = |k: usize| {
        let rel = format!("Sending PUBREL to {client} (m{k})");
        let again = format!("Sending PUBLISH to {client} (d1, q2, r0, m{k},");
        log.find(&rel).is_some_and(|at| log[at..].contains(&again))
    };
    let excused: Vec<usize> = seen
        .iter()
        .filter(|(&k, &n)| n == 2 && resent_after_release(k))
        .map(|(&k, _)| k)
        .collect();
    if !excused.is_empty() {
        eprintln!(
            "note: Mosquitto sent {} messages again as PUBLISH after their PUBREL (its QoS 2 bug): {:?}",
            excused.len(),
            &excused[..excused.len().min(10)]
        );
    }
    for k in excused {
        seen.insert(k, 1);
    }
}

#[test]
#[ignore = "needs mosquitto; cargo xtask test runs it"]
fn tabmq_pub_qos1_through_cuts_reaches_mosquitto_sub_with_none_missing() {
    tabmq_pub_into_mosquitto_sub(1);
}

#[test]
#[ignore = "needs mosquitto; cargo xtask test runs it"]
fn tabmq_pub_qos2_through_cuts_arrives_exactly_once() {
    tabmq_pub_into_mosquitto_sub(2);
}

#[test]
#[ignore = "needs mosquitto; cargo xtask test runs it"]
fn mosquitto_pub_qos1_into_tabmq_sub_through_cuts_with_none_missing() {
    mosquitto_pub_into_tabmq_sub(1);
}

#[test]
#[ignore = "needs mosquitto; cargo xtask test runs it"]
fn mosquitto_pub_qos2_into_tabmq_sub_through_cuts_exactly_once() {
    mosquitto_pub_into_tabmq_sub(2);
}
