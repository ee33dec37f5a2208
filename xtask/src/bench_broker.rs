//! `cargo xtask bench broker`: `tabmq broker` against Debian's Mosquitto and rumqttd under
//! the same load generator ([`crate::loadgen`]) on loopback, in rotating rounds: messages/s
//! and p99 latency at each QoS, the memory 1,000 idle persistent sessions take, and the
//! memory of 10,000 idle connections.

use crate::bench_contenders::{Contender, Running};
use crate::cmd;
use crate::loadgen::{self, Load};
use crate::setup::Env;
use std::time::Duration;
use tabmq_core::QoS;

/// Medians of five rotating rounds: a round lasts a second or two, and the load generator
/// shares the 2 cores with the broker, so single rounds vary widely.
const ROUNDS: usize = 5;
const WINDOW: usize = 64;
const IDLE_SESSIONS: usize = 1000;
const IDLE_CONNECTIONS: usize = 10_000;
/// The peers, each compared with tabmq broker in rows of its own.
const PEERS: [Contender; 2] = [Contender::Mosquitto, Contender::Rumqttd];

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

struct Row {
    case: String,
    unit: &'static str,
    ours: f64,
    peer: Contender,
    theirs: f64,
    higher_is_better: bool,
    target: Option<f64>,
}

fn json_row(r: &Row) -> String {
    let target = r.target.map_or("null".to_owned(), |t| t.to_string());
    format!(
        "{{\"case\": {:?}, \"unit\": {:?}, \"ours\": {}, \"peer\": {:?}, \"theirs\": {}, \"higher_is_better\": {}, \"target\": {}}}",
        r.case, r.unit, r.ours, r.peer.label(), r.theirs, r.higher_is_better, target
    )
}

/// The order of round `round`: each broker goes first in turn, so drift and warm-up hit
/// them alike.
fn rotation(round: usize) -> [Contender; 3] {
    let all = [Contender::Tabmq, Contender::Mosquitto, Contender::Rumqttd];
    [0, 1, 2].map(|i| all[(round + i) % 3])
}

/// Per broker, the medians of `measure` over the rounds.
fn per_broker(
    rounds: usize,
    mut measure: impl FnMut(Contender) -> Result<Vec<f64>, String>,
) -> Result<Vec<(Contender, Vec<f64>)>, String> {
    let mut samples: Vec<(Contender, Vec<Vec<f64>>)> =
        rotation(0).iter().map(|&c| (c, Vec::new())).collect();
    for round in 0..rounds {
        for who in rotation(round) {
            let figures = measure(who)?;
            if let Some((_, s)) = samples.iter_mut().find(|(c, _)| *c == who) {
                s.push(figures);
            }
        }
    }
    Ok(samples
        .into_iter()
        .map(|(c, s)| {
            let n = s.first().map_or(0, Vec::len);
            (
                c,
                (0..n)
                    .map(|i| median(s.iter().map(|f| f[i]).collect()))
                    .collect(),
            )
        })
        .collect())
}

fn figures_of(all: &[(Contender, Vec<f64>)], who: Contender) -> Vec<f64> {
    all.iter()
        .find(|(c, _)| *c == who)
        .map(|(_, f)| f.clone())
        .unwrap_or_default()
}

/// Expects `target/release/tabmq` built (`bench::run` builds it). With
/// `TABMQ_BENCH_ONLY=TEXT`, runs only the cases whose name contains TEXT and writes nothing:
/// for profiling one case (`perf record -p` on the broker) without the others.
pub fn run(env: &Env) -> Result<(), String> {
    let only = std::env::var("TABMQ_BENCH_ONLY").ok();
    let wanted = |case: &str| only.as_ref().is_none_or(|o| case.contains(o.as_str()));
    let mut rows = Vec::new();
    let shapes = [
        ("1 publisher to 1 subscriber", 1, 1),
        ("fan-in, 4 publishers to 1 subscriber", 4, 1),
        ("fan-out, 1 publisher to 4 subscribers", 1, 4),
    ];
    let running: Vec<(Contender, Running)> = rotation(0)
        .iter()
        .map(|&c| c.start(env).map(|r| (c, r)))
        .collect::<Result<_, _>>()?;
    let mut serial = 0;
    for qos in [QoS::AtMostOnce, QoS::AtLeastOnce, QoS::ExactlyOnce] {
        for (shape, publishers, subscribers) in shapes {
            let case = format!("{shape}, QoS {}", qos.as_u8());
            if !wanted(&case) {
                continue;
            }
            let load = Load {
                qos,
                publishers,
                subscribers,
                payload: 64,
                // About a second a round for the slowest broker.
                messages: [150_000, 60_000, 40_000][qos.as_u8() as usize] / publishers,
                window: WINDOW,
            };
            let all = per_broker(ROUNDS, |who| {
                serial += 1;
                let Some((_, broker)) = running.iter().find(|(c, _)| *c == who) else {
                    return Err(format!("{} is not running", who.label()));
                };
                let outcome = loadgen::run(broker.addr, &load, &format!("b{serial}"))
                    .map_err(|e| format!("{}, {case}: {e}", who.label()))?;
                if only.is_some() {
                    println!("  {case}, {}: {:.0} msgs/s", who.label(), outcome.rate);
                }
                Ok(vec![outcome.rate, outcome.p99_ms])
            })?;
            let ours = figures_of(&all, Contender::Tabmq);
            for peer in PEERS {
                let theirs = figures_of(&all, peer);
                rows.push(Row {
                    case: format!("native broker: {case}, 64 B, window {WINDOW}"),
                    unit: "msgs/s",
                    ours: ours[0],
                    peer,
                    theirs: theirs[0],
                    higher_is_better: true,
                    target: Some(1.0),
                });
                rows.push(Row {
                    case: format!("native broker: {case}, p99 latency"),
                    unit: "ms",
                    ours: ours[1],
                    peer,
                    theirs: theirs[1],
                    higher_is_better: false,
                    target: None,
                });
            }
        }
    }
    drop(running);
    memory(env, &wanted, &mut rows)?;
    if only.is_some() {
        return print_only(&rows);
    }
    let notes = "The load generator (xtask/src/loadgen.rs) speaks MQTT 3.1.1 over loopback TCP with TCP_NODELAY on its side. Each party writes what it answers to one read in one write, so the generator is not the slowest party (writing each acknowledgement on its own, it spent more system calls per message than either broker and set the QoS 1 and 2 rates itself). tabmq broker and Mosquitto read the same Mosquitto-format configuration: set_tcp_nodelay true, and unlimited in-flight and queued messages. rumqttd 0.20.0, built from crates.io by the bench, reads the same in its TOML (xtask/src/bench_contenders.rs): one MQTT 3.1.1 listener, an in-flight window of 65,535 (its largest), no pause between accepted connections; it has no TCP_NODELAY setting. Publishers keep 64 messages between publish and delivery to every subscriber (closed loops). Latency is from the publisher's send to the subscriber's read, in one process clock. The three brokers take turns within each round, each first in turn; figures are medians of 5 rounds (3 for the idle connections). The generator and the broker share the machine's 2 cores. Idle connections are held open after their CONNACK; idle sessions connected once with clean session off, subscribed and left, 1 ms apart (rumqttd 0.20.0 closes a new connection while it still tears the last one down: \"no-connection id 0 is already gone\" in its log). Memory of idle connections, where tabmq broker misses its target: massif on 1,000 held connections put the build before this one at 5.5 KB per connection: its two tasks per connection (reader and writer, 1.5 KB), the outgoing channel's first block (tokio's unbounded mpsc allocates 32 slots up front, 1 KB) with a watch channel and a semaphore beside it, the broker core's connection and session entries with their hash tables' slack (about 1.5 KB), and the read buffer (512 B). The queue, the pause and the read credit are now one small allocation shared by the broker task and the connection's tasks (crates/cli/src/server/conn_link.rs), and a plain TCP connection makes its read buffer once the socket is readable and hands it to the broker task as it is (crates/cli/src/server/net.rs, ReadSide): 10,000 idle connections went from 55 MB to 35 MB. One task for all four kinds of connection (with TLS's and WebSocket's handshake states) had taken 12 KB per connection. Mosquitto's 0.73 KB is a struct in one epoll loop; reaching it means the native server's connections become entries in one event loop rather than tasks: not done.";
    let body = rows.iter().map(json_row).collect::<Vec<_>>().join(",\n  ");
    let file = env.tools.join("bench-broker-rows.json");
    std::fs::write(
        &file,
        format!(
            "{{\"groups\": [\"native broker\"], \"notes\": {{\"native broker\": {notes:?}}}, \"rows\": [\n  {body}\n]}}\n"
        ),
    )
    .map_err(|e| e.to_string())?;
    let mut node = env.command("node");
    node.current_dir(env.root.join("tests"))
        .arg("bench/merge.mjs")
        .env("TABMQ_BENCH_ROWS", &file)
        .env("TABMQ_BENCH_OUT", env.root.join("bench"));
    cmd::run(&mut node)
}

/// A filtered run's rows, printed and not written: the others were not measured.
fn print_only(rows: &[Row]) -> Result<(), String> {
    for r in rows {
        println!(
            "{}: {:.4} against {:.4} {}",
            r.case, r.ours, r.theirs, r.unit
        );
    }
    Ok(())
}

/// What a memory case holds while the broker's RSS is read: nothing for sessions (their
/// clients are gone), the open sockets for idle connections.
type IdleLoad = fn(std::net::SocketAddr, usize, &str) -> Result<Vec<std::net::TcpStream>, String>;

struct MemoryCase {
    case: String,
    count: usize,
    rounds: usize,
    load: IdleLoad,
    /// Against Mosquitto, and against rumqttd.
    targets: [Option<f64>; 2],
}

/// RSS growth of fresh brokers: for idle persistent sessions (connected once, then gone),
/// and for idle connections held open. Rounds rotate as the throughput rounds do.
fn memory(env: &Env, wanted: &dyn Fn(&str) -> bool, rows: &mut Vec<Row>) -> Result<(), String> {
    let sessions: IdleLoad =
        |addr, n, tag| loadgen::idle_sessions(addr, n, tag).map(|()| Vec::new());
    let cases = [
        MemoryCase {
            case: format!(
                "native broker: memory of {IDLE_SESSIONS} idle persistent sessions (RSS growth)"
            ),
            count: IDLE_SESSIONS,
            rounds: ROUNDS,
            load: sessions,
            // Within 1.2× of Mosquitto's memory.
            targets: [Some(0.83), None],
        },
        MemoryCase {
            case: format!(
                "native broker: memory of {IDLE_CONNECTIONS} idle connections (RSS growth)"
            ),
            count: IDLE_CONNECTIONS,
            rounds: 3,
            load: loadgen::idle_connections,
            // No more than Mosquitto's.
            targets: [Some(1.0), None],
        },
    ];
    for MemoryCase {
        case,
        count,
        rounds,
        load,
        targets,
    } in cases
    {
        if !wanted(&case) {
            continue;
        }
        let mut serial = 0;
        let all = per_broker(rounds, |who| {
            serial += 1;
            let broker = who.start(env)?;
            std::thread::sleep(Duration::from_millis(300));
            let before = broker.rss_kib()?;
            let held = load(broker.addr, count, &format!("m{serial}"))
                .map_err(|e| format!("{}, {case}: {e}", who.label()))?;
            std::thread::sleep(Duration::from_millis(500));
            let after = broker.rss_kib()?;
            drop(held);
            Ok(vec![(after - before).max(1.0)])
        })?;
        let ours = figures_of(&all, Contender::Tabmq);
        for (peer, target) in PEERS.into_iter().zip(targets) {
            rows.push(Row {
                case: case.clone(),
                unit: "KiB",
                ours: ours[0],
                peer,
                theirs: figures_of(&all, peer)[0],
                higher_is_better: false,
                target,
            });
        }
    }
    Ok(())
}
