//! Real brokers for the test steps that need them, on free loopback ports, stopped when
//! the guard is dropped: Debian's Mosquitto and `tabmq broker`, each with a WebSocket
//! listener (and the TCP listener Mosquitto 2.0.11 insists on).

use crate::cmd;
use crate::setup::Env;
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Running brokers; dropping it stops them.
pub struct Brokers {
    children: Vec<Child>,
    /// `name=ws://...` pairs, comma-separated.
    pub ws_urls: String,
}

impl Drop for Brokers {
    fn drop(&mut self) {
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn free_port() -> Result<u16, String> {
    let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    Ok(listener.local_addr().map_err(|e| e.to_string())?.port())
}

fn wait_for_port(port: u16, child: &mut Child, name: &str) -> Result<(), String> {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!("{name} exited: {status}"));
        }
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Err(format!("{name} did not listen on {port} within 10 s"))
}

pub fn start_ws_brokers(env: &Env) -> Result<Brokers, String> {
    cmd::run(env.command("cargo").args(["build", "-p", "tabmq-cli"]))?;
    let mut brokers = Brokers {
        children: Vec::new(),
        ws_urls: String::new(),
    };
    let (tcp, ws) = (free_port()?, free_port()?);
    let conf = env.tools.join("mosquitto-ws.conf");
    std::fs::create_dir_all(&env.tools).map_err(|e| e.to_string())?;
    std::fs::write(
        &conf,
        format!("listener {tcp} 127.0.0.1\nlistener {ws} 127.0.0.1\nprotocol websockets\nallow_anonymous true\n"),
    )
    .map_err(|e| e.to_string())?;
    let mut mosquitto = Command::new("/usr/sbin/mosquitto")
        .arg("-c")
        .arg(&conf)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("mosquitto: {e}"))?;
    let ready = wait_for_port(ws, &mut mosquitto, "mosquitto");
    brokers.children.push(mosquitto);
    ready?;
    let (tabmq_tcp, tabmq_ws) = (free_port()?, free_port()?);
    let bin = env.root.join("target").join("debug").join("tabmq");
    let mut tabmq = Command::new(bin)
        .args([
            "broker",
            "-p",
            &tabmq_tcp.to_string(),
            "--ws-port",
            &tabmq_ws.to_string(),
        ])
        .stdout(Stdio::null())
        .spawn()
        .map_err(|e| format!("tabmq broker: {e}"))?;
    let ready = wait_for_port(tabmq_ws, &mut tabmq, "tabmq broker");
    brokers.children.push(tabmq);
    ready?;
    brokers.ws_urls = format!("mosquitto=ws://127.0.0.1:{ws},tabmq=ws://127.0.0.1:{tabmq_ws}");
    Ok(brokers)
}
