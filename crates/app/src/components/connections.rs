//! Every client of the page with its live status and its connection settings, and the
//! buttons that add more.

use crate::components::{ConnectionForm, StatusBadge};
use crate::connect::add_client;
use crate::state::{Lab, Role};
use leptos::prelude::*;

/// The clients panel.
#[component]
pub fn ConnectionsPanel() -> impl IntoView {
    let lab = expect_context::<Lab>();
    let clients = move || {
        let mut all = lab.publishers.get();
        all.extend(lab.subscribers.get());
        all
    };
    view! {
        <section class="card" data-testid="connections" aria-label="Clients">
            <header><h2>"Clients"</h2></header>
            <ul class="clients">
                <For
                    each=clients
                    key=|slot| slot.name()
                    children=|slot| {
                        view! {
                            <li data-testid=format!("client-{}", slot.name())>
                                <div class="client-line">
                                    <strong>{slot.name()}</strong>
                                    <span class="hint">{move || slot.settings.get().url}</span>
                                    <StatusBadge who=format!("client-{}", slot.name()) status=slot.status connects=slot.connects />
                                </div>
                                <ConnectionForm client=slot />
                            </li>
                        }
                    }
                />
            </ul>
            <div class="row">
                <button class="secondary" on:click=move |_| add_client(lab, Role::Publisher)>"Add publisher"</button>
                <button class="secondary" on:click=move |_| add_client(lab, Role::Subscriber)>"Add subscriber"</button>
            </div>
        </section>
    }
}
