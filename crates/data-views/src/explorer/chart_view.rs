//! The Explorer's chart: series from a topic filter and a field (a JSON path or a
//! Sparkplug B metric), one line per matching topic, drawn with plotters on a canvas from
//! the history, downsampled to one bucket per pixel column; its limits, and "Clear
//! history".

use crate::explorer::state::Explorer;
use crate::line_chart::{colour, draw};
use leptos::prelude::*;
use tabmq_dashboard::{downsample, key_topic, HistoryLimits, Point, SeriesSpec};

/// The windows a chart shows, the last N milliseconds; "All kept" spans the oldest point
/// kept to now.
const ALL: u64 = u64::MAX;
const WINDOWS: [(&str, u64); 6] = [
    ("All kept", ALL),
    ("1 minute", 60_000),
    ("10 minutes", 600_000),
    ("1 hour", 3_600_000),
    ("1 day", 86_400_000),
    ("7 days", 7 * 86_400_000),
];

/// One line of the chart, as the legend lists it.
#[derive(Clone, Debug, PartialEq)]
struct Line {
    label: String,
    points: usize,
    last: Option<f64>,
    colour: String,
}

/// The chart, its series and its history's limits.
#[component]
pub fn ChartPanel() -> impl IntoView {
    let explorer = expect_context::<Explorer>();
    let canvas = NodeRef::<leptos::html::Canvas>::new();
    let window_ms = RwSignal::new(ALL);
    let filter = RwSignal::new(String::new());
    let path = RwSignal::new(String::new());
    let metric = RwSignal::new(String::new());
    let refusal = RwSignal::new(None::<String>);
    // The selected topic is the first guess of what to plot.
    Effect::new(move |_| {
        if let Some(id) = explorer.selected.get() {
            filter.set(explorer.tree.with_value(|t| t.topic_of(id)));
        }
    });
    // The lines in the window, each downsampled to the canvas's width; redrawn each tick.
    let from = Memo::new(move |_| {
        let now = explorer.now_ms.get();
        match window_ms.get() {
            ALL => explorer.specs.with(|specs| {
                explorer.history.points.with_value(|h| {
                    h.series()
                        .filter(|k| specs.iter().any(|s| s.owns(k)))
                        .filter_map(|k| h.points(k)?.front().map(|p| p.at_ms))
                        .min()
                        // Ten seconds at least: a first point alone is not a line.
                        .map_or(now.saturating_sub(60_000), |oldest| {
                            oldest.min(now.saturating_sub(10_000))
                        })
                })
            }),
            ms => now.saturating_sub(ms),
        }
    });
    let lines = Memo::new(move |_| {
        let now = explorer.now_ms.get();
        let from = from.get();
        let width = canvas.get().map_or(800, |c| c.width().max(100)) as usize;
        let specs = explorer.specs.get();
        explorer.history.points.with_value(|h| {
            let mut keys: Vec<&str> = h
                .series()
                .filter(|k| specs.iter().any(|s| s.owns(k)))
                .collect();
            keys.sort_unstable();
            keys.into_iter()
                .filter_map(|k| {
                    let spec = specs.iter().find(|s| s.owns(k))?;
                    let points = h.points(k)?;
                    Some((
                        spec.label(key_topic(k)),
                        downsample(points, from, now, width),
                        points.len(),
                        points.back().map(|p| p.value),
                    ))
                })
                .collect::<Vec<_>>()
        })
    });
    Effect::new(move |_| {
        let now = explorer.now_ms.get();
        let from = from.get();
        let drawn: Vec<(String, Vec<Point>)> = lines.with(|l| {
            l.iter()
                .map(|(label, p, _, _)| (label.clone(), p.clone()))
                .collect()
        });
        if let Some(c) = canvas.get() {
            let width = c.client_width().max(100) as u32;
            if c.width() != width {
                c.set_width(width);
            }
            if let Err(e) = draw(&c, &drawn, from, now) {
                refusal.set(Some(format!("the chart could not be drawn: {e}")));
            }
        }
    });
    let legend = move || {
        lines.with(|l| {
            l.iter()
                .enumerate()
                .map(|(i, (label, _, count, last))| {
                    let c = colour(i);
                    Line {
                        label: label.clone(),
                        points: *count,
                        last: *last,
                        colour: format!("rgb({},{},{})", c.0, c.1, c.2),
                    }
                })
                .collect::<Vec<_>>()
        })
    };
    let add = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        match SeriesSpec::new(
            &filter.get_untracked(),
            &path.get_untracked(),
            &metric.get_untracked(),
        ) {
            Ok(spec) => {
                refusal.set(None);
                explorer.add_series(spec);
            }
            Err(e) => refusal.set(Some(e.to_string())),
        }
    };
    let limits = explorer.limits;
    let keep_points = RwSignal::new(limits.get_untracked().max_points.to_string());
    let keep_hours =
        RwSignal::new((limits.get_untracked().max_age_ms as f64 / 3_600_000.0).to_string());
    let apply_limits = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let points = keep_points
            .get_untracked()
            .trim()
            .parse::<usize>()
            .ok()
            .filter(|n| *n > 0);
        let hours = keep_hours
            .get_untracked()
            .trim()
            .parse::<f64>()
            .ok()
            .filter(|h| *h > 0.0 && h.is_finite());
        match (points, hours) {
            (Some(max_points), Some(hours)) => {
                refusal.set(None);
                explorer.set_limits(HistoryLimits {
                    max_points,
                    max_age_ms: (hours * 3_600_000.0) as u64,
                    ..limits.get_untracked()
                });
            }
            _ => refusal.set(Some("points and hours must be positive numbers".to_owned())),
        }
    };
    view! {
        <section class="card wide chart" aria-label="Chart" data-testid="chart">
            <h2>"Chart"</h2>
            <form class="row" on:submit=add aria-label="Add a series">
                <label>"Topic or filter"<input type="text" prop:value=move || filter.get() on:input=move |ev| filter.set(event_target_value(&ev)) /></label>
                <label>"JSON path"<input type="text" placeholder="$.value" prop:value=move || path.get() on:input=move |ev| path.set(event_target_value(&ev)) /></label>
                <label>"Sparkplug metric"<input type="text" prop:value=move || metric.get() on:input=move |ev| metric.set(event_target_value(&ev)) /></label>
                <button type="submit">"Add to chart"</button>
            </form>
            {move || refusal.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
            <ul class="plotted" aria-label="Plotted">
                {move || explorer.specs.get().into_iter().map(|spec| {
                    let label = spec.label(&spec.filter);
                    let gone = spec.clone();
                    view! {
                        <li data-testid="plotted">
                            <span>{label.clone()}</span>
                            " "
                            <button class="secondary" aria-label=format!("Remove {label}") on:click=move |_| explorer.remove_series(&gone)>"Remove"</button>
                        </li>
                    }
                }).collect_view()}
            </ul>
            <label class="window">
                "Window"
                <select on:change=move |ev| {
                    if let Ok(ms) = event_target_value(&ev).parse() {
                        window_ms.set(ms);
                    }
                }>
                    {WINDOWS.iter().map(|(name, ms)| view! { <option value=ms.to_string() selected=*ms == ALL>{*name}</option> }).collect_view()}
                </select>
            </label>
            <canvas node_ref=canvas class="plot" height="260" role="img" aria-label="Chart of the plotted series"></canvas>
            <ul class="legend" data-testid="chart-series">
                {move || legend().into_iter().map(|l| view! {
                    <li data-testid="series" data-label=l.label.clone() data-points=l.points.to_string()>
                        <span class="swatch" style=format!("background: {}", l.colour)></span>
                        {format!("{} — {} points, last {}", l.label, l.points, l.last.map_or_else(|| "—".to_owned(), |v| v.to_string()))}
                    </li>
                }).collect_view()}
            </ul>
            <form class="row" on:submit=apply_limits aria-label="History limits">
                <label>"Keep points per series"<input type="number" min="1" prop:value=move || keep_points.get() on:input=move |ev| keep_points.set(event_target_value(&ev)) /></label>
                <label>"Keep for (hours)"<input type="number" min="0.01" step="any" prop:value=move || keep_hours.get() on:input=move |ev| keep_hours.set(event_target_value(&ev)) /></label>
                <button type="submit" class="secondary">"Apply limits"</button>
                <button type="button" class="danger" on:click=move |_| explorer.clear_history()>"Clear history"</button>
            </form>
            <p class="hint" data-testid="history-status">{move || explorer.history.status.get()}</p>
        </section>
    }
}
