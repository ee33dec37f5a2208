use crate::components::{CardHeader, QosSelect, TextField};
use crate::state::{Lab, Status};
use leptos::prelude::*;
use tabmq_core::QoS;

/// A publisher: topic, payload, QoS, retain and how many, sent with "Publish". More than
/// one message numbers the payloads (`payload #1`, `#2`, ...), all in one go.
#[component]
pub fn PublisherCard() -> impl IntoView {
    let lab = expect_context::<Lab>();
    let slot = lab.publisher;
    let topic = RwSignal::new("sensor/temperature".to_owned());
    let payload = RwSignal::new("Temperature: 22°C".to_owned());
    let qos = RwSignal::new(QoS::AtMostOnce);
    let retain = RwSignal::new(false);
    let count = RwSignal::new("1".to_owned());
    let error = RwSignal::new(None::<String>);
    let publish = move |_| {
        let Ok(n @ 1..=10_000) = count.get_untracked().trim().parse::<u32>() else {
            return error.set(Some("Count is a number from 1 to 10000".to_owned()));
        };
        let result = slot.client.with_value(|client| {
            let Some(c) = client else {
                return Err("not connected yet".to_owned());
            };
            let text = payload.get_untracked();
            for i in 1..=n {
                let body = if n == 1 {
                    text.clone()
                } else {
                    format!("{text} #{i}")
                };
                c.publish(
                    &topic.get_untracked(),
                    body.into_bytes(),
                    qos.get_untracked(),
                    retain.get_untracked(),
                )?;
            }
            Ok(())
        });
        error.set(result.err());
    };
    let connected = move || slot.status.get() == Status::Connected;
    view! {
        <section class="card" data-testid="publisher" aria-label="Publisher">
            <CardHeader title="Publisher" who="publisher" status=slot.status connects=slot.connects />
            <TextField label="Topic" value=topic />
            <TextField label="Payload" value=payload />
            <TextField label="Count" value=count />
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
