//! The lab's data views, built into a wasm module of their own (`tabmq-views`,
//! `web/views.rs`) that the lab's page imports only when its URL asks for one, so the lab's
//! first load carries none of them:
//!
//! - the Explorer (`?view=explorer`, [`explorer`]): every topic on a filter, payloads,
//!   charts with history;
//! - the Dashboard (`?view=dashboard`, [`board`]): widgets bound to topics.
//!
//! Their model is `tabmq-dashboard`'s; these are the views and their clients.

pub mod board;
pub mod explorer;
mod history_store;
mod line_chart;
mod watch;

use tabmq_app::View;

/// Mounts the view the page's URL names.
pub fn mount() {
    match View::current() {
        View::Dashboard => board::mount_dashboard(),
        View::Explorer | View::Lab => explorer::mount_explorer(),
    }
}
