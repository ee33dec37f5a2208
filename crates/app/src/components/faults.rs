//! Faults on demand, per client, and the seeds' guided scenarios that show what each QoS
//! promises when the subscriber is away or its acknowledgements are lost.

use crate::components::{ChoiceField, TextField};
use crate::connect::{connect_slot, disconnect_slot, log_fault};
use crate::state::{ClientSlot, Lab, Status};
use crate::subscribe::subscribe_card;
use crate::timers::{sleep, until};
use leptos::prelude::*;
use tabmq_client::FaultCommand;
use tabmq_core::{Bytes, Packet, Publish, QoS, SubscribeFilter};

const PACKET_TYPES: &[(&str, &str)] = &[
    ("3", "PUBLISH"),
    ("4", "PUBACK"),
    ("5", "PUBREC"),
    ("6", "PUBREL"),
    ("7", "PUBCOMP"),
    ("8", "SUBSCRIBE"),
    ("12", "PINGREQ"),
];

fn find(lab: Lab, name: &str) -> Option<ClientSlot> {
    lab.clients().into_iter().find(|c| c.name() == name)
}

/// What an armed fault will do, for the fault log; `None` for Clear, which empties it.
fn armed_line(fault: &FaultCommand) -> Option<String> {
    let name = |t: u8| Packet::type_name(t).unwrap_or("packet");
    Some(match fault {
        FaultCommand::Drop { packet_type, count } => {
            format!("armed: drop the next {count} × {}", name(*packet_type))
        }
        FaultCommand::Duplicate { packet_type, count } => {
            format!(
                "armed: send the next {count} × {} twice",
                name(*packet_type)
            )
        }
        FaultCommand::Delay { millis: 0 } => "delay off".to_owned(),
        FaultCommand::Delay { millis } => format!("armed: hold every packet back {millis} ms"),
        FaultCommand::Cut => "cut the connection".to_owned(),
        _ => return None,
    })
}

/// How often each payload reached the subscriber card.
fn arrivals(sub: ClientSlot, payload: &str) -> (usize, usize) {
    sub.inbox.messages.with_untracked(|list| {
        let hits = list.iter().filter(|m| m.payload == payload.as_bytes());
        hits.fold((0, 0), |(n, dups), m| (n + 1, dups + usize::from(m.dup)))
    })
}

/// (Re)connects `slot` with its settings; whether it connected within 5 s.
async fn connect_and_wait(lab: Lab, slot: ClientSlot) -> bool {
    let before = slot.connects.get_untracked();
    connect_slot(lab, slot).await;
    until(5_000, || slot.connects.get_untracked() > before).await
}

/// Connects the subscriber with a persistent session and subscribes it to the scenario's
/// topics at QoS 2. Its result rows start with what it changed on the subscriber, if
/// anything, since the card keeps that setting afterwards.
async fn prepare(lab: Lab, sub: ClientSlot, topic: &str) -> Result<Vec<(String, String)>, String> {
    let mut notes = Vec::new();
    if sub.settings.get_untracked().clean {
        sub.settings.update(|s| s.clean = false);
        notes.push((
            "Note".to_owned(),
            "Clean session is now off for the subscriber (and saved): the scenario needs a session the broker keeps".to_owned(),
        ));
    }
    if !connect_and_wait(lab, sub).await {
        return Err("the subscriber did not connect".into());
    }
    let filter = format!("{topic}/#");
    subscribe_card(sub, SubscribeFilter::new(&filter, QoS::ExactlyOnce));
    let card = sub.inbox.subscription;
    let answered = until(5_000, || card.with_untracked(|c| c.waiting.is_none())).await;
    match card.get_untracked() {
        c if c.granted.as_ref().is_some_and(|g| g.filter == filter) => Ok(notes),
        c => Err(c.refusal.unwrap_or_else(|| {
            if answered {
                format!("the subscriber is not subscribed to {filter}")
            } else {
                format!("no SUBACK for {filter} within 5 s")
            }
        })),
    }
}

fn publish(publisher: ClientSlot, topic: &str, payload: &str, qos: QoS) -> Result<(), String> {
    publisher.with_client(|c| {
        c.publish(Publish {
            topic: topic.into(),
            payload: Bytes::from(payload.to_owned().into_bytes()),
            qos,
            ..Publish::default()
        })
    })
}

/// One message at each of `levels` to `topic/qN`, with payload `label qN`.
fn publish_each(
    publisher: ClientSlot,
    topic: &str,
    label: &str,
    levels: &[QoS],
) -> Result<(), String> {
    for q in levels {
        let n = q.as_u8();
        publish(
            publisher,
            &format!("{topic}/q{n}"),
            &format!("{label} q{n}"),
            *q,
        )?;
    }
    Ok(())
}

/// "Stop subscriber, publish QoS 0/1/2, restart subscriber."
async fn offline_scenario(
    lab: Lab,
    publisher: ClientSlot,
    sub: ClientSlot,
    run: u64,
) -> Result<Vec<(String, String)>, String> {
    let topic = format!("lab/scenario/{run}");
    let mut rows = prepare(lab, sub, &topic).await?;
    disconnect_slot(sub);
    sleep(300).await;
    publish_each(
        publisher,
        &topic,
        &format!("offline #{run}"),
        &[QoS::AtMostOnce, QoS::AtLeastOnce, QoS::ExactlyOnce],
    )?;
    sleep(400).await;
    connect_and_wait(lab, sub).await;
    sleep(800).await;
    for q in 0..3u8 {
        let (n, _) = arrivals(sub, &format!("offline #{run} q{q}"));
        let outcome = if n == 0 {
            "lost".to_owned()
        } else {
            format!("delivered ×{n}")
        };
        rows.push((format!("QoS {q}"), outcome));
    }
    Ok(rows)
}

/// "Drop the subscriber's PUBACK and PUBREC, then cut its connection."
async fn lost_acks_scenario(
    lab: Lab,
    publisher: ClientSlot,
    sub: ClientSlot,
    run: u64,
) -> Result<Vec<(String, String)>, String> {
    let topic = format!("lab/scenario/{run}");
    let notes = prepare(lab, sub, &topic).await?;
    for packet_type in [4, 5] {
        sub.with_client(|c| {
            c.fault(FaultCommand::Drop {
                packet_type,
                count: 1,
            })
        })?;
    }
    publish_each(
        publisher,
        &topic,
        &format!("lost ack #{run}"),
        &[QoS::AtLeastOnce, QoS::ExactlyOnce],
    )?;
    sleep(500).await;
    let before = sub.connects.get_untracked();
    sub.with_client(|c| c.fault(FaultCommand::Cut))?;
    if !until(8_000, || {
        sub.connects.get_untracked() > before && sub.status.get_untracked() == Status::Connected
    })
    .await
    {
        return Err("the subscriber did not reconnect".into());
    }
    sleep(800).await;
    let mut rows = notes;
    for q in 1..3u8 {
        let (n, dups) = arrivals(sub, &format!("lost ack #{run} q{q}"));
        rows.push((
            format!("QoS {q}"),
            format!("delivered ×{n} ({dups} with DUP)"),
        ));
    }
    Ok(rows)
}

/// Faults for one client at a time, and the guided scenarios.
#[component]
pub fn FaultPanel() -> impl IntoView {
    let lab = expect_context::<Lab>();
    let target = RwSignal::new("subscriber".to_owned());
    let packet_type = RwSignal::new("4".to_owned());
    let count = RwSignal::new("1".to_owned());
    let delay = RwSignal::new("0".to_owned());
    let error = RwSignal::new(None::<String>);
    let results = RwSignal::new(Vec::<(String, String)>::new());
    let running = RwSignal::new(false);
    let runs = StoredValue::new(0u64);
    let apply = move |fault: FaultCommand| {
        let Some(slot) = find(lab, &target.get_untracked()) else {
            return error.set(Some("no such client".to_owned()));
        };
        let armed = armed_line(&fault);
        match slot.with_client(|c| c.fault(fault)) {
            Ok(()) => {
                error.set(None);
                // The log shows what is armed, then what fired; clearing empties it.
                match armed {
                    Some(line) => log_fault(slot, line),
                    None => slot.faults.set(Vec::new()),
                }
            }
            Err(e) => error.set(Some(e)),
        }
    };
    let packet = move || packet_type.get_untracked().parse::<u8>().unwrap_or(4);
    let times = move || {
        count
            .get_untracked()
            .trim()
            .parse::<u32>()
            .unwrap_or(1)
            .max(1)
    };
    let scenario = move |lost_acks: bool| {
        move |_| {
            let (Some(publisher), Some(sub)) = (find(lab, "publisher"), find(lab, "subscriber"))
            else {
                return error.set(Some(
                    "the scenarios need the first publisher and subscriber".into(),
                ));
            };
            let run = runs.get_value() + 1;
            runs.set_value(run);
            running.set(true);
            results.set(Vec::new());
            wasm_bindgen_futures::spawn_local(async move {
                let outcome = if lost_acks {
                    lost_acks_scenario(lab, publisher, sub, run).await
                } else {
                    offline_scenario(lab, publisher, sub, run).await
                };
                match outcome {
                    Ok(rows) => results.set(rows),
                    Err(e) => error.set(Some(e)),
                }
                running.set(false);
            });
        }
    };
    let client_names = move || {
        let mut all = lab.publishers.get();
        all.extend(lab.subscribers.get());
        all.into_iter().map(|c| c.name()).collect::<Vec<_>>()
    };
    let applied = move || {
        find(lab, &target.get())
            .map(|slot| slot.faults.get())
            .unwrap_or_default()
    };
    view! {
        <section class="card" data-testid="faults" aria-label="Fault injection">
            <header><h2>"Fault injection"</h2></header>
            <div class="row">
                <label>
                    "Client"
                    <select
                        prop:value=move || target.get()
                        on:change=move |ev| target.set(event_target_value(&ev))
                    >
                        {move || client_names().into_iter().map(|n| view! { <option value=n.clone()>{n.clone()}</option> }).collect_view()}
                    </select>
                </label>
                <ChoiceField label="Packet" options=PACKET_TYPES value=packet_type />
                <TextField label="How many" value=count kind="number" />
            </div>
            <div class="row">
                <button on:click=move |_| apply(FaultCommand::Drop { packet_type: packet(), count: times() })>"Drop next"</button>
                <button on:click=move |_| apply(FaultCommand::Duplicate { packet_type: packet(), count: times() })>"Duplicate next"</button>
                <button class="danger" on:click=move |_| apply(FaultCommand::Cut)>"Cut connection"</button>
            </div>
            <div class="row">
                <TextField label="Delay (ms)" value=delay kind="number" />
                <button on:click=move |_| apply(FaultCommand::Delay { millis: delay.get_untracked().trim().parse().unwrap_or(0) })>"Apply delay"</button>
                <button class="secondary" on:click=move |_| apply(FaultCommand::Clear)>"Clear faults"</button>
            </div>
            <ul class="fault-log" aria-label="Faults applied" data-testid="fault-log">
                {move || applied().into_iter().map(|f| view! { <li>{f}</li> }).collect_view()}
            </ul>
            <h3>"Guided scenarios"</h3>
            <div class="row">
                <button on:click=scenario(false) prop:disabled=move || running.get()>
                    "Stop subscriber, publish QoS 0/1/2, restart subscriber"
                </button>
                <button on:click=scenario(true) prop:disabled=move || running.get()>
                    "Drop the subscriber's acks, then cut its connection"
                </button>
            </div>
            {move || running.get().then(|| view! { <p class="hint" role="status">"Running…"</p> })}
            <table class="results" data-testid="scenario-results">
                <tbody>
                    {move || results.get().into_iter().map(|(qos, outcome)| view! {
                        <tr data-testid="scenario-result"><th scope="row">{qos}</th><td>{outcome}</td></tr>
                    }).collect_view()}
                </tbody>
            </table>
            {move || error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
        </section>
    }
}
