//! The Dashboard's state, shared through context: the board (kept in localStorage, or
//! taken from a shared link), what each widget last read, the chart widgets' history, and
//! the one client that subscribes to every widget's filter and publishes for the switches,
//! buttons and sliders.

use crate::history_store::{self, KeptHistory};
use crate::watch::{self, wall_ms};
use leptos::prelude::*;
use std::collections::HashMap;
use tabmq_app::{broker_url, page_param, reason_words, Status};
use tabmq_client::ResilientClient;
use tabmq_core::{Bytes, Publish, QoS};
use tabmq_dashboard::sparkplug::Births;
use tabmq_dashboard::{series, Board, HistoryLimits, Incoming, Readings, SeriesSpec, WidgetKind};

/// Where the board is kept, and its charts' history.
const BOARD_KEY: &str = "tabmq-dashboard:board";
const DATABASE: &str = "tabmq-dashboard-history";

/// The Dashboard's state. `Copy`: components take it from context by value.
#[derive(Clone, Copy)]
pub struct Dashboard {
    pub board: RwSignal<Board>,
    pub readings: StoredValue<Readings, LocalStorage>,
    pub history: KeptHistory,
    pub births: StoredValue<Births, LocalStorage>,
    /// The wall clock at the last tick: what the board is drawn as of.
    pub now_ms: RwSignal<u64>,
    pub url: RwSignal<String>,
    pub status: RwSignal<Status>,
    /// The last thing to say: a refused widget, an import, a publish that failed.
    pub notice: RwSignal<Option<String>>,
    client: StoredValue<Option<ResilientClient>, LocalStorage>,
    /// Each filter subscribed to, and its subscription identifier.
    subscribed: StoredValue<HashMap<String, u32>>,
    /// The chart widgets' series, parsed when the board changes, not once a message.
    charts: StoredValue<Vec<SeriesSpec>>,
}

/// The series a board's chart widgets draw.
pub fn chart_specs(board: &Board) -> Vec<SeriesSpec> {
    board
        .widgets
        .iter()
        .filter(|w| w.kind == WidgetKind::Chart)
        .filter_map(|w| w.spec().ok())
        .collect()
}

impl Dashboard {
    /// The board a shared link (`?board=`) carries, else the one kept, else an empty one.
    pub fn new() -> Dashboard {
        let mut notice = None;
        let shared = page_param("board").map(|p| Board::from_url_param(&p));
        let board = match shared {
            Some(Ok(board)) => {
                history_store::save_json(BOARD_KEY, &board);
                notice = Some(format!(
                    "Opened a shared board of {} widgets",
                    board.widgets.len()
                ));
                board
            }
            Some(Err(e)) => {
                notice = Some(format!("The shared board could not be read: {e}"));
                kept_board()
            }
            None => kept_board(),
        };
        let board_now = board.clone();
        Dashboard {
            board: RwSignal::new(board),
            readings: StoredValue::new_local(Readings::default()),
            history: KeptHistory::new(HistoryLimits::default()),
            births: StoredValue::new_local(Births::default()),
            now_ms: RwSignal::new(wall_ms()),
            url: RwSignal::new(broker_url()),
            status: RwSignal::new(Status::Disconnected),
            notice: RwSignal::new(notice),
            client: StoredValue::new_local(None),
            subscribed: StoredValue::new(HashMap::new()),
            charts: StoredValue::new(chart_specs(&board_now)),
        }
    }

    /// Connects, subscribes to the board's filters, and opens the charts' history.
    pub async fn start(self) {
        let specs = self.charts.get_value();
        wasm_bindgen_futures::spawn_local(
            self.history
                .open(DATABASE, move |k| specs.iter().any(|s| s.owns(k))),
        );
        let on_message = move |p: &Publish| {
            let at = wall_ms();
            if p.topic.starts_with("spBv1.0/") {
                self.births.update_value(|b| b.learn(&p.topic, &p.payload));
            }
            let ids = &p.properties.subscription_identifiers;
            let via: Option<Vec<String>> = (!ids.is_empty()).then(|| {
                self.subscribed.with_value(|s| {
                    s.iter()
                        .filter(|(_, id)| ids.contains(id))
                        .map(|(f, _)| f.clone())
                        .collect()
                })
            });
            let m = Incoming {
                topic: &p.topic,
                payload: &p.payload,
                retain: p.retain,
                at_ms: at,
                via: via.as_deref(),
            };
            self.board.with_untracked(|board| {
                self.births.with_value(|births| {
                    self.readings.update_value(|r| r.take(board, births, &m));
                    self.charts.with_value(|charts| {
                        let mine = charts.iter().filter(|s| m.came_for(&s.filter));
                        self.history.points.update_value(|h| {
                            series::record(mine, h, births, &p.topic, &p.payload, at);
                        });
                    });
                });
            });
        };
        let url = self.url.get_untracked();
        let Some(client) = watch::open(&url, "tabmq-dashboard", self.status, on_message).await
        else {
            return;
        };
        self.client.set_value(Some(client));
        self.subscribe_new().await;
    }

    /// Subscribes to the board's filters not subscribed to yet, each with a subscription
    /// identifier of its own, so each message says which filters it came by (a removed
    /// widget's filter stays: its messages find no widget and cost nothing).
    async fn subscribe_new(self) {
        let Some(client) = self.client.get_value() else {
            return;
        };
        let wanted = self.board.with_untracked(Board::filters);
        let new: Vec<(String, u32)> = self
            .subscribed
            .try_update_value(|s| {
                let mut new = Vec::new();
                for f in wanted {
                    if !s.contains_key(&f) {
                        // From 1, one per filter for the page's life.
                        let id = s.len() as u32 + 1;
                        s.insert(f.clone(), id);
                        new.push((f, id));
                    }
                }
                new
            })
            .unwrap_or_default();
        for (filter, id) in new {
            watch::subscribe(&client, filter, Some(id), self.status).await;
        }
    }

    /// Changes the board, keeps it, and subscribes to what it now reads.
    pub fn change(self, change: impl FnOnce(&mut Board)) {
        self.board.update(change);
        self.board.with_untracked(|b| {
            history_store::save_json(BOARD_KEY, b);
            self.readings.update_value(|r| r.keep_only(b));
            self.charts.set_value(chart_specs(b));
        });
        wasm_bindgen_futures::spawn_local(self.subscribe_new());
        self.now_ms.set(wall_ms());
    }

    /// Publishes `payload` for widget `id`, as the widget says (topic, QoS, retain).
    pub fn publish(self, id: u32, payload: String) {
        let Some(w) = self.board.with_untracked(|b| b.widget(id).cloned()) else {
            return;
        };
        let Some(client) = self.client.get_value() else {
            self.notice
                .set(Some(format!("{}: not connected", w.label())));
            return;
        };
        let publish = Publish {
            topic: w.topic.clone().into(),
            payload: Bytes::from(payload.into_bytes()),
            qos: QoS::from_u8(w.qos).unwrap_or(QoS::AtMostOnce),
            retain: w.retain,
            ..Publish::default()
        };
        if publish.qos == QoS::AtMostOnce {
            if let Err(e) = client.publish(publish) {
                self.notice.set(Some(format!("{}: {e}", w.label())));
            }
            return;
        }
        wasm_bindgen_futures::spawn_local(async move {
            match client.publish_async(publish).await {
                Ok(code) if code.is_success() => {}
                Ok(code) => self.notice.set(Some(format!(
                    "{}: refused, {}",
                    w.label(),
                    reason_words(code)
                ))),
                Err(e) => self.notice.set(Some(format!("{}: {e}", w.label()))),
            }
        });
    }
}

fn kept_board() -> Board {
    // Outside data: every widget is checked again on the way in.
    history_store::load_json::<serde_json::Value>(BOARD_KEY)
        .and_then(|v| Board::from_json(&v.to_string()).ok())
        .unwrap_or_default()
}

impl Default for Dashboard {
    fn default() -> Dashboard {
        Dashboard::new()
    }
}
