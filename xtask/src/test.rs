//! `cargo xtask test`: every test layer, then a summary. A failed step does not stop the
//! others (except where a later step needs its output), so one run shows everything.

use crate::cmd;
use crate::setup::{setup, spec_python, Env, Needs};
use std::process::ExitCode;
use std::time::Instant;

/// The crates whose tests also run compiled to wasm, in headless Chromium.
const WASM_TEST_CRATES: [&str; 3] = ["tabmq-core", "tabmq-broker", "tabmq-client"];

/// Chromium's flags for every test: no sandbox (root in CI), and nothing that reaches
/// for the network this machine does not have.
pub const CHROMIUM_ARGS: [&str; 8] = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
];

struct Outcome {
    name: &'static str,
    passed: bool,
    seconds: f64,
}

/// The longest a `node --test` layer may take: about four times the slowest (end-to-end,
/// 3.5 min on 2 cores), so that only a hang reaches it.
const NODE_TEST_LIMIT: std::time::Duration = std::time::Duration::from_secs(15 * 60);

fn step(results: &mut Vec<Outcome>, name: &'static str, f: impl FnOnce() -> Result<(), String>) {
    // `TABMQ_TEST_ONLY=wasm cargo xtask test` runs the layers whose names contain "wasm":
    // for working on one layer; CI sets nothing and runs them all.
    if let Ok(only) = std::env::var("TABMQ_TEST_ONLY") {
        if !name.contains(only.as_str()) {
            return;
        }
    }
    eprintln!("\nxtask: ── {name} ──");
    let start = Instant::now();
    let result = f();
    if let Err(e) = &result {
        eprintln!("xtask: {name} failed: {e}");
    }
    results.push(Outcome {
        name,
        passed: result.is_ok(),
        seconds: start.elapsed().as_secs_f64(),
    });
}

fn webdriver_json(env: &Env) -> Result<std::path::PathBuf, String> {
    let args: Vec<String> = CHROMIUM_ARGS
        .iter()
        .map(|a| format!("\"{}\"", a.trim_start_matches("--")))
        .collect();
    let json = format!(
        "{{\"goog:chromeOptions\": {{\"binary\": \"/usr/bin/chromium\", \"args\": [{}]}}}}\n",
        args.join(", ")
    );
    std::fs::create_dir_all(&env.tools).map_err(|e| e.to_string())?;
    let path = env.tools.join("webdriver.json");
    std::fs::write(&path, json).map_err(|e| e.to_string())?;
    Ok(path)
}

/// The `*.test.mjs` files directly in `dir`, sorted: Node 20 and 22 read a directory
/// argument to `--test` differently, so the files are named one by one.
fn test_files(dir: &std::path::Path) -> Result<Vec<std::path::PathBuf>, String> {
    let entries = std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut files: Vec<_> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.to_string_lossy().ends_with(".test.mjs"))
        .collect();
    files.sort();
    if files.is_empty() {
        return Err(format!("no *.test.mjs in {}", dir.display()));
    }
    Ok(files)
}

pub fn run(args: &[String]) -> Result<ExitCode, String> {
    if let Some(unknown) = args.first() {
        return Err(format!(
            "`cargo xtask test` takes no arguments (got {unknown})"
        ));
    }
    let env = setup(Needs::All)?;
    let mut results = Vec::new();

    step(&mut results, "rustfmt", || {
        cmd::run(env.command("cargo").args(["fmt", "--all", "--check"]))
    });
    step(&mut results, "clippy (native)", || {
        cmd::run(env.command("cargo").args([
            "clippy",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ]))
    });
    step(&mut results, "clippy (wasm32)", || {
        cmd::run(env.command("cargo").args([
            "clippy",
            "--workspace",
            "--exclude",
            "xtask",
            // The command line is native only (tokio, sockets, files).
            "--exclude",
            "tabmq-cli",
            "--target",
            "wasm32-unknown-unknown",
            "--",
            "-D",
            "warnings",
        ]))
    });
    step(&mut results, "spec statements cited exist", || {
        let mut python = env.command(&spec_python(&env).to_string_lossy());
        python.arg("tests/spec/check_statements.py");
        cmd::run(&mut python)?;
        let mut coverage = env.command(&spec_python(&env).to_string_lossy());
        coverage.arg("tests/spec/coverage.py");
        cmd::run(&mut coverage)
    });
    step(&mut results, "native tests", || {
        cmd::run(env.command("cargo").args(["test", "--workspace"]))?;
        // The core as the npm package's MQTT 3.1.1 client wasm builds it.
        cmd::run(env.command("cargo").args([
            "test",
            "-p",
            "tabmq-core",
            "--no-default-features",
            "--test",
            "without_mqtt5",
        ]))
    });
    step(&mut results, "wasm tests in headless Chromium", || {
        let webdriver = webdriver_json(&env)?;
        // The client's WebSocket tests reach these; stopped when `brokers` drops.
        let brokers = crate::brokers::start_ws_brokers(&env)?;
        let mut cargo = env.command("cargo");
        cargo.env("TABMQ_TEST_WS_URLS", &brokers.ws_urls);
        // Chromium, stopped by chromedriver, leaves its singleton directory
        // (org.chromium.Chromium.*) in the temp directory: about 40 a run went to /tmp.
        // They go to a directory of ours, emptied before and after.
        let tmp = env.root.join("target").join("xtask").join("wasm-test-tmp");
        let _ = std::fs::remove_dir_all(&tmp);
        std::fs::create_dir_all(&tmp).map_err(|e| format!("{}: {e}", tmp.display()))?;
        cargo.env("TMPDIR", &tmp);
        cargo
            .args(["test", "--target", "wasm32-unknown-unknown"])
            .env(
                "CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER",
                "wasm-bindgen-test-runner",
            )
            .env("CHROMEDRIVER", "/usr/bin/chromedriver")
            .env("WASM_BINDGEN_TEST_WEBDRIVER_JSON", webdriver)
            .env("WASM_BINDGEN_TEST_TIMEOUT", "120");
        for krate in WASM_TEST_CRATES {
            cargo.args(["-p", krate]);
        }
        let ran = cmd::run(&mut cargo);
        let _ = std::fs::remove_dir_all(&tmp);
        ran
    });
    step(
        &mut results,
        "interop: Mosquitto (capture, fault injection)",
        || {
            // The tests marked #[ignore] are the ones that need Mosquitto, installed above.
            cmd::run(env.command("cargo").args([
                "test",
                "-p",
                "tabmq-cli",
                "--test",
                "mosquitto_capture",
                "--test",
                "fault_injection",
                "--",
                "--ignored",
            ]))
        },
    );
    step(&mut results, "interop: codec against mqtt-packet", || {
        cmd::run(env.command("cargo").args(["build", "-p", "tabmq-cli"]))?;
        let bin = env.root.join("target").join("debug").join("tabmq");
        let files = test_files(&env.root.join("tests").join("interop"))?;
        let mut node = env.command("node");
        node.current_dir(env.root.join("tests"))
            .args(["--test", "--test-reporter=spec"])
            .args(files)
            .env("TABMQ_BIN", bin);
        cmd::run_within(&mut node, NODE_TEST_LIMIT)
    });
    step(
        &mut results,
        "interop: paho-mqtt (the seeds' usage, TLS) against tabmq broker",
        || {
            cmd::run(env.command("cargo").args(["build", "-p", "tabmq-cli"]))?;
            let bin = env.root.join("target").join("debug").join("tabmq");
            for script in ["tests/interop/paho_seeds.py", "tests/interop/paho_tls.py"] {
                let mut python = env.command(&spec_python(&env).to_string_lossy());
                python.arg(script).env("TABMQ_BIN", &bin);
                cmd::run(&mut python)?;
            }
            Ok(())
        },
    );
    step(
        &mut results,
        "Mosquitto's own broker tests against tabmq broker",
        || crate::mosquitto_suite::run(&env, &spec_python(&env)),
    );
    step(
        &mut results,
        "hostile and slow clients, beside Mosquitto",
        || {
            crate::build_release_cli(&env)?;
            crate::hostile::run(&env, &[])
        },
    );
    let dist = env.tools.join("dist");
    let mut built = false;
    step(&mut results, "trunk build --release", || {
        crate::build_lab(&env)?;
        built = true;
        Ok(())
    });
    step(&mut results, "end-to-end (Playwright, Chromium)", || {
        if !built {
            return Err("skipped: the app did not build".into());
        }
        let files = test_files(&env.root.join("tests").join("e2e"))?;
        let mut node = env.command("node");
        node.current_dir(env.root.join("tests"))
            .args(["--test", "--test-reporter=spec"])
            .args(files)
            .env("TABMQ_DIST", &dist)
            .env("TABMQ_PYTHON", spec_python(&env))
            .env("TABMQ_ARTIFACTS", env.tools.join("artifacts"))
            .env("TABMQ_CHROMIUM_ARGS", CHROMIUM_ARGS.join(" "));
        cmd::run_within(&mut node, NODE_TEST_LIMIT)
    });
    let mut package = None;
    step(&mut results, "npm package (cargo xtask npm)", || {
        let built = crate::npm::build(&env)?;
        let over = built.over_limit();
        // The suites below still run on a package that is too big.
        package = Some(built);
        over.map_or(Ok(()), Err)
    });
    step(
        &mut results,
        "npm: drop-in, extras, policy, packaging, schedule, size",
        || {
            let Some(built) = &package else {
                return Err("skipped: the package did not build".into());
            };
            let files = test_files(&env.root.join("tests").join("npm"))?;
            let mut node = env.command("node");
            node.current_dir(env.root.join("tests"))
                .args(["--test", "--test-reporter=spec"])
                .args(files)
                .env("TABMQ_NPM_DIR", &built.dir)
                .env("TABMQ_NPM_TARBALL", &built.tarball)
                .env("TABMQ_CHROMIUM_ARGS", CHROMIUM_ARGS.join(" "));
            cmd::run_within(&mut node, NODE_TEST_LIMIT)
        },
    );

    let passed = results.iter().filter(|r| r.passed).count();
    let failed = results.len() - passed;
    println!("\nxtask test summary");
    for r in &results {
        let mark = if r.passed { "ok  " } else { "FAIL" };
        println!("  {mark} {:<38} {:>7.1}s", r.name, r.seconds);
    }
    println!("xtask: {passed} passed, {failed} failed");
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
