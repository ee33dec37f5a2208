//! The client driver: the core's engine, a transport, a clock and a listener.

use crate::completion::{outcome, CommandError, Outcome, Waiters};
use crate::transport::{Transport, TransportError};
use futures_channel::oneshot;
use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::future::Future;
use std::rc::Rc;
use tabmq_core::{
    Bytes, ClientEngine, ClientError, ClientEvent, ClientOptions, ClientSession, ConnectionState,
    Instant, PacketId, Properties, Publish, QoS, ReasonCode, SubscribeFilter,
};

/// Reads the time. The driver is the edge, so it may read a clock; the engine may not.
pub type Clock = Box<dyn Fn() -> Instant>;

/// Receives the client's events.
pub type Listener = Box<dyn FnMut(&Client, ClientEvent)>;

struct Inner {
    engine: ClientEngine,
    /// `None` between connections.
    transport: Option<Box<dyn Transport>>,
    clock: Clock,
    events: VecDeque<ClientEvent>,
    /// Whether another transport will come ([`Client::attach`]): then publishing while
    /// disconnected queues, as the engine allows, instead of failing.
    reconnects: bool,
    /// With a session store: nothing leaves before the session it follows from is saved.
    gate: Option<Gate>,
}

/// Where a client's session survives a reload (IndexedDB in a browser).
pub trait SessionStore {
    /// Saves the session's bytes; `done` is called once, with whether they were saved.
    fn save(&self, session: &[u8], done: Box<dyn FnOnce(bool)>);
}

struct Gate {
    store: Rc<dyn SessionStore>,
    saving: bool,
    /// Bytes made since the save under way began; they wait for the next one.
    held: Vec<Bytes>,
    last_saved: Vec<u8>,
}

/// An MQTT client, driven: every command sends what it produces at once and hands events
/// to the listener. It outlives its transports: [`Client::attach`] connects over a new one
/// and the session (in flight, queued, QoS 2 state) carries on. Cloning gives another
/// handle to the same client.
#[derive(Clone)]
pub struct Client {
    inner: Rc<RefCell<Inner>>,
    listener: Rc<RefCell<Option<Listener>>>,
    dispatching: Rc<Cell<bool>>,
    waiters: Rc<Waiters>,
}

impl Client {
    /// Starts connecting over `transport`: CONNECT is sent at once.
    pub fn connect(
        options: ClientOptions,
        transport: Box<dyn Transport>,
        clock: Clock,
        listener: Listener,
    ) -> Result<Client, ClientError> {
        let client = Client::new(options, ClientSession::new(), clock, listener);
        client.attach(transport)?;
        Ok(client)
    }

    /// A client with no connection yet, resuming `session`; connect it with
    /// [`Client::attach`], as often as connections come and go.
    pub fn new(
        options: ClientOptions,
        session: ClientSession,
        clock: Clock,
        listener: Listener,
    ) -> Client {
        Client {
            inner: Rc::new(RefCell::new(Inner {
                engine: ClientEngine::new(options, session),
                transport: None,
                clock,
                events: VecDeque::new(),
                reconnects: false,
                gate: None,
            })),
            listener: Rc::new(RefCell::new(Some(listener))),
            dispatching: Rc::new(Cell::new(false)),
            waiters: Rc::default(),
        }
    }

    /// Connects over `transport`: CONNECT is sent at once.
    pub fn attach(&self, transport: Box<dyn Transport>) -> Result<(), ClientError> {
        let result = {
            let mut inner = self.inner.borrow_mut();
            let now = (inner.clock)();
            let result = inner.engine.connect(now);
            if result.is_ok() {
                inner.transport = Some(transport);
            }
            result
        };
        self.flush();
        result
    }

    /// Says whether another transport will be attached after this one ends, so that
    /// publishing while disconnected queues instead of failing.
    pub fn set_reconnects(&self, reconnects: bool) {
        self.inner.borrow_mut().reconnects = reconnects;
    }

    /// Keeps the session in `store` from now on: every packet leaves only once the session
    /// state it follows from is saved, so what was promised (a PUBACK, a PUBREL) survives a
    /// reload. Resume with [`Client::new`] and the saved session.
    pub fn set_session_store(&self, store: Rc<dyn SessionStore>) {
        self.inner.borrow_mut().gate = Some(Gate {
            store,
            saving: false,
            held: Vec::new(),
            last_saved: Vec::new(),
        });
        self.flush();
    }

    /// The session state, to keep (IndexedDB) and resume with [`Client::new`].
    pub fn session(&self) -> ClientSession {
        self.inner.borrow().engine.session().clone()
    }

    /// Starts or stops reporting every packet sent and received as an event.
    pub fn set_trace_packets(&self, trace: bool) {
        self.inner.borrow_mut().engine.set_trace_packets(trace);
    }

    pub fn state(&self) -> ConnectionState {
        self.inner.borrow().engine.state()
    }

    pub fn client_id(&self) -> String {
        self.inner.borrow().engine.options().client_id.clone()
    }

    /// Publishes; QoS 1/2 return the id that [`ClientEvent::Published`] will name.
    pub fn publish(
        &self,
        topic: &str,
        payload: impl Into<Bytes>,
        qos: QoS,
        retain: bool,
    ) -> Result<Option<PacketId>, ClientError> {
        self.publish_with(Publish {
            qos,
            retain,
            topic: topic.to_owned(),
            payload: payload.into(),
            ..Publish::default()
        })
    }

    /// Publishes a fully specified message (MQTT 5 properties included); its packet id is
    /// assigned here.
    pub fn publish_with(&self, publish: Publish) -> Result<Option<PacketId>, ClientError> {
        // Without another transport coming, nothing would ever carry a queued message, so
        // refuse instead of queueing.
        let reconnects = self.inner.borrow().reconnects;
        if self.state() == ConnectionState::Disconnected && !reconnects {
            return Err(ClientError::NotConnected);
        }
        let result = self.with_engine(|engine, now| engine.publish_with(publish, now));
        self.flush();
        result
    }

    pub fn subscribe(&self, filter: &str, qos: QoS) -> Result<PacketId, ClientError> {
        self.subscribe_filters(vec![SubscribeFilter::new(filter, qos)])
    }

    /// One SUBSCRIBE for several filters, with their MQTT 5 options.
    pub fn subscribe_filters(
        &self,
        filters: Vec<SubscribeFilter>,
    ) -> Result<PacketId, ClientError> {
        let result = self.with_engine(|engine, now| engine.subscribe(filters, now));
        self.flush();
        result
    }

    pub fn unsubscribe(&self, filter: &str) -> Result<PacketId, ClientError> {
        let filters = vec![filter.to_owned()];
        let result = self.with_engine(|engine, now| engine.unsubscribe(filters, now));
        self.flush();
        result
    }

    /// Publishes at once, and returns a future that completes when the flow does: at
    /// PUBACK (QoS 1) or PUBCOMP (QoS 2) with the broker's reason code, at once for QoS 0.
    pub fn publish_async(
        &self,
        topic: &str,
        payload: impl Into<Bytes>,
        qos: QoS,
        retain: bool,
    ) -> impl Future<Output = Result<ReasonCode, CommandError>> {
        self.publish_with_async(Publish {
            qos,
            retain,
            topic: topic.to_owned(),
            payload: payload.into(),
            ..Publish::default()
        })
    }

    /// [`Client::publish_async`] for a fully specified message.
    pub fn publish_with_async(
        &self,
        publish: Publish,
    ) -> impl Future<Output = Result<ReasonCode, CommandError>> {
        let waiter = match self.publish_with(publish) {
            Ok(Some(id)) => Ok(Some(self.waiters.wait(id))),
            Ok(None) => Ok(None),
            Err(e) => Err(CommandError::Refused(e)),
        };
        async move {
            let Some(rx) = waiter? else {
                return Ok(ReasonCode::SUCCESS);
            };
            match outcome(rx).await? {
                Outcome::Published(code) if code.is_success() => Ok(code),
                Outcome::Published(code) => Err(CommandError::Failed(code)),
                _ => Err(CommandError::Dropped),
            }
        }
    }

    /// Subscribes at once, and returns a future of the QoS the broker granted.
    pub fn subscribe_async(
        &self,
        filter: &str,
        qos: QoS,
    ) -> impl Future<Output = Result<QoS, CommandError>> {
        let codes = self.subscribe_with_async(
            vec![SubscribeFilter::new(filter, qos)],
            Properties::default(),
        );
        async move {
            let codes = codes.await?;
            let code = codes.first().copied().unwrap_or(ReasonCode(0x80));
            QoS::from_u8(code.0).ok_or(CommandError::Failed(code))
        }
    }

    /// One SUBSCRIBE for `filters`, with MQTT 5 properties; the future gives the broker's
    /// reason code per filter (the granted QoS, or a failure), as SUBACK lists them.
    pub fn subscribe_with_async(
        &self,
        filters: Vec<SubscribeFilter>,
        properties: Properties,
    ) -> impl Future<Output = Result<Vec<ReasonCode>, CommandError>> {
        let waiter = self.request(|engine, now| engine.subscribe_with(filters, properties, now));
        async move {
            match outcome(waiter?).await? {
                Outcome::Subscribed(codes) => Ok(codes),
                _ => Err(CommandError::Dropped),
            }
        }
    }

    /// Unsubscribes at once, and returns a future that completes at UNSUBACK.
    pub fn unsubscribe_async(
        &self,
        filter: &str,
    ) -> impl Future<Output = Result<(), CommandError>> {
        self.unsubscribe_filters_async(vec![filter.to_owned()])
    }

    /// One UNSUBSCRIBE for `filters`; the future completes at UNSUBACK.
    pub fn unsubscribe_filters_async(
        &self,
        filters: Vec<String>,
    ) -> impl Future<Output = Result<(), CommandError>> {
        let waiter = self.request(|engine, now| engine.unsubscribe(filters, now));
        async move {
            match outcome(waiter?).await? {
                Outcome::Unsubscribed => Ok(()),
                _ => Err(CommandError::Dropped),
            }
        }
    }

    /// Sends DISCONNECT and closes the transport; no reconnect follows.
    pub fn disconnect(&self) {
        self.set_reconnects(false);
        self.with_engine(|engine, now| engine.disconnect(now));
        self.flush();
    }

    /// Drops the connection without DISCONNECT, as a crash would (so the broker publishes
    /// the will); no reconnect follows.
    pub fn abort(&self) {
        self.set_reconnects(false);
        let transport = self.inner.borrow_mut().transport.take();
        if let Some(t) = transport {
            t.close();
        }
        self.handle_transport_closed();
    }

    /// Bytes from the broker, as the transport received them.
    pub fn handle_bytes(&self, data: &[u8]) {
        self.with_engine(|engine, now| engine.handle_bytes(data, now));
        self.flush();
    }

    /// Runs timers; call at least once a second, or at [`Client::next_timeout`].
    pub fn tick(&self) {
        self.with_engine(|engine, now| {
            if engine.poll_timeout().is_some_and(|t| now >= t) {
                engine.handle_timeout(now);
            }
        });
        self.flush();
    }

    /// When the engine next needs [`Client::tick`].
    pub fn next_timeout(&self) -> Option<Instant> {
        self.inner.borrow().engine.poll_timeout()
    }

    /// The transport went away underneath us.
    pub fn handle_transport_closed(&self) {
        let mut inner = self.inner.borrow_mut();
        let now = (inner.clock)();
        inner.engine.connection_lost(now);
        inner.transport = None;
        drop(inner);
        self.flush();
    }

    /// Sends a request (SUBSCRIBE, UNSUBSCRIBE) the engine makes, and waits on its answer.
    fn request(
        &self,
        make: impl FnOnce(&mut ClientEngine, Instant) -> Result<PacketId, ClientError>,
    ) -> Result<oneshot::Receiver<Outcome>, CommandError> {
        let result = self.with_engine(make);
        self.flush();
        result
            .map(|id| self.waiters.wait(id))
            .map_err(CommandError::Refused)
    }

    fn with_engine<R>(&self, f: impl FnOnce(&mut ClientEngine, Instant) -> R) -> R {
        let mut inner = self.inner.borrow_mut();
        let now = (inner.clock)();
        f(&mut inner.engine, now)
    }

    /// Closes the transport for good, failing what waits if no other transport comes.
    fn close_transport(&self) {
        let transport = self.inner.borrow_mut().transport.take();
        if let Some(t) = transport {
            t.close();
        }
        if !self.inner.borrow().reconnects {
            // No transport will ever come: what waits for an answer will not get one.
            self.waiters
                .fail_all(tabmq_core::LostReason::ConnectionLost);
        }
    }

    /// Sends bytes a save held back; a failed write ends the connection.
    fn send_now(&self, held: Vec<Bytes>) {
        let mut inner = self.inner.borrow_mut();
        let mut failed = false;
        for bytes in held {
            let sent = match &inner.transport {
                Some(t) => t.send(bytes),
                None => Err(TransportError::Closed),
            };
            failed |= sent.is_err();
        }
        if failed && inner.engine.state() != ConnectionState::Disconnected {
            let now = (inner.clock)();
            inner.engine.connection_lost(now);
        }
    }

    /// Sends what the engine produced, then hands its events to the listener. A listener
    /// that calls back into the client is fine: nested calls only transmit, and the outer
    /// loop delivers their events in order.
    fn flush(&self) {
        let (closed, save) = {
            let mut inner = self.inner.borrow_mut();
            let mut failure = None;
            while let Some(bytes) = inner.engine.poll_transmit() {
                if let Some(gate) = inner.gate.as_mut() {
                    gate.held.push(bytes);
                    continue;
                }
                let sent = match &inner.transport {
                    Some(t) => t.send(bytes),
                    None => Err(TransportError::Closed),
                };
                if let Err(e) = sent {
                    failure = Some(e);
                }
            }
            while let Some(event) = inner.engine.poll_event() {
                inner.events.push_back(event);
            }
            if let Some(TransportError::Closed | TransportError::Platform(_)) = failure {
                let now = (inner.clock)();
                inner.engine.connection_lost(now);
                while let Some(event) = inner.engine.poll_event() {
                    inner.events.push_back(event);
                }
            }
            let inner_ref = &mut *inner;
            let save = match inner_ref.gate.as_mut() {
                // Serialized only with a store, and only between saves.
                Some(gate) if !gate.saving => {
                    let session = inner_ref.engine.session().to_bytes();
                    if !gate.held.is_empty() || gate.last_saved != session {
                        gate.saving = true;
                        gate.last_saved = session.clone();
                        Some((gate.store.clone(), session, std::mem::take(&mut gate.held)))
                    } else {
                        None
                    }
                }
                _ => None,
            };
            // With a save under way, its held bytes (a DISCONNECT, say) go first.
            let busy = inner
                .gate
                .as_ref()
                .is_some_and(|g| g.saving || !g.held.is_empty());
            (
                inner.engine.state() == ConnectionState::Disconnected && !busy,
                save,
            )
        };
        if closed {
            self.close_transport();
        }
        if let Some((store, session, covered)) = save {
            let me = self.clone();
            store.save(
                &session,
                Box::new(move |_saved| {
                    // Saved or not (a full disk), the bytes go: holding them forever would
                    // stall the connection, and a failed save was reported by the store.
                    if let Some(gate) = me.inner.borrow_mut().gate.as_mut() {
                        gate.saving = false;
                    }
                    me.send_now(covered);
                    me.flush();
                }),
            );
        }
        if self.dispatching.replace(true) {
            return;
        }
        loop {
            let Some(event) = self.inner.borrow_mut().events.pop_front() else {
                break;
            };
            self.waiters.complete(&event);
            let listener = self.listener.borrow_mut().take();
            if let Some(mut listener) = listener {
                listener(self, event);
                *self.listener.borrow_mut() = Some(listener);
            }
        }
        self.dispatching.set(false);
    }
}
