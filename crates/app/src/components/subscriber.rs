use crate::components::{CardHeader, CheckField, ChoiceField, QosSelect, TextField};
use crate::connect::DEFAULT_FILTER;
use crate::state::{ClientSlot, Received, Status};
use crate::subscribe::subscribe_card;
use leptos::prelude::*;
use tabmq_core::{to_hex, QoS, RetainHandling, SubscribeFilter};

/// Pixel height of one row of the message list; rows are fixed so the list can show only
/// the rows in view, whatever the history holds.
const ROW_HEIGHT: f64 = 30.0;
/// Rows drawn beyond the visible ones, above and below.
const OVERSCAN: usize = 6;
/// Height of the list's viewport.
const VIEWPORT: f64 = 360.0;

/// The payload as the chosen view shows it.
fn show_payload(payload: &[u8], view: &str) -> String {
    match view {
        "hex" => to_hex(payload),
        "json" => serde_json::from_slice::<serde_json::Value>(payload)
            .ok()
            .and_then(|v| serde_json::to_string_pretty(&v).ok())
            .unwrap_or_else(|| String::from_utf8_lossy(payload).into_owned()),
        _ => String::from_utf8_lossy(payload).into_owned(),
    }
}

/// One row of the log.
#[component]
fn MessageRow(
    /// The message.
    message: Received,
    /// Its index from the top of the list, which places it.
    index: usize,
    /// How to show payloads: `text`, `json` or `hex`.
    view: RwSignal<String>,
    /// Whether repeats are marked.
    mark: RwSignal<bool>,
    /// The card's colour.
    colour: RwSignal<String>,
) -> impl IntoView {
    let Received {
        topic,
        payload,
        qos,
        retain,
        dup,
        repeat,
        time,
        ..
    } = message;
    view! {
        <li
            class="message"
            data-testid="message"
            data-repeat=move || (mark.get() && repeat).then_some("true")
            style:top=format!("{}px", index as f64 * ROW_HEIGHT)
            style:border-left-color=move || colour.get()
        >
            <span class="time">{time}</span>
            <span class="topic" data-testid="message-topic">{topic}</span>
            <span class="badge qos" data-testid="message-qos">{format!("QoS {}", qos.as_u8())}</span>
            {retain.then(|| view! { <span class="badge" data-testid="badge-retain">"retained"</span> })}
            {dup.then(|| view! { <span class="badge" data-testid="badge-dup">"dup"</span> })}
            {move || (mark.get() && repeat).then(|| view! { <span class="badge warn" data-testid="badge-duplicate">"duplicate"</span> })}
            <span class="payload" data-testid="message-payload">
                {move || show_payload(&payload, &view.get())}
            </span>
        </li>
    }
}

/// A subscriber: a filter with QoS, colour and MQTT 5 options, and a log of what arrives,
/// newest first, bounded and virtualized so a flood keeps the page responsive.
#[component]
pub fn SubscriberCard(
    /// The client this card subscribes with.
    client: ClientSlot,
) -> impl IntoView {
    let slot = client;
    let inbox = slot.inbox;
    let card = inbox.subscription;
    let filter = RwSignal::new(card.with_untracked(|c| {
        c.waiting
            .as_ref()
            .or(c.granted.as_ref())
            .map_or_else(|| DEFAULT_FILTER.to_owned(), |f| f.filter.clone())
    }));
    let qos = RwSignal::new(QoS::AtMostOnce);
    // The fields show what was last asked for, from here or elsewhere (a guided scenario,
    // or a reload subscribing to what was granted before).
    Effect::new(move |_| {
        if let Some(w) = card.with(|c| c.waiting.clone()) {
            filter.set(w.filter);
            qos.set(w.qos);
        }
    });
    let colour = RwSignal::new("#3767e8".to_owned());
    let no_local = RwSignal::new(false);
    let retain_as_published = RwSignal::new(false);
    let retain_handling = RwSignal::new("0".to_owned());
    let view_as = RwSignal::new("text".to_owned());
    let mark = RwSignal::new(false);
    let scroll_top = RwSignal::new(0.0f64);
    let resubscribe = move |_| {
        let options = SubscribeFilter {
            filter: filter.get_untracked(),
            qos: qos.get_untracked(),
            no_local: no_local.get_untracked(),
            retain_as_published: retain_as_published.get_untracked(),
            retain_handling: retain_handling
                .get_untracked()
                .parse()
                .ok()
                .and_then(RetainHandling::from_u8)
                .unwrap_or_default(),
        };
        subscribe_card(slot, options);
    };
    let connected = move || slot.status.get() == Status::Connected;
    let v5 = move || slot.settings.get().version == 5;
    // The rows in view: newest first, so the list needs no scrolling to follow a flood.
    let visible = move || {
        let first = ((scroll_top.get() / ROW_HEIGHT) as usize).saturating_sub(OVERSCAN);
        let count = (VIEWPORT / ROW_HEIGHT) as usize + 2 * OVERSCAN;
        inbox.messages.with(|list| {
            list.iter()
                .rev()
                .enumerate()
                .skip(first)
                .take(count)
                .map(|(i, m)| (i, m.clone()))
                .collect::<Vec<_>>()
        })
    };
    let name = slot.name();
    let title = if name == "subscriber" {
        "Subscriber".to_owned()
    } else {
        format!("Subscriber {}", name.trim_start_matches("subscriber-"))
    };
    view! {
        <section class="card" data-testid=name.clone() aria-label=title.clone()>
            <CardHeader title=title.clone() who=name.clone() status=slot.status connects=slot.connects last_drop=slot.last_drop removable=slot />
            <div class="row">
                <TextField label="Filter" value=filter />
                <QosSelect qos=qos />
                <TextField label="Colour" value=colour kind="color" />
                <button on:click=resubscribe prop:disabled=move || !connected()>
                    "Subscribe"
                </button>
            </div>
            <Show when=v5>
                <div class="row">
                    <CheckField label="No Local" value=no_local />
                    <CheckField label="Retain As Published" value=retain_as_published />
                    <ChoiceField
                        label="Retain Handling"
                        options=&[("0", "0: send"), ("1", "1: if new"), ("2", "2: never")]
                        value=retain_handling
                    />
                </div>
            </Show>
            <p class="hint">
                <span data-testid="subscription-status" role="status">
                    {move || card.with(|c| c.summary())}
                </span>
                " · "
                <span data-testid="received-count">{move || format!("{} received", inbox.total.get())}</span>
            </p>
            <div class="row">
                <ChoiceField
                    label="View"
                    options=&[("text", "Text"), ("json", "Pretty JSON"), ("hex", "Hex")]
                    value=view_as
                />
                <CheckField label="Mark duplicates" value=mark />
            </div>
            {move || {
                card.with(|c| c.refusal.clone())
                    .map(|e| view! { <p class="error" role="alert" data-testid="subscription-refusal">{e}</p> })
            }}
            <ul
                class="messages"
                role="log"
                aria-label="Messages"
                aria-live="off"
                style:height=format!("{VIEWPORT}px")
                on:scroll=move |ev| {
                    let top = event_target::<web_sys::HtmlElement>(&ev).scroll_top();
                    scroll_top.set(f64::from(top));
                }
            >
                <div
                    class="spacer"
                    style:height=move || {
                        format!("{}px", inbox.messages.with(|l| l.len()) as f64 * ROW_HEIGHT)
                    }
                ></div>
                <For
                    each=visible
                    key=|(i, m)| (*i, m.seq)
                    children=move |(index, message)| {
                        view! {
                            <MessageRow
                                message=message
                                index=index
                                view=view_as
                                mark=mark
                                colour=colour
                            />
                        }
                    }
                />
            </ul>
        </section>
    }
}
