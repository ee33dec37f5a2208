//! A client that stays connected: over WebSocket, it reconnects with exponential backoff and
//! full jitter, at once on the browser's `online` event, and not at all while the browser
//! says it is offline. The session carries over: what was in flight is resent, what was
//! published meanwhile is queued. Subscriptions are made again only when the broker did
//! not keep the session, so a kept session never gets duplicate subscriptions (and
//! duplicate messages).

use crate::browser::{bytes_of, now, Interval};
use crate::client::{Client, Listener};
use crate::websocket::{new_transport, SUBPROTOCOL};
use js_sys::{Function, Reflect};
use std::cell::RefCell;
use std::rc::{Rc, Weak};
use tabmq_core::{
    Backoff, ClientError, ClientEvent, ClientOptions, ClientSession, ConnectionState, PacketId,
    QoS, SubscribeFilter,
};
use wasm_bindgen::prelude::*;
use web_sys::{BinaryType, CloseEvent, Event, MessageEvent, WebSocket};

/// The listeners of one socket; dropped with it.
struct Socket {
    ws: WebSocket,
    _on_open: Closure<dyn FnMut(Event)>,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
    _on_close: Closure<dyn FnMut(CloseEvent)>,
}

struct State {
    url: String,
    backoff: Backoff,
    socket: Option<Socket>,
    /// A pending `setTimeout` for the next attempt: its id and callback.
    retry: Option<(JsValue, Closure<dyn FnMut()>)>,
    /// Made through this handle, to make again if the broker lost the session.
    subscriptions: Vec<SubscribeFilter>,
    /// Asked for while disconnected: sent on the next connection.
    pending: Vec<SubscribeFilter>,
    connected_once: bool,
    stopped: bool,
}

/// A client that reconnects by itself. Cloning gives another handle to it.
#[derive(Clone)]
pub struct ResilientClient {
    pub client: Client,
    state: Rc<RefCell<State>>,
    _timer: Rc<Interval>,
    _online: Rc<Closure<dyn FnMut(Event)>>,
}

fn browser_online() -> bool {
    let navigator = Reflect::get(&js_sys::global(), &"navigator".into()).unwrap_or_default();
    Reflect::get(&navigator, &"onLine".into())
        .ok()
        .and_then(|v| v.as_bool())
        .unwrap_or(true)
}

fn random_u64() -> u64 {
    (js_sys::Math::random() * 9_007_199_254_740_992.0) as u64
}

fn global_fn(name: &str) -> Option<Function> {
    Reflect::get(&js_sys::global(), &name.into())
        .ok()?
        .dyn_into()
        .ok()
}

/// Opens a socket now, unless stopped, connected, or the browser is offline (then the
/// `online` event opens it).
fn open(state: &Rc<RefCell<State>>, client: &Client) {
    let url = {
        let mut s = state.borrow_mut();
        if s.stopped || s.socket.is_some() || !browser_online() {
            return;
        }
        s.retry = None;
        s.url.clone()
    };
    let Ok(ws) = WebSocket::new_with_str(&url, SUBPROTOCOL) else {
        return schedule(state, client);
    };
    ws.set_binary_type(BinaryType::Arraybuffer);
    let c = client.clone();
    let opened_ws = ws.clone();
    let on_open = Closure::<dyn FnMut(Event)>::new(move |_: Event| {
        // A refused CONNECT comes back as Closed, which schedules the next attempt.
        let _ = c.attach(Box::new(new_transport(opened_ws.clone())));
    });
    let c = client.clone();
    let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
        if let Some(bytes) = bytes_of(&event.data()) {
            c.handle_bytes(&bytes);
        }
    });
    let (weak, c) = (Rc::downgrade(state), client.clone());
    let on_close = Closure::<dyn FnMut(CloseEvent)>::new(move |_: CloseEvent| {
        let Some(state) = weak.upgrade() else { return };
        // Dropping the socket's listeners from inside one of them is fine: the browser
        // holds the function being run.
        let socket = state.borrow_mut().socket.take();
        if c.state() != ConnectionState::Disconnected {
            c.handle_transport_closed();
        } else {
            // It never got as far as CONNECT: no Closed event will schedule a retry.
            schedule(&state, &c);
        }
        drop(socket);
    });
    ws.set_onopen(Some(on_open.as_ref().unchecked_ref()));
    ws.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    ws.set_onclose(Some(on_close.as_ref().unchecked_ref()));
    state.borrow_mut().socket = Some(Socket {
        ws,
        _on_open: on_open,
        _on_message: on_message,
        _on_close: on_close,
    });
}

/// Arms the next attempt after the backoff's wait.
fn schedule(state: &Rc<RefCell<State>>, client: &Client) {
    let mut s = state.borrow_mut();
    if s.stopped || s.retry.is_some() {
        return;
    }
    let wait = s.backoff.next_delay(random_u64());
    let (weak, c) = (Rc::downgrade(state), client.clone());
    let callback = Closure::<dyn FnMut()>::new(move || {
        if let Some(state) = weak.upgrade() {
            state.borrow_mut().retry = None;
            open(&state, &c);
        }
    });
    let Some(set) = global_fn("setTimeout") else {
        return;
    };
    let millis = JsValue::from(wait.as_millis() as f64);
    if let Ok(id) = set.call2(&JsValue::NULL, callback.as_ref().unchecked_ref(), &millis) {
        s.retry = Some((id, callback));
    }
}

fn cancel_retry(state: &RefCell<State>) {
    if let Some((id, _callback)) = state.borrow_mut().retry.take() {
        if let Some(clear) = global_fn("clearTimeout") {
            let _ = clear.call1(&JsValue::NULL, &id);
        }
    }
}

/// Handles what the connection's events mean for reconnecting, then passes them on.
fn on_event(weak: &Weak<RefCell<State>>, client: &Client, event: &ClientEvent) {
    let Some(state) = weak.upgrade() else { return };
    match event {
        ClientEvent::Connected { session_present } => {
            let filters = {
                let mut s = state.borrow_mut();
                s.backoff.reset();
                let pending = std::mem::take(&mut s.pending);
                // The broker forgot us: subscribe again, once.
                let lost = s.connected_once && !session_present;
                s.connected_once = true;
                let mut filters = if lost {
                    s.subscriptions.clone()
                } else {
                    Vec::new()
                };
                filters.extend(pending);
                filters
            };
            if !filters.is_empty() {
                let _ = client.subscribe_filters(filters);
            }
        }
        ClientEvent::Closed(_) => {
            let socket = state.borrow_mut().socket.take();
            if let Some(socket) = socket {
                let _ = socket.ws.close();
            }
            schedule(&state, client);
        }
        _ => {}
    }
}

impl ResilientClient {
    /// Starts connecting to `url` (`ws://` or `wss://`) and keeps connected until
    /// [`ResilientClient::close`]. Commands work at once: they are queued until connected.
    pub fn connect(
        url: &str,
        options: ClientOptions,
        session: ClientSession,
        backoff: Backoff,
        mut listener: Listener,
    ) -> Result<ResilientClient, crate::WebSocketConnectError> {
        if !(url.starts_with("ws://") || url.starts_with("wss://")) {
            return Err(crate::WebSocketConnectError::InvalidUrl(url.to_owned()));
        }
        let state = Rc::new(RefCell::new(State {
            url: url.to_owned(),
            backoff,
            socket: None,
            retry: None,
            subscriptions: Vec::new(),
            pending: Vec::new(),
            connected_once: false,
            stopped: false,
        }));
        let weak = Rc::downgrade(&state);
        let client = Client::new(
            options,
            session,
            Box::new(now),
            Box::new(move |client, event| {
                on_event(&weak, client, &event);
                listener(client, event);
            }),
        );
        client.set_reconnects(true);
        let (weak, c) = (Rc::downgrade(&state), client.clone());
        let online = Closure::<dyn FnMut(Event)>::new(move |_: Event| {
            // Back online: try now rather than at the end of a long backoff.
            if let Some(state) = weak.upgrade() {
                cancel_retry(&state);
                state.borrow_mut().backoff.reset();
                open(&state, &c);
            }
        });
        if let Ok(add) = Reflect::get(&js_sys::global(), &"addEventListener".into())
            .and_then(|f| f.dyn_into::<Function>())
        {
            let _ = add.call2(
                &js_sys::global(),
                &"online".into(),
                online.as_ref().unchecked_ref(),
            );
        }
        let ticker = client.clone();
        let timer = Interval::new(1_000, move || ticker.tick())
            .map_err(|e| crate::WebSocketConnectError::NoTimer(format!("{e:?}")))?;
        open(&state, &client);
        Ok(ResilientClient {
            client,
            state,
            _timer: Rc::new(timer),
            _online: Rc::new(online),
        })
    }

    /// Subscribes, and remembers it in case the broker loses the session. While
    /// disconnected it is sent on the next connection, and this returns `None`.
    pub fn subscribe(&self, filter: &str, qos: QoS) -> Result<Option<PacketId>, ClientError> {
        let f = SubscribeFilter::new(filter, qos);
        tabmq_core::validate_topic_filter(filter).map_err(ClientError::InvalidTopic)?;
        {
            let mut s = self.state.borrow_mut();
            s.subscriptions.retain(|x| x.filter != f.filter);
            s.subscriptions.push(f.clone());
        }
        match self.client.subscribe_filters(vec![f.clone()]) {
            Err(ClientError::NotConnected) => {
                self.state.borrow_mut().pending.push(f);
                Ok(None)
            }
            other => other.map(Some),
        }
    }

    /// Unsubscribes, and forgets it.
    pub fn unsubscribe(&self, filter: &str) -> Result<PacketId, ClientError> {
        self.state
            .borrow_mut()
            .subscriptions
            .retain(|x| x.filter != filter);
        self.client.unsubscribe(filter)
    }

    /// Attempts made since the last successful connection.
    pub fn failures(&self) -> u32 {
        self.state.borrow().backoff.failures()
    }

    /// Whether an attempt is waiting on its timer.
    pub fn retry_pending(&self) -> bool {
        self.state.borrow().retry.is_some()
    }

    /// Sends DISCONNECT and stops reconnecting.
    pub fn close(&self) {
        self.state.borrow_mut().stopped = true;
        cancel_retry(&self.state);
        self.client.disconnect();
    }
}
