//! A client that stays connected: over WebSocket (or a port to the in-tab broker), it
//! reconnects with exponential backoff and full jitter, at once on the browser's `online` event, and not at all while the browser
//! says it is offline. The session carries over: what was in flight is resent, what was
//! published meanwhile is queued. Subscriptions are made again only when the broker did
//! not keep the session, so a kept session never gets duplicate subscriptions (and
//! duplicate messages).

use crate::browser::{now, Interval};
use crate::client::{Client, Listener};
use crate::completion::CommandError;
use crate::faults::{FaultAction, FaultListener, FaultPlan, Faults};
use crate::link::{Link, OnDown, Target};
use futures_channel::oneshot;
use js_sys::{Function, Reflect};
use std::cell::RefCell;
use std::future::Future;
use std::rc::{Rc, Weak};
use std::time::Duration;
use tabmq_core::{
    Backoff, ClientError, ClientEvent, ClientOptions, ClientSession, ConnectionState, PacketId,
    Properties, QoS, ReasonCode, SubscribeFilter,
};
use wasm_bindgen::prelude::*;
use web_sys::{Event, MessagePort};

/// A SUBSCRIBE asked for while disconnected, and who waits for its SUBACK.
struct PendingSubscribe {
    filters: Vec<SubscribeFilter>,
    properties: Properties,
    reply: Option<oneshot::Sender<Result<Vec<ReasonCode>, CommandError>>>,
}

/// What a [`ResilientClient`] says about its connection beyond the client's own events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Lifecycle {
    /// A new attempt to connect starts (not the first one): MQTT.js's `reconnect`.
    Reconnecting,
    /// The WebSocket closed before it could carry CONNECT: refused, unreachable, or the
    /// connect timeout. (A connection that got further ends with `ClientEvent::Closed`.)
    SocketFailed,
    /// A fault of the plan was applied to an outgoing packet of this type.
    Fault(FaultAction, u8),
}

/// Hears [`Lifecycle`] changes.
pub type LifecycleListener = Box<dyn FnMut(Lifecycle)>;

struct State {
    target: Target,
    backoff: Backoff,
    link: Option<Link>,
    faults: Faults,
    /// A pending `setTimeout` for the next attempt: its id and callback.
    retry: Option<(JsValue, Closure<dyn FnMut()>)>,
    /// How long an attempt may take to get its CONNACK, and the timer that enforces it.
    connect_timeout: Option<Duration>,
    connect_timer: Option<(JsValue, Closure<dyn FnMut()>)>,
    /// Made through this handle, to make again if the broker lost the session.
    subscriptions: Vec<SubscribeFilter>,
    /// Asked for while disconnected: sent on the next connection.
    pending: Vec<PendingSubscribe>,
    connected_once: bool,
    /// Whether to subscribe again when the broker lost the session (MQTT.js's
    /// `resubscribe`, on by default).
    resubscribe: bool,
    /// Whether an attempt was made already, so the next one is a reconnect.
    attempted: bool,
    stopped: bool,
    lifecycle: Option<LifecycleListener>,
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

/// Opens a link now, unless stopped, connected, or the browser is offline (then the
/// `online` event opens it).
fn open(state: &Rc<RefCell<State>>, client: &Client) {
    let target = {
        let mut s = state.borrow_mut();
        let offline = matches!(s.target, Target::WebSocket(_)) && !browser_online();
        if s.stopped || s.link.is_some() || offline {
            return;
        }
        s.retry = None;
        s.target.clone()
    };
    let again = std::mem::replace(&mut state.borrow_mut().attempted, true);
    if again {
        tell(state, Lifecycle::Reconnecting);
    }
    let (weak, c) = (Rc::downgrade(state), client.clone());
    let on_down: OnDown = Rc::new(move |reached| {
        let Some(state) = weak.upgrade() else { return };
        // Dropping the link's listeners from inside one of them is fine: the browser
        // holds the function being run.
        let link = state.borrow_mut().link.take();
        if reached && c.state() != ConnectionState::Disconnected {
            c.handle_transport_closed();
        } else if !reached {
            // It never got as far as CONNECT: no Closed event will schedule a retry.
            schedule(&state, &c);
            tell(&state, Lifecycle::SocketFailed);
        }
        drop(link);
    });
    let weak = Rc::downgrade(state);
    let on_fault: FaultListener = Rc::new(move |action, packet_type| {
        if let Some(state) = weak.upgrade() {
            tell(&state, Lifecycle::Fault(action, packet_type));
        }
    });
    let faults = state.borrow().faults.clone();
    match Link::open(&target, client, &faults, Some(on_fault), on_down) {
        Ok(link) => {
            state.borrow_mut().link = Some(link);
            arm_connect_timer(state, client);
        }
        Err(_) => schedule(state, client),
    }
}

fn tell(state: &Rc<RefCell<State>>, change: Lifecycle) {
    let listener = state.borrow_mut().lifecycle.take();
    if let Some(mut listener) = listener {
        listener(change);
        let mut s = state.borrow_mut();
        if s.lifecycle.is_none() {
            s.lifecycle = Some(listener);
        }
    }
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

/// Gives up on the attempt if no CONNACK came within the connect timeout; cutting the link
/// schedules the next attempt.
fn arm_connect_timer(state: &Rc<RefCell<State>>, client: &Client) {
    let Some(wait) = state.borrow().connect_timeout else {
        return;
    };
    let (weak, c) = (Rc::downgrade(state), client.clone());
    let callback = Closure::<dyn FnMut()>::new(move || {
        let Some(state) = weak.upgrade() else { return };
        if c.state() != ConnectionState::Connected {
            if let Some(link) = state.borrow().link.as_ref() {
                link.cut();
            }
        }
    });
    let Some(set) = global_fn("setTimeout") else {
        return;
    };
    let millis = JsValue::from(wait.as_millis() as f64);
    if let Ok(id) = set.call2(&JsValue::NULL, callback.as_ref().unchecked_ref(), &millis) {
        if let Some((old, _)) = state.borrow_mut().connect_timer.replace((id, callback)) {
            clear_timeout(&old);
        }
    }
}

fn clear_timeout(id: &JsValue) {
    if let Some(clear) = global_fn("clearTimeout") {
        let _ = clear.call1(&JsValue::NULL, id);
    }
}

fn cancel_retry(state: &RefCell<State>) {
    let retry = state.borrow_mut().retry.take();
    if let Some((id, _callback)) = retry {
        clear_timeout(&id);
    }
}

/// Handles what the connection's events mean for reconnecting, then passes them on.
fn on_event(weak: &Weak<RefCell<State>>, client: &Client, event: &ClientEvent) {
    let Some(state) = weak.upgrade() else { return };
    match event {
        ClientEvent::Connected { session_present } => {
            let timer = state.borrow_mut().connect_timer.take();
            if let Some((id, _callback)) = timer {
                clear_timeout(&id);
            }
            let (again, pending) = {
                let mut s = state.borrow_mut();
                s.backoff.reset();
                let pending = std::mem::take(&mut s.pending);
                // The broker forgot us: subscribe again, once.
                let lost = s.connected_once && !session_present && s.resubscribe;
                s.connected_once = true;
                let again = if lost {
                    s.subscriptions.clone()
                } else {
                    Vec::new()
                };
                (again, pending)
            };
            if !again.is_empty() {
                let _ = client.subscribe_filters(again);
            }
            for p in pending {
                let suback = client.subscribe_with_async(p.filters, p.properties);
                let Some(reply) = p.reply else {
                    continue;
                };
                wasm_bindgen_futures::spawn_local(async move {
                    let _ = reply.send(suback.await);
                });
            }
        }
        ClientEvent::Closed(_) => {
            let link = state.borrow_mut().link.take();
            if let Some(link) = link {
                link.close();
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
        listener: Listener,
    ) -> Result<ResilientClient, crate::WebSocketConnectError> {
        if !(url.starts_with("ws://") || url.starts_with("wss://")) {
            return Err(crate::WebSocketConnectError::InvalidUrl(url.to_owned()));
        }
        ResilientClient::start(
            Target::WebSocket(url.to_owned()),
            options,
            session,
            backoff,
            listener,
        )
    }

    /// [`ResilientClient::connect`] to the in-tab broker: `connector` is a port from
    /// `InTabBroker::open_connector`, over which each attempt asks for a connection.
    pub fn connect_in_tab(
        connector: MessagePort,
        options: ClientOptions,
        session: ClientSession,
        backoff: Backoff,
        listener: Listener,
    ) -> Result<ResilientClient, crate::WebSocketConnectError> {
        ResilientClient::start(
            Target::InTab(connector),
            options,
            session,
            backoff,
            listener,
        )
    }

    fn start(
        target: Target,
        options: ClientOptions,
        session: ClientSession,
        backoff: Backoff,
        mut listener: Listener,
    ) -> Result<ResilientClient, crate::WebSocketConnectError> {
        let state = Rc::new(RefCell::new(State {
            target,
            backoff,
            link: None,
            faults: Faults::default(),
            retry: None,
            connect_timeout: None,
            connect_timer: None,
            subscriptions: Vec::new(),
            pending: Vec::new(),
            connected_once: false,
            resubscribe: true,
            attempted: false,
            stopped: false,
            lifecycle: None,
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
            .map_err(|e| crate::WebSocketConnectError::NoTimer(crate::browser::describe(&e)))?;
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
        self.remember(std::slice::from_ref(&f));
        match self.client.subscribe_filters(vec![f.clone()]) {
            Err(ClientError::NotConnected) => {
                self.state.borrow_mut().pending.push(PendingSubscribe {
                    filters: vec![f],
                    properties: Properties::default(),
                    reply: None,
                });
                Ok(None)
            }
            other => other.map(Some),
        }
    }

    /// One SUBSCRIBE for `filters`, remembered like [`ResilientClient::subscribe`]; the
    /// future gives SUBACK's reason codes, once a connection carried it.
    pub fn subscribe_with_async(
        &self,
        filters: Vec<SubscribeFilter>,
        properties: Properties,
    ) -> impl Future<Output = Result<Vec<ReasonCode>, CommandError>> {
        let checked = filters
            .iter()
            .try_for_each(|f| tabmq_core::validate_topic_filter(&f.filter))
            .map_err(|v| CommandError::Refused(ClientError::InvalidTopic(v)));
        let waiting = checked.map(|()| {
            self.remember(&filters);
            if self.client.state() == ConnectionState::Disconnected {
                let (tx, rx) = oneshot::channel();
                self.state.borrow_mut().pending.push(PendingSubscribe {
                    filters,
                    properties,
                    reply: Some(tx),
                });
                Err(rx)
            } else {
                Ok(self.client.subscribe_with_async(filters, properties))
            }
        });
        async move {
            match waiting? {
                Ok(now) => now.await,
                Err(later) => later.await.unwrap_or(Err(CommandError::Dropped)),
            }
        }
    }

    fn remember(&self, filters: &[SubscribeFilter]) {
        let mut s = self.state.borrow_mut();
        s.subscriptions
            .retain(|x| filters.iter().all(|f| f.filter != x.filter));
        s.subscriptions.extend(filters.iter().cloned());
    }

    /// Gives up on an attempt that has no CONNACK after `timeout`, and tries again after
    /// the backoff's wait (MQTT.js's `connectTimeout`). Off by default.
    pub fn set_connect_timeout(&self, timeout: Option<Duration>) {
        self.state.borrow_mut().connect_timeout = timeout;
    }

    /// Whether to subscribe again after reconnecting to a broker that lost the session.
    pub fn set_resubscribe(&self, resubscribe: bool) {
        self.state.borrow_mut().resubscribe = resubscribe;
    }

    /// Hears when a new attempt to connect starts.
    pub fn set_lifecycle_listener(&self, listener: LifecycleListener) {
        self.state.borrow_mut().lifecycle = Some(listener);
    }

    /// Changes the fault plan in force (see [`FaultPlan`]); rules already used up stay
    /// used up.
    pub fn change_faults(&self, change: impl FnOnce(&mut FaultPlan)) {
        let faults = self.state.borrow().faults.clone();
        change(&mut faults.borrow_mut());
    }

    /// Cuts the connection now, without DISCONNECT, as a network failure would: the
    /// broker sends the will, and the client reconnects after the backoff's wait.
    pub fn cut(&self) {
        if let Some(link) = self.state.borrow().link.as_ref() {
            link.cut();
        }
    }

    /// Connects again now: after [`ResilientClient::close`], or to cut a backoff short.
    /// A connection that is up is left alone.
    pub fn reconnect(&self) {
        cancel_retry(&self.state);
        {
            let mut s = self.state.borrow_mut();
            s.stopped = false;
            s.backoff.reset();
        }
        self.client.set_reconnects(true);
        open(&self.state, &self.client);
    }

    /// Unsubscribes, and forgets it.
    pub fn unsubscribe(&self, filter: &str) -> Result<PacketId, ClientError> {
        self.forget(&[filter.to_owned()]);
        self.client.unsubscribe(filter)
    }

    /// Forgets `filters`, so a lost session does not bring them back.
    pub fn forget(&self, filters: &[String]) {
        let mut s = self.state.borrow_mut();
        s.subscriptions.retain(|x| !filters.contains(&x.filter));
        s.pending
            .retain(|p| p.filters.iter().any(|f| !filters.contains(&f.filter)));
    }

    /// Attempts made since the last successful connection.
    pub fn failures(&self) -> u32 {
        self.state.borrow().backoff.failures()
    }

    /// Whether an attempt is waiting on its timer.
    pub fn retry_pending(&self) -> bool {
        self.state.borrow().retry.is_some()
    }

    /// Stops reconnecting; a connection that is up stays up.
    pub fn stop(&self) {
        self.state.borrow_mut().stopped = true;
        cancel_retry(&self.state);
    }

    /// Sends DISCONNECT and stops reconnecting.
    pub fn close(&self) {
        self.state.borrow_mut().stopped = true;
        cancel_retry(&self.state);
        self.client.disconnect();
    }
}
