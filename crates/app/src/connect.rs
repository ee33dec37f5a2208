//! Connecting the page's clients to the lab's broker: in this tab, shared between tabs,
//! or a real one over WebSocket.

use crate::state::{ActiveSubscription, ClientSlot, Lab, LabConnection, Received, Status};
use leptos::prelude::*;
use tabmq_client::{
    connect_client, now, Client, ConnectError, FaultCommand, IdbSessionStore, RemoteEvent,
    WorkerClient, WorkerClientOptions,
};
use tabmq_core::{ClientEvent, ClientOptions, CloseReason, Publish, QoS};

/// The broker worker's entry script (web/broker-worker.js, copied by trunk; see index.html).
pub const WORKER_URL: &str = "./broker-worker.js";

/// The filter the subscriber starts with.
pub const DEFAULT_FILTER: &str = "sensor/#";

fn clock_label() -> String {
    let date = js_sys::Date::new_0();
    format!(
        "{:02}:{:02}:{:02}.{:03}",
        date.get_hours(),
        date.get_minutes(),
        date.get_seconds(),
        date.get_milliseconds()
    )
}

fn close_label(reason: &CloseReason) -> Status {
    match reason {
        CloseReason::Disconnected => Status::Disconnected,
        other => Status::Failed(format!("{other:?}")),
    }
}

/// The broker URL the page asks for with `?broker=`; `tab://lab` (a broker in this tab)
/// by default. `tab://lab?shared` shares one broker between tabs, and `ws://` or `wss://`
/// reaches a real broker.
pub fn broker_url() -> String {
    page_param("broker")
        .filter(|u| !u.is_empty())
        .unwrap_or_else(|| DEFAULT_BROKER.to_owned())
}

/// The broker the lab uses unless the page's URL names another.
pub const DEFAULT_BROKER: &str = "tab://lab";

/// A suffix that keeps this tab's client ids apart from other tabs' on a shared broker.
fn tab_suffix() -> String {
    format!("{:06x}", (js_sys::Math::random() * 16_777_216.0) as u32)
}

/// A query parameter of the page's URL.
fn page_param(name: &str) -> Option<String> {
    let search = web_sys::window()?.location().search().ok()?;
    web_sys::UrlSearchParams::new_with_str(&search)
        .ok()?
        .get(name)
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

/// `?keepalive=N`: the clients' keepalive in seconds (30 by default).
fn keep_alive() -> u16 {
    page_param("keepalive")
        .and_then(|k| k.parse().ok())
        .unwrap_or(30)
}

/// What a lab client reports, whichever thread it runs on.
enum LabEvent {
    Connected,
    Closed(Status),
    Message(Publish),
}

/// Connects the publisher and the subscriber to the lab's broker.
pub async fn start_lab(lab: Lab) {
    let url = lab.broker_url.get_value();
    let suffix = tab_suffix();
    connect_slot(lab, &url, &suffix, lab.publisher, |_| {}).await;
    let subscriber = lab.subscriber;
    connect_slot(lab, &url, &suffix, subscriber, move |event| match event {
        LabEvent::Connected => {
            let subscribed = subscriber.client.with_value(|c| match c {
                Some(c) => c.subscribe(DEFAULT_FILTER, QoS::AtMostOnce),
                None => Ok(()),
            });
            if let Err(e) = subscribed {
                subscriber.status.set(Status::Failed(e));
            } else {
                lab.active.set(Some(ActiveSubscription {
                    filter: DEFAULT_FILTER.to_owned(),
                    qos: QoS::AtMostOnce,
                }));
            }
        }
        LabEvent::Message(publish) => lab.record(Received {
            seq: 0,
            topic: publish.topic,
            payload: String::from_utf8_lossy(&publish.payload).into_owned(),
            qos: publish.qos,
            retain: publish.retain,
            dup: publish.dup,
            time: clock_label(),
        }),
        LabEvent::Closed(_) => {}
    })
    .await;
}

fn slot_options(slot: ClientSlot, suffix: &str) -> ClientOptions {
    let persist = sessions_persist();
    let mut options = ClientOptions {
        // A kept session needs the same id after a reload.
        client_id: if persist {
            format!("tabmq-lab-{}", slot.name)
        } else {
            format!("tabmq-lab-{}-{suffix}", slot.name)
        },
        clean_session: !persist,
        keep_alive: keep_alive(),
        ..ClientOptions::default()
    };
    if let Some(n) = max_inflight() {
        options.max_inflight = n;
    }
    options
}

fn report_failure(lab: Lab, slot: ClientSlot, e: ConnectError) {
    if matches!(
        e,
        ConnectError::InTab(_) | ConnectError::UnsupportedScheme(_)
    ) {
        lab.broker_status.set(Status::Failed(e.to_string()));
    }
    slot.status.set(Status::Failed(e.to_string()));
}

async fn connect_slot(
    lab: Lab,
    url: &str,
    suffix: &str,
    slot: ClientSlot,
    mut on_event: impl FnMut(LabEvent) + 'static,
) {
    let options = slot_options(slot, suffix);
    let mut on_event = move |event: LabEvent| {
        match &event {
            LabEvent::Connected => {
                slot.status.set(Status::Connected);
                slot.connects.update(|n| *n += 1);
            }
            LabEvent::Closed(status) => slot.status.set(status.clone()),
            LabEvent::Message(_) => {}
        }
        on_event(event);
    };
    if !clients_on_page() {
        let listener = Box::new(move |_: &WorkerClient, event: RemoteEvent| match event {
            RemoteEvent::Connected { .. } => on_event(LabEvent::Connected),
            RemoteEvent::Closed(why) if why == "disconnected" => {
                on_event(LabEvent::Closed(Status::Disconnected))
            }
            RemoteEvent::Closed(why) => on_event(LabEvent::Closed(Status::Failed(why))),
            RemoteEvent::Reconnecting => on_event(LabEvent::Closed(Status::Connecting)),
            RemoteEvent::Message(publish) => on_event(LabEvent::Message(publish)),
            _ => {}
        });
        let options = WorkerClientOptions {
            client: options,
            persist_session: sessions_persist(),
            ..WorkerClientOptions::default()
        };
        match WorkerClient::connect(url, options, WORKER_URL, listener).await {
            Ok(client) => {
                if let Some(millis) = delay_millis() {
                    client.set_fault(FaultCommand::Delay { millis });
                }
                lab.broker_status.set(Status::Connected);
                slot.client.set_value(Some(LabConnection::Worker(client)));
            }
            Err(e) => report_failure(lab, slot, e),
        }
        return;
    }
    let listener = Box::new(move |_: &Client, event: ClientEvent| match event {
        ClientEvent::Connected { .. } => on_event(LabEvent::Connected),
        ClientEvent::Closed(reason) => on_event(LabEvent::Closed(close_label(&reason))),
        ClientEvent::Message(publish) => on_event(LabEvent::Message(publish)),
        _ => {}
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
    match connect_client(url, client, WORKER_URL).await {
        Ok(connection) => {
            lab.broker_status.set(Status::Connected);
            slot.client.set_value(Some(LabConnection::Page(connection)));
        }
        Err(e) => report_failure(lab, slot, e),
    }
}
