use crate::components::{
    BenchPanel, BrokerInspector, ConnectionsPanel, FaultPanel, HandshakeView, PublisherCard,
    StatusBadge, SubscriberCard,
};
use crate::connect::start_lab;
use crate::page_url::View;
use crate::state::Lab;
use leptos::prelude::*;

/// The whole lab: the broker's status, publishers and subscribers, the handshake view,
/// faults, the broker inspector and the benchmark.
#[component]
pub fn LabView() -> impl IntoView {
    let lab = Lab::new();
    provide_context(lab);
    wasm_bindgen_futures::spawn_local(start_lab(lab));
    view! {
        <main>
            <header class="top">
                <h1>"tabmq lab"</h1>
                <p>
                    // The brokers the clients are on, not the one the page started with:
                    // a card's settings may point elsewhere.
                    {move || if lab.client_brokers().len() > 1 { "Brokers: " } else { "Broker: " }}
                    <code data-testid="broker-url">{move || lab.client_brokers().join(", ")}</code>
                    " "
                    <StatusBadge who="broker" status=lab.broker_status />
                </p>
            </header>
            <div class="cards">
                <For
                    each=move || lab.publishers.get()
                    key=|slot| slot.name()
                    children=|slot| view! { <PublisherCard client=slot /> }
                />
                <For
                    each=move || lab.subscribers.get()
                    key=|slot| slot.name()
                    children=|slot| view! { <SubscriberCard client=slot /> }
                />
            </div>
            <HandshakeView />
            <div class="cards">
                <ConnectionsPanel />
                <FaultPanel />
                <BrokerInspector />
                <BenchPanel />
            </div>
        </main>
    }
}

/// Mounts the view the page's URL names on its body, under the links to each view
/// (plain HTML in index.html, the same for every view, whose script keeps the page's other
/// parameters, `?broker=` above all, in each link). The lab is in this module; the
/// Explorer and the Dashboard are another wasm module (`tabmq-views`, built from `web/views.rs`), fetched only
/// when asked for, so the lab's first load does not carry them.
pub fn mount() {
    match View::current() {
        View::Lab => leptos::mount::mount_to_body(LabView),
        View::Explorer | View::Dashboard => crate::page_url::load_views_module(),
    }
}
