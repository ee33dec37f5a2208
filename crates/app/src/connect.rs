//! Connecting the lab's clients: each card's client to the broker its settings name, in
//! this tab, shared between tabs, or a real one over WebSocket.

use crate::handshake::{self, Side};
use crate::inbox::deliver;
use crate::page_url::{broker_param, page_param};
use crate::settings::{self, ConnectionSettings};
use crate::state::{ActiveSubscription, ClientSlot, Lab, LabConnection, Role, Status};
use leptos::prelude::*;
use tabmq_client::{
    connect_client, now, Client, ConnectError, FaultAction, FaultCommand, IdbSessionStore,
    RemoteEvent, WorkerClient, WorkerClientOptions,
};
use tabmq_core::{ClientEvent, CloseReason, Properties, QoS, SubscribeFilter};

/// The broker worker's entry script (web/broker-worker.js, copied by trunk; see index.html).
pub const WORKER_URL: &str = "./broker-worker.js";

/// The filter the subscriber starts with.
pub const DEFAULT_FILTER: &str = "sensor/#";

fn close_label(reason: &CloseReason) -> Status {
    match reason {
        CloseReason::Disconnected => Status::Disconnected,
        other => Status::Failed(format!("{other:?}")),
    }
}

/// A suffix that keeps this tab's client ids apart from other tabs' on a shared broker.
fn tab_suffix() -> String {
    format!("{:06x}", (js_sys::Math::random() * 16_777_216.0) as u32)
}

/// `?session=indexeddb`: the clients keep their sessions (persistent, with fixed ids) in
/// IndexedDB, so a reload in the middle of QoS 1/2 flows loses nothing.
fn sessions_persist() -> bool {
    page_param("session").as_deref() == Some("indexeddb")
}

/// `?inflight=N`: QoS 1/2 messages in flight at once, to watch the flows in slow motion.
fn max_inflight() -> Option<u16> {
    page_param("inflight")?.parse().ok().filter(|n| *n > 0)
}

/// `?client=page` runs the lab's clients on the page's main thread instead of in the
/// client worker, to show what background-tab throttling does to them.
fn clients_on_page() -> bool {
    page_param("client").as_deref() == Some("page")
}

/// `?delay=N`: the clients hold every packet back N milliseconds (a fault of the lab's),
/// to watch flows, or reload in the middle of one.
fn delay_millis() -> Option<u32> {
    page_param("delay")?.parse().ok().filter(|n| *n > 0)
}

/// The settings a card starts with: what it saved last time, with what the page's URL
/// asks for on top (tests and shared links set the broker, sessions and keepalive).
pub fn initial_settings(name: &str) -> ConnectionSettings {
    let generated = format!("tabmq-lab-{name}-");
    let mut s = settings::load(name).unwrap_or_default();
    // A generated id is this tab's own: another tab of the lab (which reads the same saved
    // settings) must not take the session over. An id the user chose is kept.
    if s.client_id.is_empty() || s.client_id.starts_with(&generated) {
        s.client_id = format!("{generated}{}", tab_suffix());
    }
    if let Some(url) = broker_param() {
        s.url = url;
    }
    if sessions_persist() {
        // A kept session needs the same id after a reload.
        s.client_id = format!("tabmq-lab-{name}");
        s.clean = false;
    }
    if let Some(k) = page_param("keepalive").and_then(|k| k.parse().ok()) {
        s.keepalive = k;
    }
    s
}

/// Adds the default publisher and subscriber, and connects them.
pub async fn start_lab(lab: Lab) {
    let publisher = ClientSlot::new("publisher", Role::Publisher, initial_settings("publisher"));
    let subscriber = ClientSlot::new(
        "subscriber",
        Role::Subscriber,
        initial_settings("subscriber"),
    );
    subscriber.inbox.active.set(Some(ActiveSubscription {
        filter: DEFAULT_FILTER.to_owned(),
        qos: QoS::AtMostOnce,
    }));
    lab.publishers.update(|p| p.push(publisher));
    lab.subscribers.update(|s| s.push(subscriber));
    connect_slot(lab, publisher).await;
    connect_slot(lab, subscriber).await;
}

/// Adds a card of `role` with the next free name, and connects it.
pub fn add_client(lab: Lab, role: Role) {
    let list = match role {
        Role::Publisher => lab.publishers,
        Role::Subscriber => lab.subscribers,
    };
    let base = match role {
        Role::Publisher => "publisher",
        Role::Subscriber => "subscriber",
    };
    let name = format!("{base}-{}", list.with_untracked(Vec::len) + 1);
    let mut settings = initial_settings(&name);
    // A new card joins whatever broker the first one uses.
    if let Some(first) = list.with_untracked(|l| l.first().copied()) {
        settings.url = first.settings.get_untracked().url;
    }
    let slot = ClientSlot::new(&name, role, settings);
    if role == Role::Subscriber {
        slot.inbox.active.set(Some(ActiveSubscription {
            filter: DEFAULT_FILTER.to_owned(),
            qos: QoS::AtMostOnce,
        }));
    }
    list.update(|l| l.push(slot));
    wasm_bindgen_futures::spawn_local(connect_slot(lab, slot));
}

/// What a lab client reports, whichever thread it runs on.
enum LabEvent {
    Connected,
    Closed(Status),
    Message(tabmq_core::Publish),
    Packet {
        sent: bool,
        packet: tabmq_core::Packet,
    },
    Fault(&'static str, u8),
}

fn on_event(lab: Lab, slot: ClientSlot, event: LabEvent) {
    let side = match slot.role {
        Role::Publisher => Side::Publisher,
        Role::Subscriber => Side::Subscriber,
    };
    match event {
        LabEvent::Connected => {
            slot.status.set(Status::Connected);
            slot.connects.update(|n| *n += 1);
            if slot.role == Role::Subscriber {
                resubscribe(slot);
            }
        }
        LabEvent::Closed(status) => slot.status.set(status),
        LabEvent::Message(publish) => {
            if slot.role == Role::Subscriber {
                deliver(slot.inbox, publish);
            }
        }
        LabEvent::Packet { sent, packet } => {
            handshake::record(lab, &slot.name(), side, sent, &packet)
        }
        LabEvent::Fault(what, packet_type) => {
            handshake::mark_fault(lab, &slot.name(), packet_type, what);
            slot.faults.update(|f| {
                f.push(format!("{what} a packet of type {packet_type}"));
                if f.len() > 20 {
                    f.remove(0);
                }
            });
        }
    }
}

/// Subscribes the card to its active filter again (on every connection: a clean session
/// forgot it, and a kept one takes it as a replacement).
fn resubscribe(slot: ClientSlot) {
    let Some(active) = slot.inbox.active.get_untracked() else {
        return;
    };
    let result = slot.with_client(|c| {
        c.subscribe(
            SubscribeFilter::new(&active.filter, active.qos),
            Properties::default(),
        )
    });
    if let Err(e) = result {
        slot.status.set(Status::Failed(e));
    }
}

/// Connects `slot` with its settings; a connection it had is ended first.
pub async fn connect_slot(lab: Lab, slot: ClientSlot) {
    disconnect_slot(slot);
    let generation = slot.generation.get_value() + 1;
    slot.generation.set_value(generation);
    let settings = slot.settings.get_untracked();
    settings::save(&slot.name(), &settings);
    let mut options = match settings.options() {
        Ok(o) => o,
        Err(e) => return slot.status.set(Status::Failed(e)),
    };
    options.trace_packets = lab.recording.get_untracked();
    if let Some(n) = max_inflight() {
        options.max_inflight = n;
    }
    slot.status.set(Status::Connecting);
    let url = settings.url.clone();
    let report = move |e: ConnectError| {
        if matches!(
            e,
            ConnectError::InTab(_) | ConnectError::UnsupportedScheme(_)
        ) {
            lab.broker_status.set(Status::Failed(e.to_string()));
        }
        slot.status.set(Status::Failed(e.to_string()));
    };
    if !clients_on_page() {
        let listener = Box::new(move |_: &WorkerClient, event: RemoteEvent| {
            let event = match event {
                RemoteEvent::Connected { .. } => LabEvent::Connected,
                RemoteEvent::Closed(why) if why == "disconnected" => {
                    LabEvent::Closed(Status::Disconnected)
                }
                RemoteEvent::Closed(why) => LabEvent::Closed(Status::Failed(why)),
                RemoteEvent::Reconnecting => LabEvent::Closed(Status::Connecting),
                RemoteEvent::Message(publish) => LabEvent::Message(publish),
                RemoteEvent::PacketSent(packet) => LabEvent::Packet { sent: true, packet },
                RemoteEvent::PacketReceived(packet) => LabEvent::Packet {
                    sent: false,
                    packet,
                },
                RemoteEvent::Fault {
                    action,
                    packet_type,
                } => LabEvent::Fault(
                    match action {
                        FaultAction::Dropped => "dropped",
                        FaultAction::Duplicated => "duplicated",
                        _ => "delayed",
                    },
                    packet_type,
                ),
                _ => return,
            };
            if slot.generation.get_value() == generation {
                on_event(lab, slot, event);
            }
        });
        let options = WorkerClientOptions {
            client: options,
            persist_session: sessions_persist(),
            ..WorkerClientOptions::default()
        };
        match WorkerClient::connect(&url, options, WORKER_URL, listener).await {
            Ok(client) => {
                if let Some(millis) = delay_millis() {
                    client.set_fault(FaultCommand::Delay { millis });
                }
                lab.broker_status.set(Status::Connected);
                slot.client.set_value(Some(LabConnection::Worker(client)));
            }
            Err(e) => report(e),
        }
        return;
    }
    let listener = Box::new(move |_: &Client, event: ClientEvent| {
        let event = match event {
            ClientEvent::Connected { .. } => LabEvent::Connected,
            ClientEvent::Closed(reason) => LabEvent::Closed(close_label(&reason)),
            ClientEvent::Message(publish) => LabEvent::Message(publish),
            ClientEvent::PacketSent(packet) => LabEvent::Packet { sent: true, packet },
            ClientEvent::PacketReceived(packet) => LabEvent::Packet {
                sent: false,
                packet,
            },
            _ => return,
        };
        if slot.generation.get_value() == generation {
            on_event(lab, slot, event);
        }
    });
    let (store, session) = if sessions_persist() {
        match IdbSessionStore::open(&options.client_id).await {
            Ok((store, session)) => (Some(store), session),
            Err(e) => {
                web_sys::console::error_2(&"tabmq: no IndexedDB for the session".into(), &e);
                (None, None)
            }
        }
    } else {
        (None, None)
    };
    let client = Client::new(
        options,
        session.unwrap_or_default(),
        Box::new(now),
        listener,
    );
    if let Some(store) = store {
        client.set_session_store(std::rc::Rc::new(store));
    }
    match connect_client(&url, client, WORKER_URL).await {
        Ok(connection) => {
            lab.broker_status.set(Status::Connected);
            slot.client.set_value(Some(LabConnection::Page(connection)));
        }
        Err(e) => report(e),
    }
}

/// Ends `slot`'s connection with DISCONNECT, if it has one.
pub fn disconnect_slot(slot: ClientSlot) {
    let old = slot.client.try_update_value(|c| c.take()).flatten();
    if let Some(old) = old {
        old.end();
        slot.status.set(Status::Disconnected);
    }
}
