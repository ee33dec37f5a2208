//! The Explorer's state, shared through context, and its client: one connection that
//! subscribes to the filter and feeds every message into the topic tree.
//!
//! The tree is not a signal: a flood of thousands of messages a second goes into it
//! untracked, and the view redraws on a [`TICK_MS`] timer from `now` (which also moves
//! ages and stale marks on while nothing arrives).

use leptos::prelude::*;
use std::collections::HashSet;
use tabmq_app::{broker_url, page_param, reason_words, Status, WORKER_URL};
use tabmq_client::{connect, ConnectOptions, ResilientClient};
use tabmq_core::{
    Bytes, ClientOptions, MachineEvent, Properties, ProtocolVersion, Publish, QoS, SubscribeFilter,
};
use tabmq_dashboard::sparkplug::Births;
use tabmq_dashboard::{NodeId, TopicTree};

/// How often the view redraws: four times a second shows rates and stale marks as they
/// change, at a cost that does not grow with the message rate.
pub const TICK_MS: i32 = 250;

/// The filter the Explorer starts with: everything (but `$SYS`, which `#` never matches).
pub const DEFAULT_FILTER: &str = "#";

/// The Explorer's state. `Copy`: components take it from context by value.
#[derive(Clone, Copy)]
pub struct Explorer {
    pub tree: StoredValue<TopicTree, LocalStorage>,
    /// What Sparkplug B births said, to read the DATA messages that follow them.
    pub births: StoredValue<Births, LocalStorage>,
    /// The wall clock at the last tick: what the view is drawn as of.
    pub now_ms: RwSignal<u64>,
    pub url: RwSignal<String>,
    pub filter: RwSignal<String>,
    pub status: RwSignal<Status>,
    pub expanded: RwSignal<HashSet<NodeId>>,
    pub selected: RwSignal<Option<NodeId>>,
    /// The last retained delete's outcome, for the status line.
    pub notice: RwSignal<Option<String>>,
    client: StoredValue<Option<ResilientClient>, LocalStorage>,
    /// Which connection's messages the tree takes: a new watch leaves the old one's.
    generation: StoredValue<u64>,
}

/// The wall clock, in milliseconds since the Unix epoch.
pub fn wall_ms() -> u64 {
    js_sys::Date::now() as u64
}

impl Explorer {
    pub fn new() -> Explorer {
        Explorer {
            tree: StoredValue::new_local(TopicTree::default()),
            births: StoredValue::new_local(Births::default()),
            now_ms: RwSignal::new(wall_ms()),
            url: RwSignal::new(broker_url()),
            filter: RwSignal::new(
                page_param("filter").unwrap_or_else(|| DEFAULT_FILTER.to_owned()),
            ),
            status: RwSignal::new(Status::Disconnected),
            expanded: RwSignal::new(HashSet::new()),
            selected: RwSignal::new(None),
            notice: RwSignal::new(None),
            client: StoredValue::new_local(None),
            generation: StoredValue::new(0),
        }
    }

    /// Forgets the tree and watches `filter` on `url` with a new connection.
    pub async fn watch(self) {
        if let Some(old) = self.client.try_update_value(Option::take).flatten() {
            old.end(Default::default());
        }
        let generation = self.generation.get_value() + 1;
        self.generation.set_value(generation);
        self.tree.update_value(TopicTree::clear);
        self.births.set_value(Births::default());
        self.expanded.set(HashSet::new());
        self.selected.set(None);
        self.status.set(Status::Connecting);
        let listener = Box::new(move |event: &MachineEvent| {
            if self.generation.try_get_value() != Some(generation) {
                return;
            }
            match event {
                MachineEvent::Message(p) => {
                    let at = wall_ms();
                    if p.topic.starts_with("spBv1.0/") {
                        self.births.update_value(|b| b.learn(&p.topic, &p.payload));
                    }
                    self.tree.update_value(|t| {
                        t.insert(&p.topic, &p.payload, p.retain, p.qos.as_u8(), at);
                    });
                }
                MachineEvent::Connected { .. } => self.status.set(Status::Connected),
                MachineEvent::Reconnecting => self.status.set(Status::Connecting),
                MachineEvent::TransportFailed => self
                    .status
                    .set(Status::Failed("the broker could not be reached".to_owned())),
                MachineEvent::Closed(reason) => {
                    self.status.set(Status::Failed(reason.summary().to_owned()))
                }
                _ => {}
            }
        });
        let options = ConnectOptions {
            // MQTT 5, for Retain As Published: a retained message published while the
            // Explorer watches keeps its flag, so the tree knows what the broker holds.
            client: ClientOptions {
                protocol: ProtocolVersion::V5,
                client_id: format!(
                    "tabmq-explorer-{:08x}",
                    (js_sys::Math::random() * 4_294_967_296.0) as u32
                ),
                ..ClientOptions::default()
            },
            ..ConnectOptions::default()
        };
        match connect(&self.url.get_untracked(), options, WORKER_URL, listener).await {
            Ok(client) => {
                let filter = SubscribeFilter {
                    retain_as_published: true,
                    ..SubscribeFilter::new(self.filter.get_untracked(), QoS::AtMostOnce)
                };
                let subscribed = client.subscribe_async(vec![filter], Properties::default());
                self.client.set_value(Some(client));
                if let Err(e) = subscribed.await {
                    self.status.set(Status::Failed(format!("subscribe: {e}")));
                }
            }
            Err(e) => self.status.set(Status::Failed(e.to_string())),
        }
    }

    /// Deletes the retained messages on `topics` (an empty retained message on each, at
    /// QoS 1, so the broker confirms each), and says how it went.
    pub async fn delete_retained(self, topics: Vec<String>) {
        let Some(client) = self.client.get_value() else {
            self.notice.set(Some("Not connected".to_owned()));
            return;
        };
        let total = topics.len();
        let mut deleted = 0;
        let mut failures = Vec::new();
        for topic in topics {
            let publish = Publish {
                topic: topic.clone().into(),
                payload: Bytes::new(),
                qos: QoS::AtLeastOnce,
                retain: true,
                ..Publish::default()
            };
            match client.publish_async(publish).await {
                Ok(code) if code.is_success() => {
                    deleted += 1;
                    self.tree.update_value(|t| t.clear_retained(&topic));
                }
                Ok(code) => failures.push(format!("{topic}: {}", reason_words(code))),
                Err(e) => failures.push(format!("{topic}: {e}")),
            }
        }
        let mut line = format!(
            "Deleted {deleted} of {total} retained message{}",
            if total == 1 { "" } else { "s" }
        );
        if !failures.is_empty() {
            line.push_str(&format!(" ({})", failures.join("; ")));
        }
        self.notice.set(Some(line));
        self.now_ms.set(wall_ms());
    }
}

impl Default for Explorer {
    fn default() -> Explorer {
        Explorer::new()
    }
}
