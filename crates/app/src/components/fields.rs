use leptos::prelude::*;
use tabmq_core::QoS;

/// The QoS an `<option value>` names; 0 for anything else.
pub fn qos_from(value: &str) -> QoS {
    value
        .parse::<u8>()
        .ok()
        .and_then(QoS::from_u8)
        .unwrap_or_default()
}

/// A labelled text input bound to a signal. The label wraps the input, so the label text is
/// its accessible name.
#[component]
pub fn TextField(
    /// The visible label, also the input's accessible name.
    label: &'static str,
    /// The value, read and written as the user types.
    value: RwSignal<String>,
) -> impl IntoView {
    view! {
        <label>
            {label}
            <input
                type="text"
                prop:value=move || value.get()
                on:input=move |ev| value.set(event_target_value(&ev))
            />
        </label>
    }
}

/// A "QoS" select of 0, 1 and 2, bound to a signal.
#[component]
pub fn QosSelect(
    /// The chosen QoS; starts at 0.
    qos: RwSignal<QoS>,
) -> impl IntoView {
    view! {
        <label>
            "QoS"
            <select on:change=move |ev| qos.set(qos_from(&event_target_value(&ev)))>
                <option value="0" selected>"0"</option>
                <option value="1">"1"</option>
                <option value="2">"2"</option>
            </select>
        </label>
    }
}
