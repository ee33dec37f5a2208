//! The sans-IO MQTT broker core of tabmq.
//!
//! It is driven only by bytes in and bytes out, and by `now` passed in: the same core runs
//! in a browser tab's Web Worker and natively. See [`Broker`] for the driving order.

mod broker;
mod session;
mod snapshot;

pub use broker::{Broker, BrokerConfig, ConnId};
