use crate::card_fields::Kept;
use crate::components::message_log::MessageLog;
use crate::components::{CardHeader, CheckField, ChoiceField, QosSelect, TextField};
use crate::connect::DEFAULT_FILTER;
use crate::state::{ClientSlot, Status};
use crate::subscribe::subscribe_card;
use leptos::prelude::*;
use tabmq_core::{QoS, RetainHandling, SubscribeFilter};

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
    // The options are kept for this tab; the filter and QoS come back with the
    // subscription itself (`subscribe.rs`), once granted again.
    let name = slot.name();
    let kept = Kept::load(&name);
    let colour = kept.text(&name, "colour", "#3767e8");
    let no_local = kept.flag(&name, "no_local", false);
    let retain_as_published = kept.flag(&name, "retain_as_published", false);
    let retain_handling = kept.text(&name, "retain_handling", "0");
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
            {move || {
                card.with(|c| c.refusal.clone())
                    .map(|e| view! { <p class="error" role="alert" data-testid="subscription-refusal">{e}</p> })
            }}
            <MessageLog client=slot colour=colour />
        </section>
    }
}
