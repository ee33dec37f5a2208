//! Test support: a real Mosquitto on a free loopback port, and a TCP proxy that cuts
//! connections. Both stop when dropped.

#![allow(dead_code)]

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// A Mosquitto of our own on a free loopback port, stopped on drop.
pub struct Mosquitto {
    child: Child,
    pub port: u16,
    log: std::path::PathBuf,
    _dir: TempDir,
}

struct TempDir(std::path::PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl Mosquitto {
    /// What Mosquitto logged so far (`log_type all`).
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Starts Mosquitto with `extra` lines of configuration.
    pub fn start(extra: &str) -> Mosquitto {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let dir =
            std::env::temp_dir().join(format!("tabmq-mosquitto-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        // Mosquitto started as root drops to its own user, which must read the config and
        // write its log.
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
        let log = dir.join("mosquitto.log");
        let conf = dir.join("mosquitto.conf");
        std::fs::write(
            &conf,
            format!(
                "listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\nlog_type all\nlog_dest file {}\n{extra}",
                log.display()
            ),
        )
        .unwrap();
        std::fs::set_permissions(&conf, std::fs::Permissions::from_mode(0o644)).unwrap();
        let child = Command::new("mosquitto")
            .arg("-c")
            .arg(&conf)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("mosquitto is installed (cargo xtask test installs it)");
        let broker = Mosquitto {
            child,
            port,
            log,
            _dir: TempDir(dir),
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "mosquitto did not listen on {port}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        broker
    }
}

impl Drop for Mosquitto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Forwards TCP connections to `upstream`, and cuts each of the first `max_cuts` after a
/// random number of bytes (seeded), so clients must reconnect and resume.
pub struct CuttingProxy {
    pub port: u16,
    pub cuts: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
    accept: Option<JoinHandle<()>>,
}

impl CuttingProxy {
    pub fn start(upstream: u16, seed: u64, max_cuts: usize) -> CuttingProxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let stop = Arc::new(AtomicBool::new(false));
        let cuts = Arc::new(AtomicUsize::new(0));
        let (stop2, cuts2) = (stop.clone(), cuts.clone());
        let accept = std::thread::spawn(move || {
            let mut rng = seed | 1;
            let mut pumps = Vec::new();
            while !stop2.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((client, _)) => {
                        let Ok(server) = TcpStream::connect(("127.0.0.1", upstream)) else {
                            continue;
                        };
                        rng ^= rng << 13;
                        rng ^= rng >> 7;
                        rng ^= rng << 17;
                        let budget = if cuts2.load(Ordering::Relaxed) < max_cuts {
                            200 + (rng % 6_000) as i64
                        } else {
                            i64::MAX
                        };
                        let budget = Arc::new(AtomicI64::new(budget));
                        let cut_flag = Arc::new(AtomicBool::new(false));
                        for (from, to) in [
                            (client.try_clone().unwrap(), server.try_clone().unwrap()),
                            (server, client),
                        ] {
                            let (budget, stop, cuts, cut_flag) = (
                                budget.clone(),
                                stop2.clone(),
                                cuts2.clone(),
                                cut_flag.clone(),
                            );
                            pumps.push(std::thread::spawn(move || {
                                pump(from, to, &budget, &stop, &cuts, &cut_flag)
                            }));
                        }
                    }
                    Err(e) if e.kind() == ErrorKind::WouldBlock => {
                        std::thread::sleep(Duration::from_millis(5));
                    }
                    Err(_) => break,
                }
            }
            for p in pumps {
                let _ = p.join();
            }
        });
        CuttingProxy {
            port,
            cuts,
            stop,
            accept: Some(accept),
        }
    }
}

fn pump(
    mut from: TcpStream,
    mut to: TcpStream,
    budget: &AtomicI64,
    stop: &AtomicBool,
    cuts: &AtomicUsize,
    cut_flag: &AtomicBool,
) {
    let _ = from.set_read_timeout(Some(Duration::from_millis(50)));
    let mut buf = [0u8; 4096];
    while !stop.load(Ordering::Relaxed) {
        match from.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                let left = budget.fetch_sub(n as i64, Ordering::Relaxed) - n as i64;
                if left < 0 {
                    // Forward part of the chunk, then cut both ways mid-stream.
                    let part = (n as i64 + left).max(0) as usize;
                    let _ = to.write_all(&buf[..part]);
                    if !cut_flag.swap(true, Ordering::Relaxed) {
                        cuts.fetch_add(1, Ordering::Relaxed);
                    }
                    break;
                }
                if to.write_all(&buf[..n]).is_err() {
                    break;
                }
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                if cut_flag.load(Ordering::Relaxed) {
                    break;
                }
            }
            Err(_) => break,
        }
    }
    let _ = from.shutdown(Shutdown::Both);
    let _ = to.shutdown(Shutdown::Both);
}

impl Drop for CuttingProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.accept.take() {
            let _ = h.join();
        }
    }
}
