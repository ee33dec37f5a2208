//! One widget on the board: what it read (per matching topic), a stale mark, a mark when
//! its connection is down, the control it publishes with, and moving and removing it.

use super::state::Dashboard;
use crate::line_chart::{colour, draw};
use leptos::prelude::*;
use tabmq_app::Status;
use tabmq_dashboard::{downsample, key_topic, Point, Widget, WidgetKind};

/// What a widget shows of one topic, as of the last tick.
#[derive(Clone, Debug, PartialEq)]
struct Shown {
    topic: String,
    text: String,
    value: Option<f64>,
    stale: bool,
    payload: Vec<u8>,
}

/// A widget, by its id on the board.
#[component]
pub fn WidgetCard(
    /// The widget's id on the board.
    id: u32,
) -> impl IntoView {
    let d = expect_context::<Dashboard>();
    let widget = Memo::new(move |_| d.board.with(|b| b.widget(id).cloned()));
    let shown = Memo::new(move |_| {
        let now = d.now_ms.get();
        d.readings.with_value(|r| {
            r.of(id)
                .map(|(topic, x)| Shown {
                    topic: topic.to_owned(),
                    text: x.text.clone(),
                    value: x.value,
                    stale: x.is_stale(now),
                    payload: x.payload.clone(),
                })
                .collect::<Vec<_>>()
        })
    });
    let stale = move || shown.with(|s| s.iter().any(|x| x.stale));
    let down = move || d.status.get() != Status::Connected;
    let label = move || widget.with(|w| w.as_ref().map(Widget::label).unwrap_or_default());
    view! {
        <article
            class="card widget"
            data-testid="widget"
            aria-label=label
            data-kind=move || widget.with(|w| w.as_ref().map(|w| w.kind.name()))
            data-stale=move || stale().then_some("true")
            data-down=move || down().then_some("true")
        >
            <header>
                <h3>{label}</h3>
                <span class="badges">
                    {move || stale().then(|| view! { <span class="badge warn" data-testid="widget-stale">"stale"</span> })}
                    {move || down().then(|| view! { <span class="badge warn" data-testid="widget-down">"connection down"</span> })}
                </span>
            </header>
            {move || widget.get().map(|w| body(d, w, shown))}
            <footer class="row">
                <button class="secondary" aria-label=move || format!("Move {} up", label()) on:click=move |_| d.change(|b| b.shift(id, -1))>"↑"</button>
                <button class="secondary" aria-label=move || format!("Move {} down", label()) on:click=move |_| d.change(|b| b.shift(id, 1))>"↓"</button>
                <button class="secondary" aria-label=move || format!("Remove {}", label()) on:click=move |_| d.change(|b| b.remove(id))>"Remove"</button>
            </footer>
        </article>
    }
}

fn body(d: Dashboard, w: Widget, shown: Memo<Vec<Shown>>) -> AnyView {
    let id = w.id;
    let many = move || shown.with(|s| s.len() > 1);
    match w.kind {
        WidgetKind::Value => {
            let unit = w.unit.clone();
            view! {
                <ul class="readings">
                    {move || shown.get().into_iter().map(|s| {
                        let unit = unit.clone();
                        view! {
                            <li data-testid="widget-reading" data-topic=s.topic.clone() data-stale=s.stale.then_some("true")>
                                <span class="big" data-testid="widget-value">{if unit.is_empty() { s.text.clone() } else { format!("{} {unit}", s.text) }}</span>
                                {many().then(|| view! { <span class="hint">{s.topic.clone()}</span> })}
                            </li>
                        }
                    }).collect_view()}
                </ul>
            }
            .into_any()
        }
        WidgetKind::Gauge => {
            let (min, max, unit) = (w.min, w.max, w.unit.clone());
            view! {
                <ul class="readings">
                    {move || shown.get().into_iter().map(|s| {
                        let value = s.value.unwrap_or(min);
                        view! {
                            <li data-testid="widget-reading" data-topic=s.topic.clone()>
                                <meter min=min max=max value=value aria-label=format!("{} gauge", s.topic)></meter>
                                <span data-testid="widget-value">{s.value.map_or_else(|| "—".to_owned(), |v| format!("{v} {unit}"))}</span>
                                {many().then(|| view! { <span class="hint">{s.topic.clone()}</span> })}
                            </li>
                        }
                    }).collect_view()}
                </ul>
            }
            .into_any()
        }
        WidgetKind::Chart => chart(d, w),
        WidgetKind::Switch => {
            let (on, off) = (w.payload.clone(), w.off_payload.clone());
            let reads = w.clone();
            let state = Memo::new(move |_| {
                shown.with(|s| s.first().and_then(|x| reads.switch_state(&x.payload)))
            });
            let state = move || state.get();
            view! {
                <button
                    role="switch"
                    class="switch"
                    aria-checked=move || state().unwrap_or(false).to_string()
                    aria-label=w.label()
                    on:click=move |_| d.publish(id, if state() == Some(true) { off.clone() } else { on.clone() })
                >
                    {move || match state() {
                        Some(true) => "On",
                        Some(false) => "Off",
                        None => "Unknown",
                    }}
                </button>
            }
            .into_any()
        }
        WidgetKind::Button => {
            let payload = w.payload.clone();
            view! { <button aria-label=w.label() on:click=move |_| d.publish(id, payload.clone())>"Send"</button> }.into_any()
        }
        WidgetKind::Slider => {
            let (min, max) = (w.min, w.max);
            let current = move || {
                shown
                    .with(|s| s.first().and_then(|x| x.value))
                    .unwrap_or(min)
            };
            view! {
                <input
                    type="range"
                    min=min
                    max=max
                    step="any"
                    aria-label=w.label()
                    prop:value=move || current().to_string()
                    on:change=move |ev| d.publish(id, event_target_value(&ev))
                />
                <span data-testid="widget-value">{move || current().to_string()}</span>
            }
            .into_any()
        }
    }
}

/// A chart widget: its series' last ten minutes (or since the first point, if later).
fn chart(d: Dashboard, w: Widget) -> AnyView {
    let canvas = NodeRef::<leptos::html::Canvas>::new();
    let Ok(spec) = w.spec() else {
        return view! { <p class="error">"not a series"</p> }.into_any();
    };
    let lines = Memo::new(move |_| {
        let now = d.now_ms.get();
        let from = now.saturating_sub(600_000);
        let width = canvas.get().map_or(400, |c| c.width().max(100)) as usize;
        d.history.points.with_value(|h| {
            let mut keys: Vec<&str> = h.series().filter(|k| spec.owns(k)).collect();
            keys.sort_unstable();
            keys.into_iter()
                .filter_map(|k| {
                    let points = h.points(k)?;
                    Some((
                        spec.label(key_topic(k)),
                        downsample(points, from, now, width),
                        points.len(),
                    ))
                })
                .collect::<Vec<_>>()
        })
    });
    Effect::new(move |_| {
        let now = d.now_ms.get();
        let drawn: Vec<(String, Vec<Point>)> = lines.with(|l| {
            l.iter()
                .map(|(label, p, _)| (label.clone(), p.clone()))
                .collect()
        });
        let from = drawn
            .iter()
            .filter_map(|(_, p)| p.first().map(|p| p.at_ms))
            .min()
            .map_or(now.saturating_sub(60_000), |f| {
                f.min(now.saturating_sub(10_000))
            });
        if let Some(c) = canvas.get() {
            let width = c.client_width().max(100) as u32;
            if c.width() != width {
                c.set_width(width);
            }
            // A canvas that cannot draw leaves the legend, which still says what was read.
            let _ = draw(&c, &drawn, from, now);
        }
    });
    view! {
        <canvas node_ref=canvas class="plot small" height="160" role="img" aria-label=format!("{} chart", w.label())></canvas>
        <ul class="legend">
            {move || lines.get().into_iter().enumerate().map(|(i, (label, _, points))| {
                let c = colour(i);
                view! {
                    <li data-testid="series" data-label=label.clone() data-points=points.to_string()>
                        <span class="swatch" style=format!("background: rgb({},{},{})", c.0, c.1, c.2)></span>
                        {format!("{label} — {points} points")}
                    </li>
                }
            }).collect_view()}
        </ul>
    }
    .into_any()
}
