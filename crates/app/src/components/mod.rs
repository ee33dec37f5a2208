//! One file per card or view.

mod bench;
mod connection;
mod connections;
mod faults;
mod fields;
mod handshake_view;
mod inspector;
mod message_log;
mod publisher;
mod status;
mod subscriber;

pub use bench::BenchPanel;
pub use connection::ConnectionForm;
pub use connections::ConnectionsPanel;
pub use faults::FaultPanel;
pub use fields::{CheckField, ChoiceField, QosSelect, TextField};
pub use handshake_view::HandshakeView;
pub use inspector::BrokerInspector;
pub use publisher::PublisherCard;
pub use status::{CardHeader, StatusBadge};
pub use subscriber::SubscriberCard;
