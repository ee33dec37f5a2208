//! `cargo xtask`: the project's automation. No product code lives here.
//!
//! - `cargo xtask serve [--dev] [trunk serve args]`: install what is missing, serve the lab
//!   (a release build; `--dev` for a debug one).
//! - `cargo xtask test`: install what is missing, run every test layer, print a summary.
//! - `cargo xtask bench [codec]`: benchmarks against peers, as ratios, into `bench/`.
//! - `cargo xtask spec-coverage`: server statements of 3.1.1 and 5.0 that tagged tests prove.
//! - `cargo xtask hostile [NAME]`: hostile and slow clients, beside Mosquitto.
//! - `cargo xtask setup`: only install what is missing.

mod bench;
mod bench_broker;
mod bench_contenders;
mod brokers;
mod cmd;
mod hostile;
mod loadgen;
mod mosquitto_suite;
mod npm;
mod procfs;
mod setup;
mod test;

use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (task, rest) = match args.split_first() {
        Some((task, rest)) => (task.as_str(), rest),
        None => ("help", &[][..]),
    };
    let result = match task {
        "setup" => setup::setup(setup::Needs::All).map(|_| ExitCode::SUCCESS),
        "serve" => serve(rest),
        "test" => test::run(rest),
        "bench" => bench::run(rest).map(|_| ExitCode::SUCCESS),
        "npm" => setup::setup(setup::Needs::Build)
            .and_then(|env| npm::run(&env))
            .map(|_| ExitCode::SUCCESS),
        "spec-coverage" => spec_coverage(),
        "hostile" => hostile(rest),
        _ => {
            eprintln!(
                "usage: cargo xtask <serve|test|npm|bench|spec-coverage|setup>\n\
                 \n  serve [--dev] install what is missing, then serve a release build of the lab on\
                 \n                127.0.0.1:8080 (`--dev`: a debug build; other args go to `trunk serve`)\
                 \n  test          install what is missing, then run every test layer\
                 \n  npm           build the npm package into target/npm, pack it, report its size\
                 \n  bench [codec] run the benchmarks, write bench/results.md and .json\
                 \n  spec-coverage how many server statements of 3.1.1 and 5.0 tests prove\
                 \n  hostile [NAME] hostile and slow clients, tabmq broker beside Mosquitto\
                 \n  setup         only install what is missing"
            );
            return if task == "help" {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(2)
            };
        }
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}

fn spec_coverage() -> Result<ExitCode, String> {
    let env = setup::setup(setup::Needs::All)?;
    let mut python = env.command(&setup::spec_python(&env).to_string_lossy());
    python.arg("tests/spec/coverage.py");
    cmd::run(&mut python).map(|_| ExitCode::SUCCESS)
}

/// `cargo xtask hostile [NAME...]`: the hostile-client scenarios (those whose name
/// contains a NAME, or all).
fn hostile(args: &[String]) -> Result<ExitCode, String> {
    let env = setup::setup(setup::Needs::All)?;
    build_release_cli(&env)?;
    hostile::run(&env, args).map(|_| ExitCode::SUCCESS)
}

/// `target/release/tabmq`, which the broker benchmarks and the hostile scenarios run.
pub fn build_release_cli(env: &setup::Env) -> Result<(), String> {
    cmd::run(
        env.command("cargo")
            .args(["build", "-p", "tabmq-cli", "--release"]),
    )
}

/// The lab built for release (wasm-opt'd, as users get it) into `target/xtask/dist`, as the
/// end-to-end tests and the data views' bench load it; the folder.
pub fn build_lab(env: &setup::Env) -> Result<std::path::PathBuf, String> {
    let dist = env.tools.join("dist");
    let dist_arg = dist.to_string_lossy().into_owned();
    cmd::run(
        env.command("trunk")
            .args(["build", "--release", "--offline", "--dist", &dist_arg]),
    )?;
    Ok(dist)
}

/// `trunk serve` of a release build (wasm-opt'd, as users get it), or with `--dev` a debug
/// build (faster to rebuild, ~10 MB to load).
fn serve(args: &[String]) -> Result<ExitCode, String> {
    let env = setup::setup(setup::Needs::Build)?;
    let dev = args.iter().any(|a| a == "--dev");
    let args: Vec<&String> = args.iter().filter(|a| *a != "--dev").collect();
    let mut trunk = env.command("trunk");
    trunk.arg("serve");
    if !dev && !args.iter().any(|a| *a == "--release") {
        trunk.arg("--release");
    }
    if !args.iter().any(|a| a.starts_with("--address")) {
        trunk.args(["--address", "127.0.0.1"]);
    }
    if !args.iter().any(|a| a.starts_with("--port")) {
        trunk.args(["--port", "8080"]);
    }
    trunk.args(args);
    let build = if dev { "debug" } else { "release" };
    println!("xtask: serving the lab ({build} build) at http://127.0.0.1:8080 (Ctrl-C to stop)");
    let status = cmd::status(&mut trunk)?;
    Ok(if status {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
