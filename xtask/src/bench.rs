//! `cargo xtask bench`: every figure against a peer in the same run, as a ratio.

use crate::cmd;
use crate::setup::{setup, Needs};

/// The cases, in the order a full run takes them.
const CASES: [&str; 6] = ["codec", "size", "client", "intab", "broker", "views"];
/// The peer of the in-tab case, from crates.io.
const MQTT5_WASM_VERSION: &str = "2.1.9";

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
    let needs_package = cases
        .iter()
        .any(|c| matches!(*c, "size" | "client" | "intab"));
    let package = if needs_package {
        Some(crate::npm::build(&env)?)
    } else {
        None
    };
    // tabmq broker serves the client case's large frames and is the broker case's subject.
    if cases
        .iter()
        .any(|c| matches!(*c, "client" | "broker" | "views"))
    {
        cmd::run(
            env.command("cargo")
                .args(["build", "-p", "tabmq-cli", "--release"]),
        )?;
    }
    for case in cases {
        println!("xtask: ── bench {case} ──");
        match case {
            "codec" => codec(&env)?,
            "broker" => crate::bench_broker::run(&env)?,
            script => {
                let dir = package.as_ref().map(|p| p.dir.clone()).unwrap_or_default();
                let mut node = env.command("node");
                if script == "intab" {
                    node.env("TABMQ_MQTT5_WASM", mqtt5_wasm(&env)?)
                        .env("TABMQ_MQTT5_WASM_VERSION", MQTT5_WASM_VERSION);
                }
                if script == "views" {
                    // The built lab, its data views under a flood.
                    node.env("TABMQ_DIST", crate::build_lab(&env)?);
                }
                node.current_dir(env.root.join("tests"))
                    .arg(format!("bench/{script}.mjs"))
                    .env("TABMQ_NPM_DIR", dir)
                    .env("TABMQ_BENCH_OUT", env.root.join("bench"))
                    .env("TABMQ_BENCH_WORK", &env.tools)
                    .env("TABMQ_BIN", env.root.join("target/release/tabmq"))
                    .env("TABMQ_CHROMIUM_ARGS", crate::test::CHROMIUM_ARGS.join(" "));
                cmd::run(&mut node)?;
            }
        }
    }
    Ok(())
}

/// mqtt5-wasm from crates.io with its `broker` feature, built for the web with our
/// wasm-bindgen (pinned to the CLI's version); the folder of its JavaScript and wasm.
fn mqtt5_wasm(env: &crate::setup::Env) -> Result<std::path::PathBuf, String> {
    let dir = env.tools.join("mqtt5-wasm");
    let pkg = dir.join("pkg");
    // The build is kept, with the version it was built from.
    let stamp = pkg.join("version");
    let built = std::fs::read_to_string(&stamp).unwrap_or_default();
    if pkg.join("mqtt5_wasm_bg.wasm").exists() && built == MQTT5_WASM_VERSION {
        return Ok(pkg);
    }
    std::fs::create_dir_all(dir.join("src")).map_err(|e| e.to_string())?;
    let bindgen = crate::setup::locked_wasm_bindgen_version(&env.root)?;
    // A workspace of its own: it is not part of ours.
    let manifest = format!(
        "[package]\nname = \"mqtt5-wasm-bench\"\nversion = \"0.0.0\"\nedition = \"2021\"\npublish = false\n\n[lib]\ncrate-type = [\"cdylib\"]\n\n[dependencies]\nmqtt5-wasm = {{ version = \"={MQTT5_WASM_VERSION}\", features = [\"broker\"] }}\nwasm-bindgen = \"={bindgen}\"\n\n[profile.release]\nopt-level = 3\nlto = true\n\n[workspace]\n"
    );
    std::fs::write(dir.join("Cargo.toml"), manifest).map_err(|e| e.to_string())?;
    std::fs::write(dir.join("src/lib.rs"), "pub use mqtt5_wasm::*;\n")
        .map_err(|e| e.to_string())?;
    cmd::run(env.command("cargo").current_dir(&dir).args([
        "build",
        "--release",
        "--target",
        "wasm32-unknown-unknown",
    ]))?;
    let wasm = dir.join("target/wasm32-unknown-unknown/release/mqtt5_wasm_bench.wasm");
    cmd::run(
        env.command("wasm-bindgen")
            .args(["--target", "web", "--out-name", "mqtt5_wasm", "--out-dir"])
            .arg(&pkg)
            .arg(&wasm),
    )?;
    std::fs::write(&stamp, MQTT5_WASM_VERSION).map_err(|e| format!("{}: {e}", stamp.display()))?;
    Ok(pkg)
}

/// Our wasm build against mqtt-packet in one Node process, and our native build against a
/// plain copy of the same bytes.
fn codec(env: &crate::setup::Env) -> Result<(), String> {
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
    // The decoder against mqttbytes and memcpy, in Criterion; codec.mjs reads its medians.
    cmd::run(
        env.command("cargo")
            .args(["bench", "-p", "tabmq-codec-bench", "--bench", "decode"]),
    )?;
    let mut node = env.command("node");
    node.current_dir(env.root.join("tests"))
        .arg("bench/codec.mjs")
        .env("TABMQ_BENCH_PKG", pkg.join("tabmq_js.js"))
        .env("TABMQ_BENCH_OUT", env.root.join("bench"))
        .env("TABMQ_BENCH_WORK", &env.tools)
        .env("TABMQ_NATIVE_BENCH", native)
        .env("TABMQ_CRITERION_DIR", env.root.join("target/criterion"));
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
