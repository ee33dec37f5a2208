//! One file per card or view.

mod publisher;
mod status;
mod subscriber;

pub use publisher::PublisherCard;
pub use status::StatusBadge;
pub use subscriber::SubscriberCard;
