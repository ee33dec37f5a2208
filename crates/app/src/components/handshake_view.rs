//! The handshake view: each message as a sequence diagram between publisher, broker and
//! subscriber, one arrow per packet as it happened, with its packet id, DUP flag, faults,
//! and the time since the flow began.

use crate::handshake::{Flow, Side, Step};
use crate::state::Lab;
use leptos::prelude::*;

const LANE_PUBLISHER: f64 = 70.0;
const LANE_BROKER: f64 = 290.0;
const LANE_SUBSCRIBER: f64 = 510.0;
const WIDTH: f64 = 580.0;
const ROW: f64 = 30.0;
const TOP: f64 = 44.0;
/// Flows drawn at once, newest first.
const SHOWN: usize = 6;

fn arrow_ends(step: &Step) -> (f64, f64) {
    let client = match step.side {
        Side::Publisher => LANE_PUBLISHER,
        Side::Subscriber => LANE_SUBSCRIBER,
    };
    if step.from_client {
        (client, LANE_BROKER)
    } else {
        (LANE_BROKER, client)
    }
}

fn label(step: &Step) -> String {
    let mut text = step.name.to_owned();
    if let Some(id) = step.packet_id {
        text.push_str(&format!(" id={id}"));
    }
    if let Some(qos) = step.qos {
        text.push_str(&format!(" QoS {qos}"));
    }
    if step.dup {
        text.push_str(" DUP");
    }
    if let Some(fault) = step.fault {
        text.push_str(&format!(" ({fault})"));
    }
    text
}

/// One flow's diagram.
#[component]
fn FlowDiagram(
    /// The flow to draw.
    flow: Flow,
) -> impl IntoView {
    let start = flow.steps.first().map_or(0.0, |s| s.at_ms);
    let height = TOP + flow.steps.len() as f64 * ROW + 10.0;
    let hops = format!(
        "publisher→broker QoS {} · broker→subscriber QoS {}",
        flow.publish_qos.map_or("?".to_owned(), |q| q.to_string()),
        flow.delivered_qos.map_or("–".to_owned(), |q| q.to_string()),
    );
    let payload = String::from_utf8_lossy(&flow.payload)
        .chars()
        .take(40)
        .collect::<String>();
    let summary = format!("{} “{}”: {}", flow.topic, payload, hops);
    let steps = flow
        .steps
        .iter()
        .enumerate()
        .map(|(i, step)| {
            let (x1, x2) = arrow_ends(step);
            let y = TOP + i as f64 * ROW + ROW / 2.0;
            let direction = if step.from_client {
                "to-broker"
            } else {
                "from-broker"
            };
            let side = match step.side {
                Side::Publisher => "publisher",
                Side::Subscriber => "subscriber",
            };
            let text = label(step);
            let elapsed = format!("+{:.0} ms", step.at_ms - start);
            let dropped = step.fault == Some("dropped");
            view! {
                <g
                    data-testid="step"
                    data-packet=step.name
                    data-side=side
                    data-direction=direction
                    data-dup=step.dup.to_string()
                    data-fault=step.fault.unwrap_or("")
                    class:dropped=dropped
                >
                    <text x="4" y=y + 4.0 class="elapsed">{elapsed}</text>
                    <line
                        x1=x1
                        y1=y
                        x2=if dropped { (x1 + x2) / 2.0 } else { x2 }
                        y2=y
                        marker-end=if dropped { "url(#cross)" } else { "url(#arrow)" }
                    />
                    // Above a dropped packet's ✕ (drawn where its arrow stops, mid-way),
                    // clear of it.
                    <text x=(x1 + x2) / 2.0 y=if dropped { y - 9.0 } else { y - 5.0 } text-anchor="middle" class="packet">
                        {text}
                    </text>
                </g>
            }
        })
        .collect_view();
    view! {
        <figure class="flow" data-testid="flow" data-topic=flow.topic.clone()>
            <figcaption>{summary.clone()}</figcaption>
            <svg
                viewBox=format!("0 0 {WIDTH} {height}")
                width="100%"
                role="img"
                aria-label=summary
            >
                <defs>
                    <marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">
                        <path d="M 0 0 L 10 5 L 0 10 z" />
                    </marker>
                    <marker id="cross" viewBox="0 0 10 10" refX="5" refY="5" markerWidth="9" markerHeight="9">
                        <path d="M 0 0 L 10 10 M 10 0 L 0 10" stroke="#c0392b" stroke-width="2" />
                    </marker>
                </defs>
                {[(LANE_PUBLISHER, "Publisher"), (LANE_BROKER, "Broker"), (LANE_SUBSCRIBER, "Subscriber")]
                    .into_iter()
                    .map(|(x, name)| {
                        view! {
                            <text x=x y="16" text-anchor="middle" class="lane">{name}</text>
                            <line x1=x y1="24" x2=x y2=height class="lifeline" />
                        }
                    })
                    .collect_view()}
                {steps}
            </svg>
        </figure>
    }
}

/// The latest flows, newest first.
#[component]
pub fn HandshakeView() -> impl IntoView {
    let lab = expect_context::<Lab>();
    let recent = move || {
        lab.flows
            .get()
            .iter()
            .rev()
            .take(SHOWN)
            .cloned()
            .collect::<Vec<_>>()
    };
    view! {
        <section class="card wide" data-testid="handshakes" aria-label="QoS handshakes">
            <header>
                <h2>"QoS handshakes"</h2>
                <label class="check">
                    <input
                        type="checkbox"
                        prop:checked=move || lab.recording.get()
                        on:change=move |ev| {
                            let on = event_target_checked(&ev);
                            lab.recording.set(on);
                            // Packet reports cost a copy of every packet; stop them too.
                            for client in lab.clients() {
                                client.client.with_value(|c| {
                                    if let Some(c) = c {
                                        c.client().set_trace(on);
                                    }
                                });
                            }
                        }
                    />
                    "Record"
                </label>
            </header>
            <p class="hint">
                "Every packet of the latest messages, as the publisher's and the subscriber's clients sent and received them."
            </p>
            <button class="secondary" on:click=move |_| lab.flows.update(|f| f.clear())>
                "Clear"
            </button>
            <div class="flows">
                <For
                    each=recent
                    key=|flow| (flow.id, flow.steps.len(), flow.steps.iter().filter(|s| s.fault.is_some()).count())
                    children=|flow| view! { <FlowDiagram flow=flow /> }
                />
            </div>
        </section>
    }
}
