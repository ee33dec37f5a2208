//! The shared connection-policy scenario (`tests/scenarios/connection-policy.json`)
//! through the Rust client in Chromium, against Mosquitto and `tabmq broker` over
//! WebSocket and against the broker core behind in-tab ports, at MQTT 3.1.1 and 5. The
//! npm client runs the same file (`tests/npm/policy.test.mjs`); both must observe what
//! the file expects.

#![cfg(target_arch = "wasm32")]

use serde_json::Value;
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;
use tabmq_client::{IdbSessionStore, ResilientClient, SessionStore};
use tabmq_core::{
    Bytes, ClientOptions, ClientSession, ConnectionPolicy, End, LastWill, MachineEvent, Packet,
    Properties, ProtocolVersion, Publish, QoS, ReasonCode, SubscribeFilter,
};
use wasm_bindgen_test::*;
use web_sys::MessagePort;

mod support;

use support::in_page_broker::in_page_broker;
use support::{brokers, sleep};

wasm_bindgen_test_configure!(run_in_browser);

const SCENARIO: &str = include_str!("../../../tests/scenarios/connection-policy.json");

/// Where a run's clients connect.
#[derive(Clone)]
struct Target {
    url: String,
    connector: Option<MessagePort>,
}

/// What a run observes, by the scenario's names.
#[derive(Default)]
struct Observed {
    completions: Vec<String>,
    watcher: Vec<String>,
    received: HashMap<String, Vec<String>>,
    subscribes_sent: HashMap<String, u32>,
    connects: HashMap<String, u32>,
}

type Shared = Rc<RefCell<Observed>>;

struct Run {
    target: Target,
    unreachable: String,
    version: ProtocolVersion,
    tag: String,
    case: usize,
    clients: HashMap<String, ResilientClient>,
    seen: Shared,
    outstanding: Rc<Cell<u32>>,
}

fn qos(step: &Value) -> QoS {
    match step["qos"].as_u64() {
        Some(2) => QoS::ExactlyOnce,
        Some(1) => QoS::AtLeastOnce,
        _ => QoS::AtMostOnce,
    }
}

fn text(step: &Value, key: &str) -> String {
    step[key].as_str().unwrap_or_default().to_owned()
}

impl Run {
    fn client_id(&self, name: &str) -> String {
        format!("sc{}-{name}-{}", self.case, self.tag)
    }

    fn options(&self, name: &str, step: &Value) -> ClientOptions {
        let v5 = self.version == ProtocolVersion::V5;
        ClientOptions {
            client_id: self.client_id(name),
            protocol: self.version,
            clean_session: step["clean"].as_bool().unwrap_or(true),
            session_expiry_interval: step["session_expiry"]
                .as_u64()
                .filter(|_| v5)
                .map(|s| s as u32),
            will: step.get("will").map(|w| LastWill {
                topic: text(w, "topic"),
                payload: Bytes::from(text(w, "payload").into_bytes()),
                qos: qos(w),
                retain: false,
                properties: Properties::default(),
            }),
            // SUBSCRIBEs are counted from the packets sent.
            trace_packets: true,
            ..ClientOptions::default()
        }
    }

    async fn start(
        &mut self,
        name: &str,
        step: &Value,
        policy: ConnectionPolicy,
    ) -> ResilientClient {
        let options = self.options(name, step);
        let url = match step["url"].as_str() {
            Some("unreachable") => self.unreachable.clone(),
            _ => self.target.url.clone(),
        };
        let (store, session) = if step["persist"].as_bool().unwrap_or(false) {
            let (store, session) = IdbSessionStore::open(&options.client_id)
                .await
                .expect("IndexedDB in Chromium");
            (Some(Rc::new(store) as Rc<dyn SessionStore>), session)
        } else {
            (None, None)
        };
        let seen = self.seen.clone();
        let who = name.to_owned();
        let listener = Box::new(move |e: &MachineEvent| {
            let mut seen = seen.borrow_mut();
            match e {
                MachineEvent::Connected { .. } => {
                    *seen.connects.entry(who.clone()).or_default() += 1
                }
                MachineEvent::Message(p) => {
                    let heard = format!("{}={}", p.topic, String::from_utf8_lossy(&p.payload));
                    if who == "watcher" {
                        seen.watcher.push(heard);
                    } else {
                        seen.received.entry(who.clone()).or_default().push(heard);
                    }
                }
                MachineEvent::PacketSent(Packet::Subscribe(_)) => {
                    *seen.subscribes_sent.entry(who.clone()).or_default() += 1
                }
                _ => {}
            }
        });
        let connector = self
            .target
            .connector
            .clone()
            .filter(|_| url.starts_with("tab://"));
        ResilientClient::start(
            &url,
            options,
            policy,
            session.unwrap_or_default(),
            connector,
            store,
            listener,
        )
        .unwrap_or_else(|e| panic!("{url}: {e}"))
    }

    async fn wait_connected(&self, name: &str, times: u32) {
        for _ in 0..400 {
            if self.seen.borrow().connects.get(name).copied().unwrap_or(0) >= times {
                return;
            }
            sleep(25).await;
        }
        panic!("{}: {name} did not connect {times} times", self.tag);
    }

    /// Gives a command; its completion is recorded as "CLIENT OP TARGET".
    fn command(&self, name: &str, step: &Value) {
        let client = self
            .clients
            .get(name)
            .unwrap_or_else(|| panic!("no client {name}"));
        let op = text(step, "op");
        let target = text(step, if op == "publish" { "topic" } else { "filter" });
        let label = format!("{name} {op} {target}");
        let done: std::pin::Pin<Box<dyn std::future::Future<Output = bool>>> = match op.as_str() {
            "publish" => {
                let publish = Publish {
                    topic: target.into(),
                    payload: Bytes::from(text(step, "payload").into_bytes()),
                    qos: qos(step),
                    ..Publish::default()
                };
                if step["wait"].as_bool() == Some(false) {
                    client.publish(publish).expect("publish taken");
                    return;
                }
                let f = client.publish_async(publish);
                Box::pin(async move { f.await.is_ok_and(|c| c.0 < 0x80) })
            }
            "subscribe" => {
                let f = client.subscribe_async(
                    vec![SubscribeFilter::new(target, qos(step))],
                    Properties::default(),
                );
                Box::pin(async move { f.await.is_ok_and(|c| c.iter().all(|c| c.0 < 0x80)) })
            }
            _ => {
                let f = client.unsubscribe_async(vec![target], Properties::default());
                Box::pin(async move { f.await.is_ok() })
            }
        };
        let (seen, outstanding) = (self.seen.clone(), self.outstanding.clone());
        outstanding.set(outstanding.get() + 1);
        wasm_bindgen_futures::spawn_local(async move {
            let ok = done.await;
            seen.borrow_mut()
                .completions
                .push(if ok { label } else { format!("{label} failed") });
            outstanding.set(outstanding.get() - 1);
        });
    }

    async fn end(&mut self, name: &str, reason_code: u8) {
        if let Some(client) = self.clients.remove(name) {
            client.end(End {
                reason_code: ReasonCode(reason_code),
                ..End::default()
            });
        }
        sleep(100).await;
    }

    async fn step(&mut self, step: &Value) {
        let name = text(step, "client");
        match step["op"].as_str().unwrap_or_default() {
            "watch" => {
                let client = self
                    .start("watcher", &Value::Null, ConnectionPolicy::default())
                    .await;
                let granted = client
                    .subscribe_async(
                        vec![SubscribeFilter::new(text(step, "filter"), QoS::ExactlyOnce)],
                        Properties::default(),
                    )
                    .await;
                assert!(
                    granted.is_ok(),
                    "{}: the watcher subscribed: {granted:?}",
                    self.tag
                );
                self.clients.insert("watcher".into(), client);
            }
            "start" => {
                let client = self.start(&name, step, ConnectionPolicy::default()).await;
                self.clients.insert(name, client);
            }
            "publish" | "subscribe" | "unsubscribe" => self.command(&name, step),
            "settle" => {
                for _ in 0..400 {
                    if self.outstanding.get() == 0 {
                        break;
                    }
                    sleep(25).await;
                }
                assert_eq!(
                    self.outstanding.get(),
                    0,
                    "{}: commands still waiting",
                    self.tag
                );
            }
            "takeover" => {
                let policy = support::one_attempt();
                let other = format!("{name}-takeover");
                let mut options = step.clone();
                if let Some(first) = self.first_start(&name) {
                    options = first;
                }
                // The same client id: the broker hands the session to this connection.
                let mut client_options = self.options(&name, &options);
                client_options.trace_packets = false;
                let seen = self.seen.clone();
                let who = other.clone();
                let taker = ResilientClient::start(
                    &self.target.url,
                    client_options,
                    policy,
                    ClientSession::new(),
                    self.target.connector.clone(),
                    None,
                    Box::new(move |e| {
                        if matches!(e, MachineEvent::Connected { .. }) {
                            *seen.borrow_mut().connects.entry(who.clone()).or_default() += 1;
                        }
                    }),
                )
                .expect("the takeover client starts");
                self.wait_connected(&other, 1).await;
                taker.end(End::default());
                sleep(100).await;
            }
            "connected" => {
                let times = step["times"].as_u64().unwrap_or(1) as u32;
                self.wait_connected(&name, times).await;
            }
            "end" => {
                let code = step["reason_code"].as_u64().unwrap_or(0) as u8;
                self.end(&name, code).await;
            }
            "pause" => sleep(step["ms"].as_i64().unwrap_or(0) as i32).await,
            // A page reload: every client goes at once, without DISCONNECT.
            "reload" => {
                self.clients.clear();
                self.seen.borrow_mut().connects.clear();
                sleep(100).await;
            }
            other => panic!("unknown step {other}"),
        }
    }

    /// The `start` step of `name` in the case being run (a takeover copies its options).
    fn first_start(&self, name: &str) -> Option<Value> {
        let scenario: Value = serde_json::from_str(SCENARIO).ok()?;
        scenario["cases"][self.case]["steps"]
            .as_array()?
            .iter()
            .find(|s| s["op"] == "start" && s["client"] == name)
            .cloned()
    }
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

async fn run_case(
    target: &Target,
    unreachable: &str,
    case: usize,
    spec: &Value,
    version: ProtocolVersion,
    tag: &str,
) {
    let mut run = Run {
        target: target.clone(),
        unreachable: unreachable.to_owned(),
        version,
        tag: tag.to_owned(),
        case,
        clients: HashMap::new(),
        seen: Shared::default(),
        outstanding: Rc::new(Cell::new(0)),
    };
    for step in spec["steps"].as_array().expect("steps") {
        run.step(step).await;
    }
    let names: Vec<String> = run.clients.keys().cloned().collect();
    for name in names {
        run.end(&name, 0).await;
    }
    let name = spec["name"].as_str().unwrap_or_default();
    let expect = &spec["expect"];
    let seen = run.seen.borrow();
    assert_eq!(
        sorted(seen.completions.clone()),
        sorted(strings(&expect["completions"])),
        "{tag}: {name}: completions"
    );
    let mut watcher = strings(&expect["watcher"]);
    if version == ProtocolVersion::V5 {
        watcher.extend(strings(&expect["watcher_v5"]));
    }
    assert_eq!(
        sorted(seen.watcher.clone()),
        sorted(watcher),
        "{tag}: {name}: the watcher heard"
    );
    if let Some(received) = expect["received"].as_object() {
        for (who, heard) in received {
            let got = seen.received.get(who).cloned().unwrap_or_default();
            assert_eq!(
                sorted(got),
                sorted(strings(heard)),
                "{tag}: {name}: {who} received"
            );
        }
    }
    if let Some(sent) = expect["subscribes_sent"].as_object() {
        for (who, n) in sent {
            let got = seen.subscribes_sent.get(who).copied().unwrap_or(0);
            assert_eq!(
                Some(u64::from(got)),
                n.as_u64(),
                "{tag}: {name}: {who}'s SUBSCRIBEs"
            );
        }
    }
}

#[wasm_bindgen_test]
async fn every_broker_and_version_observes_what_the_scenario_expects() {
    let scenario: Value = serde_json::from_str(SCENARIO).expect("the scenario is JSON");
    let unreachable = scenario["unreachable"].as_str().expect("unreachable");
    let (_host, connector) = in_page_broker();
    let mut targets: Vec<(String, Target)> = brokers()
        .into_iter()
        .map(|(name, url)| {
            (
                name,
                Target {
                    url,
                    connector: None,
                },
            )
        })
        .collect();
    targets.push((
        "intab".into(),
        Target {
            url: "tab://policy".into(),
            connector: Some(connector),
        },
    ));
    let run_id = (js_sys::Math::random() * 1e9) as u64;
    for (broker, target) in &targets {
        for version in [ProtocolVersion::V311, ProtocolVersion::V5] {
            let tag = format!(
                "{broker}-{}-{run_id}",
                if version == ProtocolVersion::V5 { 5 } else { 4 }
            );
            for (i, case) in scenario["cases"]
                .as_array()
                .expect("cases")
                .iter()
                .enumerate()
            {
                run_case(target, unreachable, i, case, version, &tag).await;
            }
        }
    }
}

#[wasm_bindgen_test]
fn the_refused_urls_are_refused_with_their_codes() {
    let scenario: Value = serde_json::from_str(SCENARIO).expect("the scenario is JSON");
    for refused in scenario["refused_urls"].as_array().expect("refused_urls") {
        let url = text(refused, "url");
        let error = support::refusal(&url).unwrap_or_else(|| panic!("{url} was taken"));
        assert_eq!(error.code(), text(refused, "code"), "{url}");
        assert!(
            error.to_string().contains(&text(refused, "contains")),
            "{url}: {error}"
        );
    }
}

#[wasm_bindgen_test]
async fn mqtt_in_a_browser_is_websocket_to_the_same_host_and_port() {
    let scenario: Value = serde_json::from_str(SCENARIO).expect("the scenario is JSON");
    let schemes = &scenario["websocket_schemes"];
    for (name, url) in brokers() {
        let url = url.replacen(&text(schemes, "from"), &text(schemes, "to"), 1);
        let policy = ConnectionPolicy {
            reconnect: None,
            ..ConnectionPolicy::default()
        };
        let options = ClientOptions {
            client_id: format!("policy-mqtt-scheme-{name}"),
            ..ClientOptions::default()
        };
        let (client, log) = support::start(&url, options, policy, ClientSession::new(), None, None);
        assert_eq!(
            support::wait_for(&log, support::connected, 1).await,
            1,
            "{url}"
        );
        client.end(End::default());
    }
}
