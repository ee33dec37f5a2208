//! Mosquitto 2.0.11's own broker tests, from Debian's source package, run against
//! `tabmq broker` by `tests/mosquitto_suite/run.py`. This module fetches the source (once)
//! and makes the suite's TLS certificates with the package's own script.

use crate::cmd;
use crate::setup::{is_root, Env};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Our own sources file: the deb-src twin of the machine's Debian lines, added only when
/// no deb-src line exists.
const DEB_SRC_FILE: &str = "/etc/apt/sources.list.d/tabmq-deb-src.sources";

/// The unpacked source tree (the directory holding `test/broker/test.py`), if present.
fn unpacked(dir: &Path) -> Option<PathBuf> {
    std::fs::read_dir(dir)
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.join("test").join("broker").join("test.py").is_file())
}

/// Runs `args` as root: directly, through `sudo -n`, or not at all.
fn as_root(args: &[&str]) -> Result<(), String> {
    let mut full: Vec<&str> = Vec::new();
    if !is_root() {
        if cmd::output(Command::new("sudo").args(["-n", "true"])).is_none() {
            return Err(format!(
                "this needs root: {}\nrun it with sudo, or as root",
                args.join(" ")
            ));
        }
        full.extend(["sudo", "-n"]);
    }
    full.extend_from_slice(args);
    let mut c = Command::new(full[0]);
    c.args(&full[1..]).env("DEBIAN_FRONTEND", "noninteractive");
    cmd::run(&mut c)
}

fn has_deb_src() -> bool {
    let mut files = vec![PathBuf::from("/etc/apt/sources.list")];
    if let Ok(entries) = std::fs::read_dir("/etc/apt/sources.list.d") {
        files.extend(entries.filter_map(|e| e.ok().map(|e| e.path())));
    }
    files.iter().any(|f| {
        let ext = f.extension().and_then(|e| e.to_str()).unwrap_or("");
        (ext == "list" || ext == "sources" || f.ends_with("sources.list"))
            && std::fs::read_to_string(f).is_ok_and(|text| {
                text.lines().any(|l| {
                    let l = l.trim();
                    l.starts_with("deb-src ") || (l.starts_with("Types:") && l.contains("deb-src"))
                })
            })
    })
}

/// deb822 stanzas of type `deb` from the machine's sources, as `deb-src` stanzas.
fn deb_src_stanzas() -> String {
    let mut out = String::new();
    let mut files = vec![PathBuf::from("/etc/apt/sources.list")];
    if let Ok(entries) = std::fs::read_dir("/etc/apt/sources.list.d") {
        let mut more: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
        more.sort();
        files.extend(more);
    }
    for file in files {
        let ext = file.extension().and_then(|e| e.to_str()).unwrap_or("");
        let Ok(text) = std::fs::read_to_string(&file) else {
            continue;
        };
        if ext == "sources" {
            for stanza in text.split("\n\n") {
                let is_deb = stanza.lines().any(|l| {
                    l.trim_start().starts_with("Types:")
                        && l.split_whitespace().skip(1).any(|t| t == "deb")
                });
                let debian = stanza.contains("debian.org") || stanza.contains("debian-archive");
                if !is_deb || !debian {
                    continue;
                }
                for line in stanza.lines() {
                    let line = line.trim();
                    if line.starts_with('#') || line.is_empty() {
                        continue;
                    }
                    if line.starts_with("Types:") {
                        out.push_str("Types: deb-src\n");
                    } else {
                        out.push_str(line);
                        out.push('\n');
                    }
                }
                out.push('\n');
            }
        } else if file.ends_with("sources.list") || ext == "list" {
            for line in text.lines() {
                if let Some(rest) = line.trim().strip_prefix("deb ") {
                    if rest.contains("debian.org") {
                        out.push_str(&format!("# from {}\nTypes: deb-src\n", file.display()));
                        let mut parts = rest.split_whitespace().filter(|p| !p.starts_with('['));
                        let uri = parts.next().unwrap_or_default();
                        let suite = parts.next().unwrap_or_default();
                        let comps: Vec<&str> = parts.collect();
                        out.push_str(&format!(
                            "URIs: {uri}\nSuites: {suite}\nComponents: {}\n\n",
                            comps.join(" ")
                        ));
                    }
                }
            }
        }
    }
    out
}

fn ensure_deb_src() -> Result<(), String> {
    if has_deb_src() {
        return Ok(());
    }
    let stanzas = deb_src_stanzas();
    if stanzas.is_empty() {
        return Err("no Debian lines in the apt sources to derive deb-src from".into());
    }
    let tmp = std::env::temp_dir().join("tabmq-deb-src.sources");
    std::fs::write(&tmp, stanzas).map_err(|e| format!("{}: {e}", tmp.display()))?;
    let installed = as_root(&[
        "install",
        "-m",
        "0644",
        &tmp.to_string_lossy(),
        DEB_SRC_FILE,
    ]);
    let _ = std::fs::remove_file(&tmp);
    installed?;
    as_root(&["apt-get", "update", "-q"])
}

/// The unpacked Mosquitto source, fetched with `apt-get source` on first use.
pub fn ensure_source(env: &Env) -> Result<PathBuf, String> {
    let dir = env.tools.join("mosquitto-source");
    if let Some(src) = unpacked(&dir) {
        return ensure_certs(&src).map(|_| src);
    }
    ensure_deb_src()?;
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut apt = Command::new("apt-get");
    apt.current_dir(&dir).args(["source", "-q", "mosquitto"]);
    cmd::run(&mut apt)?;
    let src = unpacked(&dir).ok_or("apt-get source mosquitto unpacked no test/broker")?;
    ensure_certs(&src)?;
    Ok(src)
}

/// The suite's certificates, made by the package's own `test/ssl/gen.sh` (OpenSSL's
/// command line) when missing, readable by whoever runs the broker.
fn ensure_certs(src: &Path) -> Result<(), String> {
    let ssl = src.join("test").join("ssl");
    if ssl.join("all-ca.crt").is_file() && ssl.join("client.key").is_file() {
        return Ok(());
    }
    let mut gen = Command::new("sh");
    gen.current_dir(&ssl)
        .arg("./gen.sh")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    cmd::run(&mut gen)?;
    cmd::run(Command::new("chmod").args(["-R", "a+rX"]).arg(&ssl))
}

/// The layer: the suite against `tabmq broker`, `N passed, M failed`.
pub fn run(env: &Env, python: &Path) -> Result<(), String> {
    let src = ensure_source(env)?;
    cmd::run(env.command("cargo").args(["build", "-p", "tabmq-cli"]))?;
    let bin = env.root.join("target").join("debug").join("tabmq");
    let mut runner = env.command(&python.to_string_lossy());
    runner
        .arg("tests/mosquitto_suite/run.py")
        .arg("--src")
        .arg(&src)
        .env("TABMQ_BIN", bin);
    cmd::run(&mut runner)
}
