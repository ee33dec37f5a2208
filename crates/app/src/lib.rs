//! The tabmq lab: a Leptos page with a publisher, a subscriber and the broker in the tab.

mod app;
mod components;
mod connect;
mod state;

pub use app::{mount, App};
pub use components::{PublisherCard, StatusBadge, SubscriberCard};
pub use connect::{start_lab, DEFAULT_FILTER, WORKER_URL};
pub use state::{ActiveSubscription, ClientSlot, Lab, Received, Status, HISTORY_LIMIT};
