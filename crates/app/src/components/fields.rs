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
    /// The input's type: `text` unless given (`password`, `number`, `color`).
    #[prop(optional)]
    kind: Option<&'static str>,
) -> impl IntoView {
    view! {
        <label>
            {label}
            <input
                type=kind.unwrap_or("text")
                prop:value=move || value.get()
                on:input=move |ev| value.set(event_target_value(&ev))
            />
        </label>
    }
}

/// A labelled checkbox bound to a signal.
#[component]
pub fn CheckField(
    /// The visible label, also the checkbox's accessible name.
    label: &'static str,
    /// Checked or not.
    value: RwSignal<bool>,
) -> impl IntoView {
    view! {
        <label class="check">
            <input
                type="checkbox"
                prop:checked=move || value.get()
                on:change=move |ev| value.set(event_target_checked(&ev))
            />
            {label}
        </label>
    }
}

/// A "QoS" select of 0, 1 and 2, bound to a signal.
#[component]
pub fn QosSelect(
    /// The chosen QoS; starts at 0.
    qos: RwSignal<QoS>,
    /// The label, "QoS" unless given.
    #[prop(optional)]
    label: Option<&'static str>,
) -> impl IntoView {
    view! {
        <label>
            {label.unwrap_or("QoS")}
            <select
                prop:value=move || qos.get().as_u8().to_string()
                on:change=move |ev| qos.set(qos_from(&event_target_value(&ev)))
            >
                <option value="0">"0"</option>
                <option value="1">"1"</option>
                <option value="2">"2"</option>
            </select>
        </label>
    }
}

/// A labelled select of fixed `(value, text)` options, bound to a signal of the value.
#[component]
pub fn ChoiceField(
    /// The visible label, also the select's accessible name.
    label: &'static str,
    /// `(value, text)` pairs.
    options: &'static [(&'static str, &'static str)],
    /// The chosen value.
    value: RwSignal<String>,
) -> impl IntoView {
    view! {
        <label>
            {label}
            <select
                prop:value=move || value.get()
                on:change=move |ev| value.set(event_target_value(&ev))
            >
                {options
                    .iter()
                    .map(|(v, text)| view! { <option value=*v>{*text}</option> })
                    .collect_view()}
            </select>
        </label>
    }
}
