//! The broker inspector, for the in-tab broker: sessions with their subscriptions and
//! queues, retained messages (with delete), the counters, and messages per second.

use crate::connect::WORKER_URL;
use crate::state::Lab;
use js_sys::{Reflect, Uint8Array};
use leptos::prelude::*;
use serde::Deserialize;
use std::collections::VecDeque;
use tabmq_client::InTabBroker;
use wasm_bindgen::prelude::*;

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Subscription {
    topic: String,
    qos: u8,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Session {
    client_id: String,
    connected: bool,
    protocol_version: u8,
    subscriptions: Vec<Subscription>,
    in_flight: f64,
    queued: f64,
}

#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Counters {
    connections: f64,
    messages_received: f64,
    messages_sent: f64,
    publish_received: f64,
    publish_sent: f64,
    publish_dropped: f64,
}

#[derive(Debug, Clone, PartialEq)]
struct Retained {
    topic: String,
    qos: u8,
    payload: String,
}

#[derive(Debug, Clone, PartialEq, Default)]
struct View {
    sessions: Vec<Session>,
    retained: Vec<Retained>,
    counters: Counters,
}

/// Reads the worker's answer to `inspect`.
fn read(value: &JsValue) -> Option<View> {
    let field = |name: &str| Reflect::get(value, &name.into()).ok();
    let json = |v: JsValue| js_sys::JSON::stringify(&v).ok()?.as_string();
    let sessions = serde_json::from_str(&json(field("sessions")?)?).ok()?;
    let counters = serde_json::from_str(&json(field("counters")?)?).ok()?;
    let retained = js_sys::Array::from(&field("retained")?)
        .iter()
        .map(|r| {
            let get = |k: &str| Reflect::get(&r, &k.into()).unwrap_or_default();
            let payload = get("payload")
                .dyn_into::<Uint8Array>()
                .map(|a| String::from_utf8_lossy(&a.to_vec()).into_owned())
                .unwrap_or_default();
            Retained {
                topic: get("topic").as_string().unwrap_or_default(),
                qos: get("qos").as_f64().unwrap_or(0.0) as u8,
                payload,
            }
        })
        .collect();
    Some(View {
        sessions,
        retained,
        counters,
    })
}

/// Samples of messages per second for the chart.
const SAMPLES: usize = 60;

/// The chart's plot area inside its 340×100 box: left of it the rate axis' labels, below
/// it the time axis'.
const PLOT_LEFT: f64 = 44.0;
const PLOT_WIDTH: f64 = 290.0;
const PLOT_BOTTOM: f64 = 80.0;
const PLOT_HEIGHT: f64 = 72.0;

/// The top of the rate axis: the highest rate seen, at least 1.
fn chart_top(rates: &VecDeque<f64>) -> f64 {
    rates.iter().copied().fold(1.0f64, f64::max)
}

/// The chart's polyline points for `rates`, one a second, the newest at the right.
fn chart_points(rates: &VecDeque<f64>) -> String {
    let top = chart_top(rates);
    let first = SAMPLES.saturating_sub(rates.len());
    rates
        .iter()
        .enumerate()
        .map(|(i, r)| {
            format!(
                "{:.1},{:.1}",
                PLOT_LEFT + (first + i) as f64 * PLOT_WIDTH / (SAMPLES - 1) as f64,
                PLOT_BOTTOM - r / top * PLOT_HEIGHT
            )
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The inspector; it polls the broker once a second while the lab uses an in-tab one.
#[component]
pub fn BrokerInspector() -> impl IntoView {
    let lab = expect_context::<Lab>();
    let view_now = RwSignal::new(None::<View>);
    let rates = RwSignal::new(VecDeque::<f64>::new());
    let last = StoredValue::new(None::<f64>);
    let error = RwSignal::new(None::<String>);
    let show_sys = RwSignal::new(false);
    // Followed as the clients' settings change: the inspector shows the in-tab broker
    // the clients are on, or says that none is.
    let target = Memo::new(move |_| lab.inspected_broker());
    // A broker nobody is on any more shows nothing at once, not until the next poll.
    Effect::new(move |_| {
        if target.get().is_none() {
            view_now.set(None);
        }
    });
    let poll = move || {
        let Some(url) = target.get_untracked() else {
            view_now.set(None);
            return;
        };
        wasm_bindgen_futures::spawn_local(async move {
            let answer = match InTabBroker::for_url(&url, WORKER_URL).await {
                Ok(broker) => broker.inspect().await.map_err(|e| e.to_string()),
                Err(e) => Err(e.to_string()),
            };
            match answer.ok().as_ref().and_then(read) {
                Some(v) => {
                    let received = v.counters.publish_received;
                    if let Some(before) = last.get_value() {
                        rates.update(|r| {
                            r.push_back((received - before).max(0.0));
                            while r.len() > SAMPLES {
                                r.pop_front();
                            }
                        });
                    }
                    last.set_value(Some(received));
                    view_now.set(Some(v));
                    error.set(None);
                }
                None => error.set(Some("the broker did not answer".into())),
            }
        });
    };
    let tick = poll;
    let handle = set_interval_with_handle(tick, std::time::Duration::from_secs(1)).ok();
    on_cleanup(move || {
        if let Some(h) = handle {
            h.clear();
        }
    });
    poll();
    let delete = move |topic: String| {
        let Some(url) = target.get_untracked() else {
            return;
        };
        wasm_bindgen_futures::spawn_local(async move {
            if let Ok(broker) = InTabBroker::for_url(&url, WORKER_URL).await {
                let _ = broker.delete_retained(&topic).await;
            }
        });
    };
    view! {
        <section class="card" data-testid="inspector" aria-label="Broker inspector">
            <header><h2>"Broker inspector"</h2></header>
            <p class="hint" data-testid="inspected-broker">
                {move || match target.get() {
                    Some(url) => format!("Inspecting {url}, the broker in this tab."),
                    None => format!(
                        "The clients use {}; the inspector sees only a broker in this tab (tab://).",
                        lab.client_brokers().join(", ")
                    ),
                }}
            </p>
            {move || error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
            {move || view_now.get().map(|v| {
                let c = v.counters.clone();
                view! {
                    <dl class="counters" data-testid="counters">
                        <div><dt>"Connections"</dt><dd data-testid="counter-connections">{c.connections}</dd></div>
                        <div><dt>"Messages received"</dt><dd>{c.messages_received}</dd></div>
                        <div><dt>"Messages sent"</dt><dd>{c.messages_sent}</dd></div>
                        <div><dt>"PUBLISH received"</dt><dd data-testid="counter-publish-received">{c.publish_received}</dd></div>
                        <div><dt>"PUBLISH sent"</dt><dd>{c.publish_sent}</dd></div>
                        <div><dt>"Dropped"</dt><dd>{c.publish_dropped}</dd></div>
                    </dl>
                    <h3>"Sessions"</h3>
                    <table data-testid="sessions">
                        <thead><tr><th>"Client"</th><th>"State"</th><th>"Subscriptions"</th><th>"In flight"</th><th>"Queued"</th></tr></thead>
                        <tbody>
                            {v.sessions.into_iter().map(|s| view! {
                                <tr data-testid="session" data-client=s.client_id.clone()>
                                    <td>{s.client_id.clone()}" (v"{if s.protocol_version == 5 { "5" } else { "3.1.1" }}")"</td>
                                    <td>{if s.connected { "online" } else { "offline" }}</td>
                                    <td>{s.subscriptions.iter().map(|x| format!("{} (QoS {})", x.topic, x.qos)).collect::<Vec<_>>().join(", ")}</td>
                                    <td>{s.in_flight}</td>
                                    <td data-testid="session-queued">{s.queued}</td>
                                </tr>
                            }).collect_view()}
                        </tbody>
                    </table>
                    <h3>"Retained messages"</h3>
                    // The broker's own `$SYS` statistics (about 20 topics) are left out
                    // unless asked for, and can't be deleted: they would bury the user's,
                    // and the broker publishes them again anyway.
                    <label class="inline">
                        <input type="checkbox" prop:checked=move || show_sys.get() on:change=move |ev| show_sys.set(event_target_checked(&ev)) />
                        " Show $SYS"
                    </label>
                    <ul data-testid="retained">
                        {v.retained.into_iter().filter(|r| show_sys.get() || !r.topic.starts_with("$SYS")).map(|r| {
                            let topic = r.topic.clone();
                            let user = !r.topic.starts_with('$');
                            view! {
                                <li data-testid="retained-message">
                                    <code>{r.topic.clone()}</code>" (QoS "{r.qos}") "{r.payload.clone()}
                                    {user.then(|| view! {
                                        <button class="secondary" aria-label=format!("Delete retained {}", r.topic) on:click=move |_| delete(topic.clone())>"Delete"</button>
                                    })}
                                </li>
                            }
                        }).collect_view()}
                    </ul>
                }
            })}
            {move || target.get().is_some().then(|| view! {
                <figure class="rate">
                    <figcaption>"Messages per second"</figcaption>
                    <svg viewBox="0 0 340 100" width="100%" role="img" aria-label="Messages per second over the last minute" data-testid="rate-chart" class="chart">
                        <line class="axis" x1=PLOT_LEFT y1=PLOT_BOTTOM - PLOT_HEIGHT x2=PLOT_LEFT y2=PLOT_BOTTOM />
                        <line class="axis" x1=PLOT_LEFT y1=PLOT_BOTTOM x2=PLOT_LEFT + PLOT_WIDTH y2=PLOT_BOTTOM />
                        <text x=PLOT_LEFT - 4.0 y=PLOT_BOTTOM - PLOT_HEIGHT + 4.0 text-anchor="end" data-testid="rate-axis-top">{move || format!("{:.0}", chart_top(&rates.get()))}</text>
                        <text x=PLOT_LEFT - 4.0 y=PLOT_BOTTOM + 4.0 text-anchor="end">"0"</text>
                        <text x=PLOT_LEFT y=PLOT_BOTTOM + 16.0>"60 s ago"</text>
                        <text x=PLOT_LEFT + PLOT_WIDTH y=PLOT_BOTTOM + 16.0 text-anchor="end">"now"</text>
                        <text x="2" y="10" class="unit">"msg/s"</text>
                        <polyline fill="none" stroke="#3767e8" stroke-width="2" points=move || chart_points(&rates.get()) />
                    </svg>
                    <span class="hint" data-testid="rate-now">{move || format!("{} msg/s", rates.get().back().copied().unwrap_or(0.0))}</span>
                </figure>
            })}
        </section>
    }
}
