//! The brokers `cargo xtask bench broker` measures, each started fresh on a free loopback
//! port with the same settings in its own format: `tabmq broker` and Debian's Mosquitto
//! read one mosquitto.conf; rumqttd (the crate, which the bench builds once under
//! `target/xtask/rumqttd`) reads the TOML equivalent.

use crate::cmd;
use crate::setup::Env;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// rumqttd's version: the newest on crates.io when it joined the bench.
const RUMQTTD_VERSION: &str = "0.20.0";

/// A broker the bench can start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Contender {
    Tabmq,
    Mosquitto,
    Rumqttd,
}

impl Contender {
    /// How the results name it.
    pub fn label(self) -> &'static str {
        match self {
            Contender::Tabmq => "tabmq broker",
            Contender::Mosquitto => "Mosquitto 2.0.11 (Debian)",
            Contender::Rumqttd => "rumqttd 0.20.0 (crates.io)",
        }
    }

    /// Starts a fresh one; it stops when the result is dropped.
    pub fn start(self, env: &Env) -> Result<Running, String> {
        let port = free_port()?;
        let (program, conf) = match self {
            Contender::Tabmq => (
                env.root.join("target/release/tabmq"),
                mosquitto_conf(env, port)?,
            ),
            Contender::Mosquitto => (
                PathBuf::from("/usr/sbin/mosquitto"),
                mosquitto_conf(env, port)?,
            ),
            Contender::Rumqttd => (rumqttd(env)?, rumqttd_conf(env, port)?),
        };
        let mut command = Command::new(program);
        if self == Contender::Tabmq {
            command.arg("broker");
        }
        command.arg("-c").arg(&conf);
        // Its output, for when a run fails: the last start of each broker's.
        let log = env
            .tools
            .join(format!("bench-broker-{self:?}.log").to_lowercase());
        let running = start(command, port, self.label(), &log);
        // Read once the broker listens; not left behind for every port a run used.
        let _ = std::fs::remove_file(&conf);
        running
    }
}

/// A broker process, killed when dropped.
pub struct Running {
    child: Child,
    pub addr: SocketAddr,
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Running {
    /// Resident memory, in KiB, from /proc.
    pub fn rss_kib(&self) -> Result<f64, String> {
        crate::procfs::rss_kib(self.child.id())
            .map(|kib| kib as f64)
            .ok_or_else(|| "no VmRSS in /proc".into())
    }
}

fn free_port() -> Result<u16, String> {
    let l = TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    Ok(l.local_addr().map_err(|e| e.to_string())?.port())
}

fn start(mut command: Command, port: u16, name: &str, log: &Path) -> Result<Running, String> {
    let file = std::fs::File::create(log).map_err(|e| format!("{}: {e}", log.display()))?;
    let err = file.try_clone().map_err(|e| e.to_string())?;
    let mut child = command
        .stdout(Stdio::from(file))
        .stderr(Stdio::from(err))
        .spawn()
        .map_err(|e| format!("{name}: {e}"))?;
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(addr).is_err() {
        if Instant::now() > deadline || matches!(child.try_wait(), Ok(Some(_))) {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!("{name} did not listen on {port}"));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(Running { child, addr })
}

/// The settings every broker runs with, in Mosquitto's format, which `tabmq broker -c`
/// reads too: unlimited in-flight and queued messages, as the generator's closed loops
/// keep their own window; TCP_NODELAY on.
fn mosquitto_conf(env: &Env, port: u16) -> Result<PathBuf, String> {
    let conf = env.tools.join(format!("bench-broker-{port}.conf"));
    let text = format!(
        "listener {port} 127.0.0.1\nallow_anonymous true\nset_tcp_nodelay true\nmax_inflight_messages 0\nmax_queued_messages 0\n"
    );
    std::fs::write(&conf, text).map_err(|e| e.to_string())?;
    Ok(conf)
}

/// The same for rumqttd, from its own `rumqttd.toml`: anonymous MQTT 3.1.1 on one
/// listener, the in-flight window at its largest (65,535), room for the idle-connection
/// run, and no pause between accepted connections (its sample waits 1 ms). It has no
/// TCP_NODELAY setting; its router's segment sizes are the sample's.
fn rumqttd_conf(env: &Env, port: u16) -> Result<PathBuf, String> {
    let conf = env.tools.join(format!("bench-rumqttd-{port}.toml"));
    let text = format!(
        "id = 0\n\n[router]\nid = 0\nmax_connections = 20000\nmax_outgoing_packet_count = 200\n\
         max_segment_size = 104857600\nmax_segment_count = 10\n\n[v4.1]\nname = \"v4-1\"\n\
         listen = \"127.0.0.1:{port}\"\nnext_connection_delay_ms = 0\n\n[v4.1.connections]\n\
         connection_timeout_ms = 60000\nmax_payload_size = 1048576\nmax_inflight_count = 65535\n\
         dynamic_filters = true\n"
    );
    std::fs::write(&conf, text).map_err(|e| e.to_string())?;
    Ok(conf)
}

/// rumqttd's binary, built from crates.io on first use (about 3 minutes on 2 cores). Not
/// `--locked`: the `metrics` 0.22.1 its lock file pins no longer compiles with Rust 1.95
/// (rust-lang/rust#141402); the newest compatible versions do.
fn rumqttd(env: &Env) -> Result<PathBuf, String> {
    let root = env.tools.join("rumqttd");
    let binary = root.join("bin/rumqttd");
    let stamp = root.join("version");
    let built = std::fs::read_to_string(&stamp).is_ok_and(|v| v.trim() == RUMQTTD_VERSION);
    if binary.exists() && built {
        return Ok(binary);
    }
    let root_arg = root.to_string_lossy().into_owned();
    cmd::run(env.command("cargo").args([
        "install",
        "rumqttd",
        "--version",
        RUMQTTD_VERSION,
        "--root",
        &root_arg,
    ]))?;
    std::fs::write(&stamp, RUMQTTD_VERSION).map_err(|e| format!("{}: {e}", stamp.display()))?;
    Ok(binary)
}
