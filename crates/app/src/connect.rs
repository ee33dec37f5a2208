//! Connecting the page's clients to the lab's broker: in this tab, shared between tabs,
//! or a real one over WebSocket.

use crate::state::{ActiveSubscription, ClientSlot, Lab, Received, Status};
use leptos::prelude::*;
use tabmq_client::{connect_client, now, Client, ConnectError, IdbSessionStore};
use tabmq_core::{ClientEvent, ClientOptions, CloseReason, QoS};

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

/// Connects the publisher and the subscriber to the lab's broker.
pub async fn start_lab(lab: Lab) {
    let url = lab.broker_url.get_value();
    let suffix = tab_suffix();
    connect_slot(lab, &url, &suffix, lab.publisher, |_, _| {}).await;
    connect_slot(
        lab,
        &url,
        &suffix,
        lab.subscriber,
        move |client, event| match event {
            ClientEvent::Connected { .. } => {
                if let Err(e) = client.subscribe(DEFAULT_FILTER, QoS::AtMostOnce) {
                    lab.subscriber.status.set(Status::Failed(e.to_string()));
                } else {
                    lab.active.set(Some(ActiveSubscription {
                        filter: DEFAULT_FILTER.to_owned(),
                        qos: QoS::AtMostOnce,
                    }));
                }
            }
            ClientEvent::Message(publish) => lab.record(Received {
                seq: 0,
                topic: publish.topic,
                payload: String::from_utf8_lossy(&publish.payload).into_owned(),
                qos: publish.qos,
                retain: publish.retain,
                dup: publish.dup,
                time: clock_label(),
            }),
            _ => {}
        },
    )
    .await;
}

async fn connect_slot(
    lab: Lab,
    url: &str,
    suffix: &str,
    slot: ClientSlot,
    mut on_event: impl FnMut(&Client, ClientEvent) + 'static,
) {
    let persist = sessions_persist();
    let mut options = ClientOptions {
        // A kept session needs the same id after a reload.
        client_id: if persist {
            format!("tabmq-lab-{}", slot.name)
        } else {
            format!("tabmq-lab-{}-{suffix}", slot.name)
        },
        clean_session: !persist,
        keep_alive: 30,
        ..ClientOptions::default()
    };
    if let Some(n) = max_inflight() {
        options.max_inflight = n;
    }
    let listener = Box::new(move |client: &Client, event: ClientEvent| {
        match &event {
            ClientEvent::Connected { .. } => slot.status.set(Status::Connected),
            ClientEvent::Closed(reason) => slot.status.set(close_label(reason)),
            _ => {}
        }
        on_event(client, event);
    });
    let (store, session) = if persist {
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
            slot.client.set_value(Some(connection));
        }
        Err(e) => {
            if matches!(
                e,
                ConnectError::InTab(_) | ConnectError::UnsupportedScheme(_)
            ) {
                lab.broker_status.set(Status::Failed(e.to_string()));
            }
            slot.status.set(Status::Failed(e.to_string()));
        }
    }
}
