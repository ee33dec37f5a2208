//! One file per card or view.

mod fields;
mod publisher;
mod status;
mod subscriber;

pub use fields::{QosSelect, TextField};
pub use publisher::PublisherCard;
pub use status::{CardHeader, StatusBadge};
pub use subscriber::SubscriberCard;
