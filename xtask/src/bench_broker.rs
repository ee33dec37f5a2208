//! `cargo xtask bench broker`: `tabmq broker` against Debian's Mosquitto under the same
//! load generator ([`crate::loadgen`]) on loopback, in alternating rounds: messages/s and
//! p99 latency at each QoS, and the memory 1,000 idle persistent sessions take.

use crate::cmd;
use crate::loadgen::{self, Load};
use crate::setup::Env;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tabmq_core::QoS;

/// Medians of five alternating rounds: a round at QoS 0 lasts under a second, and the
/// load generator shares the 2 cores with the broker, so single rounds vary widely.
const ROUNDS: usize = 5;
const WINDOW: usize = 64;
const IDLE_SESSIONS: usize = 1000;

/// A broker process, killed when dropped.
struct Running {
    child: Child,
    addr: SocketAddr,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Running {
    /// Resident memory, in KiB, from /proc.
    fn rss_kib(&self) -> Result<f64, String> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .map_err(|e| format!("/proc: {e}"))?;
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
            .ok_or_else(|| "no VmRSS".into())
    }
}

fn free_port() -> Result<u16, String> {
    let l = TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    Ok(l.local_addr().map_err(|e| e.to_string())?.port())
}

fn start(mut command: Command, port: u16, name: &str) -> Result<Running, String> {
    let mut child = command
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("{name}: {e}"))?;
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(addr).is_err() {
        if Instant::now() > deadline || matches!(child.try_wait(), Ok(Some(_))) {
            let _ = child.kill();
            return Err(format!("{name} did not listen on {port}"));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(Running { child, addr })
}

/// The configuration both brokers run with: Mosquitto's format, which `tabmq broker -c`
/// reads too. Unlimited in-flight and queued messages, as the generator's closed loops keep
/// their own window; TCP_NODELAY on.
fn config(env: &Env, port: u16) -> Result<std::path::PathBuf, String> {
    let conf = env.tools.join(format!("bench-broker-{port}.conf"));
    let text = format!(
        "listener {port} 127.0.0.1\nallow_anonymous true\nset_tcp_nodelay true\nmax_inflight_messages 0\nmax_queued_messages 0\n"
    );
    std::fs::write(&conf, text).map_err(|e| e.to_string())?;
    Ok(conf)
}

fn start_tabmq(env: &Env) -> Result<Running, String> {
    let port = free_port()?;
    let conf = config(env, port)?;
    let mut c = Command::new(env.root.join("target/release/tabmq"));
    c.arg("broker").arg("-c").arg(&conf);
    let running = start(c, port, "tabmq broker");
    // Read once the broker listens; not left behind for every port a run used.
    let _ = std::fs::remove_file(&conf);
    running
}

fn start_mosquitto(env: &Env) -> Result<Running, String> {
    let port = free_port()?;
    let conf = config(env, port)?;
    let mut c = Command::new("/usr/sbin/mosquitto");
    c.arg("-c").arg(&conf);
    let running = start(c, port, "mosquitto");
    let _ = std::fs::remove_file(&conf);
    running
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

struct Row {
    case: String,
    unit: &'static str,
    ours: f64,
    theirs: f64,
    higher_is_better: bool,
    target: Option<f64>,
}

fn json_row(r: &Row) -> String {
    let target = r.target.map_or("null".to_owned(), |t| t.to_string());
    format!(
        "{{\"case\": {:?}, \"unit\": {:?}, \"ours\": {}, \"peer\": \"Mosquitto 2.0.11 (Debian)\", \"theirs\": {}, \"higher_is_better\": {}, \"target\": {}}}",
        r.case, r.unit, r.ours, r.theirs, r.higher_is_better, target
    )
}

/// Expects `target/release/tabmq` built (`bench::run` builds it).
pub fn run(env: &Env) -> Result<(), String> {
    let mut rows = Vec::new();
    let shapes = [
        ("1 publisher to 1 subscriber", 1, 1),
        ("fan-in, 4 publishers to 1 subscriber", 4, 1),
        ("fan-out, 1 publisher to 4 subscribers", 1, 4),
    ];
    let tabmq = start_tabmq(env)?;
    let mosquitto = start_mosquitto(env)?;
    let mut serial = 0;
    for qos in [QoS::AtMostOnce, QoS::AtLeastOnce, QoS::ExactlyOnce] {
        for (shape, publishers, subscribers) in shapes {
            let load = Load {
                qos,
                publishers,
                subscribers,
                payload: 64,
                messages: [80_000, 30_000, 16_000][qos.as_u8() as usize] / publishers,
                window: WINDOW,
            };
            let (mut ours, mut theirs) = (Vec::new(), Vec::new());
            for round in 0..ROUNDS {
                let order = if round % 2 == 0 {
                    [true, false]
                } else {
                    [false, true]
                };
                for is_ours in order {
                    serial += 1;
                    let broker = if is_ours { &tabmq } else { &mosquitto };
                    let outcome = loadgen::run(broker.addr, &load, &format!("b{serial}"))?;
                    if is_ours { &mut ours } else { &mut theirs }.push(outcome);
                }
            }
            let q = qos.as_u8();
            let pick = |v: &[loadgen::Outcome], f: fn(&loadgen::Outcome) -> f64| {
                median(v.iter().map(f).collect())
            };
            rows.push(Row {
                case: format!("native broker: {shape}, QoS {q}, 64 B, window {WINDOW}"),
                unit: "msgs/s",
                ours: pick(&ours, |o| o.rate),
                theirs: pick(&theirs, |o| o.rate),
                higher_is_better: true,
                target: (q == 0).then_some(1.0),
            });
            rows.push(Row {
                case: format!("native broker: {shape}, QoS {q}, p99 latency"),
                unit: "ms",
                ours: pick(&ours, |o| o.p99_ms),
                theirs: pick(&theirs, |o| o.p99_ms),
                higher_is_better: false,
                target: None,
            });
        }
    }
    drop((tabmq, mosquitto));
    // Memory: fresh brokers, measured before and after the idle sessions.
    let (mut ours, mut theirs) = (Vec::new(), Vec::new());
    for round in 0..ROUNDS {
        for is_ours in [true, false] {
            let broker = if is_ours {
                start_tabmq(env)?
            } else {
                start_mosquitto(env)?
            };
            std::thread::sleep(Duration::from_millis(300));
            let before = broker.rss_kib()?;
            loadgen::idle_sessions(broker.addr, IDLE_SESSIONS, &format!("m{round}"))?;
            std::thread::sleep(Duration::from_millis(500));
            let after = broker.rss_kib()?;
            if is_ours { &mut ours } else { &mut theirs }.push((after - before).max(1.0));
        }
    }
    rows.push(Row {
        case: format!(
            "native broker: memory of {IDLE_SESSIONS} idle persistent sessions (RSS growth)"
        ),
        unit: "KiB",
        ours: median(ours),
        theirs: median(theirs),
        higher_is_better: false,
        // Within 1.2× of Mosquitto's memory.
        target: Some(0.83),
    });
    let notes = "The load generator (xtask/src/loadgen.rs) speaks MQTT 3.1.1 over loopback TCP with TCP_NODELAY on both sides; Both brokers read the same Mosquitto-format configuration: set_tcp_nodelay true, and unlimited in-flight and queued messages. Publishers keep 64 messages between publish and delivery to every subscriber (closed loops). Latency is from the publisher's send to the subscriber's read, in one process clock. The generator and the broker share the machine's 2 cores.";
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
