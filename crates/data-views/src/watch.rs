//! What both views do with a broker: one MQTT 5 connection whose messages go to the view's
//! model and whose state goes to its badge, and filters subscribed with Retain As
//! Published (so a retained message published while the view watches is known as one).

use leptos::prelude::*;
use tabmq_app::{Status, WORKER_URL};
use tabmq_client::{connect, ConnectOptions, ResilientClient};
use tabmq_core::{
    ClientOptions, MachineEvent, Properties, ProtocolVersion, Publish, QoS, SubscribeFilter,
};

/// The wall clock, in milliseconds since the Unix epoch.
pub fn wall_ms() -> u64 {
    js_sys::Date::now() as u64
}

/// Connects to `url` as `{prefix}-{random}`; `on_message` takes each message, `status`
/// follows the connection. A failure to start is set on `status`.
pub async fn open(
    url: &str,
    prefix: &str,
    status: RwSignal<Status>,
    on_message: impl Fn(&Publish) + 'static,
) -> Option<ResilientClient> {
    status.set(Status::Connecting);
    let listener = Box::new(move |event: &MachineEvent| match event {
        MachineEvent::Message(p) => on_message(p),
        MachineEvent::Connected { .. } => {
            let _ = status.try_set(Status::Connected);
        }
        MachineEvent::Reconnecting => {
            let _ = status.try_set(Status::Connecting);
        }
        MachineEvent::TransportFailed => {
            let _ = status.try_set(Status::Failed("the broker could not be reached".to_owned()));
        }
        MachineEvent::Closed(reason) => {
            let _ = status.try_set(Status::Failed(reason.summary().to_owned()));
        }
        _ => {}
    });
    let options = ConnectOptions {
        client: ClientOptions {
            protocol: ProtocolVersion::V5,
            client_id: format!(
                "{prefix}-{:08x}",
                (js_sys::Math::random() * 4_294_967_296.0) as u32
            ),
            ..ClientOptions::default()
        },
        ..ConnectOptions::default()
    };
    match connect(url, options, WORKER_URL, listener).await {
        Ok(client) => Some(client),
        Err(e) => {
            status.set(Status::Failed(e.to_string()));
            None
        }
    }
}

/// Subscribes to `filter` at QoS 0 with Retain As Published, named by subscription
/// identifier `id` when given (MQTT 5), so that each message says which of a view's
/// filters it came by; a refusal is set on `status`.
pub async fn subscribe(
    client: &ResilientClient,
    filter: String,
    id: Option<u32>,
    status: RwSignal<Status>,
) {
    let filters = vec![SubscribeFilter {
        retain_as_published: true,
        ..SubscribeFilter::new(filter, QoS::AtMostOnce)
    }];
    let properties = Properties::with(|p| p.subscription_identifiers.extend(id));
    if let Err(e) = client.subscribe_async(filters, properties).await {
        status.set(Status::Failed(format!("subscribe: {e}")));
    }
}

/// Sets `now_ms` to the wall clock every `every_ms` and runs `each`, while the view lives:
/// the views draw as of `now`, not once a message.
pub fn tick(now_ms: RwSignal<u64>, every_ms: i32, each: impl Fn() + 'static) {
    let alive = StoredValue::new(true);
    on_cleanup(move || alive.set_value(false));
    wasm_bindgen_futures::spawn_local(async move {
        while alive.try_get_value() == Some(true) {
            tabmq_app::sleep(every_ms).await;
            if now_ms.try_set(wall_ms()).is_some() {
                break;
            }
            each();
        }
    });
}
