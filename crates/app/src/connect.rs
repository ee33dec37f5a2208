//! Connecting the lab's clients: each card's client to the broker its settings name, in
//! this tab, shared between tabs, or a real one over WebSocket.

use crate::card_fields;
use crate::handshake::{self, Side};
use crate::inbox::deliver;
use crate::page_url::{broker_param, page_param};
use crate::settings::{self, ConnectionSettings};
use crate::state::{ClientSlot, Lab, LabConnection, Role, Status};
use crate::subscribe::{remembered, subscribe_card};
use leptos::prelude::*;
use tabmq_client::{connect, ConnectError, ConnectOptions, FaultAction, FaultCommand};
use tabmq_core::{BrokerUrl, CloseReason, DecodeError, MachineEvent, QoS, SubscribeFilter};

/// The broker worker's entry script (web/broker-worker.js, copied by trunk; see index.html).
pub const WORKER_URL: &str = "./broker-worker.js";

/// The filter the subscriber starts with.
pub const DEFAULT_FILTER: &str = "sensor/#";

fn close_label(reason: &CloseReason) -> Status {
    match reason {
        CloseReason::Disconnected => Status::Disconnected,
        CloseReason::Refused(code) | CloseReason::DisconnectedByBroker(code) => {
            Status::Failed(format!("{} (0x{:02X})", reason.summary(), code.0))
        }
        // Not the broker's fault: this client's own limit (in 3.1.1 the broker cannot know
        // it; in 5.0 CONNECT tells it, and the broker drops such messages instead).
        CloseReason::ProtocolError(e @ DecodeError::PacketTooLarge { .. }) => Status::Failed(
            format!("a packet from the broker was too big for this client: {e}"),
        ),
        CloseReason::ProtocolError(e) => Status::Failed(format!("{}: {e}", reason.summary())),
        CloseReason::UnexpectedPacket(what) => {
            Status::Failed(format!("{}: {what}", reason.summary()))
        }
        other => Status::Failed(other.summary().to_owned()),
    }
}

/// This tab's suffix for generated client ids: made once per tab and kept in
/// sessionStorage, which a reload keeps and another tab does not share. So a card's
/// persistent session is found again after a reload, and two tabs never take each other's
/// sessions over.
fn tab_suffix() -> String {
    const KEY: &str = "tabmq-lab:tab";
    let storage = web_sys::window().and_then(|w| w.session_storage().ok().flatten());
    if let Some(kept) = storage
        .as_ref()
        .and_then(|s| s.get_item(KEY).ok().flatten())
    {
        return kept;
    }
    let made = format!("{:06x}", (js_sys::Math::random() * 16_777_216.0) as u32);
    if let Some(s) = storage {
        // Without sessionStorage the id is only this load's, as before.
        let _ = s.set_item(KEY, &made);
    }
    made
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
    lab.publishers.update(|p| p.push(publisher));
    lab.subscribers.update(|s| s.push(subscriber));
    // The cards this tab added before a reload come back, each with its kept fields.
    for name in card_fields::added_cards() {
        let role = if name.starts_with("publisher-") {
            Role::Publisher
        } else if name.starts_with("subscriber-") {
            Role::Subscriber
        } else {
            continue;
        };
        add_named(lab, role, &name);
    }
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
    // The lowest number not in use: a removed card's name comes free again.
    let taken = |n: usize| {
        let name = format!("{base}-{n}");
        list.with_untracked(|l| l.iter().any(|s| s.name() == name))
    };
    let Some(n) = (2..=list.with_untracked(Vec::len) + 1).find(|n| !taken(*n)) else {
        return;
    };
    add_named(lab, role, &format!("{base}-{n}"));
    keep_added(lab);
}

/// Adds the card `name` of `role`, and connects it.
fn add_named(lab: Lab, role: Role, name: &str) {
    let list = match role {
        Role::Publisher => lab.publishers,
        Role::Subscriber => lab.subscribers,
    };
    let mut settings = initial_settings(name);
    // A new card joins whatever broker the first one uses.
    if let Some(first) = list.with_untracked(|l| l.first().copied()) {
        settings.url = first.settings.get_untracked().url;
    }
    let slot = ClientSlot::new(name, role, settings);
    list.update(|l| l.push(slot));
    wasm_bindgen_futures::spawn_local(connect_slot(lab, slot));
}

/// Keeps, for this tab, which cards were added, so a reload adds them again.
fn keep_added(lab: Lab) {
    let names: Vec<String> = lab
        .clients()
        .iter()
        .map(|c| c.name())
        .filter(|n| n.contains('-'))
        .collect();
    card_fields::keep_added_cards(&names);
}

/// Removes an added card: its client disconnects (with DISCONNECT) and the card goes. The
/// first publisher and subscriber stay, since the scenarios and the benchmark use them.
pub fn remove_client(lab: Lab, slot: ClientSlot) {
    let name = slot.name();
    if !name.contains('-') {
        return;
    }
    disconnect_slot(slot);
    let list = match slot.role {
        Role::Publisher => lab.publishers,
        Role::Subscriber => lab.subscribers,
    };
    list.update(|l| l.retain(|s| s.name() != name));
    keep_added(lab);
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
            // A CONNACK: the broker is there, whichever it is.
            lab.broker_status.set(Status::Connected);
            slot.status.set(Status::Connected);
            slot.connects.update(|n| *n += 1);
        }
        LabEvent::Closed(status) => {
            // A failure stays on the card after the client reconnects: a connection the
            // broker dropped (a message over its size limit, say) must not pass unseen.
            if let Status::Failed(why) = &status {
                slot.last_drop
                    .set(Some(format!("{why} (at {})", crate::inbox::clock_label())));
            }
            slot.status.set(status);
        }
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
            let name = tabmq_core::Packet::type_name(packet_type).unwrap_or("packet");
            log_fault(slot, format!("{what} a {name} (type {packet_type})"));
        }
    }
}

/// What a card keeps for the next load: its settings, except what the page's URL imposed
/// on this load only (`?broker=`, and `?session=indexeddb`'s fixed id and kept session),
/// for which the earlier saved values stay. Otherwise one visit with `?broker=ws://…`
/// would move every later visit's clients away from the broker the page says it uses.
fn settings_to_keep(name: &str, settings: &ConnectionSettings) -> ConnectionSettings {
    let before = settings::load(name).unwrap_or_default();
    let mut kept = settings.clone();
    if broker_param().as_deref() == Some(settings.url.as_str()) {
        kept.url = before.url;
    }
    if sessions_persist() && settings.client_id == format!("tabmq-lab-{name}") {
        kept.client_id = before.client_id;
        kept.clean = before.clean;
    }
    kept
}

/// Adds a line to `slot`'s fault log, which keeps the last 20.
pub fn log_fault(slot: ClientSlot, line: String) {
    slot.faults.update(|f| {
        f.push(line);
        if f.len() > 20 {
            f.remove(0);
        }
    });
}

/// Subscribes a new client to its card's filter: the one waiting for SUBACK, else the
/// granted one, else the one granted on an earlier load, else the default. The command waits for the connection; after that, the
/// client's machine subscribes again whenever a broker lost the session.
fn subscribe_active(slot: ClientSlot) {
    if slot.role != Role::Subscriber {
        return;
    }
    let card = slot.inbox.subscription.get_untracked();
    let wanted = card
        .waiting
        .or(card.granted)
        .or_else(|| remembered(&slot.name()))
        .map_or_else(
            || SubscribeFilter::new(DEFAULT_FILTER, QoS::AtMostOnce),
            |f| SubscribeFilter::new(f.filter, f.qos),
        );
    subscribe_card(slot, wanted);
}

/// Connects `slot` with its settings; a connection it had is ended first.
pub async fn connect_slot(lab: Lab, slot: ClientSlot) {
    disconnect_slot(slot);
    let generation = slot.generation.get_value() + 1;
    slot.generation.set_value(generation);
    let settings = slot.settings.get_untracked();
    settings::save(&slot.name(), &settings_to_keep(&slot.name(), &settings));
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
    let listener = Box::new(move |event: &MachineEvent| {
        let event = match event {
            MachineEvent::Connected { .. } => LabEvent::Connected,
            MachineEvent::Closed(reason) => LabEvent::Closed(close_label(reason)),
            MachineEvent::TransportFailed => {
                LabEvent::Closed(Status::Failed("the broker could not be reached".to_owned()))
            }
            MachineEvent::Reconnecting => LabEvent::Closed(Status::Connecting),
            MachineEvent::Message(publish) => LabEvent::Message(publish.clone()),
            MachineEvent::PacketSent(packet) => LabEvent::Packet {
                sent: true,
                packet: packet.clone(),
            },
            MachineEvent::PacketReceived(packet) => LabEvent::Packet {
                sent: false,
                packet: packet.clone(),
            },
            _ => return,
        };
        if slot.generation.get_value() == generation {
            on_event(lab, slot, event);
        }
    });
    let options = ConnectOptions {
        client: options,
        persist_session: sessions_persist(),
        ..ConnectOptions::default()
    };
    match connect(&url, options, WORKER_URL, listener).await {
        Ok(client) => {
            client.set_fault_listener(std::rc::Rc::new(move |action, packet_type| {
                let what = match action {
                    FaultAction::Dropped => "dropped",
                    FaultAction::Duplicated => "duplicated",
                    _ => "delayed",
                };
                if slot.generation.get_value() == generation {
                    on_event(lab, slot, LabEvent::Fault(what, packet_type));
                }
            }));
            if let Some(millis) = delay_millis() {
                client.fault(FaultCommand::Delay { millis });
            }
            // An in-tab broker's worker said "ready" before `connect` returned; a broker
            // over WebSocket is confirmed by the first CONNACK (`on_event`).
            if matches!(BrokerUrl::parse_in_browser(&url), Ok(BrokerUrl::InTab(_))) {
                lab.broker_status.set(Status::Connected);
            }
            slot.client.set_value(Some(LabConnection(client)));
            if slot.role == Role::Subscriber {
                subscribe_active(slot);
            }
        }
        Err(e) => {
            if matches!(e, ConnectError::InTab(_) | ConnectError::Start(_)) {
                lab.broker_status.set(Status::Failed(e.to_string()));
            }
            slot.status.set(Status::Failed(e.to_string()));
        }
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
