use crate::components::{PublisherCard, StatusBadge, SubscriberCard};
use crate::connect::start_lab;
use crate::state::Lab;
use leptos::prelude::*;

/// The whole page: the in-tab broker's status, a publisher and a subscriber.
#[component]
pub fn App() -> impl IntoView {
    let lab = Lab::new();
    provide_context(lab);
    wasm_bindgen_futures::spawn_local(start_lab(lab));
    view! {
        <main>
            <header class="top">
                <h1>"tabmq lab"</h1>
                <p>
                    "Broker in this tab (Web Worker): "
                    <StatusBadge who="broker" status=lab.broker_status />
                </p>
            </header>
            <div class="cards">
                <PublisherCard />
                <SubscriberCard />
            </div>
        </main>
    }
}

/// Mounts the lab on the page's body.
pub fn mount() {
    leptos::mount::mount_to_body(App);
}
