//! A card's connection settings: every field MQTTX Web and HiveMQ's client have, saved in
//! localStorage when applied.

use crate::components::{CheckField, ChoiceField, QosSelect, TextField};
use crate::connect::{connect_slot, disconnect_slot};
use crate::settings::ConnectionSettings;
use crate::state::{ClientSlot, Lab};
use leptos::prelude::*;
use tabmq_core::QoS;

/// The connection form of `slot`, folded under "Connection".
#[component]
pub fn ConnectionForm(
    /// The client whose settings these are.
    client: ClientSlot,
) -> impl IntoView {
    let slot = client;
    let lab = expect_context::<Lab>();
    let s = slot.settings.get_untracked();
    let url = RwSignal::new(s.url.clone());
    let version = RwSignal::new(s.version.to_string());
    let client_id = RwSignal::new(s.client_id.clone());
    let clean = RwSignal::new(s.clean);
    let keepalive = RwSignal::new(s.keepalive.to_string());
    let username = RwSignal::new(s.username.clone());
    let password = RwSignal::new(s.password.clone());
    let will_topic = RwSignal::new(s.will_topic.clone());
    let will_payload = RwSignal::new(s.will_payload.clone());
    let will_qos = RwSignal::new(QoS::from_u8(s.will_qos).unwrap_or_default());
    let will_retain = RwSignal::new(s.will_retain);
    let session_expiry = RwSignal::new(s.session_expiry.clone());
    let error = RwSignal::new(None::<String>);
    let apply = move |_| {
        let Ok(keepalive) = keepalive.get_untracked().trim().parse::<u16>() else {
            return error.set(Some("Keepalive is a number of seconds".to_owned()));
        };
        let settings = ConnectionSettings {
            url: url.get_untracked().trim().to_owned(),
            version: version.get_untracked().parse().unwrap_or(4),
            client_id: client_id.get_untracked(),
            clean: clean.get_untracked(),
            keepalive,
            username: username.get_untracked(),
            password: password.get_untracked(),
            will_topic: will_topic.get_untracked(),
            will_payload: will_payload.get_untracked(),
            will_qos: will_qos.get_untracked().as_u8(),
            will_retain: will_retain.get_untracked(),
            session_expiry: session_expiry.get_untracked(),
        };
        if let Err(e) = settings.options() {
            return error.set(Some(e));
        }
        error.set(None);
        slot.settings.set(settings);
        wasm_bindgen_futures::spawn_local(connect_slot(lab, slot));
    };
    let v5 = move || version.get() == "5";
    view! {
        <details class="connection" data-testid=move || format!("connection-{}", slot.name())>
            <summary>"Connection"</summary>
            <TextField label="Broker URL" value=url />
            <div class="row">
                <ChoiceField
                    label="MQTT version"
                    options=&[("4", "3.1.1"), ("5", "5.0")]
                    value=version
                />
                <TextField label="Client ID" value=client_id />
                <TextField label="Keepalive (s)" value=keepalive kind="number" />
            </div>
            <div class="row">
                <CheckField label="Clean session" value=clean />
                <Show when=v5>
                    <TextField label="Session expiry (s)" value=session_expiry kind="number" />
                </Show>
            </div>
            <div class="row">
                <TextField label="Username" value=username />
                <TextField label="Password" value=password kind="password" />
            </div>
            <fieldset>
                <legend>"Will"</legend>
                <div class="row">
                    <TextField label="Will topic" value=will_topic />
                    <TextField label="Will message" value=will_payload />
                    <QosSelect qos=will_qos label="Will QoS" />
                    <CheckField label="Will retain" value=will_retain />
                </div>
            </fieldset>
            <div class="row">
                <button on:click=apply>"Connect"</button>
                <button class="secondary" on:click=move |_| disconnect_slot(slot)>
                    "Disconnect"
                </button>
            </div>
            {move || error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
        </details>
    }
}
