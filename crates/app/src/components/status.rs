use crate::state::Status;
use leptos::prelude::*;

/// A connection's live status.
#[component]
pub fn StatusBadge(
    /// Whose status this is; also names the badge's `data-testid` (`status-{who}`).
    #[prop(into)]
    who: String,
    /// The status to show.
    status: RwSignal<Status>,
    /// Connections made so far, shown as `data-connects` (a client's badge only).
    #[prop(optional)]
    connects: Option<RwSignal<u32>>,
) -> impl IntoView {
    view! {
        <span
            class="status"
            data-testid=format!("status-{who}")
            data-connects=move || connects.map(|c| c.get().to_string())
            data-state=move || match status.get() {
                Status::Connecting => "connecting",
                Status::Connected => "connected",
                Status::Disconnected => "disconnected",
                Status::Failed(_) => "failed",
            }
            role="status"
        >
            {move || status.get().label()}
        </span>
    }
}

/// A card's title with its connection's live status.
#[component]
pub fn CardHeader(
    /// The card's title.
    #[prop(into)]
    title: String,
    /// Whose status this is; names the badge's `data-testid` (`status-{who}`).
    #[prop(into)]
    who: String,
    /// The status to show.
    status: RwSignal<Status>,
    /// Connections made so far.
    connects: RwSignal<u32>,
) -> impl IntoView {
    view! {
        <header>
            <h2>{title}</h2>
            <StatusBadge who=who status=status connects=connects />
        </header>
    }
}
