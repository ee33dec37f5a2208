//! The lab's state, shared through context. Everything here is `Copy`: signals and
//! local stored values, so components take it by value.

use leptos::prelude::*;
use tabmq_client::{CommandError, Connection, WorkerClient};
use tabmq_core::{Properties, Publish, QoS, SubscribeFilter};

/// Where one connection stands, as the page shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    Connecting,
    Connected,
    Disconnected,
    Failed(String),
}

impl Status {
    pub fn label(&self) -> String {
        match self {
            Status::Connecting => "connecting".into(),
            Status::Connected => "connected".into(),
            Status::Disconnected => "disconnected".into(),
            Status::Failed(why) => format!("error: {why}"),
        }
    }
}

/// One message as a subscriber card lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    /// Arrival order, the list's key.
    pub seq: u64,
    pub topic: String,
    pub payload: String,
    pub qos: QoS,
    pub retain: bool,
    pub dup: bool,
    /// Arrival time, `HH:MM:SS.mmm`.
    pub time: String,
}

/// What the subscriber is subscribed to now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActiveSubscription {
    pub filter: String,
    pub qos: QoS,
}

impl std::fmt::Display for ActiveSubscription {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} (QoS {})", self.filter, self.qos.as_u8())
    }
}

/// How many messages a subscriber card keeps; older ones fall off the top.
pub const HISTORY_LIMIT: usize = 500;

/// A lab client: in the client worker (the default, whose timers the page's main thread
/// cannot stall), or on the page's main thread (`?client=page`, to compare).
pub enum LabConnection {
    Worker(WorkerClient),
    Page(Connection),
}

fn report(what: &'static str) -> impl FnOnce(CommandError) {
    move |e| web_sys::console::warn_1(&format!("tabmq lab: {what} failed: {e}").into())
}

impl LabConnection {
    /// Publishes; a QoS 1/2 flow completes in the background.
    pub fn publish(
        &self,
        topic: &str,
        payload: Vec<u8>,
        qos: QoS,
        retain: bool,
    ) -> Result<(), String> {
        match self {
            LabConnection::Worker(c) => c
                .publish_and_forget(Publish {
                    topic: topic.to_owned(),
                    payload: payload.into(),
                    qos,
                    retain,
                    ..Publish::default()
                })
                .map_err(|e| e.to_string()),
            LabConnection::Page(c) => c
                .client()
                .publish(topic, payload, qos, retain)
                .map(|_| ())
                .map_err(|e| e.to_string()),
        }
    }

    pub fn subscribe(&self, filter: &str, qos: QoS) -> Result<(), String> {
        match self {
            LabConnection::Worker(c) => {
                let done = c.subscribe(
                    vec![SubscribeFilter::new(filter, qos)],
                    Properties::default(),
                );
                wasm_bindgen_futures::spawn_local(async move {
                    let _ = done.await.map_err(report("subscribe"));
                });
                Ok(())
            }
            LabConnection::Page(c) => c
                .client()
                .subscribe(filter, qos)
                .map(|_| ())
                .map_err(|e| e.to_string()),
        }
    }

    pub fn unsubscribe(&self, filter: &str) -> Result<(), String> {
        match self {
            LabConnection::Worker(c) => {
                let done = c.unsubscribe(vec![filter.to_owned()]);
                wasm_bindgen_futures::spawn_local(async move {
                    let _ = done.await.map_err(report("unsubscribe"));
                });
                Ok(())
            }
            LabConnection::Page(c) => c
                .client()
                .unsubscribe(filter)
                .map(|_| ())
                .map_err(|e| e.to_string()),
        }
    }
}

/// One client of the page: its status and its connection, once it has one.
#[derive(Clone, Copy)]
pub struct ClientSlot {
    pub name: &'static str,
    pub status: RwSignal<Status>,
    /// Connections made so far; more than one means it reconnected.
    pub connects: RwSignal<u32>,
    pub client: StoredValue<Option<LabConnection>, LocalStorage>,
}

impl ClientSlot {
    pub fn new(name: &'static str) -> Self {
        ClientSlot {
            name,
            status: RwSignal::new(Status::Connecting),
            connects: RwSignal::new(0),
            client: StoredValue::new_local(None),
        }
    }
}

/// Everything the lab's components share.
#[derive(Clone, Copy)]
pub struct Lab {
    pub broker_status: RwSignal<Status>,
    /// The broker the lab connects to: `tab://lab` unless the page's `?broker=` says.
    pub broker_url: StoredValue<String>,
    pub publisher: ClientSlot,
    pub subscriber: ClientSlot,
    pub active: RwSignal<Option<ActiveSubscription>>,
    pub messages: RwSignal<Vec<Received>>,
    pub next_seq: StoredValue<u64>,
}

impl Lab {
    pub fn new() -> Self {
        Lab {
            broker_status: RwSignal::new(Status::Connecting),
            broker_url: StoredValue::new(crate::connect::broker_url()),
            publisher: ClientSlot::new("publisher"),
            subscriber: ClientSlot::new("subscriber"),
            active: RwSignal::new(None),
            messages: RwSignal::new(Vec::new()),
            next_seq: StoredValue::new(0),
        }
    }

    /// Appends a message to the subscriber's bounded history.
    pub fn record(&self, mut message: Received) {
        let seq = self.next_seq.get_value();
        self.next_seq.set_value(seq + 1);
        message.seq = seq;
        self.messages.update(|list| {
            list.push(message);
            if list.len() > HISTORY_LIMIT {
                let excess = list.len() - HISTORY_LIMIT;
                list.drain(..excess);
            }
        });
    }
}

impl Default for Lab {
    fn default() -> Self {
        Lab::new()
    }
}
