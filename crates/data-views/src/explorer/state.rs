//! The Explorer's state, shared through context, and its client: one connection that
//! subscribes to the filter and feeds every message into the topic tree.
//!
//! The tree is not a signal: a flood of thousands of messages a second goes into it
//! untracked, and the view redraws on a [`TICK_MS`] timer from `now` (which also moves
//! ages and stale marks on while nothing arrives).

use crate::history_store::{self, KeptHistory};
use crate::watch::{self, wall_ms};
use leptos::prelude::*;
use std::collections::HashSet;
use tabmq_app::{broker_url, page_param, reason_words, Status};
use tabmq_client::ResilientClient;
use tabmq_core::{Bytes, Publish, QoS};
use tabmq_dashboard::sparkplug::Births;
use tabmq_dashboard::{series, History, HistoryLimits, NodeId, SeriesSpec, TopicTree};

/// How often the view redraws: four times a second shows rates and stale marks as they
/// change, at a cost that does not grow with the message rate.
pub const TICK_MS: i32 = 250;

/// The Explorer's chart history (see `history_store`), and what it plots.
const DATABASE: &str = "tabmq-explorer-history";
const PLOT_KEY: &str = "tabmq-explorer:plot";

/// What localStorage keeps of the chart.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
struct KeptPlot {
    specs: Vec<SeriesSpec>,
    limits: Option<HistoryLimits>,
}

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
    pub history: KeptHistory,
    pub limits: RwSignal<HistoryLimits>,
    client: StoredValue<Option<ResilientClient>, LocalStorage>,
    /// Which connection's messages the tree takes: a new watch leaves the old one's.
    generation: StoredValue<u64>,
}

impl Explorer {
    pub fn new() -> Explorer {
        let kept: KeptPlot = history_store::load_json(PLOT_KEY).unwrap_or_default();
        let kept = KeptPlot {
            // Outside data: only specs that still check out.
            specs: kept
                .specs
                .into_iter()
                .filter_map(|s| s.checked().ok())
                .collect(),
            limits: kept.limits,
        };
        let limits = kept.limits.unwrap_or_default();
        Explorer {
            specs: RwSignal::new(kept.specs),
            history: KeptHistory::new(limits),
            limits: RwSignal::new(limits),
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
        let on_message = move |p: &Publish| {
            if self.generation.try_get_value() != Some(generation) {
                return;
            }
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
                    self.history.points.update_value(|h| {
                        series::record(specs, h, births, &p.topic, &p.payload, at);
                    })
                });
            });
        };
        let url = self.url.get_untracked();
        let Some(client) = watch::open(&url, "tabmq-explorer", self.status, on_message).await
        else {
            return;
        };
        let filter = self.filter.get_untracked();
        self.client.set_value(Some(client.clone()));
        watch::subscribe(&client, filter, None, self.status).await;
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
    /// Opens the chart's storage and puts back what it kept for the series plotted.
    pub async fn open_history(self) {
        let specs = self.specs.get_untracked();
        self.history
            .open(DATABASE, |key| specs.iter().any(|s| s.owns(key)))
            .await;
    }

    fn keep_plot(self) {
        history_store::save_json(
            PLOT_KEY,
            &KeptPlot {
                specs: self.specs.get_untracked(),
                limits: Some(self.limits.get_untracked()),
            },
        );
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
        self.history.points.update_value(|h| {
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
            .points
            .update_value(|h| h.set_limits(limits, wall_ms()));
        self.keep_plot();
        self.now_ms.set(wall_ms());
    }

    pub fn clear_history(self) {
        self.history.points.update_value(History::clear);
        self.now_ms.set(wall_ms());
    }
}

impl Default for Explorer {
    fn default() -> Explorer {
        Explorer::new()
    }
}
