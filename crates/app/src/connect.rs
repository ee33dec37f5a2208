//! Starting the in-tab broker and connecting the page's clients to it.

use crate::state::{ActiveSubscription, ClientSlot, Lab, Received, Status};
use leptos::prelude::*;
use tabmq_client::{connect_port, Client, InTabBroker};
use tabmq_core::{ClientEvent, ClientOptions, CloseReason, QoS};

/// Where trunk puts the broker worker's loader (see index.html).
pub const WORKER_URL: &str = "./tabmq-worker_loader.js";

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

/// Starts the broker worker, then connects the publisher and the subscriber.
pub async fn start_lab(lab: Lab) {
    let broker = match InTabBroker::start(WORKER_URL).await {
        Ok(broker) => broker,
        Err(e) => {
            lab.broker_status.set(Status::Failed(e.to_string()));
            return;
        }
    };
    lab.broker_status.set(Status::Connected);
    connect_slot(&broker, lab.publisher, |_, _| {});
    connect_slot(&broker, lab.subscriber, move |client, event| match event {
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
    });
    lab.broker.set_value(Some(broker));
}

fn connect_slot(
    broker: &InTabBroker,
    slot: ClientSlot,
    mut on_event: impl FnMut(&Client, ClientEvent) + 'static,
) {
    let port = match broker.open_port() {
        Ok(port) => port,
        Err(e) => return slot.status.set(Status::Failed(e.to_string())),
    };
    let options = ClientOptions {
        client_id: format!("tabmq-lab-{}", slot.name),
        keep_alive: 30,
        ..ClientOptions::default()
    };
    let listener = Box::new(move |client: &Client, event: ClientEvent| {
        match &event {
            ClientEvent::Connected { .. } => slot.status.set(Status::Connected),
            ClientEvent::Closed(reason) => slot.status.set(close_label(reason)),
            _ => {}
        }
        on_event(client, event);
    });
    match connect_port(port, options, listener) {
        Ok(client) => slot.client.set_value(Some(client)),
        Err(e) => slot.status.set(Status::Failed(e.to_string())),
    }
}
