use crate::connect::remove_client;
use crate::state::{ClientSlot, Lab, Status};
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
    /// Why the connection last failed, if it did.
    last_drop: RwSignal<Option<String>>,
    /// The card's client, for a "Remove" button on added cards (`publisher-2`, ...).
    #[prop(optional)]
    removable: Option<ClientSlot>,
) -> impl IntoView {
    let remove = removable.filter(|slot| slot.name().contains('-')).map(|slot| {
        let lab = expect_context::<Lab>();
        view! {
            <button class="secondary small" aria-label="Remove card" on:click=move |_| remove_client(lab, slot)>
                "Remove"
            </button>
        }
    });
    view! {
        <header>
            <h2>{title}</h2>
            <StatusBadge who=who status=status connects=connects />
            {remove}
        </header>
        {move || {
            last_drop.get().map(|why| view! {
                <p class="hint error" data-testid="last-drop">
                    {move || format!("Reconnects: {} · last dropped: ", connects.get().saturating_sub(1))}
                    {why}
                </p>
            })
        }}
    }
}
