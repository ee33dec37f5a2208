//! The sans-IO MQTT broker core of tabmq.
//!
//! It is driven only by bytes in and bytes out, and by `now` passed in: the same core runs
//! in a browser tab's Web Worker and natively. See [`Broker`] for the driving order.

mod access;
mod broker;
mod config;
mod connect;
mod deliver;
mod fast_hash;
mod flow;
mod inspector_view;
mod output;
mod publish;
mod retained;
mod session;
mod snapshot;
mod sorted_map;
mod subscribe;
mod sys;
mod topic_rules;
mod tree;

pub use access::{Access, Acl, AclError, Authenticate};
pub use broker::{Broker, ConnId};
pub use config::{BrokerConfig, ListenerConfig, Security, PROTOCOL_MAX_PACKET};
pub use flow::Flow;
pub use inspector_view::{BrokerView, CounterView, RetainedView, SessionView};
