//! Making a board: adding a widget of any kind, and the board as JSON (export, import) and
//! as a link to share.

use super::state::Dashboard;
use leptos::prelude::*;
use tabmq_dashboard::{Board, Widget, WidgetKind};

/// The form that adds a widget.
#[component]
pub fn AddWidget() -> impl IntoView {
    let d = expect_context::<Dashboard>();
    let kind = RwSignal::new(WidgetKind::Value);
    let text = || RwSignal::new(String::new());
    let (title, filter, path, unit, topic, payload, off_payload) =
        (text(), text(), text(), text(), text(), text(), text());
    let min = RwSignal::new("0".to_owned());
    let max = RwSignal::new("100".to_owned());
    let qos = RwSignal::new("0".to_owned());
    let retain = RwSignal::new(false);
    let add = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let number =
            |s: RwSignal<String>| s.get_untracked().trim().parse::<f64>().unwrap_or(f64::NAN);
        let widget = Widget {
            title: title.get_untracked(),
            path: path.get_untracked(),
            unit: unit.get_untracked(),
            min: number(min),
            max: number(max),
            topic: topic.get_untracked(),
            qos: qos.get_untracked().parse().unwrap_or(0),
            retain: retain.get_untracked(),
            payload: payload.get_untracked(),
            off_payload: off_payload.get_untracked(),
            ..Widget::new(kind.get_untracked(), filter.get_untracked().trim())
        };
        let mut refused = None;
        d.change(|b| {
            if let Err(e) = b.add(widget) {
                refused = Some(e.to_string());
            }
        });
        d.notice.set(refused.map(|e| format!("Not added: {e}")));
    };
    let field = move |name: &'static str, value: RwSignal<String>| {
        view! {
            <label>{name}<input type="text" prop:value=move || value.get() on:input=move |ev| value.set(event_target_value(&ev)) /></label>
        }
    };
    let publishes = move || kind.get().publishes();
    view! {
        <form class="card" on:submit=add aria-label="Add a widget">
            <h2>"Add a widget"</h2>
            <div class="row">
                <label>
                    "Kind"
                    <select on:change=move |ev| {
                        let v = event_target_value(&ev);
                        if let Some(k) = WidgetKind::ALL.into_iter().find(|k| k.name() == v) {
                            kind.set(k);
                        }
                    }>
                        {WidgetKind::ALL.into_iter().map(|k| view! { <option value=k.name()>{k.name()}</option> }).collect_view()}
                    </select>
                </label>
                {field("Title", title)}
                {field("Topic or filter", filter)}
                {field("JSON path", path)}
                {field("Unit", unit)}
                {field("Min", min)}
                {field("Max", max)}
            </div>
            <Show when=publishes>
                <div class="row">
                    {field("Publish topic", topic)}
                    {field("Payload (on)", payload)}
                    {field("Payload (off)", off_payload)}
                    <label>
                        "Publish QoS"
                        <select on:change=move |ev| qos.set(event_target_value(&ev))>
                            <option value="0">"0"</option>
                            <option value="1">"1"</option>
                            <option value="2">"2"</option>
                        </select>
                    </label>
                    <label class="check"><input type="checkbox" prop:checked=move || retain.get() on:change=move |ev| retain.set(event_target_checked(&ev)) />"Retain"</label>
                </div>
            </Show>
            <button type="submit">"Add widget"</button>
        </form>
    }
}

/// The board as JSON and as a link.
#[component]
pub fn ShareBoard() -> impl IntoView {
    let d = expect_context::<Dashboard>();
    let json = RwSignal::new(String::new());
    let link = move || {
        let param = d.board.with(Board::to_url_param);
        let here = web_sys::window()
            .and_then(|w| w.location().href().ok())
            .unwrap_or_default();
        let base = here.split(['?', '#']).next().unwrap_or_default().to_owned();
        let broker = d.url.get();
        format!(
            "{base}?view=dashboard&broker={}&board={param}",
            js_sys::encode_uri_component(&broker)
        )
    };
    let import = move |_| match Board::from_json(&json.get_untracked()) {
        Ok(board) => {
            let n = board.widgets.len();
            d.change(|b| *b = board);
            d.notice
                .set(Some(format!("Imported a board of {n} widgets")));
        }
        Err(e) => d.notice.set(Some(format!("Not imported: {e}"))),
    };
    view! {
        <section class="card" aria-label="Share">
            <h2>"Export, import, share"</h2>
            <div class="row">
                <button type="button" class="secondary" on:click=move |_| json.set(d.board.with_untracked(Board::to_json))>"Export JSON"</button>
                <button type="button" class="secondary" on:click=import>"Import JSON"</button>
            </div>
            <label>
                "Board JSON"
                <textarea rows="6" prop:value=move || json.get() on:input=move |ev| json.set(event_target_value(&ev))></textarea>
            </label>
            <label>"Share link"<input type="text" readonly prop:value=link /></label>
        </section>
    }
}
