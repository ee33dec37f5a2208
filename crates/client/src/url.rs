//! One entry point for every broker: `ws://` and `wss://` reach a real broker over
//! WebSocket, `tab://NAME` the broker in a Worker of this tab, and `tab://NAME?shared` the
//! one every tab of the origin shares. The same client runs over each.

use crate::browser::now;
use crate::client::{Client, Listener};
use crate::in_tab::{InTabBroker, InTabError};
use crate::port::{attach_port, PortClient, PortConnectError};
use crate::websocket::{attach_websocket, WebSocketClient, WebSocketConnectError};
use tabmq_core::ClientOptions;

/// A connection made from a URL: its client, and what keeps it running.
pub enum Connection {
    InTab(PortClient),
    WebSocket(WebSocketClient),
}

impl Connection {
    pub fn client(&self) -> &Client {
        match self {
            Connection::InTab(c) => &c.client,
            Connection::WebSocket(c) => &c.client,
        }
    }

    /// Sends DISCONNECT and closes the transport.
    pub fn close(self) {
        match self {
            Connection::InTab(c) => c.close(),
            Connection::WebSocket(c) => c.close(),
        }
    }
}

/// Why a connection could not be made from a URL.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConnectError {
    /// Neither `ws://`, `wss://` nor `tab://`; the caller is at fault.
    UnsupportedScheme(String),
    InTab(InTabError),
    Port(PortConnectError),
    WebSocket(WebSocketConnectError),
    /// The worker that hosts the page's clients failed to start; the browser's message.
    ClientWorker(String),
}

impl std::fmt::Display for ConnectError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ConnectError::UnsupportedScheme(url) => {
                write!(f, "{url}: use ws://, wss:// or tab://NAME[?shared]")
            }
            ConnectError::InTab(e) => e.fmt(f),
            ConnectError::Port(e) => e.fmt(f),
            ConnectError::WebSocket(e) => e.fmt(f),
            ConnectError::ClientWorker(m) => write!(f, "the client worker failed: {m}"),
        }
    }
}

impl std::error::Error for ConnectError {}

/// Connects to the broker `url` names. `worker_script` is the broker worker's loader, for
/// `tab://` URLs.
pub async fn connect_url(
    url: &str,
    options: ClientOptions,
    listener: Listener,
    worker_script: &str,
) -> Result<Connection, ConnectError> {
    let client = Client::new(options, Default::default(), Box::new(now), listener);
    connect_client(url, client, worker_script).await
}

/// [`connect_url`] for a client made beforehand: one resuming a saved session, with a
/// session store.
pub async fn connect_client(
    url: &str,
    client: Client,
    worker_script: &str,
) -> Result<Connection, ConnectError> {
    if url.starts_with("ws://") || url.starts_with("wss://") {
        return attach_websocket(url, client)
            .await
            .map(Connection::WebSocket)
            .map_err(ConnectError::WebSocket);
    }
    if url.starts_with("tab://") {
        let broker = InTabBroker::for_url(url, worker_script)
            .await
            .map_err(ConnectError::InTab)?;
        let port = broker.open_port().map_err(ConnectError::InTab)?;
        return attach_port(port, client)
            .map(Connection::InTab)
            .map_err(ConnectError::Port);
    }
    Err(ConnectError::UnsupportedScheme(url.to_owned()))
}
