//! The broker in a tab: starting its Worker and opening a port per client.

use js_sys::{Array, Object, Promise, Reflect};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{MessageChannel, MessageEvent, MessagePort, Worker, WorkerOptions, WorkerType};

/// The first message a broker worker posts: nothing is sent to it before.
pub const READY_MESSAGE: &str = "ready";

/// Why the in-tab broker could not start or be reached.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum InTabError {
    /// The browser refused to start the worker; its message.
    WorkerFailed(String),
    /// The worker started but sent something other than the ready message first.
    NotReady(String),
    /// A MessageChannel could not be made or sent.
    Port(String),
}

impl std::fmt::Display for InTabError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            InTabError::WorkerFailed(m) => write!(f, "the broker worker failed to start: {m}"),
            InTabError::NotReady(m) => write!(f, "the broker worker did not say ready: {m}"),
            InTabError::Port(m) => write!(f, "could not open a port to the broker: {m}"),
        }
    }
}

impl std::error::Error for InTabError {}

fn describe(value: &JsValue) -> String {
    value
        .as_string()
        .or_else(|| {
            Reflect::get(value, &"message".into())
                .ok()
                .and_then(|m| m.as_string())
        })
        .unwrap_or_else(|| format!("{value:?}"))
}

/// A running broker in a dedicated Worker.
#[derive(Clone)]
pub struct InTabBroker {
    worker: Worker,
}

impl InTabBroker {
    /// Starts the worker module at `script_url` and waits for its ready message.
    pub async fn start(script_url: &str) -> Result<InTabBroker, InTabError> {
        let options = WorkerOptions::new();
        options.set_type(WorkerType::Module);
        let worker = Worker::new_with_options(script_url, &options)
            .map_err(|e| InTabError::WorkerFailed(describe(&e)))?;
        // Promise::new runs its closure at once, so the listener can be kept in a local
        // until the ready message has come.
        let mut listener = None;
        let ready = Promise::new(&mut |resolve, reject| {
            let worker_for_cb = worker.clone();
            let on_message = Closure::<dyn FnMut(JsValue)>::new(move |event: JsValue| {
                worker_for_cb.set_onmessage(None);
                worker_for_cb.set_onerror(None);
                match event.dyn_ref::<MessageEvent>() {
                    Some(m) => {
                        let _ = resolve.call1(&JsValue::NULL, &m.data());
                    }
                    // An ErrorEvent: the script failed to load or threw.
                    None => {
                        let _ = reject.call1(&JsValue::NULL, &event);
                    }
                }
            });
            worker.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
            worker.set_onerror(Some(on_message.as_ref().unchecked_ref()));
            listener = Some(on_message);
        });
        let message = JsFuture::from(ready)
            .await
            .map_err(|e| InTabError::WorkerFailed(describe(&e)))?;
        drop(listener);
        if message.as_string().as_deref() != Some(READY_MESSAGE) {
            return Err(InTabError::NotReady(describe(&message)));
        }
        Ok(InTabBroker { worker })
    }

    /// A new port with its own connection to the broker.
    pub fn open_port(&self) -> Result<MessagePort, InTabError> {
        let channel = MessageChannel::new().map_err(|e| InTabError::Port(describe(&e)))?;
        let request = Object::new();
        Reflect::set(&request, &"type".into(), &"connect".into())
            .map_err(|e| InTabError::Port(describe(&e)))?;
        let far_end = channel.port2();
        self.worker
            .post_message_with_transfer(&request, &Array::of1(&far_end))
            .map_err(|e| InTabError::Port(describe(&e)))?;
        Ok(channel.port1())
    }

    /// Stops the worker and every connection in it.
    pub fn terminate(&self) {
        self.worker.terminate();
    }
}
