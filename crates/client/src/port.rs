//! MQTT over a MessagePort: the in-tab broker's transport.
//!
//! Each client has a port of its own. Real MQTT bytes cross it as transferable
//! ArrayBuffers; the only other message is the string `"close"`, which the worker sends
//! when the broker closes the connection (ports have no close event of their own).

use crate::browser::{bytes_of, now, to_array_buffer, Interval};
use crate::client::{Client, Listener};
use crate::coalesce::{Coalescer, Sink};
use crate::transport::{Transport, TransportError};
use std::cell::Cell;
use std::rc::Rc;
use tabmq_core::{Bytes, ClientError, ClientOptions};
use wasm_bindgen::prelude::*;
use web_sys::{MessageEvent, MessagePort};

/// The string the far side posts before it closes the port.
pub const CLOSE_MESSAGE: &str = "close";

/// Sends MQTT bytes over a MessagePort, one transferred buffer per event-loop turn.
#[derive(Clone)]
pub struct MessagePortTransport {
    port: MessagePort,
    closed: Rc<Cell<bool>>,
    out: Coalescer,
}

impl MessagePortTransport {
    pub fn new(port: MessagePort) -> Self {
        let target = port.clone();
        let sink: Sink = Rc::new(move |bytes: &[u8]| {
            let buffer = to_array_buffer(bytes);
            target.post_message_with_transferable(&buffer, &js_sys::Array::of1(&buffer))
        });
        MessagePortTransport {
            port,
            closed: Rc::new(Cell::new(false)),
            out: Coalescer::new(sink),
        }
    }

    /// Messages posted so far; for tests and the inspector.
    pub fn messages_posted(&self) -> u64 {
        self.out.writes()
    }
}

impl Transport for MessagePortTransport {
    fn send(&self, bytes: Bytes) -> Result<(), TransportError> {
        if self.closed.get() || self.out.is_closed() {
            return Err(TransportError::Closed);
        }
        self.out
            .push(&bytes)
            .map_err(|e| TransportError::Platform(crate::browser::describe(&e)))
    }

    fn close(&self) {
        if !self.closed.replace(true) {
            // What is already queued (a DISCONNECT) still leaves before the close.
            self.out.close();
            self.port.close();
        }
    }
}

/// A client connected over `port`, with its port listener and keepalive timer.
/// Dropping it leaves the connection running; call [`PortClient::close`] to end it.
pub struct PortClient {
    pub client: Client,
    transport: MessagePortTransport,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
    _timer: Interval,
}

impl PortClient {
    /// Messages this connection has posted.
    pub fn messages_posted(&self) -> u64 {
        self.transport.messages_posted()
    }

    /// Sends DISCONNECT and closes the port.
    pub fn close(self) {
        self.client.disconnect();
    }
}

/// Why a client could not be connected over a port.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum PortConnectError {
    /// The options or the engine refused; the caller is at fault.
    Client(ClientError),
    /// The browser would not give us a timer for keepalive; its message.
    NoTimer(String),
}

impl std::fmt::Display for PortConnectError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PortConnectError::Client(e) => e.fmt(f),
            PortConnectError::NoTimer(m) => write!(f, "no timer for keepalive: {m}"),
        }
    }
}

impl std::error::Error for PortConnectError {}

/// Connects a client over `port`; CONNECT leaves at once.
pub fn connect_port(
    port: MessagePort,
    options: ClientOptions,
    listener: Listener,
) -> Result<PortClient, PortConnectError> {
    let client = Client::new(options, Default::default(), Box::new(now), listener);
    attach_port(port, client)
}

/// Connects `client` over `port` (a client resuming a saved session, say).
pub fn attach_port(port: MessagePort, client: Client) -> Result<PortClient, PortConnectError> {
    let transport = MessagePortTransport::new(port.clone());
    client
        .attach(Box::new(transport.clone()))
        .map_err(PortConnectError::Client)?;
    let receiver = client.clone();
    let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
        let data = event.data();
        if let Some(bytes) = bytes_of(&data) {
            receiver.handle_bytes(&bytes);
        } else if data.as_string().as_deref() == Some(CLOSE_MESSAGE) {
            receiver.handle_transport_closed();
        }
    });
    port.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    let ticker = client.clone();
    let timer = Interval::new(1_000, move || ticker.tick())
        .map_err(|e| PortConnectError::NoTimer(crate::browser::describe(&e)))?;
    Ok(PortClient {
        client,
        transport,
        _on_message: on_message,
        _timer: timer,
    })
}
