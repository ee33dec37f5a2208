//! `tabmq pub` and `tabmq sub` refuse bad usage with status 2 and one line, before they
//! touch the network.

use std::process::Command;

fn tabmq(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_tabmq"))
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn usage_errors_exit_2_with_one_line() {
    let cases: [(&[&str], &str); 6] = [
        (&["pub", "-m", "x"], "exactly one topic"),
        (&["pub", "-t", "a"], "-m MESSAGE or -l"),
        (
            &["pub", "-t", "a", "-m", "x", "-q", "3"],
            "-q takes 0, 1 or 2",
        ),
        (&["pub", "-t", "a", "-m", "x", "-c"], "-c needs a client id"),
        (&["sub"], "at least one topic"),
        (
            &["sub", "-t", "a", "-V", "mqttv4"],
            "unknown protocol version",
        ),
    ];
    for (args, message) in cases {
        let out = tabmq(args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(stderr.lines().count(), 1, "{args:?}: {stderr}");
        assert!(stderr.contains(message), "{args:?}: {stderr}");
    }
}

#[test]
fn no_broker_and_no_progress_is_a_failure_not_a_hang() {
    // A port nobody listens on: the client retries with backoff, then gives up.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let start = std::time::Instant::now();
    let out = tabmq(&[
        "pub",
        "-h",
        "127.0.0.1",
        "-p",
        &port.to_string(),
        "-t",
        "a",
        "-m",
        "x",
        "-q",
        "1",
        "--stall-timeout",
        "2",
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no progress"));
    assert!(start.elapsed() < std::time::Duration::from_secs(20));
}
