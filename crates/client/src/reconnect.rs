//! A client that stays connected, for Rust and Leptos pages: the
//! web-sys shell of the core's [`ClientMachine`], which makes every decision (reconnect
//! and backoff, online/offline, the connect timeout, keepalive, resubscribing, the offline
//! queue, what is stored before a packet may leave, which command completes when), the
//! same ones the npm package and `tabmq pub/sub` make. This file opens WebSockets and
//! in-tab ports when told, moves bytes, arms one timer, stores the session in IndexedDB
//! and turns completions into futures.

use crate::browser::now;
use crate::command_error::CommandError;
use crate::faults::{FaultCommand, FaultListener, FaultPlan, Faults, FaultyTransport};
use crate::link::{Hooks, Link};
use crate::session_store::SessionStore;
use crate::timers::Timeout;
use crate::transport::Transport;
use futures_channel::oneshot;
use js_sys::{Function, Reflect};
use std::cell::RefCell;
use std::collections::HashMap;
use std::future::Future;
use std::rc::{Rc, Weak};
use tabmq_core::{
    Action, BrokerUrl, BrokerUrlError, ClientError, ClientMachine, ClientOptions, ClientSession,
    Command, CommandFailure, ConnectionPolicy, ConnectionState, Done, End, Instant, LostReason,
    MachineEvent, Outcome, Properties, Publish, ReasonCode, SubscribeFilter, Token, TransportId,
};
use wasm_bindgen::prelude::*;
use web_sys::{Event, MessagePort};

/// Hears the machine's events (completions go to the commands' futures).
pub type MachineListener = Box<dyn FnMut(&MachineEvent)>;

/// Why a [`ResilientClient`] could not start. The caller is at fault.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum StartError {
    Url(BrokerUrlError),
    /// `tab://` needs a connector port to the in-tab broker.
    NoConnector,
}

impl std::fmt::Display for StartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StartError::Url(e) => e.fmt(f),
            StartError::NoConnector => f.write_str("tab:// needs a port to the in-tab broker"),
        }
    }
}

impl std::error::Error for StartError {}

impl StartError {
    /// The stable code the npm package gives the same refusal (`Error.code`).
    pub fn code(&self) -> &'static str {
        match self {
            StartError::Url(e) => e.error_code(),
            StartError::NoConnector => "NO_CONNECTOR",
        }
    }
}

/// The one armed timer (in the timer worker) and its deadline.
struct Timer {
    at: Instant,
    _timeout: Timeout,
}

struct Shell {
    machine: ClientMachine,
    connector: Option<MessagePort>,
    links: HashMap<TransportId, Link>,
    transports: HashMap<TransportId, Box<dyn Transport>>,
    faults: Faults,
    on_fault: Option<FaultListener>,
    store: Option<Rc<dyn SessionStore>>,
    waiters: HashMap<u64, oneshot::Sender<Outcome>>,
    next_token: u64,
    listener: Option<MachineListener>,
    draining: bool,
    timer: Option<Timer>,
    /// Itself, while a graceful `end` finishes: dropping the last handle right after
    /// `end()` must not cut the DISCONNECT short. Let go at `Ended`.
    ending: Option<Shared>,
}

type Shared = Rc<RefCell<Shell>>;

/// A client that reconnects by itself. Cloning gives another handle to it. Dropping the
/// last handle cuts the connection without DISCONNECT, as closing the page would (the
/// broker keeps a persistent session and sends the will); after [`ResilientClient::end`]
/// the client lives on until its DISCONNECT has gone.
#[derive(Clone)]
pub struct ResilientClient {
    shell: Shared,
    _online: Rc<OnlineListener>,
}

/// The page's `online`/`offline` listener, removed when the last handle goes (a listener
/// left behind would call a dropped closure).
struct OnlineListener(Closure<dyn FnMut(Event)>);

impl Drop for OnlineListener {
    fn drop(&mut self) {
        if let Some(remove) = global_fn("removeEventListener") {
            for kind in ["online", "offline"] {
                let _ = remove.call2(
                    &js_sys::global(),
                    &kind.into(),
                    self.0.as_ref().unchecked_ref(),
                );
            }
        }
    }
}

impl Drop for Shell {
    /// The last handle is gone: its connection goes too, without DISCONNECT, as a closed
    /// page's would (the broker keeps a persistent session, and sends the will).
    fn drop(&mut self) {
        for link in self.links.values() {
            link.cut();
        }
    }
}

fn browser_online() -> bool {
    let navigator = Reflect::get(&js_sys::global(), &"navigator".into()).unwrap_or_default();
    Reflect::get(&navigator, &"onLine".into())
        .ok()
        .and_then(|v| v.as_bool())
        .unwrap_or(true)
}

fn global_fn(name: &str) -> Option<Function> {
    Reflect::get(&js_sys::global(), &name.into())
        .ok()?
        .dyn_into()
        .ok()
}

/// Feeds one input, then carries out what the machine says.
fn input(shell: &Shared, feed: impl FnOnce(&mut ClientMachine, Instant)) {
    feed(&mut shell.borrow_mut().machine, now());
    drain(shell);
}

/// The machine's outputs, in its order: store, transmit and act, events, the timer. An
/// input that a listener feeds meanwhile is picked up by the loop already running.
fn drain(shell: &Shared) {
    if std::mem::replace(&mut shell.borrow_mut().draining, true) {
        return;
    }
    for _ in 0..1_000_000 {
        let mut s = shell.borrow_mut();
        if let Some((seq, bytes)) = s.machine.poll_persist() {
            if let Some(store) = s.store.clone() {
                let weak = Rc::downgrade(shell);
                // A failed save must not stall the connection: the bytes go out anyway.
                store.save(
                    &bytes,
                    Box::new(move |_| {
                        if let Some(shell) = weak.upgrade() {
                            input(&shell, |m, now| m.handle_persisted(seq, now));
                        }
                    }),
                );
            }
        }
        if let Some(out) = s.machine.poll_transmit() {
            if let Some(transport) = s.transports.get(&out.transport) {
                // A refused write means the link is going; its close reports it.
                let _ = transport.send(out.bytes, out.hold_turns);
            }
            continue;
        }
        if let Some(action) = s.machine.poll_action() {
            drop(s);
            act(shell, action);
            continue;
        }
        let Some(event) = s.machine.poll_event() else {
            break;
        };
        if let MachineEvent::Completed { token, outcome } = event {
            if let Some(waiter) = s.waiters.remove(&token.0) {
                let _ = waiter.send(outcome);
            }
            continue;
        }
        let listener = s.listener.take();
        let finished = matches!(event, MachineEvent::Ended)
            .then(|| s.ending.take())
            .flatten();
        drop(s);
        // Dropped with nothing borrowed; the caller still holds the shell.
        drop(finished);
        if let Some(mut listener) = listener {
            listener(&event);
            let mut s = shell.borrow_mut();
            if s.listener.is_none() {
                s.listener = Some(listener);
            }
        }
    }
    arm_timer(shell);
    shell.borrow_mut().draining = false;
}

fn act(shell: &Shared, action: Action) {
    match action {
        Action::Open { transport, url } => {
            let weak = Rc::downgrade(shell);
            let hooks = hooks(&weak, transport);
            let link = {
                let s = shell.borrow();
                match (&url, &s.connector) {
                    (BrokerUrl::WebSocket(u), _) => Link::websocket(u, hooks),
                    (BrokerUrl::InTab(_), Some(connector)) => Link::in_tab(connector, hooks),
                    _ => Err(JsValue::from_str("no way to reach this broker")),
                }
            };
            match link {
                Ok(link) => {
                    shell.borrow_mut().links.insert(transport, link);
                }
                Err(_) => input(shell, |m, now| m.handle_closed(transport, now)),
            }
        }
        Action::Close { transport } => {
            let mut s = shell.borrow_mut();
            if let Some(t) = s.transports.remove(&transport) {
                // What is queued (a DISCONNECT) leaves first.
                t.close();
            }
            // Kept until it reports its close, which ends a graceful `end` at once.
            if let Some(link) = s.links.get(&transport) {
                link.transport_closed();
            }
        }
        Action::Cut { transport } => {
            let mut s = shell.borrow_mut();
            s.transports.remove(&transport);
            if let Some(link) = s.links.remove(&transport) {
                link.cut();
            }
        }
    }
}

fn hooks(weak: &Weak<RefCell<Shell>>, transport: TransportId) -> Hooks {
    let (w1, w2, w3) = (weak.clone(), weak.clone(), weak.clone());
    Hooks {
        opened: Rc::new(move |inner: Box<dyn Transport>| {
            let Some(shell) = w1.upgrade() else { return };
            {
                let mut s = shell.borrow_mut();
                let faulty = FaultyTransport::new(inner, s.faults.clone(), s.on_fault.clone());
                s.transports.insert(transport, Box::new(faulty));
            }
            input(&shell, |m, now| m.handle_opened(transport, now));
        }),
        bytes: Rc::new(move |data: &[u8]| {
            if let Some(shell) = w2.upgrade() {
                input(&shell, |m, now| m.handle_bytes(transport, data, now));
            }
        }),
        down: Rc::new(move || {
            let Some(shell) = w3.upgrade() else { return };
            {
                let mut s = shell.borrow_mut();
                s.transports.remove(&transport);
                s.links.remove(&transport);
            }
            input(&shell, |m, now| m.handle_closed(transport, now));
        }),
    }
}

/// Arms the one timer at the machine's deadline, if it moved.
fn arm_timer(shell: &Shared) {
    let mut s = shell.borrow_mut();
    let at = s.machine.poll_timeout();
    if s.timer.as_ref().map(|t| t.at) == at {
        return;
    }
    // Dropping the old one cancels it.
    s.timer = None;
    let Some(at) = at else { return };
    let weak = Rc::downgrade(shell);
    let wait = at.saturating_duration_since(now()).as_millis() as u64;
    let timeout = Timeout::after(wait, move || {
        if let Some(shell) = weak.upgrade() {
            shell.borrow_mut().timer = None;
            input(&shell, |m, now| m.handle_timeout(now));
        }
    });
    s.timer = Some(Timer {
        at,
        _timeout: timeout,
    });
}

fn command_error(failure: CommandFailure) -> CommandError {
    match failure {
        CommandFailure::Refused(code) => CommandError::Failed(code),
        CommandFailure::Invalid(e) => CommandError::Refused(e),
        CommandFailure::SessionLost => CommandError::Lost(LostReason::SessionLost),
        _ => CommandError::Lost(LostReason::ConnectionLost),
    }
}

impl ResilientClient {
    /// Starts connecting to `url`: `ws://`, `wss://`, or `tab://` through `connector`, a
    /// port from `InTabBroker::open_connector`. With `store`, the session is saved before
    /// anything that depends on it leaves. Commands work at once: they wait for a
    /// connection.
    pub fn start(
        url: &str,
        options: ClientOptions,
        mut policy: ConnectionPolicy,
        session: ClientSession,
        connector: Option<MessagePort>,
        store: Option<Rc<dyn SessionStore>>,
        listener: MachineListener,
    ) -> Result<ResilientClient, StartError> {
        let url = BrokerUrl::parse_in_browser(url).map_err(StartError::Url)?;
        if matches!(url, BrokerUrl::InTab(_)) && connector.is_none() {
            return Err(StartError::NoConnector);
        }
        policy.persist = store.is_some();
        policy.seed = (js_sys::Math::random() * 9_007_199_254_740_992.0) as u64;
        let shell: Shared = Rc::new(RefCell::new(Shell {
            machine: ClientMachine::new(options, policy, url, session),
            connector,
            links: HashMap::new(),
            transports: HashMap::new(),
            faults: Faults::default(),
            on_fault: None,
            store,
            waiters: HashMap::new(),
            next_token: 1,
            listener: Some(listener),
            draining: false,
            timer: None,
            ending: None,
        }));
        let weak = Rc::downgrade(&shell);
        let online = Closure::<dyn FnMut(Event)>::new(move |_: Event| {
            if let Some(shell) = weak.upgrade() {
                input(&shell, |m, now| m.set_online(browser_online(), now));
            }
        });
        if let Some(add) = global_fn("addEventListener") {
            for kind in ["online", "offline"] {
                let _ = add.call2(
                    &js_sys::global(),
                    &kind.into(),
                    online.as_ref().unchecked_ref(),
                );
            }
        }
        input(&shell, |m, now| {
            m.set_online(browser_online(), now);
            m.connect(now);
        });
        Ok(ResilientClient {
            shell,
            _online: Rc::new(OnlineListener(online)),
        })
    }

    pub fn state(&self) -> ConnectionState {
        self.shell.borrow().machine.state()
    }

    /// The client id it connects with.
    pub fn client_id(&self) -> String {
        self.shell
            .borrow()
            .machine
            .engine()
            .options()
            .client_id
            .clone()
    }

    /// The durable session, as it stands.
    pub fn session(&self) -> ClientSession {
        self.shell.borrow().machine.engine().session().clone()
    }

    /// Attempts since the last connection that got its CONNACK.
    pub fn failures(&self) -> u32 {
        self.shell.borrow().machine.failures()
    }

    /// Whether an attempt waits on the backoff's timer.
    pub fn retry_pending(&self) -> bool {
        self.shell.borrow().machine.retry_pending()
    }

    /// Gives a command to the machine; with `wait`, a receiver for its outcome.
    fn command(
        &self,
        command: Command,
        wait: bool,
    ) -> Result<Option<oneshot::Receiver<Outcome>>, ClientError> {
        let token = {
            let mut s = self.shell.borrow_mut();
            s.next_token += 1;
            s.next_token
        };
        let receiver = wait.then(|| {
            let (tx, rx) = oneshot::channel();
            self.shell.borrow_mut().waiters.insert(token, tx);
            rx
        });
        let result = {
            let mut s = self.shell.borrow_mut();
            s.machine.command(Token(token), command, now())
        };
        drain(&self.shell);
        match result {
            Ok(()) => Ok(receiver),
            Err(e) => {
                self.shell.borrow_mut().waiters.remove(&token);
                Err(e)
            }
        }
    }

    /// Publishes, with nobody waiting for the answer (floods of QoS 0 keep no future).
    pub fn publish(&self, publish: Publish) -> Result<(), ClientError> {
        self.command(Command::Publish(publish), false).map(|_| ())
    }

    /// Publishes; the future gives the broker's reason code at PUBACK or PUBCOMP (at once
    /// for QoS 0, once written).
    pub fn publish_async(
        &self,
        publish: Publish,
    ) -> impl Future<Output = Result<ReasonCode, CommandError>> {
        let waiting = self.command(Command::Publish(publish), true);
        async move {
            match settle(waiting).await? {
                Done::Published(code) => Ok(code),
                _ => Err(CommandError::Dropped),
            }
        }
    }

    /// One SUBSCRIBE, remembered to make again if the broker loses the session; the future
    /// gives SUBACK's reason codes.
    pub fn subscribe_async(
        &self,
        filters: Vec<SubscribeFilter>,
        properties: Properties,
    ) -> impl Future<Output = Result<Vec<ReasonCode>, CommandError>> {
        let waiting = self.command(
            Command::Subscribe {
                filters,
                properties,
            },
            true,
        );
        async move {
            match settle(waiting).await? {
                Done::Subscribed(codes) => Ok(codes),
                _ => Err(CommandError::Dropped),
            }
        }
    }

    /// One UNSUBSCRIBE; the filters are forgotten at once.
    pub fn unsubscribe_async(
        &self,
        filters: Vec<String>,
        properties: Properties,
    ) -> impl Future<Output = Result<(), CommandError>> {
        let waiting = self.command(
            Command::Unsubscribe {
                filters,
                properties,
            },
            true,
        );
        async move { settle(waiting).await.map(|_| ()) }
    }

    /// Ends: DISCONNECT once what is in flight is answered (or at once, with `force`,
    /// without DISCONNECT: the broker sends the will). No reconnects until
    /// [`ResilientClient::reconnect`].
    pub fn end(&self, end: End) {
        if !end.force {
            let me = self.shell.clone();
            self.shell.borrow_mut().ending = Some(me);
        }
        input(&self.shell, |m, now| m.end(end, now));
    }

    /// Connects again now: after [`ResilientClient::end`], or to cut a backoff short.
    pub fn reconnect(&self) {
        input(&self.shell, |m, now| m.connect(now));
    }

    /// Cuts the transport now, without DISCONNECT, as a network failure would: the broker
    /// sends the will, and the machine reconnects after the backoff's wait.
    pub fn cut(&self) {
        let links: Vec<_> = self.shell.borrow().links.keys().copied().collect();
        for t in links {
            act(&self.shell, Action::Cut { transport: t });
            input(&self.shell, |m, now| m.handle_closed(t, now));
        }
    }

    /// Report every packet as an event, or stop.
    pub fn set_trace(&self, trace: bool) {
        self.shell.borrow_mut().machine.set_trace(trace);
    }

    /// Changes the fault plan in force (see [`FaultPlan`]); rules already used up stay
    /// used up.
    pub fn change_faults(&self, change: impl FnOnce(&mut FaultPlan)) {
        let faults = self.shell.borrow().faults.clone();
        change(&mut faults.borrow_mut());
    }

    /// Applies one of the lab's fault controls.
    pub fn fault(&self, fault: FaultCommand) {
        match fault {
            FaultCommand::Clear => self.change_faults(|f| *f = FaultPlan::default()),
            FaultCommand::Drop { packet_type, count } => {
                self.change_faults(|f| f.drop.push((packet_type, count)))
            }
            FaultCommand::Duplicate { packet_type, count } => {
                self.change_faults(|f| f.duplicate.push((packet_type, count)))
            }
            FaultCommand::Delay { millis } => self.change_faults(|f| f.delay_ms = millis),
            FaultCommand::Cut => self.cut(),
        }
    }

    /// Hears each fault the plan applies.
    pub fn set_fault_listener(&self, listener: FaultListener) {
        self.shell.borrow_mut().on_fault = Some(listener);
    }
}

async fn settle(
    waiting: Result<Option<oneshot::Receiver<Outcome>>, ClientError>,
) -> Result<Done, CommandError> {
    let receiver = waiting
        .map_err(CommandError::Refused)?
        .ok_or(CommandError::Dropped)?;
    match receiver.await {
        Ok(Ok(done)) => Ok(done),
        Ok(Err(failure)) => Err(command_error(failure)),
        Err(_) => Err(CommandError::Dropped),
    }
}
