//! The Explorer (`?view=explorer`): every topic seen on a filter as a tree, with
//! counts, rates, last values, retained and stale marks, and the selected topic's
//! messages, and a chart of series kept across reloads.

mod chart_view;
mod state;
mod topic_details;
mod topic_tree_view;

use chart_view::ChartPanel;
use leptos::prelude::*;
pub use state::Explorer;
use state::TICK_MS;
use tabmq_app::StatusBadge;
use topic_details::TopicDetails;
use topic_tree_view::TopicTreeView;

/// The Explorer: a filter to watch, the tree, and the selected topic.
#[component]
pub fn ExplorerView() -> impl IntoView {
    let explorer = Explorer::new();
    provide_context(explorer);
    wasm_bindgen_futures::spawn_local(explorer.watch());
    wasm_bindgen_futures::spawn_local(explorer.open_history());
    // The tick: the view is drawn as of `now`, so rates, ages and stale marks move while
    // nothing arrives, and a flood redraws four times a second, not once a message.
    crate::watch::tick(explorer.now_ms, TICK_MS, move || explorer.history.flush());
    let watch = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        wasm_bindgen_futures::spawn_local(explorer.watch());
    };
    let counts = move || {
        explorer.now_ms.track();
        explorer.tree.with_value(|t| {
            let mut line = format!("{} topics, {} messages", t.topics(), t.messages());
            if t.refused() > 0 {
                line.push_str(&format!(" ({} not kept: the tree is full)", t.refused()));
            }
            line
        })
    };
    view! {
        <section class="card wide explorer" aria-label="Explorer">
            <form class="row" on:submit=watch>
                <label>
                    "Broker URL"
                    <input type="text" prop:value=move || explorer.url.get() on:input=move |ev| explorer.url.set(event_target_value(&ev)) />
                </label>
                <label>
                    "Filter"
                    <input type="text" prop:value=move || explorer.filter.get() on:input=move |ev| explorer.filter.set(event_target_value(&ev)) />
                </label>
                <button type="submit">"Watch"</button>
                <StatusBadge who="explorer" status=explorer.status />
            </form>
            <p class="hint" data-testid="explorer-counts">{counts}</p>
        </section>
        <div class="explorer-panes">
            <section class="card" aria-label="Topic tree">
                <TopicTreeView />
            </section>
            <TopicDetails />
        </div>
        <ChartPanel />
    }
}

/// Mounts the Explorer on the page's body (the `tabmq-views` module's entry).
pub fn mount_explorer() {
    leptos::mount::mount_to_body(|| view! { <main><ExplorerView /></main> });
}
