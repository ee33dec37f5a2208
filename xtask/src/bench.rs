//! `cargo xtask bench`: every figure against a peer in the same run, as a ratio.

use crate::cmd;
use crate::setup::{setup, Needs};

const CASES: [&str; 1] = ["codec"];

pub fn run(args: &[String]) -> Result<(), String> {
    let cases: Vec<&str> = if args.is_empty() {
        CASES.to_vec()
    } else {
        args.iter().map(String::as_str).collect()
    };
    if let Some(unknown) = cases.iter().find(|c| !CASES.contains(c)) {
        return Err(format!("unknown bench case {unknown:?}; known: {CASES:?}"));
    }
    let env = setup(Needs::All)?;
    // Only the codec case exists so far.
    let _ = cases;
    let pkg = env.tools.join("bench-pkg");
    cmd::run(env.command("cargo").args([
        "build",
        "-p",
        "tabmq-js",
        "--features",
        "bench",
        "--release",
        "--target",
        "wasm32-unknown-unknown",
    ]))?;
    let wasm = env
        .root
        .join("target/wasm32-unknown-unknown/release/tabmq_js.wasm");
    let pkg_arg = pkg.to_string_lossy().into_owned();
    cmd::run(env.command("wasm-bindgen").args([
        "--target",
        "nodejs",
        "--out-dir",
        &pkg_arg,
        &wasm.to_string_lossy(),
    ]))?;
    // Measure what ships: the wasm-opt'd module.
    let bg = pkg.join("tabmq_js_bg.wasm");
    let bg_arg = bg.to_string_lossy().into_owned();
    cmd::run(
        env.command("wasm-opt")
            .args(["-O3", &bg_arg, "-o", &bg_arg]),
    )?;
    // The bench profile: speed, where the release profile is tuned for the web bundle's size.
    cmd::run(env.command("cargo").args([
        "bench",
        "--no-run",
        "-p",
        "tabmq-core",
        "--bench",
        "codec",
    ]))?;
    let native = newest_bench_binary(&env.root.join("target/release/deps"))?;
    let mut node = env.command("node");
    node.current_dir(env.root.join("tests"))
        .arg("bench/codec.mjs")
        .env("TABMQ_BENCH_PKG", pkg.join("tabmq_js.js"))
        .env("TABMQ_BENCH_OUT", env.root.join("bench"))
        .env("TABMQ_BENCH_WORK", &env.tools)
        .env("TABMQ_NATIVE_BENCH", native);
    cmd::run(&mut node)
}

/// Cargo names bench binaries `codec-<hash>`; the newest is the one just built.
fn newest_bench_binary(deps: &std::path::Path) -> Result<std::path::PathBuf, String> {
    let entries = std::fs::read_dir(deps).map_err(|e| format!("{}: {e}", deps.display()))?;
    entries
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| {
            let name = p.file_name().map(|n| n.to_string_lossy().into_owned());
            name.is_some_and(|n| n.starts_with("codec-") && !n.contains('.'))
        })
        .max_by_key(|p| std::fs::metadata(p).and_then(|m| m.modified()).ok())
        .ok_or_else(|| "the native codec bench binary was not built".into())
}
