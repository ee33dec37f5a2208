use crate::card_fields::{keep, Kept};
use crate::components::{CardHeader, CheckField, ChoiceField, QosSelect, TextField};
use crate::state::{reason_words, ClientSlot, Status};
use leptos::prelude::*;
use std::collections::VecDeque;
use tabmq_client::CommandError;
use tabmq_core::{from_hex, Bytes, Properties, Publish, QoS, ReasonCode};
use wasm_bindgen::prelude::*;

/// The payload's bytes as the chosen format reads the text.
fn encode_payload(text: &str, format: &str) -> Result<Vec<u8>, String> {
    match format {
        "json" => serde_json::from_str::<serde_json::Value>(text)
            .map(|_| text.as_bytes().to_vec())
            .map_err(|e| format!("Payload is not JSON: {e}")),
        "hex" => from_hex(text).map_err(|e| format!("Payload is not hex: {e}")),
        _ => Ok(text.as_bytes().to_vec()),
    }
}

/// The v5 properties the card sets; empty fields are left out.
fn properties(content_type: &str, expiry: &str, user: &str) -> Result<Properties, String> {
    let mut p = Properties::default();
    if !content_type.is_empty() {
        p.content_type = Some(content_type.to_owned());
    }
    if !expiry.trim().is_empty() {
        p.message_expiry_interval = Some(
            expiry
                .trim()
                .parse()
                .map_err(|_| "Message expiry: a number of seconds".to_owned())?,
        );
    }
    if let Some((name, value)) = user.split_once('=') {
        p.user_properties
            .push((name.trim().to_owned(), value.trim().to_owned()));
    } else if !user.trim().is_empty() {
        return Err("User property: name=value".to_owned());
    }
    Ok(p)
}

/// How many of the latest QoS 1/2 messages the card lists with their state.
const RECENT: usize = 5;

/// Where one QoS 1/2 message stands.
#[derive(Clone, PartialEq)]
enum FlowState {
    /// Given to the client: sent, or queued until connected; no PUBACK/PUBCOMP yet.
    Waiting,
    Acknowledged,
    /// Why not, in words with its code.
    Lost(String),
}

/// What became of QoS 1/2 messages, as their PUBACK/PUBCOMP (or its absence) told.
#[derive(Clone, Copy)]
struct Outcomes {
    acknowledged: RwSignal<u64>,
    lost: RwSignal<u64>,
    /// The latest message that did not make it, in words with its code.
    last_loss: RwSignal<Option<String>>,
    /// The latest few, each with its state: (number, what, state).
    recent: RwSignal<VecDeque<(u64, String, FlowState)>>,
    next: StoredValue<u64>,
}

impl Outcomes {
    fn new() -> Outcomes {
        Outcomes {
            acknowledged: RwSignal::new(0),
            lost: RwSignal::new(0),
            last_loss: RwSignal::new(None),
            recent: RwSignal::new(VecDeque::new()),
            next: StoredValue::new(0),
        }
    }

    /// Follows one message's flow to its end.
    fn follow(
        self,
        what: String,
        done: impl std::future::Future<Output = Result<ReasonCode, CommandError>> + 'static,
    ) {
        let n = self.next.get_value() + 1;
        self.next.set_value(n);
        self.recent.update(|r| {
            r.push_back((n, what.clone(), FlowState::Waiting));
            while r.len() > RECENT {
                r.pop_front();
            }
        });
        let settle = move |state: FlowState| {
            self.recent.update(|r| {
                if let Some(entry) = r.iter_mut().find(|e| e.0 == n) {
                    entry.2 = state;
                }
            })
        };
        wasm_bindgen_futures::spawn_local(async move {
            let why = match done.await {
                Ok(code) if code.is_success() => {
                    self.acknowledged.update(|n| *n += 1);
                    return settle(FlowState::Acknowledged);
                }
                Ok(code) | Err(CommandError::Failed(code)) => {
                    format!("{what}: the broker refused it: {}", reason_words(code))
                }
                Err(e) => format!("{what} {e}"),
            };
            self.lost.update(|n| *n += 1);
            self.last_loss.set(Some(why.clone()));
            settle(FlowState::Lost(why));
        });
    }
}

/// A repeating publish: the interval's id and callback, dropped to stop.
struct Repeat {
    id: i32,
    _tick: Closure<dyn FnMut()>,
}

impl Drop for Repeat {
    fn drop(&mut self) {
        if let Some(w) = web_sys::window() {
            w.clear_interval_with_handle(self.id);
        }
    }
}

/// A publisher: topic, payload (text, JSON or hex), QoS, retain, a count, repeating at a
/// rate, and MQTT 5 properties.
#[component]
pub fn PublisherCard(
    /// The client this card publishes with.
    client: ClientSlot,
) -> impl IntoView {
    let slot = client;
    // Every field is kept for this tab, so a reload brings the card back as it was.
    let card = slot.name();
    let kept = Kept::load(&card);
    let topic = kept.text(&card, "topic", "sensor/temperature");
    let payload = kept.text(&card, "payload", "Temperature: 22°C");
    let format = kept.text(&card, "format", "text");
    let qos = RwSignal::new(
        kept.number("qos")
            .and_then(|q| QoS::from_u8(q as u8))
            .unwrap_or(QoS::AtMostOnce),
    );
    Effect::new({
        let card = card.clone();
        move |_| keep(&card, "qos", qos.get().as_u8().into())
    });
    let retain = kept.flag(&card, "retain", false);
    let count = kept.text(&card, "count", "1");
    let every = kept.text(&card, "every", "1000");
    let content_type = kept.text(&card, "content_type", "");
    let expiry = kept.text(&card, "expiry", "");
    let user_property = kept.text(&card, "user_property", "");
    let error = RwSignal::new(None::<String>);
    let sent = RwSignal::new(0u64);
    let outcomes = Outcomes::new();
    let repeat = StoredValue::new_local(None::<Repeat>);
    let repeating = RwSignal::new(false);
    // One press: `count` messages, numbered when more than one.
    let publish_once = move || -> Result<(), String> {
        let Ok(n @ 1..=100_000) = count.get_untracked().trim().parse::<u32>() else {
            return Err("Count is a number from 1 to 100000".to_owned());
        };
        let body = encode_payload(&payload.get_untracked(), &format.get_untracked())?;
        let props = properties(
            &content_type.get_untracked(),
            &expiry.get_untracked(),
            &user_property.get_untracked(),
        )?;
        let text = payload.get_untracked();
        slot.with_client(|c| {
            for i in 1..=n {
                let payload = if n == 1 || format.get_untracked() != "text" {
                    body.clone()
                } else {
                    format!("{text} #{i}").into_bytes()
                };
                let message = Publish {
                    topic: topic.get_untracked().into(),
                    payload: Bytes::from(payload),
                    qos: qos.get_untracked(),
                    retain: retain.get_untracked(),
                    properties: props.clone(),
                    ..Publish::default()
                };
                if message.qos == QoS::AtMostOnce {
                    // Nothing acknowledges QoS 0; a flood keeps no future per message.
                    c.publish(message)?;
                    continue;
                }
                let what = format!(
                    "Message {} to {} (QoS {})",
                    sent.get_untracked() + u64::from(i),
                    message.topic,
                    message.qos.as_u8()
                );
                outcomes.follow(what, c.client().publish_async(message));
            }
            Ok(())
        })?;
        sent.update(|s| *s += u64::from(n));
        Ok(())
    };
    let publish = move |_| error.set(publish_once().err());
    let toggle_repeat = move |_| {
        if repeating.get_untracked() {
            repeat.set_value(None);
            repeating.set(false);
            return;
        }
        let Ok(ms @ 10..=3_600_000) = every.get_untracked().trim().parse::<i32>() else {
            return error.set(Some(
                "Every is a number of milliseconds, 10 or more".to_owned(),
            ));
        };
        let tick = Closure::<dyn FnMut()>::new(move || {
            if let Err(e) = publish_once() {
                error.set(Some(e));
            }
        });
        let id = web_sys::window().and_then(|w| {
            w.set_interval_with_callback_and_timeout_and_arguments_0(
                tick.as_ref().unchecked_ref(),
                ms,
            )
            .ok()
        });
        if let Some(id) = id {
            repeat.set_value(Some(Repeat { id, _tick: tick }));
            repeating.set(true);
            error.set(None);
        }
    };
    on_cleanup(move || repeat.set_value(None));
    let connected = move || slot.status.get() == Status::Connected;
    let v5 = move || slot.settings.get().version == 5;
    let name = slot.name();
    let title = if name == "publisher" {
        "Publisher".to_owned()
    } else {
        format!("Publisher {}", name.trim_start_matches("publisher-"))
    };
    view! {
        <section class="card" data-testid=name.clone() aria-label=title.clone()>
            <CardHeader title=title.clone() who=name.clone() status=slot.status connects=slot.connects last_drop=slot.last_drop removable=slot />
            <TextField label="Topic" value=topic />
            <TextField label="Payload" value=payload />
            <div class="row">
                <ChoiceField
                    label="Format"
                    options=&[("text", "Text"), ("json", "JSON"), ("hex", "Hex")]
                    value=format
                />
                <QosSelect qos=qos />
                <CheckField label="Retain" value=retain />
                <TextField label="Count" value=count kind="number" />
            </div>
            <Show when=v5>
                <fieldset>
                    <legend>"MQTT 5 properties"</legend>
                    <div class="row">
                        <TextField label="Content type" value=content_type />
                        <TextField label="Message expiry (s)" value=expiry kind="number" />
                        <TextField label="User property" value=user_property />
                    </div>
                </fieldset>
            </Show>
            <div class="row">
                <button on:click=publish prop:disabled=move || !connected()>"Publish"</button>
                <TextField label="Every (ms)" value=every kind="number" />
                <button class="secondary" on:click=toggle_repeat aria-pressed=move || repeating.get().to_string()>
                    {move || if repeating.get() { "Stop repeating" } else { "Repeat" }}
                </button>
                <span class="hint" data-testid="sent-count" title="Given to the client: written at once, or queued while it is offline. What PUBACK/PUBCOMP confirmed is counted beside it.">
                    {move || format!("{} published", sent.get())}
                </span>
                <span class="hint" data-testid="acknowledged-count">
                    {move || format!("{} acknowledged", outcomes.acknowledged.get())}
                </span>
                <span class="hint" data-testid="lost-count">
                    {move || format!("{} lost", outcomes.lost.get())}
                </span>
            </div>
            {move || {
                outcomes.last_loss.get().map(|e| view! { <p class="error" role="alert" data-testid="message-lost">{e}</p> })
            }}
            <ol class="recent" aria-label="Delivery of the latest messages" data-testid="recent-messages">
                {move || outcomes.recent.get().into_iter().rev().map(|(_, what, state)| {
                    let (key, text) = match state {
                        FlowState::Waiting => ("waiting", format!("{what}: waiting for its acknowledgement")),
                        FlowState::Acknowledged => ("acknowledged", format!("{what}: acknowledged")),
                        FlowState::Lost(why) => ("lost", why),
                    };
                    view! { <li data-state=key>{text}</li> }
                }).collect_view()}
            </ol>
            {move || error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
        </section>
    }
}
