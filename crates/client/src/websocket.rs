//! MQTT over WebSocket to a real broker (Mosquitto, EMQX, HiveMQ, `tabmq broker`):
//! subprotocol `mqtt`, binary frames [MQTT-6.0.0-3]. A frame may carry part of a packet or
//! several; the engine's decoder is incremental, so framing does not matter on the way in.
//! On the way out, every packet produced in the same turn of the event loop leaves in one
//! frame: in Chromium the frame rate is the ceiling, not the codec.

use crate::browser::{bytes_of, now, Interval};
use crate::client::{Client, Listener};
use crate::coalesce::{Coalescer, Sink};
use crate::transport::{Transport, TransportError};
use js_sys::Promise;
use std::cell::Cell;
use std::rc::Rc;
use tabmq_core::{Bytes, ClientError, ClientOptions};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{BinaryType, CloseEvent, Event, MessageEvent, WebSocket};

/// The WebSocket subprotocol MQTT uses.
pub const SUBPROTOCOL: &str = "mqtt";

/// Sends MQTT bytes over an open WebSocket, one frame per event-loop turn.
pub struct WebSocketTransport {
    ws: WebSocket,
    out: Coalescer,
}

/// A transport over an open socket.
pub(crate) fn new_transport(ws: WebSocket) -> WebSocketTransport {
    let socket = ws.clone();
    let sink: Sink = Rc::new(move |bytes: &[u8]| socket.send_with_u8_array(bytes));
    WebSocketTransport {
        ws,
        out: Coalescer::new(sink),
    }
}

impl WebSocketTransport {
    /// Frames sent so far; for tests and the inspector.
    pub fn frames_sent(&self) -> u64 {
        self.out.writes()
    }

    fn handle(&self) -> WebSocketTransport {
        WebSocketTransport {
            ws: self.ws.clone(),
            out: self.out.clone(),
        }
    }
}

impl Transport for WebSocketTransport {
    fn send(&self, bytes: Bytes) -> Result<(), TransportError> {
        if self.out.is_closed() || self.ws.ready_state() > WebSocket::OPEN {
            return Err(TransportError::Closed);
        }
        self.out
            .push(&bytes)
            .map_err(|e| TransportError::Platform(crate::browser::describe(&e)))
    }

    fn close(&self) {
        // What is already queued (a DISCONNECT) still leaves before the close.
        self.out.close();
        let _ = self.ws.close();
    }
}

/// Why a WebSocket connection could not be made.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum WebSocketConnectError {
    /// The URL is not a `ws://` or `wss://` URL, or the browser refused it; its message.
    InvalidUrl(String),
    /// The socket closed before it opened (refused, unreachable, wrong subprotocol).
    Unreachable { code: u16, reason: String },
    /// The options or the engine refused; the caller is at fault.
    Client(ClientError),
    /// The browser would not give us a timer for keepalive.
    NoTimer(String),
}

impl std::fmt::Display for WebSocketConnectError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WebSocketConnectError::InvalidUrl(m) => write!(f, "not a WebSocket URL: {m}"),
            WebSocketConnectError::Unreachable { code, reason } => {
                write!(
                    f,
                    "the WebSocket closed before it opened (code {code}) {reason}"
                )
            }
            WebSocketConnectError::Client(e) => e.fmt(f),
            WebSocketConnectError::NoTimer(m) => write!(f, "no timer for keepalive: {m}"),
        }
    }
}

impl std::error::Error for WebSocketConnectError {}

/// A client connected over a WebSocket, with its socket listeners and keepalive timer.
/// Call [`WebSocketClient::close`] to end it; dropping it stops listening to the socket.
pub struct WebSocketClient {
    pub client: Client,
    transport: WebSocketTransport,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
    _on_close: Closure<dyn FnMut(CloseEvent)>,
    _timer: Interval,
}

impl Drop for WebSocketClient {
    fn drop(&mut self) {
        // Its close event comes after `close`; the listeners it would call go with us.
        self.transport.ws.set_onmessage(None);
        self.transport.ws.set_onclose(None);
    }
}

impl WebSocketClient {
    /// Frames this connection has sent.
    pub fn frames_sent(&self) -> u64 {
        self.transport.frames_sent()
    }

    /// Sends DISCONNECT and closes the socket.
    pub fn close(self) {
        self.client.disconnect();
    }
}

/// Opens `url` (`ws://` or `wss://`) with the `mqtt` subprotocol, then connects a client
/// over it; resolves once the socket is open and CONNECT has left.
pub async fn connect_websocket(
    url: &str,
    options: ClientOptions,
    listener: Listener,
) -> Result<WebSocketClient, WebSocketConnectError> {
    let client = Client::new(options, Default::default(), Box::new(now), listener);
    attach_websocket(url, client).await
}

/// Opens `url` and connects `client` over it (a client resuming a saved session, say).
pub async fn attach_websocket(
    url: &str,
    client: Client,
) -> Result<WebSocketClient, WebSocketConnectError> {
    if !(url.starts_with("ws://") || url.starts_with("wss://")) {
        return Err(WebSocketConnectError::InvalidUrl(url.to_owned()));
    }
    let ws = WebSocket::new_with_str(url, SUBPROTOCOL).map_err(|e| {
        WebSocketConnectError::InvalidUrl(format!("{url}: {}", crate::browser::describe(&e)))
    })?;
    ws.set_binary_type(BinaryType::Arraybuffer);
    let opened = Promise::new(&mut |resolve, reject| {
        ws.set_onopen(Some(&resolve));
        ws.set_onclose(Some(&reject));
    });
    let outcome = JsFuture::from(opened).await;
    ws.set_onopen(None);
    ws.set_onclose(None);
    if let Err(event) = outcome {
        let (code, reason) = event
            .dyn_ref::<CloseEvent>()
            .map_or((0, String::new()), |e| (e.code(), e.reason()));
        return Err(WebSocketConnectError::Unreachable { code, reason });
    }
    let transport = new_transport(ws.clone());
    client
        .attach(Box::new(transport.handle()))
        .map_err(WebSocketConnectError::Client)?;
    let receiver = client.clone();
    let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
        if let Some(bytes) = bytes_of(&event.data()) {
            receiver.handle_bytes(&bytes);
        } else {
            // [MQTT-6.0.0-1]: only binary frames carry MQTT. A text frame ends it.
            if let Some(ws) = event.target().and_then(|t| t.dyn_into::<WebSocket>().ok()) {
                let _ = ws.close_with_code_and_reason(1003, "MQTT needs binary frames");
            }
        }
    });
    ws.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    let closer = client.clone();
    let gone = Rc::new(Cell::new(false));
    let on_close = Closure::<dyn FnMut(CloseEvent)>::new(move |_: CloseEvent| {
        if !gone.replace(true) {
            closer.handle_transport_closed();
        }
    });
    ws.set_onclose(Some(on_close.as_ref().unchecked_ref()));
    let on_error = Closure::<dyn FnMut(Event)>::new(|_: Event| {});
    ws.set_onerror(Some(on_error.as_ref().unchecked_ref()));
    on_error.forget();
    let ticker = client.clone();
    let timer = Interval::new(1_000, move || ticker.tick())
        .map_err(|e| WebSocketConnectError::NoTimer(crate::browser::describe(&e)))?;
    Ok(WebSocketClient {
        client,
        transport,
        _on_message: on_message,
        _on_close: on_close,
        _timer: timer,
    })
}
