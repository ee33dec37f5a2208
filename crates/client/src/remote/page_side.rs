//! The page side: [`WorkerClient`] keeps the client API in the page and sends every command
//! to the worker that holds the connection.

use super::frames::{self, push_frame};
use super::{options_to_js, set, CLIENT_WORKER_NAME};
use crate::browser::describe;
use crate::browser::{bytes_of, to_array_buffer};
use crate::coalesce::{Coalescer, Sink};
use crate::completion::CommandError;
use crate::faults::FaultAction;
use crate::in_tab::{await_ready, InTabBroker};
use crate::url::ConnectError;
use futures_channel::oneshot;
use js_sys::{Array, Object, Promise};
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::future::Future;
use std::rc::{Rc, Weak};
use std::time::Duration;
use tabmq_core::{
    decode_packet, validate_topic_filter, validate_topic_name, Bytes, ClientError, ClientOptions,
    Packet, PacketId, Properties, ProtocolVersion, Publish, QoS, ReasonCode, Subscribe,
    SubscribeFilter, Unsubscribe,
};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{MessageChannel, MessageEvent, MessagePort, Worker};

/// How a [`WorkerClient`] connects.
#[derive(Debug, Clone)]
pub struct WorkerClientOptions {
    pub client: ClientOptions,
    /// The first wait before a reconnect; it doubles up to `backoff_max`, with full jitter.
    pub backoff_min: Duration,
    pub backoff_max: Duration,
    /// Keep the session (unacknowledged QoS 1/2, the offline queue) in IndexedDB, under
    /// the client id, so that it survives a reload.
    pub persist_session: bool,
    /// Reconnect after the connection drops (`ws://` and `wss://`); MQTT.js's
    /// `reconnectPeriod: 0` turns it off.
    pub reconnect: bool,
    /// Give up on an attempt with no CONNACK after this long (and, reconnecting, try
    /// again).
    pub connect_timeout: Option<Duration>,
    /// Subscribe again after reconnecting to a broker that lost the session.
    pub resubscribe: bool,
}

impl Default for WorkerClientOptions {
    fn default() -> Self {
        WorkerClientOptions {
            client: ClientOptions::default(),
            backoff_min: Duration::from_secs(1),
            backoff_max: Duration::from_secs(60),
            persist_session: false,
            reconnect: true,
            connect_timeout: Some(Duration::from_secs(30)),
            resubscribe: true,
        }
    }
}

/// What the client in the worker reports, in the order it happened there.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum RemoteEvent {
    /// CONNACK accepted the connection.
    Connected {
        session_present: bool,
    },
    /// A new attempt to connect starts.
    Reconnecting,
    /// The connection was lost; another attempt follows.
    Offline,
    /// The broker sent DISCONNECT (MQTT 5) with this reason code; `Closed` follows.
    Disconnected {
        reason_code: ReasonCode,
    },
    /// The connection ended, and why.
    Closed(String),
    /// Something failed; `code` is stable (`CONNECT_REFUSED`, `PROTOCOL_ERROR`, ...).
    Error {
        code: String,
        message: String,
    },
    Message(Publish),
    /// With [`ClientOptions::trace_packets`]: every packet, as it left or arrived.
    PacketSent(Packet),
    PacketReceived(Packet),
    /// The client ended after [`WorkerClient::end`]; nothing follows.
    Ended,
    /// A fault was applied to an outgoing packet of this type (see
    /// [`WorkerClient::set_fault`]).
    Fault {
        action: FaultAction,
        packet_type: u8,
    },
}

/// A change to a [`WorkerClient`]'s faults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum FaultCommand {
    /// No more faults.
    Clear,
    /// Drop the next `count` outgoing packets of `packet_type` (4 PUBACK, 5 PUBREC, ...).
    Drop { packet_type: u8, count: u32 },
    /// Send the next `count` outgoing packets of `packet_type` twice.
    Duplicate { packet_type: u8, count: u32 },
    /// Hold every outgoing packet back this long; 0 stops.
    Delay { millis: u32 },
    /// Cut the connection now, without DISCONNECT; it reconnects after the backoff.
    Cut,
}

/// Hears a [`WorkerClient`]'s events.
pub type RemoteListener = Box<dyn FnMut(&WorkerClient, RemoteEvent)>;

type Reply = oneshot::Sender<Result<Vec<u8>, CommandError>>;
type ReplyReceiver = oneshot::Receiver<Result<Vec<u8>, CommandError>>;
type PortListener = Closure<dyn FnMut(MessageEvent)>;

struct Inner {
    port: MessagePort,
    out: Coalescer,
    version: ProtocolVersion,
    next_req: Cell<u32>,
    replies: RefCell<HashMap<u32, Reply>>,
    listener: RefCell<Option<RemoteListener>>,
    connected: Cell<bool>,
    ended: Cell<bool>,
    on_message: RefCell<Option<PortListener>>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.port.set_onmessage(None);
    }
}

/// An MQTT client whose connection lives in a Worker, so keepalive and reconnect timers
/// keep running while the page's main thread is throttled, busy or frozen. Cloning gives
/// another handle to it. Call [`WorkerClient::end`] to stop it.
#[derive(Clone)]
pub struct WorkerClient {
    inner: Rc<Inner>,
}

thread_local! {
    /// The worker that hosts this page's clients, once started (a promise of it).
    static CLIENT_WORKER: RefCell<Option<Promise>> = const { RefCell::new(None) };
}

async fn start_worker(script_url: String) -> Result<JsValue, JsValue> {
    let worker = crate::workers::new_worker(&script_url, CLIENT_WORKER_NAME)?;
    let w = worker.clone();
    await_ready(move |on_message, on_error| {
        w.set_onmessage(on_message);
        w.set_onerror(on_error);
    })
    .await
    .map_err(|e| JsValue::from(e.to_string()))?;
    worker.set_onmessage(None);
    worker.set_onerror(None);
    Ok(worker.into())
}

/// The page's client worker, started on first use from `script_url`.
async fn client_worker(script_url: &str) -> Result<Worker, ConnectError> {
    let promise = CLIENT_WORKER.with(|w| {
        w.borrow_mut()
            .get_or_insert_with(|| {
                wasm_bindgen_futures::future_to_promise(start_worker(script_url.to_owned()))
            })
            .clone()
    });
    match JsFuture::from(promise).await {
        Ok(worker) => worker
            .dyn_into::<Worker>()
            .map_err(|_| ConnectError::ClientWorker("not a Worker".into())),
        Err(e) => {
            // Let the next attempt start it afresh.
            CLIENT_WORKER.with(|w| w.borrow_mut().take());
            Err(ConnectError::ClientWorker(describe(&e)))
        }
    }
}

fn port_sink(port: &MessagePort) -> Sink {
    let target = port.clone();
    Rc::new(move |bytes: &[u8]| {
        let buffer = to_array_buffer(bytes);
        target.post_message_with_transferable(&buffer, &Array::of1(&buffer))
    })
}

impl WorkerClient {
    /// Starts a client for `url` (`ws://`, `wss://` or `tab://NAME[?shared]`) in the page's
    /// client worker, which `worker_script` (the broker worker's entry) starts on first
    /// use. It returns once the worker has the client; CONNECT follows from there, and
    /// commands may be given at once: they wait in the worker for the connection.
    pub async fn connect(
        url: &str,
        options: WorkerClientOptions,
        worker_script: &str,
        listener: RemoteListener,
    ) -> Result<WorkerClient, ConnectError> {
        let broker_port = if url.starts_with("tab://") {
            let broker = InTabBroker::for_url(url, worker_script)
                .await
                .map_err(ConnectError::InTab)?;
            Some(broker.open_connector().map_err(ConnectError::InTab)?)
        } else if url.starts_with("ws://") || url.starts_with("wss://") {
            None
        } else {
            return Err(ConnectError::UnsupportedScheme(url.to_owned()));
        };
        let worker = client_worker(worker_script).await?;
        let failed = |e: JsValue| ConnectError::ClientWorker(describe(&e));
        let open = options_to_js(&options.client).map_err(failed)?;
        set(&open, "url", url.into()).map_err(failed)?;
        set(
            &open,
            "backoffMinMs",
            (options.backoff_min.as_millis() as f64).into(),
        )
        .map_err(failed)?;
        set(
            &open,
            "backoffMaxMs",
            (options.backoff_max.as_millis() as f64).into(),
        )
        .map_err(failed)?;
        set(&open, "persistSession", options.persist_session.into()).map_err(failed)?;
        set(&open, "reconnect", options.reconnect.into()).map_err(failed)?;
        set(&open, "resubscribe", options.resubscribe.into()).map_err(failed)?;
        if let Some(timeout) = options.connect_timeout {
            set(
                &open,
                "connectTimeoutMs",
                (timeout.as_millis() as f64).into(),
            )
            .map_err(failed)?;
        }
        let request = Object::new();
        set(&request, "type", "client".into()).map_err(failed)?;
        set(&request, "open", open.into()).map_err(failed)?;
        let channel = MessageChannel::new().map_err(failed)?;
        let transfer = Array::of1(&channel.port2());
        if let Some(port) = &broker_port {
            transfer.push(port);
        }
        worker
            .post_message_with_transfer(&request, &transfer)
            .map_err(failed)?;
        let port = channel.port1();
        let inner = Rc::new(Inner {
            out: Coalescer::new(port_sink(&port)),
            port: port.clone(),
            version: options.client.protocol,
            next_req: Cell::new(1),
            replies: RefCell::default(),
            listener: RefCell::new(Some(listener)),
            connected: Cell::new(false),
            ended: Cell::new(false),
            on_message: RefCell::new(None),
        });
        let weak = Rc::downgrade(&inner);
        let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
            if let Some(bytes) = bytes_of(&event.data()) {
                receive(&weak, &bytes);
            }
        });
        port.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        *inner.on_message.borrow_mut() = Some(on_message);
        Ok(WorkerClient { inner })
    }

    /// Whether the connection is up (as of the worker's last report).
    pub fn is_connected(&self) -> bool {
        self.inner.connected.get()
    }

    /// Whether [`WorkerClient::end`] finished.
    pub fn is_ended(&self) -> bool {
        self.inner.ended.get()
    }

    /// Buffers the client posted to its worker, for tests that count round trips.
    pub fn messages_posted(&self) -> u64 {
        self.inner.out.writes()
    }

    /// Sends a command; its reply (if `wait`) comes back through the returned receiver.
    fn command(
        &self,
        kind: u8,
        packet: &Packet,
        wait: bool,
    ) -> Result<Option<ReplyReceiver>, CommandError> {
        if self.inner.ended.get() {
            return Err(CommandError::Refused(ClientError::NotConnected));
        }
        let req = if wait {
            let req = self.inner.next_req.get();
            // 0 means "no reply wanted", so skip it when the counter wraps.
            self.inner.next_req.set(req.checked_add(1).unwrap_or(1));
            req
        } else {
            0
        };
        let frame = frames::packet_frame(kind, req, packet, self.inner.version)
            .map_err(|e| CommandError::Refused(ClientError::Encode(e)))?;
        if self.inner.out.push(&frame).is_err() {
            return Err(CommandError::Dropped);
        }
        // Registered before any answer can come: replies arrive in a later task.
        Ok(wait.then(|| {
            let (tx, rx) = oneshot::channel();
            self.inner.replies.borrow_mut().insert(req, tx);
            rx
        }))
    }

    fn publish_packet(publish: Publish) -> Result<Packet, CommandError> {
        validate_topic_name(&publish.topic)
            .map_err(|v| CommandError::Refused(ClientError::InvalidTopic(v)))?;
        let qos = publish.qos;
        Ok(Packet::Publish(Publish {
            // A stand-in: the worker's session assigns the real id.
            packet_id: (qos != QoS::AtMostOnce).then_some(PacketId::MIN),
            dup: false,
            ..publish
        }))
    }

    /// Publishes; the future completes when the flow does: at PUBACK (QoS 1) or PUBCOMP
    /// (QoS 2) with the broker's reason code, and for QoS 0 once the worker took it.
    pub fn publish(
        &self,
        publish: Publish,
    ) -> impl Future<Output = Result<ReasonCode, CommandError>> {
        let sent = WorkerClient::publish_packet(publish)
            .and_then(|packet| self.command(frames::PUBLISH, &packet, true));
        async move {
            let body = wait(sent?).await?;
            Ok(ReasonCode(body.first().copied().unwrap_or(0)))
        }
    }

    /// Publishes without waiting for any answer: for floods, where a future per message
    /// costs more than the message.
    pub fn publish_and_forget(&self, publish: Publish) -> Result<(), CommandError> {
        let packet = WorkerClient::publish_packet(publish)?;
        self.command(frames::PUBLISH, &packet, false).map(|_| ())
    }

    /// One SUBSCRIBE; the future gives SUBACK's reason code per filter (the granted QoS,
    /// or a failure). Asked while disconnected, it is sent once connected.
    pub fn subscribe(
        &self,
        filters: Vec<SubscribeFilter>,
        properties: Properties,
    ) -> impl Future<Output = Result<Vec<ReasonCode>, CommandError>> {
        let sent = filters
            .iter()
            .try_for_each(|f| validate_topic_filter(&f.filter))
            .map_err(|v| CommandError::Refused(ClientError::InvalidTopic(v)))
            .and_then(|()| {
                let packet = Packet::Subscribe(Subscribe {
                    packet_id: PacketId::MIN,
                    filters,
                    properties,
                });
                self.command(frames::SUBSCRIBE, &packet, true)
            });
        async move {
            let body = wait(sent?).await?;
            Ok(body.into_iter().map(ReasonCode).collect())
        }
    }

    /// One UNSUBSCRIBE; the future completes at UNSUBACK.
    pub fn unsubscribe(
        &self,
        filters: Vec<String>,
    ) -> impl Future<Output = Result<(), CommandError>> {
        let packet = Packet::Unsubscribe(Unsubscribe {
            packet_id: PacketId::MIN,
            filters,
            properties: Properties::default(),
        });
        let sent = self.command(frames::UNSUBSCRIBE, &packet, true);
        async move { wait(sent?).await.map(|_| ()) }
    }

    /// Sends DISCONNECT (once what is in flight is answered) and stops reconnecting;
    /// [`RemoteEvent::Ended`] follows.
    pub fn end(&self) {
        self.end_with(ReasonCode::SUCCESS);
    }

    /// [`WorkerClient::end`] with DISCONNECT's MQTT 5 reason code: 0x04 asks the broker to
    /// send the will anyway.
    pub fn end_with(&self, reason_code: ReasonCode) {
        let mut frame = Vec::new();
        push_frame(&mut frame, frames::END, 0, &[0, reason_code.0]);
        let _ = self.inner.out.push(&frame);
    }

    /// Drops the connection without DISCONNECT, as a crash would: the broker publishes
    /// the will. No reconnect follows; [`RemoteEvent::Ended`] does.
    pub fn abort(&self) {
        let mut frame = Vec::new();
        push_frame(&mut frame, frames::END, 0, &[1]);
        let _ = self.inner.out.push(&frame);
    }

    /// Starts or stops [`RemoteEvent::PacketSent`]/[`RemoteEvent::PacketReceived`] (an
    /// inspector came or went); they cost a copy of every packet across the threads.
    pub fn set_trace_packets(&self, trace: bool) {
        let mut frame = Vec::new();
        push_frame(&mut frame, frames::TRACE, 0, &[u8::from(trace)]);
        let _ = self.inner.out.push(&frame);
    }

    /// Injects a fault (for the lab).
    pub fn set_fault(&self, fault: FaultCommand) {
        let mut body = Vec::with_capacity(6);
        match fault {
            FaultCommand::Clear => body.push(0),
            FaultCommand::Drop { packet_type, count } => {
                body.extend([1, packet_type]);
                body.extend(count.to_le_bytes());
            }
            FaultCommand::Duplicate { packet_type, count } => {
                body.extend([2, packet_type]);
                body.extend(count.to_le_bytes());
            }
            FaultCommand::Delay { millis } => {
                body.push(3);
                body.extend(millis.to_le_bytes());
            }
            FaultCommand::Cut => body.push(4),
        }
        let mut frame = Vec::new();
        push_frame(&mut frame, frames::FAULT, 0, &body);
        let _ = self.inner.out.push(&frame);
    }

    /// Connects again at once: after the connection dropped (skipping the backoff's
    /// wait), or after [`WorkerClient::end`].
    pub fn reconnect(&self) {
        self.inner.ended.set(false);
        let mut frame = Vec::new();
        push_frame(&mut frame, frames::RECONNECT, 0, &[]);
        let _ = self.inner.out.push(&frame);
    }
}

async fn wait(rx: Option<ReplyReceiver>) -> Result<Vec<u8>, CommandError> {
    match rx {
        Some(rx) => rx.await.unwrap_or(Err(CommandError::Dropped)),
        None => Ok(Vec::new()),
    }
}

fn text(body: &[u8]) -> String {
    String::from_utf8_lossy(body).into_owned()
}

/// Handles one buffer of frames from the worker.
fn receive(weak: &Weak<Inner>, bytes: &[u8]) {
    let Some(inner) = weak.upgrade() else { return };
    let client = WorkerClient {
        inner: inner.clone(),
    };
    let packet = |body: &[u8]| decode_packet(Bytes::copy_from_slice(body), inner.version).ok();
    for frame in frames::frames(bytes) {
        let event = match frame.kind {
            frames::DONE | frames::FAILED => {
                if let Some(tx) = inner.replies.borrow_mut().remove(&frame.req) {
                    let result = if frame.kind == frames::DONE {
                        Ok(frame.body.to_vec())
                    } else {
                        Err(frames::decode_error(frame.body))
                    };
                    let _ = tx.send(result);
                }
                continue;
            }
            frames::CONNECTED => {
                inner.connected.set(true);
                RemoteEvent::Connected {
                    session_present: frame.body.first() == Some(&1),
                }
            }
            frames::RECONNECTING => RemoteEvent::Reconnecting,
            frames::FAULT_APPLIED => RemoteEvent::Fault {
                action: match frame.body.first() {
                    Some(1) => FaultAction::Dropped,
                    Some(2) => FaultAction::Duplicated,
                    _ => FaultAction::Delayed,
                },
                packet_type: frame.body.get(1).copied().unwrap_or(0),
            },
            frames::DISCONNECTED => RemoteEvent::Disconnected {
                reason_code: ReasonCode(frame.body.first().copied().unwrap_or(0)),
            },
            frames::OFFLINE => RemoteEvent::Offline,
            frames::CLOSED => {
                inner.connected.set(false);
                RemoteEvent::Closed(text(frame.body))
            }
            frames::ERROR => {
                let mut parts = frame.body.splitn(2, |b| *b == 0);
                let code = text(parts.next().unwrap_or_default());
                let message = text(parts.next().unwrap_or_default());
                RemoteEvent::Error { code, message }
            }
            frames::MESSAGE => match packet(frame.body) {
                Some(Packet::Publish(p)) => RemoteEvent::Message(p),
                _ => continue,
            },
            frames::PACKET_SENT => match packet(frame.body) {
                Some(p) => RemoteEvent::PacketSent(p),
                None => continue,
            },
            frames::PACKET_RECEIVED => match packet(frame.body) {
                Some(p) => RemoteEvent::PacketReceived(p),
                None => continue,
            },
            frames::ENDED => {
                inner.ended.set(true);
                inner.connected.set(false);
                // Whatever still waits will never hear back.
                let waiting: Vec<_> = inner.replies.borrow_mut().drain().collect();
                for (_, tx) in waiting {
                    let _ = tx.send(Err(CommandError::Dropped));
                }
                RemoteEvent::Ended
            }
            _ => continue,
        };
        let listener = inner.listener.borrow_mut().take();
        if let Some(mut listener) = listener {
            listener(&client, event);
            let mut slot = inner.listener.borrow_mut();
            if slot.is_none() {
                *slot = Some(listener);
            }
        }
    }
}
