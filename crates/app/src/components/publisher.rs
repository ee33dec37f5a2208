use crate::components::{CardHeader, QosSelect, TextField};
use crate::state::{Lab, Status};
use leptos::prelude::*;
use tabmq_core::QoS;

/// A publisher: topic, payload, QoS and retain, sent with "Publish".
#[component]
pub fn PublisherCard() -> impl IntoView {
    let lab = expect_context::<Lab>();
    let slot = lab.publisher;
    let topic = RwSignal::new("sensor/temperature".to_owned());
    let payload = RwSignal::new("Temperature: 22°C".to_owned());
    let qos = RwSignal::new(QoS::AtMostOnce);
    let retain = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    let publish = move |_| {
        let result = slot.client.with_value(|client| match client {
            Some(c) => c
                .client()
                .publish(
                    &topic.get_untracked(),
                    payload.get_untracked().into_bytes(),
                    qos.get_untracked(),
                    retain.get_untracked(),
                )
                .map(|_| ())
                .map_err(|e| e.to_string()),
            None => Err("not connected yet".to_owned()),
        });
        error.set(result.err());
    };
    let connected = move || slot.status.get() == Status::Connected;
    view! {
        <section class="card" data-testid="publisher" aria-label="Publisher">
            <CardHeader title="Publisher" who="publisher" status=slot.status />
            <TextField label="Topic" value=topic />
            <TextField label="Payload" value=payload />
            <div class="row">
                <QosSelect qos=qos />
                <label class="check">
                    <input
                        type="checkbox"
                        prop:checked=move || retain.get()
                        on:change=move |ev| retain.set(event_target_checked(&ev))
                    />
                    "Retain"
                </label>
                <button on:click=publish prop:disabled=move || !connected()>"Publish"</button>
            </div>
            {move || error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
        </section>
    }
}
