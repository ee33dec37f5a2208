//! `tabmq`: MQTT tools on the tabmq core.
//!
//! - `tabmq decode [-V 311|5]`: hex on stdin (whitespace ignored), one JSON object per
//!   packet on stdout, in mqtt-packet's shape.
//! - `tabmq encode [-V 311|5]`: such JSON lines on stdin, one hex line per packet out.
//!
//! - `tabmq pub` and `tabmq sub`: mosquitto_pub and mosquitto_sub's flags and habits, on
//!   the same engine as the browser client.
//!
//! Malformed input exits with status 2 and one line on stderr that names the violated
//! statement of the spec.

mod decode_encode;
mod native_client;
mod pubsub;
mod server;

use std::process::ExitCode;
use tabmq_core::ProtocolVersion;

const USAGE: &str = "usage: tabmq <broker|pub|sub|decode|encode> [options]

  broker              the broker: [-c mosquitto.conf] [-p PORT]... [--ws-port PORT]...
                      [-h HOST] [-v]; TCP on 127.0.0.1:1883 by default; SIGINT or
                      SIGTERM shuts it down gracefully (saving state with `persistence`)
  decode [-V 311|5]   read hex from stdin, print one JSON object per packet
  encode [-V 311|5]   read JSON objects (one per line) from stdin, print hex per packet
  pub                 publish, with mosquitto_pub's flags: -h -p -t -m -l -q -i -c -k -r
                      -V mqttv31|mqttv311|mqttv5 -u -P --repeat N; exits 0 once every message
                      has completed its QoS flow
  sub                 subscribe, with mosquitto_sub's flags: -h -p -t -q -i -c -k -V -u -P
                      -v -C count -E

  Both reconnect with exponential backoff and full jitter, and resume a persistent
  session (-c -i ID). --max-inflight N (default 20) bounds QoS 1/2 messages in flight;
  --stall-timeout SECONDS (default 60) gives up without progress.";

/// A failure to report: its message, and the exit status.
pub struct Failure {
    pub message: String,
    pub status: u8,
}

impl Failure {
    /// Bad input or usage: exit status 2.
    pub fn input(message: impl Into<String>) -> Failure {
        Failure {
            message: message.into(),
            status: 2,
        }
    }
}

fn parse_version(value: &str) -> Result<ProtocolVersion, Failure> {
    match value {
        "311" | "mqttv311" | "4" => Ok(ProtocolVersion::V311),
        "5" | "mqttv5" => Ok(ProtocolVersion::V5),
        other => Err(Failure::input(format!(
            "unknown protocol version {other:?}: use 311 or 5"
        ))),
    }
}

fn run(args: &[String]) -> Result<(), Failure> {
    let Some((command, rest)) = args.split_first() else {
        return Err(Failure::input(USAGE));
    };
    match command.as_str() {
        "pub" => return pubsub::publish(rest),
        "sub" => return pubsub::subscribe(rest),
        "broker" => return server::serve(rest),
        _ => {}
    }
    let mut version = ProtocolVersion::V311;
    let mut rest = rest.iter();
    while let Some(arg) = rest.next() {
        match arg.as_str() {
            "-V" | "--protocol-version" => {
                let value = rest
                    .next()
                    .ok_or_else(|| Failure::input("-V needs a value: 311 or 5"))?;
                version = parse_version(value)?;
            }
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(());
            }
            other => return Err(Failure::input(format!("unknown option {other:?}\n{USAGE}"))),
        }
    }
    let stdin = std::io::stdin().lock();
    let stdout = std::io::stdout().lock();
    match command.as_str() {
        "decode" => decode_encode::decode(stdin, stdout, version),
        "encode" => decode_encode::encode(stdin, stdout, version),
        "-h" | "--help" | "help" => {
            println!("{USAGE}");
            Ok(())
        }
        other => Err(Failure::input(format!(
            "unknown command {other:?}\n{USAGE}"
        ))),
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => {
            eprintln!("tabmq: {}", f.message);
            ExitCode::from(f.status)
        }
    }
}
