//! The Explorer's state, shared through context, and its client: one connection that
//! subscribes to the filter and feeds every message into the topic tree.
//!
//! The tree is not a signal: a flood of thousands of messages a second goes into it
//! untracked, and the view redraws on a [`TICK_MS`] timer from `now` (which also moves
//! ages and stale marks on while nothing arrives).

use crate::plot_store::{self, KeptPlot, PointStore};
use leptos::prelude::*;
use std::collections::HashSet;
use tabmq_app::{broker_url, page_param, reason_words, Status, WORKER_URL};
use tabmq_client::{connect, ConnectOptions, ResilientClient};
use tabmq_core::{
    Bytes, ClientOptions, MachineEvent, Properties, ProtocolVersion, Publish, QoS, SubscribeFilter,
};
use tabmq_dashboard::sparkplug::Births;
use tabmq_dashboard::{series, History, HistoryLimits, NodeId, SeriesSpec, TopicTree};

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
    /// The chart's series, its points, and their limits (kept across reloads).
    pub specs: RwSignal<Vec<SeriesSpec>>,
    pub history: StoredValue<History, LocalStorage>,
    pub limits: RwSignal<HistoryLimits>,
    /// How the history's storage stands: loaded, or why not.
    pub history_status: RwSignal<String>,
    store: StoredValue<Option<PointStore>, LocalStorage>,
    flushing: StoredValue<bool>,
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
        let kept = plot_store::load_kept();
        let limits = kept.limits.unwrap_or_default();
        Explorer {
            specs: RwSignal::new(kept.specs),
            history: StoredValue::new_local(History::new(limits)),
            limits: RwSignal::new(limits),
            history_status: RwSignal::new("History: opening IndexedDB".to_owned()),
            store: StoredValue::new_local(None),
            flushing: StoredValue::new(false),
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
                    self.specs.with_untracked(|specs| {
                        if specs.is_empty() {
                            return;
                        }
                        self.births.with_value(|births| {
                            self.history.update_value(|h| {
                                series::record(specs, h, births, &p.topic, &p.payload, at);
                            })
                        });
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

impl Explorer {
    /// Opens the history's storage and puts back what it kept for the series plotted;
    /// points of series no longer plotted go.
    pub async fn open_history(self) {
        let store = match PointStore::open().await {
            Ok(store) => store,
            Err(e) => {
                self.history_status
                    .set(format!("History: this load only (no IndexedDB: {e:?})"));
                return;
            }
        };
        match store.load().await {
            Ok(stored) => {
                let now = wall_ms();
                let specs = self.specs.get_untracked();
                let mut points = 0;
                self.history.update_value(|h| {
                    for (key, kept) in stored {
                        if specs.iter().any(|s| s.owns(&key)) {
                            points += kept.len();
                            h.restore(&key, kept, now);
                        } else {
                            h.remove(&key);
                        }
                    }
                });
                self.history_status
                    .set(format!("History: {points} points loaded from IndexedDB"));
            }
            Err(e) => self
                .history_status
                .set(format!("History: could not be loaded ({e:?})")),
        }
        self.store.set_value(Some(store));
    }

    /// Stores what the history changed since the last flush, one transaction at a time.
    pub fn flush_history(self) {
        let Some(store) = self.store.get_value() else {
            return;
        };
        if self.flushing.get_value() {
            return;
        }
        let ops = self.history.try_update_value(|h| {
            h.expire(wall_ms());
            plot_store::store_ops(h)
        });
        let Some(Ok(ops)) = ops else { return };
        if ops.length() == 0 {
            return;
        }
        self.flushing.set_value(true);
        wasm_bindgen_futures::spawn_local(async move {
            if let Err(e) = store.apply(ops).await {
                self.history_status
                    .set(format!("History: storing failed ({e:?})"));
            }
            self.flushing.set_value(false);
        });
    }

    fn keep_plot(self) {
        plot_store::save_kept(&KeptPlot {
            specs: self.specs.get_untracked(),
            limits: Some(self.limits.get_untracked()),
        });
    }

    /// Plots `spec` from now on (a spec already plotted is not added twice).
    pub fn add_series(self, spec: SeriesSpec) {
        if self.specs.with_untracked(|s| s.contains(&spec)) {
            return;
        }
        self.specs.update(|s| s.push(spec));
        self.keep_plot();
    }

    /// Stops plotting `spec`, and forgets its points.
    pub fn remove_series(self, spec: &SeriesSpec) {
        self.specs.update(|s| s.retain(|x| x != spec));
        self.history.update_value(|h| {
            let keys: Vec<String> = h
                .series()
                .filter(|k| spec.owns(k))
                .map(str::to_owned)
                .collect();
            for k in keys {
                h.remove(&k);
            }
        });
        self.keep_plot();
        self.now_ms.set(wall_ms());
    }

    pub fn set_limits(self, limits: HistoryLimits) {
        self.limits.set(limits);
        self.history
            .update_value(|h| h.set_limits(limits, wall_ms()));
        self.keep_plot();
        self.now_ms.set(wall_ms());
    }

    pub fn clear_history(self) {
        self.history.update_value(History::clear);
        self.now_ms.set(wall_ms());
    }
}

impl Default for Explorer {
    fn default() -> Explorer {
        Explorer::new()
    }
}
