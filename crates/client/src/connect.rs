//! One entry point for every broker: `ws://` and `wss://` reach a real broker over
//! WebSocket, `tab://NAME` the broker in a Worker of this tab, and `tab://NAME?shared` the
//! one every tab of the origin shares. It starts the in-tab broker when the URL needs it
//! and opens the IndexedDB session when asked, then hands everything to a
//! [`ResilientClient`].

use crate::browser::describe;
use crate::in_tab::{InTabBroker, InTabError};
use crate::reconnect::{MachineListener, ResilientClient, StartError};
use crate::session_store::{IdbSessionStore, SessionStore};
use std::rc::Rc;
use tabmq_core::{BrokerUrl, ClientOptions, ConnectionPolicy};

/// What [`connect`] makes a client with.
#[derive(Debug, Clone, Default)]
pub struct ConnectOptions {
    /// What CONNECT says.
    pub client: ClientOptions,
    /// When to reconnect, the connect timeout, resubscribing (the machine's own defaults:
    /// backoff from 1 s to 60 s with jitter, 30 s to connect, resubscribe).
    pub policy: ConnectionPolicy,
    /// Keep the session in IndexedDB under the client id, so unacknowledged QoS 1/2
    /// messages and the offline queue survive a reload.
    pub persist_session: bool,
}

/// Why [`connect`] could not make a client.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConnectError {
    /// The URL or the options; the caller is at fault.
    Start(StartError),
    /// The in-tab broker's worker could not start.
    InTab(InTabError),
    /// `persist_session` was asked and IndexedDB could not be opened; the browser's
    /// message. The client is not started, rather than started without the durability
    /// it was asked for.
    SessionStore(String),
}

impl std::fmt::Display for ConnectError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ConnectError::Start(e) => e.fmt(f),
            ConnectError::InTab(e) => e.fmt(f),
            ConnectError::SessionStore(why) => write!(f, "no IndexedDB for the session: {why}"),
        }
    }
}

impl std::error::Error for ConnectError {}

impl ConnectError {
    /// The stable code the npm package gives the same failure (`Error.code`).
    pub fn code(&self) -> &'static str {
        match self {
            ConnectError::Start(e) => e.code(),
            ConnectError::InTab(_) => "TABMQ_WORKER_FAILED",
            ConnectError::SessionStore(_) => "NO_SESSION_STORE",
        }
    }
}

/// Starts a client for `url`. `worker_script` is the broker worker's entry script, for
/// `tab://` URLs. It returns once the client exists; CONNECT follows, and commands may be
/// given at once: they wait for the connection.
pub async fn connect(
    url: &str,
    options: ConnectOptions,
    worker_script: &str,
    listener: MachineListener,
) -> Result<ResilientClient, ConnectError> {
    let connector = match BrokerUrl::parse(url) {
        Ok(BrokerUrl::InTab(_)) => {
            // One that starts the broker again if its worker dies.
            let connector = InTabBroker::connector_for_url(url, worker_script)
                .await
                .map_err(ConnectError::InTab)?;
            Some(connector)
        }
        Ok(_) => None,
        Err(e) => return Err(ConnectError::Start(StartError::Url(e))),
    };
    let (store, session) = if options.persist_session {
        let (store, session) = IdbSessionStore::open(&options.client.client_id)
            .await
            .map_err(|e| ConnectError::SessionStore(describe(&e)))?;
        (Some(Rc::new(store) as Rc<dyn SessionStore>), session)
    } else {
        (None, None)
    };
    ResilientClient::start(
        url,
        options.client,
        options.policy,
        session.unwrap_or_default(),
        connector,
        store,
        listener,
    )
    .map_err(ConnectError::Start)
}
