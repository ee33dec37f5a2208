//! The Dashboard (`?view=dashboard`): widgets bound to a topic or a filter (a reading per
//! matching topic), with an optional JSON path: a value with its unit, a gauge, a line
//! chart, and a switch, a button and a slider that publish. Each shows when its data has
//! gone stale and when its connection is down. The board is kept in localStorage, and
//! moves as JSON or as a link.

mod editor;
mod state;
mod widget_view;

use crate::watch;
use editor::{AddWidget, ShareBoard};
use leptos::prelude::*;
pub use state::Dashboard;
use tabmq_app::StatusBadge;
use widget_view::WidgetCard;

/// How often the board redraws (as the Explorer: rates and stale marks move while nothing
/// arrives; a flood redraws four times a second).
const TICK_MS: i32 = 250;

/// The Dashboard.
#[component]
pub fn DashboardView() -> impl IntoView {
    let d = Dashboard::new();
    provide_context(d);
    wasm_bindgen_futures::spawn_local(d.start());
    watch::tick(d.now_ms, TICK_MS, move || d.history.flush());
    let ids = move || {
        d.board
            .with(|b| b.widgets.iter().map(|w| w.id).collect::<Vec<_>>())
    };
    view! {
        <section class="card wide" aria-label="Dashboard">
            <div class="row">
                <h2>"Dashboard"</h2>
                <span class="hint">"Broker: " <code>{move || d.url.get()}</code></span>
                <StatusBadge who="dashboard" status=d.status />
            </div>
            <p class="hint" role="status" data-testid="dashboard-notice">{move || d.notice.get()}</p>
        </section>
        <div class="board" data-testid="board">
            <For each=ids key=|id| *id children=move |id| view! { <WidgetCard id=id /> } />
        </div>
        <AddWidget />
        <ShareBoard />
        <p class="hint" data-testid="history-status">{move || d.history.status.get()}</p>
    }
}

/// Mounts the Dashboard on the page's body.
pub fn mount_dashboard() {
    leptos::mount::mount_to_body(|| view! { <main><DashboardView /></main> });
}
