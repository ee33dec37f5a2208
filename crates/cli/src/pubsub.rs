//! `tabmq pub` and `tabmq sub`, with mosquitto_pub's and mosquitto_sub's flags and habits.

use crate::native_client::{Endpoint, Handler, NativeClient};
use crate::Failure;
use std::collections::HashSet;
use std::io::{BufRead, Write};
use std::time::Duration;
use tabmq_core::{
    ByteString, Bytes, ClientMachine, ClientOptions, Command, CommandFailure, Done, Instant,
    MachineEvent, Properties, ProtocolVersion, Publish, QoS, SubscribeFilter, Token,
};

/// The flags both commands share, as mosquitto spells them.
struct Common {
    host: String,
    port: u16,
    topics: Vec<String>,
    qos: QoS,
    client_id: Option<String>,
    persistent: bool,
    keep_alive: u16,
    protocol: ProtocolVersion,
    /// `-V mqttv31`: 3.1.1's packets under MQTT 3.1's name.
    mqtt31: bool,
    username: Option<String>,
    password: Option<String>,
    verbose: bool,
    stall: Duration,
    max_inflight: u16,
}

fn value<'a>(args: &mut impl Iterator<Item = &'a String>, flag: &str) -> Result<&'a str, Failure> {
    args.next()
        .map(String::as_str)
        .ok_or_else(|| Failure::input(format!("{flag} needs a value")))
}

fn number<T: std::str::FromStr>(text: &str, flag: &str) -> Result<T, Failure> {
    text.parse()
        .map_err(|_| Failure::input(format!("{flag}: {text:?} is not a valid number")))
}

impl Common {
    fn new() -> Common {
        Common {
            host: "localhost".into(),
            port: 1883,
            topics: Vec::new(),
            qos: QoS::AtMostOnce,
            client_id: None,
            persistent: false,
            keep_alive: 60,
            protocol: ProtocolVersion::V311,
            mqtt31: false,
            username: None,
            password: None,
            verbose: false,
            stall: Duration::from_secs(60),
            max_inflight: ClientOptions::default().max_inflight,
        }
    }

    /// Takes one shared flag; `Ok(false)` if `flag` is not one of them.
    fn take<'a>(
        &mut self,
        flag: &str,
        args: &mut impl Iterator<Item = &'a String>,
    ) -> Result<bool, Failure> {
        match flag {
            "-h" | "--host" => self.host = value(args, flag)?.to_owned(),
            "-p" | "--port" => self.port = number(value(args, flag)?, flag)?,
            "-t" | "--topic" => self.topics.push(value(args, flag)?.to_owned()),
            "-q" | "--qos" => {
                let q: u8 = number(value(args, flag)?, flag)?;
                self.qos = QoS::from_u8(q).ok_or_else(|| Failure::input("-q takes 0, 1 or 2"))?;
            }
            "-i" | "--id" => self.client_id = Some(value(args, flag)?.to_owned()),
            "-c" | "--disable-clean-session" => self.persistent = true,
            "-k" | "--keepalive" => self.keep_alive = number(value(args, flag)?, flag)?,
            "-V" | "--protocol-version" => {
                let version = value(args, flag)?;
                self.mqtt31 = matches!(version, "mqttv31" | "31" | "3");
                self.protocol = match version {
                    "mqttv31" | "31" | "3" => ProtocolVersion::V311,
                    "mqttv311" | "311" | "4" => ProtocolVersion::V311,
                    "mqttv5" | "5" => ProtocolVersion::V5,
                    other => {
                        return Err(Failure::input(format!(
                            "unknown protocol version {other:?}"
                        )))
                    }
                }
            }
            "-u" | "--username" => self.username = Some(value(args, flag)?.to_owned()),
            "-P" | "--pw" => self.password = Some(value(args, flag)?.to_owned()),
            "-v" | "--verbose" => self.verbose = true,
            "--max-inflight" => {
                self.max_inflight = number(value(args, flag)?, flag)?;
                if self.max_inflight == 0 {
                    return Err(Failure::input("--max-inflight must be at least 1"));
                }
            }
            "--stall-timeout" => {
                self.stall = Duration::from_secs(number(value(args, flag)?, flag)?)
            }
            _ => return Ok(false),
        }
        Ok(true)
    }

    fn options(&self, default_id: &str) -> Result<ClientOptions, Failure> {
        if self.persistent && self.client_id.is_none() {
            return Err(Failure::input(
                "-c needs a client id (-i): a persistent session is found again by its id",
            ));
        }
        Ok(ClientOptions {
            protocol: self.protocol,
            mqtt31: self.mqtt31,
            client_id: self
                .client_id
                .clone()
                .unwrap_or_else(|| format!("{default_id}-{}", std::process::id())),
            clean_session: !self.persistent,
            session_expiry_interval: self.persistent.then_some(u32::MAX),
            keep_alive: self.keep_alive,
            max_inflight: self.max_inflight,
            username: self.username.clone(),
            password: self.password.clone().map(|p| Bytes::from(p.into_bytes())),
            ..ClientOptions::default()
        })
    }

    fn client(&self, default_id: &str) -> Result<NativeClient, Failure> {
        let endpoint = Endpoint {
            host: self.host.clone(),
            port: self.port,
            reconnect: true,
            backoff_min: Duration::from_millis(50),
            backoff_max: Duration::from_secs(2),
        };
        Ok(NativeClient::new(self.options(default_id)?, endpoint))
    }
}

/// Runs `handler` on `client` to its end, says goodbye, and reports how it went.
fn drive(
    mut client: NativeClient,
    stall: Duration,
    handler: &mut impl Handler,
) -> Result<(), Failure> {
    client.run(stall, handler).map_err(net_failure)?;
    client.disconnect();
    match handler.failure() {
        Some(f) => Err(net_failure(f)),
        None => Ok(()),
    }
}

fn net_failure(e: impl std::fmt::Display) -> Failure {
    Failure {
        message: e.to_string(),
        status: 1,
    }
}

/// `tabmq pub`: exits 0 only once every message has completed its QoS flow.
pub fn publish(args: &[String]) -> Result<(), Failure> {
    let mut common = Common::new();
    let mut message: Option<String> = None;
    let mut lines = false;
    let mut retain = false;
    let mut repeat = 1usize;
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        if common.take(flag, &mut it)? {
            continue;
        }
        match flag.as_str() {
            "-m" | "--message" => message = Some(value(&mut it, flag)?.to_owned()),
            "-l" | "--stdin-line" => lines = true,
            "-r" | "--retain" => retain = true,
            "--repeat" => repeat = number(value(&mut it, flag)?, flag)?,
            other => {
                return Err(Failure::input(format!(
                    "tabmq pub: unknown option {other:?}"
                )))
            }
        }
    }
    let [topic] = common.topics.as_slice() else {
        return Err(Failure::input("tabmq pub needs exactly one topic (-t)"));
    };
    let payloads: Vec<Vec<u8>> = match (&message, lines) {
        (Some(m), false) => vec![m.clone().into_bytes(); repeat],
        (None, true) => std::io::stdin()
            .lock()
            .lines()
            .map(|l| l.map(String::into_bytes))
            .collect::<Result<_, _>>()
            .map_err(|e| Failure::input(format!("reading stdin: {e}")))?,
        _ => return Err(Failure::input("tabmq pub needs -m MESSAGE or -l")),
    };
    let client = common.client("tabmq-pub")?;
    let mut state = Publisher {
        topic: topic.as_str().into(),
        qos: common.qos,
        retain,
        payloads,
        next: 0,
        pending: HashSet::new(),
        failure: None,
    };
    drive(client, common.stall, &mut state)
}

struct Publisher {
    topic: ByteString,
    qos: QoS,
    retain: bool,
    payloads: Vec<Vec<u8>>,
    next: usize,
    pending: HashSet<Token>,
    failure: Option<String>,
}

impl Handler for Publisher {
    fn failure(&mut self) -> Option<String> {
        self.failure.take()
    }

    fn on_event(&mut self, machine: &mut ClientMachine, now: Instant, event: &MachineEvent) {
        if let MachineEvent::Completed { token, outcome } = event {
            self.pending.remove(token);
            let message = token.0 + 1;
            match outcome {
                Ok(_) => {}
                Err(CommandFailure::Refused(code)) => {
                    self.failure = Some(format!("the broker refused message {message}: {code}"));
                }
                Err(CommandFailure::SessionLost) => {
                    self.failure.get_or_insert_with(|| {
                        "the broker lost the session with messages in flight; use -c -i ID to keep it"
                            .into()
                    });
                }
                Err(e) => {
                    self.failure
                        .get_or_insert_with(|| format!("message {message} was lost: {e:?}"));
                }
            }
        }
        // Feed the machine as its queue drains, so memory stays bounded.
        let total = self.payloads.len();
        let max_queued = machine.engine().options().max_queued;
        while self.next < total && machine.engine().session().queued() < max_queued / 2 {
            let publish = Publish {
                topic: self.topic.clone(),
                qos: self.qos,
                retain: self.retain,
                payload: Bytes::from(std::mem::take(&mut self.payloads[self.next])),
                ..Publish::default()
            };
            let token = Token(self.next as u64);
            match machine.command(token, Command::Publish(publish), now) {
                Ok(()) => {
                    self.pending.insert(token);
                }
                Err(e) => {
                    self.failure = Some(format!("message {}: {e}", self.next + 1));
                    self.next = total;
                    return;
                }
            }
            self.next += 1;
        }
    }

    fn done(&self, _machine: &ClientMachine) -> bool {
        self.failure.is_some() || (self.next == self.payloads.len() && self.pending.is_empty())
    }
}

/// `tabmq sub`: prints each message's payload (with -v, its topic first).
pub fn subscribe(args: &[String]) -> Result<(), Failure> {
    let mut common = Common::new();
    let mut count: Option<usize> = None;
    let mut exit_after_subscribe = false;
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        if common.take(flag, &mut it)? {
            continue;
        }
        match flag.as_str() {
            "-C" | "--count" => count = Some(number(value(&mut it, flag)?, flag)?),
            "-E" => exit_after_subscribe = true,
            other => {
                return Err(Failure::input(format!(
                    "tabmq sub: unknown option {other:?}"
                )))
            }
        }
    }
    if common.topics.is_empty() {
        return Err(Failure::input("tabmq sub needs at least one topic (-t)"));
    }
    let mut client = common.client("tabmq-sub")?;
    // Taken now, sent once connected; the machine makes it again if the broker loses it.
    let filters = common
        .topics
        .iter()
        .map(|t| SubscribeFilter::new(t.clone(), common.qos))
        .collect();
    let subscribe = Command::Subscribe {
        filters,
        properties: Properties::default(),
    };
    let now = client.now();
    client
        .machine
        .command(Token(0), subscribe, now)
        .map_err(|e| Failure::input(e.to_string()))?;
    let mut state = Subscriber {
        verbose: common.verbose,
        count,
        exit_after_subscribe,
        received: 0,
        subscribed: false,
        failure: None,
    };
    drive(client, common.stall, &mut state)
}

struct Subscriber {
    verbose: bool,
    count: Option<usize>,
    exit_after_subscribe: bool,
    received: usize,
    subscribed: bool,
    failure: Option<String>,
}

impl Handler for Subscriber {
    fn failure(&mut self) -> Option<String> {
        self.failure.take()
    }

    fn on_event(&mut self, _machine: &mut ClientMachine, _now: Instant, event: &MachineEvent) {
        match event {
            MachineEvent::Completed { outcome, .. } => match outcome {
                Ok(Done::Subscribed(reason_codes)) => {
                    if let Some(bad) = reason_codes.iter().find(|c| !c.is_success()) {
                        self.failure = Some(format!("the broker refused the subscription: {bad}"));
                    }
                    self.subscribed = true;
                }
                Ok(_) => {}
                Err(e) => self.failure = Some(format!("the subscription failed: {e:?}")),
            },
            MachineEvent::Message(p) => {
                self.received += 1;
                let mut out = std::io::stdout().lock();
                if self.verbose {
                    let _ = write!(out, "{} ", p.topic);
                }
                let _ = out.write_all(&p.payload);
                let _ = out.write_all(b"\n");
                let _ = out.flush();
            }
            _ => {}
        }
    }

    fn done(&self, _machine: &ClientMachine) -> bool {
        self.failure.is_some()
            || (self.exit_after_subscribe && self.subscribed)
            || self.count.is_some_and(|c| self.received >= c)
    }
}
