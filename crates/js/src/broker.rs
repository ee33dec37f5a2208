//! `RawBroker`: the in-tab broker for JavaScript, to inspect it, open ports to it, or
//! stop it.

use crate::errors::js_error;
use crate::errors::to_promise;
use js_sys::Promise;
use tabmq_client::InTabBroker;
use wasm_bindgen::prelude::*;
use web_sys::MessagePort;

fn failed(e: impl std::fmt::Display) -> JsValue {
    js_error("IN_TAB_BROKER_FAILED", &e.to_string())
}

/// The broker a `tab://NAME[?shared][&persist=indexeddb]` URL names; the same one the
/// page's clients reach by that URL.
#[wasm_bindgen]
pub struct RawBroker {
    broker: InTabBroker,
}

#[wasm_bindgen]
impl RawBroker {
    /// Starts the broker `url` names, or joins it if this page started it already.
    pub async fn start(url: String) -> Result<RawBroker, JsValue> {
        let broker = InTabBroker::for_url(&url, "").await.map_err(failed)?;
        Ok(RawBroker { broker })
    }

    /// A port with a new MQTT connection to the broker (for `tabSocket`).
    #[wasm_bindgen(js_name = openPort)]
    pub fn open_port(&self) -> Result<MessagePort, JsValue> {
        self.broker.open_port().map_err(failed)
    }

    /// Resolves with `{sessions, retained, counters}`.
    pub fn inspect(&self) -> Promise {
        let broker = self.broker.clone();
        to_promise(Box::pin(
            async move { broker.inspect().await.map_err(failed) },
        ))
    }

    /// Deletes the retained message on `topic`; resolves with whether there was one.
    #[wasm_bindgen(js_name = deleteRetained)]
    pub fn delete_retained(&self, topic: String) -> Promise {
        let broker = self.broker.clone();
        to_promise(Box::pin(async move {
            let had = broker.delete_retained(&topic).await.map_err(failed)?;
            Ok(had.into())
        }))
    }

    #[wasm_bindgen(getter)]
    pub fn shared(&self) -> bool {
        self.broker.is_shared()
    }

    /// Stops a page's own broker; a shared one runs on for the other tabs.
    pub fn stop(&self) {
        self.broker.terminate();
    }
}
