//! The tabmq browser client: the core's client engine behind a [`Transport`].
//!
//! [`Client`] drives one connection. The browser transports are a MessagePort to the broker
//! in a tab ([`connect_port`], [`InTabBroker`]) and a WebSocket to real brokers
//! ([`connect_websocket`]), behind the same trait. [`WorkerClient`] runs the same client in
//! a Worker, where background-tab throttling cannot starve its timers.

mod browser;
mod client;
mod coalesce;
mod completion;
mod faults;
mod idb;
mod in_tab;
mod link;
mod port;
mod reconnect;
mod remote;
mod session_store;
mod transport;
mod url;
mod websocket;
mod workers;

pub use browser::{bytes_of as bytes_of_message, now, to_array_buffer, Interval};
pub use client::{Client, Clock, Listener, SessionStore};
pub use completion::CommandError;
pub use faults::{FaultAction, FaultPlan};
pub use idb::IdbStore;
pub use in_tab::{InTabBroker, InTabError, TabUrl, READY_MESSAGE};
pub use port::{
    attach_port, connect_port, MessagePortTransport, PortClient, PortConnectError, CLOSE_MESSAGE,
};
pub use reconnect::{Lifecycle, LifecycleListener, ResilientClient};
pub use remote::{
    frames as worker_frames, serve_clients, FaultCommand, RemoteEvent, RemoteListener,
    WorkerClient, WorkerClientOptions, CLIENT_WORKER_NAME,
};
pub use session_store::{IdbSessionStore, SESSION_DATABASE};
pub use transport::{Transport, TransportError};
pub use url::{connect_client, connect_url, ConnectError, Connection};
pub use websocket::{
    attach_websocket, connect_websocket, WebSocketClient, WebSocketConnectError,
    WebSocketTransport, SUBPROTOCOL,
};
pub use workers::set_worker_factory;
