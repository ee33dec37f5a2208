//! The seeds' `benchmark_qos`: N messages at each QoS, each publish waiting for its
//! acknowledgement, against the lab's broker; total time and milliseconds per message.

use crate::components::TextField;
use crate::connect::WORKER_URL;
use crate::state::Lab;
use leptos::prelude::*;
use tabmq_client::{connect, ConnectOptions};
use tabmq_core::{Bytes, ClientOptions, ConnectionPolicy, End, MachineEvent, Publish, QoS};

#[derive(Debug, Clone, PartialEq)]
struct Row {
    qos: u8,
    messages: u32,
    total_ms: f64,
}

fn now_ms() -> f64 {
    web_sys::window()
        .and_then(|w| w.performance())
        .map_or(0.0, |p| p.now())
}

async fn run(url: String, n: u32, rows: RwSignal<Vec<Row>>) -> Result<(), String> {
    let connected = RwSignal::new(false);
    let options = ConnectOptions {
        client: ClientOptions {
            client_id: format!(
                "tabmq-lab-bench-{:06x}",
                (js_sys::Math::random() * 16_777_216.0) as u32
            ),
            ..ClientOptions::default()
        },
        policy: ConnectionPolicy {
            reconnect: None,
            ..ConnectionPolicy::default()
        },
        ..ConnectOptions::default()
    };
    let listener = Box::new(move |e: &MachineEvent| {
        if let MachineEvent::Connected { .. } = e {
            connected.set(true);
        }
    });
    let client = connect(&url, options, WORKER_URL, listener)
        .await
        .map_err(|e| e.to_string())?;
    if !crate::timers::until(10_000, || connected.get_untracked()).await {
        client.end(End::default());
        return Err(format!("could not connect to {url}"));
    }
    for qos in [QoS::AtMostOnce, QoS::AtLeastOnce, QoS::ExactlyOnce] {
        let start = now_ms();
        for i in 0..n {
            // Each waits for its acknowledgement: PUBACK, PUBCOMP, or (QoS 0) its write.
            client
                .publish_async(Publish {
                    topic: format!("lab/bench/q{}", qos.as_u8()).into(),
                    payload: Bytes::from(format!("message {i}").into_bytes()),
                    qos,
                    ..Publish::default()
                })
                .await
                .map_err(|e| e.to_string())?;
        }
        let total_ms = now_ms() - start;
        rows.update(|r| {
            r.push(Row {
                qos: qos.as_u8(),
                messages: n,
                total_ms,
            })
        });
    }
    client.end(End::default());
    Ok(())
}

/// The benchmark panel.
#[component]
pub fn BenchPanel() -> impl IntoView {
    let lab = expect_context::<Lab>();
    let count = RwSignal::new("100".to_owned());
    let rows = RwSignal::new(Vec::<Row>::new());
    let running = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    let start = move |_| {
        let Ok(n @ 1..=100_000) = count.get_untracked().trim().parse::<u32>() else {
            return error.set(Some("Messages is a number from 1 to 100000".into()));
        };
        let url = lab.publishers.get_untracked().first().map_or_else(
            || lab.broker_url.get_value(),
            |p| p.settings.get_untracked().url,
        );
        rows.set(Vec::new());
        error.set(None);
        running.set(true);
        wasm_bindgen_futures::spawn_local(async move {
            if let Err(e) = run(url, n, rows).await {
                error.set(Some(e));
            }
            running.set(false);
        });
    };
    let bars = move || {
        let list = rows.get();
        let top = list
            .iter()
            .map(|r| r.total_ms / f64::from(r.messages))
            .fold(0.001f64, f64::max);
        list.into_iter()
            .enumerate()
            .map(|(i, r)| {
                let per = r.total_ms / f64::from(r.messages);
                // Room right of the longest bar for its label, inside the 340-wide box.
                let width = per / top * 180.0;
                let y = 10.0 + i as f64 * 28.0;
                view! {
                    <text x="0" y=y + 14.0>{format!("QoS {}", r.qos)}</text>
                    <rect x="50" y=y width=width height="18" class=format!("bar q{}", r.qos) />
                    <text x=56.0 + width y=y + 14.0>{format!("{per:.3} ms")}</text>
                }
            })
            .collect_view()
    };
    view! {
        <section class="card" data-testid="bench" aria-label="QoS benchmark">
            <header><h2>"QoS benchmark"</h2></header>
            <p class="hint">"N messages at each QoS, each waiting for its acknowledgement, against the publisher's broker."</p>
            <div class="row">
                <TextField label="Messages" value=count kind="number" />
                <button on:click=start prop:disabled=move || running.get()>"Run benchmark"</button>
            </div>
            {move || running.get().then(|| view! { <p class="hint" role="status">"Running…"</p> })}
            <table data-testid="bench-results">
                <thead><tr><th>"QoS"</th><th>"Messages"</th><th>"Total (ms)"</th><th>"ms per message"</th></tr></thead>
                <tbody>
                    {move || rows.get().into_iter().map(|r| view! {
                        <tr data-testid="bench-row">
                            <td>{r.qos}</td>
                            <td>{r.messages}</td>
                            <td>{format!("{:.1}", r.total_ms)}</td>
                            <td>{format!("{:.3}", r.total_ms / f64::from(r.messages))}</td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
            <svg viewBox="0 0 340 95" width="100%" role="img" aria-label="Milliseconds per message at each QoS" data-testid="bench-chart" class="chart">
                {bars}
            </svg>
            {move || error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
        </section>
    }
}
