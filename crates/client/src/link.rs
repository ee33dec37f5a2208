//! One transport a [`crate::ResilientClient`]'s machine asked for: a WebSocket to a real
//! broker, or a MessagePort to the in-tab broker, asked for over a connector port the
//! broker serves (so a client in a worker can reconnect without the page). A link only
//! moves bytes and reports what happened to it; it decides nothing.

use crate::browser::bytes_of;
use crate::page_lock::{post_connect, when_broker_gone};
use crate::port::{MessagePortTransport, CLOSE_MESSAGE};
use crate::transport::Transport;
use crate::websocket::{new_transport, SUBPROTOCOL};
use std::rc::Rc;
use wasm_bindgen::prelude::*;
use web_sys::{
    BinaryType, CloseEvent, Event, MessageChannel, MessageEvent, MessagePort, WebSocket,
};

/// Hears the bytes that arrive on a link.
pub(crate) type OnBytes = Rc<dyn Fn(&[u8])>;

/// What a link tells its owner.
#[derive(Clone)]
pub(crate) struct Hooks {
    /// It can carry bytes, through this transport.
    pub opened: Rc<dyn Fn(Box<dyn Transport>)>,
    pub bytes: OnBytes,
    /// It went away (or never came up).
    pub down: Rc<dyn Fn()>,
}

enum Kind {
    WebSocket {
        ws: WebSocket,
        _on_open: Closure<dyn FnMut(Event)>,
        _on_close: Closure<dyn FnMut(CloseEvent)>,
    },
    Port {
        port: MessagePort,
        down: Rc<dyn Fn()>,
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

impl Link {
    /// A WebSocket to `url`.
    pub fn websocket(url: &str, hooks: Hooks) -> Result<Link, JsValue> {
        let ws = WebSocket::new_with_str(url, SUBPROTOCOL)?;
        ws.set_binary_type(BinaryType::Arraybuffer);
        let (opened, socket) = (hooks.opened.clone(), ws.clone());
        let on_open = Closure::<dyn FnMut(Event)>::new(move |_: Event| {
            opened(Box::new(new_transport(socket.clone())));
        });
        let down = hooks.down.clone();
        let on_close = Closure::<dyn FnMut(CloseEvent)>::new(move |_: CloseEvent| down());
        let bytes = hooks.bytes.clone();
        let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
            if let Some(data) = bytes_of(&event.data()) {
                bytes(&data);
            }
        });
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

    /// A port to the in-tab broker, asked for on `connector`; open at once (the broker
    /// reads CONNECT when it gets the port).
    pub fn in_tab(connector: &MessagePort, hooks: Hooks) -> Result<Link, JsValue> {
        let channel = MessageChannel::new()?;
        let connector = connector.clone();
        post_connect(channel.port2(), move |request, transfer| {
            connector.post_message_with_transferable(request, transfer)
        });
        let port = channel.port1();
        let (bytes, down) = (hooks.bytes.clone(), hooks.down.clone());
        let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
            let data = event.data();
            if let Some(data) = bytes_of(&data) {
                bytes(&data);
            } else if data.as_string().as_deref() == Some(CLOSE_MESSAGE) {
                down();
            } else {
                // The broker's worker can die with its port silent (a crash of the tab
                // whose renderer ran it): its life lock says when.
                let down = down.clone();
                when_broker_gone(&data, move || down());
            }
        });
        port.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        let opened = hooks.opened.clone();
        let transport = MessagePortTransport::new(port.clone());
        // Reported a moment later, as a socket's open event would be.
        let _ = crate::coalesce::queue_microtask(move || opened(Box::new(transport)));
        Ok(Link {
            kind: Kind::Port {
                port,
                down: hooks.down,
            },
            _on_message: on_message,
        })
    }

    /// Its transport was closed (after what was queued, a DISCONNECT, left): a socket
    /// reports its close event; a port has none, so it is reported a moment later.
    pub fn transport_closed(&self) {
        if let Kind::Port { down, .. } = &self.kind {
            let down = down.clone();
            let _ = crate::coalesce::queue_microtask(move || down());
        }
    }

    /// Cuts the link without DISCONNECT, as a network failure would.
    pub fn cut(&self) {
        match &self.kind {
            Kind::WebSocket { ws, .. } => {
                let _ = ws.close();
            }
            Kind::Port { port, down, .. } => {
                // Ports have no close event: tell the broker, then ourselves, a moment
                // later, as a socket's close event would.
                let _ = port.post_message(&CLOSE_MESSAGE.into());
                port.close();
                let down = down.clone();
                let _ = crate::coalesce::queue_microtask(move || down());
            }
        }
    }
}
