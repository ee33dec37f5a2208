//! The selected topic: its statistics, its last payload in the format chosen (text, JSON,
//! hex, base64, Sparkplug B), its recent messages, and deleting retained messages, its
//! own or a whole subtree's.

use super::state::Explorer;
use super::topic_tree_view::age_label;
use leptos::prelude::*;
use tabmq_app::clock_label_at;
use tabmq_dashboard::payload::{self, Format};
use tabmq_dashboard::sparkplug::{self, Births};
use tabmq_dashboard::Message;

/// What the panel shows of the selected node, as of the last tick.
#[derive(Clone, Debug, PartialEq)]
struct Selected {
    topic: String,
    stats: Option<Stats>,
    /// Retained messages at this node and below.
    retained_below: Vec<String>,
}

#[derive(Clone, Debug, PartialEq)]
struct Stats {
    messages: u64,
    per_second: f64,
    age_ms: u64,
    usual_ms: Option<u64>,
    retained: bool,
    stale: bool,
    recent: Vec<Message>,
}

/// The selected topic's panel.
#[component]
pub fn TopicDetails() -> impl IntoView {
    let explorer = expect_context::<Explorer>();
    let chosen = RwSignal::new(None::<Format>);
    // A new topic is shown first in the format its payload looks like.
    Effect::new(move |_| {
        explorer.selected.track();
        chosen.set(None);
    });
    let selected = Memo::new(move |_| {
        let now = explorer.now_ms.get();
        let id = explorer.selected.get()?;
        explorer.tree.with_value(|tree| {
            let node = tree.node(id)?;
            Some(Selected {
                topic: tree.topic_of(id),
                stats: node.topic().map(|t| Stats {
                    messages: t.messages,
                    per_second: t.per_second(now),
                    age_ms: t.age_ms(now),
                    usual_ms: t.cadence().usual_interval_ms(),
                    retained: t.retained,
                    stale: t.is_stale(now),
                    recent: t.recent().iter().cloned().collect(),
                }),
                retained_below: tree.retained_under(id),
            })
        })
    });
    let format = move || {
        chosen.get().or_else(|| {
            selected.with(|s| {
                let s = s.as_ref()?;
                let last = s.stats.as_ref()?.recent.last()?;
                Some(payload::guess(&s.topic, &last.payload))
            })
        })
    };
    let delete = move |topics: Vec<String>| {
        wasm_bindgen_futures::spawn_local(explorer.delete_retained(topics));
    };
    view! {
        <section class="card topic-details" aria-label="Topic" data-testid="topic-details">
            {move || match selected.get() {
                None => view! { <p class="hint">"Select a topic in the tree to see its messages."</p> }.into_any(),
                Some(s) => {
                    let own = s.stats.as_ref().is_some_and(|t| t.retained).then(|| s.topic.clone());
                    let below = s.retained_below.clone();
                    view! {
                        <h2 data-testid="selected-topic">{s.topic.clone()}</h2>
                        {s.stats.clone().map(|t| view! {
                            <dl class="counters" data-testid="topic-stats">
                                <div><dt>"Messages"</dt><dd data-testid="topic-messages">{t.messages}</dd></div>
                                <div><dt>"Rate"</dt><dd>{format!("{:.1}/s", t.per_second)}</dd></div>
                                <div><dt>"Last"</dt><dd>{format!("{} ago", age_label(t.age_ms))}</dd></div>
                                <div><dt>"Usual interval"</dt><dd>{t.usual_ms.map_or_else(|| "—".to_owned(), age_label)}</dd></div>
                                <div><dt>"Retained"</dt><dd>{if t.retained { "yes" } else { "no" }}</dd></div>
                                <div><dt>"State"</dt><dd data-testid="topic-state">{if t.stale { "stale" } else { "live" }}</dd></div>
                            </dl>
                        })}
                        <div class="row">
                            {own.map(|topic| view! {
                                <button class="danger" on:click=move |_| delete(vec![topic.clone()])>"Delete retained"</button>
                            })}
                            {(!below.is_empty()).then(|| {
                                let n = below.len();
                                view! {
                                    <button class="danger" on:click=move |_| delete(below.clone())>
                                        {format!("Delete retained below ({n})")}
                                    </button>
                                }
                            })}
                        </div>
                    }.into_any()
                }
            }}
            <p class="hint" role="status" data-testid="explorer-notice">{move || explorer.notice.get()}</p>
            <Show when=move || selected.with(|s| s.as_ref().is_some_and(|s| s.stats.is_some()))>
                <label>
                    "Show as"
                    <select
                        on:change=move |ev| {
                            let v = event_target_value(&ev);
                            chosen.set(Format::ALL.into_iter().find(|f| f.name() == v));
                        }
                        prop:value=move || format().map_or("Text", Format::name)
                    >
                        {Format::ALL.into_iter().map(|f| view! { <option value=f.name()>{f.name()}</option> }).collect_view()}
                    </select>
                </label>
                {move || {
                    let last = selected.with(|s| s.as_ref().and_then(|s| s.stats.as_ref()?.recent.last().cloned()))?;
                    let f = format().unwrap_or(Format::Text);
                    let topic = selected.with(|s| s.as_ref().map(|s| s.topic.clone())).unwrap_or_default();
                    Some(explorer.births.with_value(|births| payload_view(births, &topic, &last, f)))
                }}
                <h3>"Recent messages"</h3>
                <ol class="recent" data-testid="recent-messages" reversed>
                    {move || selected.with(|s| {
                        let s = s.as_ref()?;
                        s.stats.as_ref().map(|t| {
                            let topic = s.topic.clone();
                            t.recent.iter().rev().map(|m| view! {
                                <li data-testid="recent-message">
                                    <span class="time">{clock_label_at(m.at_ms as f64)}</span>
                                    " "
                                    <span class="payload">{payload::summary(&topic, &m.payload, 120)}</span>
                                    {m.retain.then(|| view! { " " <span class="badge">"retained"</span> })}
                                </li>
                            }).collect_view()
                        })
                    })}
                </ol>
            </Show>
        </section>
    }
}

/// The last message's payload in `format`: text in a `<pre>` (never markup), Sparkplug B
/// as a table of metrics, named and typed by their source's birth.
fn payload_view(births: &Births, topic: &str, last: &Message, format: Format) -> AnyView {
    let cut = (last.payload.len() < last.full_len).then(|| {
        format!(
            "(the first {} of {} bytes: the explorer's payload budget is spent)",
            last.payload.len(),
            last.full_len
        )
    });
    if format == Format::Sparkplug {
        if let Ok(p) = births.decode(topic, &last.payload) {
            let rows = p
                .metrics
                .iter()
                .map(|m| {
                    view! {
                        <tr data-testid="metric">
                            <td data-testid="metric-name">{m.label()}</td>
                            <td>{sparkplug::datatype_name(m.datatype.unwrap_or(0))}</td>
                            <td data-testid="metric-value">{m.value_text()}</td>
                        </tr>
                    }
                })
                .collect_view();
            return view! {
                <table data-testid="sparkplug-metrics">
                    <caption>{format!("Sparkplug B: seq {}", p.seq.map_or_else(|| "—".to_owned(), |s| s.to_string()))}</caption>
                    <thead><tr><th>"Metric"</th><th>"Type"</th><th>"Value"</th></tr></thead>
                    <tbody>{rows}</tbody>
                </table>
                <p class="hint">{cut}</p>
            }
            .into_any();
        }
    }
    match payload::render(&last.payload, format) {
        Ok(text) => view! { <pre class="payload" data-testid="payload">{text}</pre><p class="hint">{cut}</p> }.into_any(),
        Err(e) => view! { <p class="error" data-testid="payload-error">{e.to_string()}</p> }.into_any(),
    }
}
