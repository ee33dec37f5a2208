//! `tabmq decode` and `tabmq encode` as a user runs them.

use std::io::Write;
use std::process::{Command, Output, Stdio};

fn tabmq(args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tabmq"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn json_lines(out: &Output) -> Vec<serde_json::Value> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn decode_prints_one_json_object_per_packet_in_mqtt_packet_shape() {
    // CONNECT (3.1.1, clean, keepalive 60, id "c"), then PUBLISH QoS 1 id 10 "a/b" "hi",
    // written with spaces and a newline, as copied from a capture.
    let out = tabmq(
        &["decode"],
        "10 0d 00 04 4d 51 54 54 04 02 00 3c 00 01 63\n32 09 00 03 61 2f 62 00 0a 68 69\n",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let packets = json_lines(&out);
    assert_eq!(packets.len(), 2);
    assert_eq!(packets[0]["cmd"], "connect");
    assert_eq!(packets[0]["protocolVersion"], 4);
    assert_eq!(packets[0]["clientId"], "c");
    assert_eq!(packets[0]["keepalive"], 60);
    assert_eq!(packets[0]["clean"], true);
    assert_eq!(packets[1]["cmd"], "publish");
    assert_eq!(packets[1]["messageId"], 10);
    assert_eq!(packets[1]["qos"], 1);
    assert_eq!(packets[1]["topic"], "a/b");
    assert_eq!(packets[1]["payload"], "6869");
}

#[test]
fn decode_v5_shows_reason_codes_and_properties() {
    let out = tabmq(
        &["decode", "-V", "5"],
        "20 0a 00 87 07 1f 00 04 6e 6f 70 65",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let packets = json_lines(&out);
    assert_eq!(packets[0]["cmd"], "connack");
    assert_eq!(packets[0]["reasonCode"], 0x87);
    assert_eq!(packets[0]["properties"]["reasonString"], "nope");
}

#[test]
fn malformed_input_exits_2_with_one_line_naming_the_statement() {
    let out = tabmq(&["decode"], "30 05 00 03 61 2f 2b");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("[MQTT-3.3.2-2]"), "{stderr}");
}

#[test]
fn truncated_and_non_hex_input_exit_2() {
    for input in ["30 05 00", "zz", "3"] {
        let out = tabmq(&["decode"], input);
        assert_eq!(out.status.code(), Some(2), "{input}");
        assert_eq!(String::from_utf8_lossy(&out.stderr).lines().count(), 1);
    }
}

#[test]
fn encode_prints_hex_and_round_trips_through_decode() {
    let input = concat!(
        r#"{"cmd":"subscribe","messageId":10,"subscriptions":[{"topic":"a/b","qos":1},{"topic":"c/d","qos":2}]}"#,
        "\n",
        r#"{"cmd":"pingreq"}"#,
        "\n"
    );
    let out = tabmq(&["encode"], input);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let hex = String::from_utf8_lossy(&out.stdout);
    // The MQTT 3.1.1 spec's SUBSCRIBE example, then PINGREQ.
    assert_eq!(
        hex.lines().collect::<Vec<_>>(),
        [
            "82 0e 000a 0003 612f62 01 0003 632f64 02".replace(' ', ""),
            "c000".into()
        ]
    );
    let back = tabmq(&["decode"], &hex);
    let packets = json_lines(&back);
    assert_eq!(packets[0]["subscriptions"][1]["topic"], "c/d");
    assert_eq!(packets[0]["subscriptions"][1]["qos"], 2);
}

#[test]
fn encode_refuses_an_invalid_packet_with_its_statement() {
    let out = tabmq(
        &["encode", "-V", "5"],
        r#"{"cmd":"publish","topic":"a/#","payload":""}"#,
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("[MQTT-3.3.2-2]"));
}

#[test]
fn an_unknown_protocol_version_is_a_usage_error() {
    let out = tabmq(&["decode", "-V", "4.5"], "");
    assert_eq!(out.status.code(), Some(2));
}
