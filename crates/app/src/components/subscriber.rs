use crate::components::{CardHeader, QosSelect, TextField};
use crate::connect::DEFAULT_FILTER;
use crate::state::{ActiveSubscription, Lab, Status};
use leptos::prelude::*;
use tabmq_core::QoS;

/// A subscriber: its filter and the messages that matched it, newest last.
#[component]
pub fn SubscriberCard() -> impl IntoView {
    let lab = expect_context::<Lab>();
    let slot = lab.subscriber;
    let filter = RwSignal::new(DEFAULT_FILTER.to_owned());
    let qos = RwSignal::new(QoS::AtMostOnce);
    let error = RwSignal::new(None::<String>);
    let resubscribe = move |_| {
        let wanted = filter.get_untracked();
        let wanted_qos = qos.get_untracked();
        let previous = lab.active.get_untracked();
        let result = slot.client.with_value(|client| {
            let Some(c) = client else {
                return Err("not connected yet".to_owned());
            };
            if let Some(old) = previous.filter(|old| old.filter != wanted) {
                c.unsubscribe(&old.filter)?;
            }
            c.subscribe(&wanted, wanted_qos)
        });
        match result {
            Ok(_) => {
                lab.active.set(Some(ActiveSubscription {
                    filter: wanted,
                    qos: wanted_qos,
                }));
                error.set(None);
            }
            Err(e) => error.set(Some(e)),
        }
    };
    let connected = move || slot.status.get() == Status::Connected;
    view! {
        <section class="card" data-testid="subscriber" aria-label="Subscriber">
            <CardHeader title="Subscriber" who="subscriber" status=slot.status connects=slot.connects />
            <div class="row">
                <TextField label="Filter" value=filter />
                <QosSelect qos=qos />
                <button on:click=resubscribe prop:disabled=move || !connected()>
                    "Subscribe"
                </button>
            </div>
            <p class="hint">
                "Subscribed to "
                <code data-testid="active-filter">
                    {move || {
                        lab.active
                            .get()
                            .map_or_else(|| "nothing yet".to_owned(), |a| a.to_string())
                    }}
                </code>
            </p>
            {move || error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
            <ul class="messages" role="log" aria-label="Messages" aria-live="polite">
                <For
                    each=move || lab.messages.get()
                    key=|m| m.seq
                    children=move |m| {
                        view! {
                            <li class="message" data-testid="message">
                                <span class="time">{m.time}</span>
                                <span class="topic" data-testid="message-topic">{m.topic}</span>
                                <span class="badge qos" data-testid="message-qos">
                                    {format!("QoS {}", m.qos.as_u8())}
                                </span>
                                {m.retain.then(|| view! { <span class="badge">"retained"</span> })}
                                {m.dup.then(|| view! { <span class="badge">"dup"</span> })}
                                <span class="payload" data-testid="message-payload">{m.payload}</span>
                            </li>
                        }
                    }
                />
            </ul>
        </section>
    }
}
