//! One connection attempt of a [`crate::ResilientClient`]: a WebSocket to a real broker, or
//! a MessagePort to the in-tab broker, asked for over a connector port the broker serves
//! (so a client in a worker can reconnect without the page).

use crate::browser::bytes_of;
use crate::client::Client;
use crate::faults::{FaultListener, Faults, FaultyTransport};
use crate::port::{MessagePortTransport, CLOSE_MESSAGE};
use crate::websocket::{new_transport, SUBPROTOCOL};
use js_sys::{Array, Object, Reflect};
use std::rc::Rc;
use wasm_bindgen::prelude::*;
use web_sys::{
    BinaryType, CloseEvent, Event, MessageChannel, MessageEvent, MessagePort, WebSocket,
};

/// Where a client connects.
#[derive(Clone)]
pub(crate) enum Target {
    /// `ws://` or `wss://`.
    WebSocket(String),
    /// The in-tab broker: a port on which `{type: "connect"}` with a port opens a
    /// connection (see `InTabBroker::open_connector`).
    InTab(MessagePort),
}

/// What a link tells its owner: it went down, and whether it ever carried CONNECT.
pub(crate) type OnDown = Rc<dyn Fn(bool)>;

enum Kind {
    WebSocket {
        ws: WebSocket,
        _on_open: Closure<dyn FnMut(Event)>,
        _on_close: Closure<dyn FnMut(CloseEvent)>,
    },
    Port {
        port: MessagePort,
        on_down: OnDown,
    },
}

/// An open (or opening) link; dropping it silences its listeners.
pub(crate) struct Link {
    kind: Kind,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
}

impl Drop for Link {
    fn drop(&mut self) {
        // A socket fires its close event after we closed it; it must not call closures
        // that are gone.
        match &self.kind {
            Kind::WebSocket { ws, .. } => {
                ws.set_onopen(None);
                ws.set_onmessage(None);
                ws.set_onclose(None);
            }
            Kind::Port { port, .. } => port.set_onmessage(None),
        }
    }
}

fn receiver(client: &Client) -> Closure<dyn FnMut(MessageEvent)> {
    let c = client.clone();
    Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
        let data = event.data();
        if let Some(bytes) = bytes_of(&data) {
            c.handle_bytes(&bytes);
        }
    })
}

impl Link {
    /// Starts a link to `target` for `client`, which is attached (CONNECT sent) once the
    /// link can carry bytes; what it sends passes through `faults`.
    pub fn open(
        target: &Target,
        client: &Client,
        faults: &Faults,
        on_fault: Option<FaultListener>,
        on_down: OnDown,
    ) -> Result<Link, JsValue> {
        match target {
            Target::WebSocket(url) => {
                let ws = WebSocket::new_with_str(url, SUBPROTOCOL)?;
                ws.set_binary_type(BinaryType::Arraybuffer);
                let (c, opened, faults) = (client.clone(), ws.clone(), faults.clone());
                let on_open = Closure::<dyn FnMut(Event)>::new(move |_: Event| {
                    let transport = FaultyTransport::new(
                        Box::new(new_transport(opened.clone())),
                        faults.clone(),
                        on_fault.clone(),
                    );
                    // A refused CONNECT comes back as Closed, which schedules a retry.
                    let _ = c.attach(Box::new(transport));
                });
                let c = client.clone();
                let on_close = Closure::<dyn FnMut(CloseEvent)>::new(move |_: CloseEvent| {
                    on_down(c.state() != tabmq_core::ConnectionState::Disconnected);
                });
                let on_message = receiver(client);
                ws.set_onopen(Some(on_open.as_ref().unchecked_ref()));
                ws.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
                ws.set_onclose(Some(on_close.as_ref().unchecked_ref()));
                Ok(Link {
                    kind: Kind::WebSocket {
                        ws,
                        _on_open: on_open,
                        _on_close: on_close,
                    },
                    _on_message: on_message,
                })
            }
            Target::InTab(connector) => {
                let channel = MessageChannel::new()?;
                let request = Object::new();
                Reflect::set(&request, &"type".into(), &"connect".into())?;
                connector
                    .post_message_with_transferable(&request, &Array::of1(&channel.port2()))?;
                let port = channel.port1();
                let (c, down) = (client.clone(), on_down.clone());
                let on_message =
                    Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
                        let data = event.data();
                        if let Some(bytes) = bytes_of(&data) {
                            c.handle_bytes(&bytes);
                        } else if data.as_string().as_deref() == Some(CLOSE_MESSAGE) {
                            down(true);
                        }
                    });
                port.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
                let transport = FaultyTransport::new(
                    Box::new(MessagePortTransport::new(port.clone())),
                    faults.clone(),
                    on_fault,
                );
                // A port is open at once; the broker reads CONNECT when it gets the port.
                client
                    .attach(Box::new(transport))
                    .map_err(|e| JsValue::from(e.to_string()))?;
                Ok(Link {
                    kind: Kind::Port { port, on_down },
                    _on_message: on_message,
                })
            }
        }
    }

    /// Closes the link after what is queued (a DISCONNECT) has gone.
    pub fn close(&self) {
        match &self.kind {
            Kind::WebSocket { ws, .. } => {
                let _ = ws.close();
            }
            Kind::Port { port, .. } => port.close(),
        }
    }

    /// Cuts the link without DISCONNECT, as a network failure would; the owner hears it
    /// through its `on_down`.
    pub fn cut(&self) {
        match &self.kind {
            Kind::WebSocket { ws, .. } => {
                let _ = ws.close();
            }
            Kind::Port { port, on_down } => {
                // Ports have no close event: tell the broker, then ourselves, a moment
                // later, as a socket's close event would.
                let _ = port.post_message(&CLOSE_MESSAGE.into());
                port.close();
                let on_down = on_down.clone();
                let _ = crate::coalesce::queue_microtask(move || on_down(true));
            }
        }
    }
}
