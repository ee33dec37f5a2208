//! The lab's state, shared through context. Everything here is `Copy`: signals and
//! local stored values, so components take it by value.

use crate::flow::Flow;
use crate::settings::ConnectionSettings;
use crate::subscription_state::CardSubscription;
use leptos::prelude::*;
use std::collections::{HashSet, VecDeque};
use tabmq_client::{FaultCommand, ResilientClient};
use tabmq_core::{End, Properties, Publish, QoS, ReasonCode};

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

/// A broker's failure code as the cards write it: its name in the spec and the code, as
/// in "Not authorized (0x87)".
pub fn reason_words(code: ReasonCode) -> String {
    let name = code.failure_name().unwrap_or("failure");
    format!("{name} (0x{:02X})", code.0)
}

/// One message as a subscriber card lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    /// Arrival order, the list's key.
    pub seq: u64,
    pub topic: String,
    pub payload: Vec<u8>,
    pub qos: QoS,
    pub retain: bool,
    pub dup: bool,
    pub packet_id: Option<u16>,
    /// MQTT 5 properties (empty in 3.1.1).
    pub properties: Properties,
    /// Seen before on this card (same topic and payload): the seeds' dedup subscriber.
    pub repeat: bool,
    /// Arrival time, `HH:MM:SS.mmm`.
    pub time: String,
}

/// How many messages a subscriber card keeps; older ones fall off the top.
pub const HISTORY_LIMIT: usize = 2_000;

/// A lab client: a [`ResilientClient`] on the page's thread (the same design as the npm
/// package; the README's "One design for browser threads" says why), with the lab's
/// errors as text for its cards.
pub struct LabConnection(pub ResilientClient);

impl LabConnection {
    /// Publishes; a QoS 1/2 flow completes in the background.
    pub fn publish(&self, message: Publish) -> Result<(), String> {
        self.0.publish(message).map_err(|e| e.to_string())
    }

    /// A fault from the lab's controls.
    pub fn fault(&self, fault: FaultCommand) -> Result<(), String> {
        self.0.fault(fault);
        Ok(())
    }

    /// Ends the connection with DISCONNECT, once what is in flight is answered.
    pub fn end(self) {
        self.0.end(End::default());
    }

    /// The client itself, for what only it can do (futures of each flow, tracing).
    pub fn client(&self) -> &ResilientClient {
        &self.0
    }
}

/// Which card a client belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Publisher,
    Subscriber,
}

/// One client of the page: its settings, status and connection.
#[derive(Clone, Copy)]
pub struct ClientSlot {
    /// `publisher`, `subscriber`, `publisher-2`, ...: names its test ids and storage key.
    pub name: StoredValue<String>,
    pub role: Role,
    pub settings: RwSignal<ConnectionSettings>,
    pub status: RwSignal<Status>,
    /// Connections made so far; more than one means it reconnected.
    pub connects: RwSignal<u32>,
    /// Why the connection last failed, with the time, kept after a reconnect.
    pub last_drop: RwSignal<Option<String>>,
    pub client: StoredValue<Option<LabConnection>, LocalStorage>,
    /// Faults applied to its packets, newest last (bounded).
    pub faults: RwSignal<Vec<String>>,
    /// Messages received (subscriber cards; publishers ignore theirs).
    pub inbox: SubscriberInbox,
    /// Bumped by every (re)connect from the form: events of an older connection are
    /// ignored.
    pub generation: StoredValue<u64>,
}

impl ClientSlot {
    pub fn new(name: &str, role: Role, settings: ConnectionSettings) -> Self {
        ClientSlot {
            name: StoredValue::new(name.to_owned()),
            role,
            settings: RwSignal::new(settings),
            status: RwSignal::new(Status::Connecting),
            connects: RwSignal::new(0),
            last_drop: RwSignal::new(None),
            client: StoredValue::new_local(None),
            faults: RwSignal::new(Vec::new()),
            inbox: SubscriberInbox::new(),
            generation: StoredValue::new(0),
        }
    }

    pub fn name(&self) -> String {
        self.name.get_value()
    }

    /// Runs `f` on the connection, or says there is none.
    pub fn with_client<T>(
        &self,
        f: impl FnOnce(&LabConnection) -> Result<T, String>,
    ) -> Result<T, String> {
        self.client
            .with_value(|c| c.as_ref().map(f))
            .unwrap_or_else(|| Err("not connected yet".to_owned()))
    }
}

/// A subscriber card's messages: arrivals gather in `pending` and reach the list once per
/// animation frame, so a flood costs one render a frame, not one per message.
#[derive(Clone, Copy)]
pub struct SubscriberInbox {
    pub messages: RwSignal<VecDeque<Received>>,
    pub pending: StoredValue<Vec<Received>, LocalStorage>,
    pub flush_scheduled: StoredValue<bool>,
    pub next_seq: StoredValue<u64>,
    /// Every message received, including those the bounded history dropped.
    pub total: RwSignal<u64>,
    /// The subscription as SUBACK confirmed it.
    pub subscription: RwSignal<CardSubscription>,
    /// The log is paused: arrivals wait in `pending` (bounded) until it resumes.
    pub paused: RwSignal<bool>,
    /// Hashes of topic and payload of what arrived, to mark repeats, with their order so
    /// the oldest go first (bounded like the history).
    pub seen: StoredValue<(HashSet<u64>, VecDeque<u64>), LocalStorage>,
}

impl SubscriberInbox {
    pub fn new() -> Self {
        SubscriberInbox {
            messages: RwSignal::new(VecDeque::new()),
            pending: StoredValue::new_local(Vec::new()),
            flush_scheduled: StoredValue::new(false),
            next_seq: StoredValue::new(0),
            total: RwSignal::new(0),
            subscription: RwSignal::new(CardSubscription::default()),
            paused: RwSignal::new(false),
            seen: StoredValue::new_local((HashSet::new(), VecDeque::new())),
        }
    }
}

impl Default for SubscriberInbox {
    fn default() -> Self {
        SubscriberInbox::new()
    }
}

/// Everything the lab's components share.
#[derive(Clone, Copy)]
pub struct Lab {
    pub broker_status: RwSignal<Status>,
    /// The broker the lab starts with: `tab://lab` unless the page's `?broker=` says.
    pub broker_url: StoredValue<String>,
    pub publishers: RwSignal<Vec<ClientSlot>>,
    pub subscribers: RwSignal<Vec<ClientSlot>>,
    /// The latest message flows, drawn by the handshake view (bounded).
    pub flows: RwSignal<VecDeque<Flow>>,
    pub next_flow: StoredValue<u64>,
    /// Whether a redraw of the flows is already asked for this frame.
    pub flows_redraw: StoredValue<bool>,
    /// Whether the handshake view records flows.
    pub recording: RwSignal<bool>,
    /// Faults applied to packets not yet reported sent: `(client, packet type, what)`.
    pub pending_faults: StoredValue<Vec<(String, u8, &'static str)>>,
}

impl Lab {
    pub fn new() -> Self {
        Lab {
            broker_status: RwSignal::new(Status::Connecting),
            broker_url: StoredValue::new(crate::page_url::broker_url()),
            publishers: RwSignal::new(Vec::new()),
            subscribers: RwSignal::new(Vec::new()),
            flows: RwSignal::new(VecDeque::new()),
            next_flow: StoredValue::new(0),
            flows_redraw: StoredValue::new(false),
            recording: RwSignal::new(true),
            pending_faults: StoredValue::new(Vec::new()),
        }
    }

    /// The brokers the page's clients are set to use, each once, in card order (tracked:
    /// a card's settings change it). Before any card exists, the one the lab starts with.
    pub fn client_brokers(&self) -> Vec<String> {
        let mut urls: Vec<String> = Vec::new();
        for slot in self
            .publishers
            .get()
            .into_iter()
            .chain(self.subscribers.get())
        {
            let url = slot.settings.with(|s| s.url.clone());
            if !urls.contains(&url) {
                urls.push(url);
            }
        }
        if urls.is_empty() {
            urls.push(self.broker_url.get_value());
        }
        urls
    }

    /// The in-tab broker the inspector shows: the first one a client uses, if any does.
    pub fn inspected_broker(&self) -> Option<String> {
        self.client_brokers()
            .into_iter()
            .find(|u| u.starts_with("tab://"))
    }

    /// Every client on the page.
    pub fn clients(&self) -> Vec<ClientSlot> {
        let mut all = self.publishers.get_untracked();
        all.extend(self.subscribers.get_untracked());
        all
    }
}

impl Default for Lab {
    fn default() -> Self {
        Lab::new()
    }
}
