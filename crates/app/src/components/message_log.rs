//! A subscriber card's log of messages: newest first, bounded and virtualized so a flood
//! keeps the page responsive; paused, cleared, searched, exported as JSON lines, and any
//! message expanded to its whole payload, every property and the packet's bytes.

use crate::components::{CheckField, ChoiceField, TextField};
use crate::inbox;
use crate::state::{ClientSlot, Received};
use leptos::prelude::*;
use tabmq_core::{
    encode_to_vec, publish_to_json, to_hex, Packet, PacketId, ProtocolVersion, Publish,
};
use wasm_bindgen::JsCast;

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

/// The message as the PUBLISH that brought it (its properties included).
fn as_publish(m: &Received) -> Publish {
    Publish {
        topic: m.topic.as_str().into(),
        payload: m.payload.clone().into(),
        qos: m.qos,
        retain: m.retain,
        dup: m.dup,
        packet_id: m.packet_id.and_then(PacketId::new),
        properties: m.properties.clone(),
    }
}

/// Whether `m` matches the search text (topic or payload, any case).
fn matches(m: &Received, needle: &str) -> bool {
    needle.is_empty()
        || m.topic.to_lowercase().contains(needle)
        || String::from_utf8_lossy(&m.payload)
            .to_lowercase()
            .contains(needle)
}

/// One JSON line per message, oldest first: what the export downloads.
fn json_lines(messages: &[Received]) -> String {
    let mut out = String::new();
    for m in messages {
        let mut line = publish_to_json(&as_publish(m));
        if let Some(o) = line.as_object_mut() {
            o.insert("time".into(), m.time.clone().into());
            o.insert(
                "payload".into(),
                String::from_utf8_lossy(&m.payload).into_owned().into(),
            );
            o.insert("payloadHex".into(), to_hex(&m.payload).into());
        }
        out.push_str(&line.to_string());
        out.push('\n');
    }
    out
}

/// Offers `text` as a download named `name`.
fn download(name: &str, text: &str) -> Result<(), wasm_bindgen::JsValue> {
    let parts = js_sys::Array::of1(&text.into());
    let options = web_sys::BlobPropertyBag::new();
    options.set_type("application/jsonl");
    let blob = web_sys::Blob::new_with_str_sequence_and_options(&parts, &options)?;
    let url = web_sys::Url::create_object_url_with_blob(&blob)?;
    let document = web_sys::window()
        .and_then(|w| w.document())
        .ok_or("no document")?;
    let a: web_sys::HtmlAnchorElement = document.create_element("a")?.dyn_into()?;
    a.set_href(&url);
    a.set_download(name);
    a.click();
    web_sys::Url::revoke_object_url(&url)
}

/// One row of the log; a click expands it.
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
    /// The expanded message's `seq`.
    expanded: RwSignal<Option<u64>>,
) -> impl IntoView {
    let seq = message.seq;
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
            aria-expanded=move || (expanded.get() == Some(seq)).to_string()
            tabindex="0"
            style:top=format!("{}px", index as f64 * ROW_HEIGHT)
            style:border-left-color=move || colour.get()
            on:click=move |_| expanded.update(|e| *e = if *e == Some(seq) { None } else { Some(seq) })
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

/// The expanded message: the whole payload as the view shows it, the PUBLISH with every
/// property (mqtt-packet's shape), and its bytes.
#[component]
fn MessageDetails(
    message: Received,
    view: RwSignal<String>,
    version: ProtocolVersion,
) -> impl IntoView {
    let publish = as_publish(&message);
    let packet = serde_json::to_string_pretty(&publish_to_json(&publish)).unwrap_or_default();
    let publish = Packet::Publish(publish);
    let bytes = encode_to_vec(&publish, version)
        .map(|b| to_hex(&b))
        .unwrap_or_else(|e| format!("cannot encode: {e}"));
    let payload = message.payload.clone();
    view! {
        <section class="message-details" data-testid="message-details" aria-label="Message details">
            <h4>{format!("{} at {}", message.topic, message.time)}</h4>
            <h5>"Payload"</h5>
            <pre data-testid="details-payload">{move || show_payload(&payload, &view.get())}</pre>
            <h5>"PUBLISH, with its properties"</h5>
            <pre data-testid="details-packet">{packet}</pre>
            <h5>"Packet bytes (hex, as encoded)"</h5>
            <pre class="bytes" data-testid="details-bytes">{bytes}</pre>
        </section>
    }
}

/// The log of `slot`'s subscriber card, with its tools.
#[component]
pub fn MessageLog(
    /// The card's client.
    client: ClientSlot,
    /// The card's colour.
    colour: RwSignal<String>,
) -> impl IntoView {
    let slot = client;
    let inbox = slot.inbox;
    let view_as = RwSignal::new("text".to_owned());
    let mark = RwSignal::new(false);
    let search = RwSignal::new(String::new());
    let expanded = RwSignal::new(None::<u64>);
    let scroll_top = RwSignal::new(0.0f64);
    let version = move || match slot.settings.with(|s| s.version) {
        5 => ProtocolVersion::V5,
        _ => ProtocolVersion::V311,
    };
    // Newest first, searched: the list needs no scrolling to follow a flood.
    let shown = move || {
        let needle = search.get().to_lowercase();
        inbox.messages.with(|list| {
            list.iter()
                .rev()
                .filter(|m| matches(m, &needle))
                .cloned()
                .collect::<Vec<_>>()
        })
    };
    let visible = move || {
        let first = ((scroll_top.get() / ROW_HEIGHT) as usize).saturating_sub(OVERSCAN);
        let count = (VIEWPORT / ROW_HEIGHT) as usize + 2 * OVERSCAN;
        shown()
            .into_iter()
            .enumerate()
            .skip(first)
            .take(count)
            .collect::<Vec<_>>()
    };
    let details = move || {
        let seq = expanded.get()?;
        inbox
            .messages
            .with(|l| l.iter().find(|m| m.seq == seq).cloned())
    };
    let toggle_pause = move |_| {
        if inbox.paused.get_untracked() {
            inbox::resume(inbox);
        } else {
            inbox.paused.set(true);
        }
    };
    let export = move |_| {
        let all = inbox
            .messages
            .with_untracked(|l| l.iter().cloned().collect::<Vec<_>>());
        let name = format!("tabmq-{}.jsonl", slot.name());
        if let Err(e) = download(&name, &json_lines(&all)) {
            web_sys::console::warn_2(&"tabmq lab: export failed".into(), &e);
        }
    };
    view! {
        <div class="row">
            <ChoiceField
                label="View"
                options=&[("text", "Text"), ("json", "Pretty JSON"), ("hex", "Hex")]
                value=view_as
            />
            <CheckField label="Mark duplicates" value=mark />
            <TextField label="Search" value=search />
        </div>
        <div class="row">
            <button class="secondary" on:click=toggle_pause aria-pressed=move || inbox.paused.get().to_string()>
                {move || if inbox.paused.get() { "Resume" } else { "Pause" }}
            </button>
            <button class="secondary" on:click=move |_| { inbox::clear(inbox); expanded.set(None); }>"Clear log"</button>
            <button class="secondary" on:click=export>"Export JSON lines"</button>
            {move || inbox.paused.get().then(|| view! { <span class="hint" data-testid="log-paused">"Paused: new messages wait"</span> })}
        </div>
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
                style:height=move || format!("{}px", shown().len() as f64 * ROW_HEIGHT)
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
                            expanded=expanded
                        />
                    }
                }
            />
        </ul>
        {move || details().map(|m| view! { <MessageDetails message=m view=view_as version=version() /> })}
    }
}
