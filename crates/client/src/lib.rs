//! The tabmq browser client.
//!
//! - [`ResilientClient`]: a client that stays connected, for a Rust or Leptos page or a
//!   worker. It is the web-sys shell of the core's `ClientMachine`, which decides
//!   reconnects, backoff, online/offline, timeouts, resubscribing and what waits offline,
//!   the same decisions the npm package and `tabmq pub/sub` make.
//! - [`WorkerClient`]: the page's handle to a `ResilientClient` that runs in a Worker,
//!   where background-tab throttling cannot starve its timers ([`serve_clients`] hosts it).
//! - [`InTabBroker`]: the broker in a Worker of this tab (or a SharedWorker of the origin).
//! - [`Client`] with [`connect_websocket`], [`connect_port`] and [`connect_url`]: one
//!   connection driven directly on the engine, without reconnects; the lab's
//!   `?client=page` control and the transport tests use it.

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

pub use client::{Client, Clock, Listener, SessionStore};
pub use completion::CommandError;
pub use faults::{FaultAction, FaultPlan};
pub use in_tab::{InTabBroker, InTabError};
pub use port::{connect_port, PortClient, PortConnectError};
pub use reconnect::{MachineListener, ResilientClient, StartError};
pub use remote::{
    serve_clients, FaultCommand, RemoteEvent, RemoteListener, WorkerClient, WorkerClientOptions,
    CLIENT_WORKER_NAME,
};
pub use session_store::IdbSessionStore;
pub use transport::{Transport, TransportError};
pub use url::{connect_client, connect_url, ConnectError, Connection};
pub use websocket::{connect_websocket, WebSocketClient, WebSocketConnectError};

/// The clock every browser driver reads (`performance.timeOrigin + performance.now()`).
pub use browser::now;

/// What the in-tab broker's worker (`tabmq-worker`) shares with the clients: the byte
/// conversions, the IndexedDB store and the port protocol's two words. Not for
/// applications.
#[doc(hidden)]
pub mod for_worker {
    pub use crate::browser::{bytes_of as bytes_of_message, to_array_buffer};
    pub use crate::idb::IdbStore;
    pub use crate::in_tab::READY_MESSAGE;
    pub use crate::port::CLOSE_MESSAGE;
}
