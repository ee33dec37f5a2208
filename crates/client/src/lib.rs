//! The tabmq browser client, for Rust and Leptos pages.
//!
//! - [`connect`]: a client for `ws://`, `wss://` or `tab://NAME[?shared]`, starting the
//!   in-tab broker when the URL names one. What it returns is a:
//! - [`ResilientClient`]: a client that stays connected. It is the web-sys shell of the
//!   core's `ClientMachine`, which decides reconnects, backoff, online/offline, timeouts,
//!   resubscribing and what waits offline, the same decisions the npm package and
//!   `tabmq pub/sub` make. It runs on the page's thread, as the npm package does, with its
//!   one timer in a tiny worker that background-tab throttling does not hold back. Use
//!   [`ResilientClient::start`] directly to bring your own connector port or store.
//! - [`InTabBroker`]: the broker in a Worker of this tab (or a SharedWorker of the
//!   origin), to inspect it or open ports to it.

mod browser;
mod coalesce;
mod command_error;
mod connect;
mod faults;
mod idb;
mod in_tab;
mod link;
mod page_lock;
mod port;
mod reconnect;
mod session_store;
mod timers;
mod transport;
mod websocket;
mod workers;

pub use command_error::CommandError;
pub use connect::{connect, ConnectError, ConnectOptions};
pub use faults::{FaultAction, FaultCommand, FaultListener, FaultPlan};
pub use in_tab::{InTabBroker, InTabError};
pub use reconnect::{MachineListener, ResilientClient, StartError};
pub use session_store::{IdbSessionStore, SessionStore};

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
    pub use crate::page_lock::{announce_life_lock, when_page_gone, LOCK_KEY};
    pub use crate::port::CLOSE_MESSAGE;
}
