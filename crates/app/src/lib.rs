//! The tabmq lab: a Leptos page with publishers, subscribers, the QoS handshakes drawn as
//! they happen, faults on demand, the in-tab broker's inspector and a QoS benchmark.

mod app;
mod card_fields;
mod components;
mod connect;
mod flow;
mod handshake;
mod inbox;
mod page_url;
mod settings;
mod state;
mod subscribe;
mod subscription_state;
mod timers;

pub use app::{mount, LabView};
pub use components::{PublisherCard, StatusBadge, SubscriberCard};
pub use connect::{start_lab, DEFAULT_FILTER, WORKER_URL};
pub use inbox::clock_label_at;
pub use page_url::{broker_url, page_param, View, DEFAULT_BROKER};
pub use settings::ConnectionSettings;
pub use state::{reason_words, ClientSlot, Lab, Received, Status, HISTORY_LIMIT};
pub use subscription_state::{CardSubscription, FilterQos};
pub use timers::sleep;
