//! The broker in a tab: starting its Worker and opening a port per client.

use crate::browser::describe;
use crate::page_lock::{post_connect, when_broker_gone};
use js_sys::{Array, Function, Object, Promise, Reflect};
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
pub use tabmq_core::TabUrl;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{MessageChannel, MessageEvent, MessagePort, Worker};

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
    /// Not a `tab://NAME[?shared]` URL; the caller is at fault.
    BadUrl(String),
}

impl std::fmt::Display for InTabError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            InTabError::WorkerFailed(m) => write!(f, "the broker worker failed to start: {m}"),
            InTabError::NotReady(m) => write!(f, "the broker worker did not say ready: {m}"),
            InTabError::Port(m) => write!(f, "could not open a port to the broker: {m}"),
            InTabError::BadUrl(m) => write!(f, "not a tab:// broker URL: {m}"),
        }
    }
}

impl std::error::Error for InTabError {}

/// Where the broker's control messages go.
#[derive(Clone)]
enum Control {
    /// A dedicated Worker: the worker itself.
    Dedicated(Worker),
    /// A SharedWorker: this tab's port to it.
    Shared(MessagePort),
}

impl Control {
    fn same(&self, other: &Control) -> bool {
        let (a, b): (&JsValue, &JsValue) = match (self, other) {
            (Control::Dedicated(a), Control::Dedicated(b)) => (a, b),
            (Control::Shared(a), Control::Shared(b)) => (a, b),
            _ => return false,
        };
        js_sys::Object::is(a, b)
    }

    /// Hears the control's messages after "ready": the broker's life lock, whose release
    /// says its worker is gone; this page then forgets it, and the next use starts it
    /// again.
    fn watch(&self) -> Rc<Closure<dyn FnMut(MessageEvent)>> {
        let control = self.clone();
        let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
            let control = control.clone();
            when_broker_gone(&event.data(), move || {
                BROKERS.with(|b| {
                    b.borrow_mut()
                        .retain(|_, broker| !broker.control.same(&control))
                });
            });
        });
        let f = Some(on_message.as_ref().unchecked_ref());
        match self {
            Control::Dedicated(worker) => worker.set_onmessage(f),
            Control::Shared(port) => port.set_onmessage(f),
        }
        Rc::new(on_message)
    }
}

/// A running broker in a Worker of this tab, or in a SharedWorker of the origin.
#[derive(Clone)]
pub struct InTabBroker {
    control: Control,
    /// Alive as long as the broker is used (see [`Control::watch`]).
    _watch: Rc<Closure<dyn FnMut(MessageEvent)>>,
}

/// `tab://NAME[?shared][&persist=indexeddb]`, read by the core, as every client reads it.
fn parse_tab_url(url: &str) -> Result<TabUrl, InTabError> {
    TabUrl::parse(url).map_err(|e| InTabError::BadUrl(e.to_string()))
}

thread_local! {
    /// Brokers this page started or joined, by URL name and kind: `tab://NAME` is started
    /// on first use and reused after.
    static BROKERS: RefCell<HashMap<(String, bool), InTabBroker>> = RefCell::new(HashMap::new());
    /// Brokers being started, so that callers asking meanwhile share the start.
    static STARTING: RefCell<HashMap<(String, bool), Promise>> = RefCell::new(HashMap::new());
}

/// Waits for the first message (or error) that `listen` wires up, and checks it is ready.
pub(crate) async fn await_ready(
    listen: impl FnOnce(Option<&Function>, Option<&Function>),
) -> Result<(), InTabError> {
    let mut handler = None;
    let mut listen = Some(listen);
    let ready = Promise::new(&mut |resolve, reject| {
        let on_event = Closure::<dyn FnMut(JsValue)>::new(move |event: JsValue| match event
            .dyn_ref::<MessageEvent>(
        ) {
            Some(m) => {
                let _ = resolve.call1(&JsValue::NULL, &m.data());
            }
            // An ErrorEvent: the script failed to load or threw.
            None => {
                let _ = reject.call1(&JsValue::NULL, &event);
            }
        });
        if let Some(listen) = listen.take() {
            let f: &Function = on_event.as_ref().unchecked_ref();
            listen(Some(f), Some(f));
        }
        handler = Some(on_event);
    });
    let message = JsFuture::from(ready)
        .await
        .map_err(|e| InTabError::WorkerFailed(describe(&e)))?;
    drop(handler);
    if message.as_string().as_deref() != Some(READY_MESSAGE) {
        return Err(InTabError::NotReady(describe(&message)));
    }
    Ok(())
}

impl InTabBroker {
    /// Starts the worker module at `script_url` in a dedicated Worker and waits for its
    /// ready message.
    pub async fn start(script_url: &str) -> Result<InTabBroker, InTabError> {
        InTabBroker::start_named(script_url, "tabmq:tab").await
    }

    /// [`InTabBroker::start`] with the worker's name, which tells it its broker name and
    /// whether to persist (see [`TabUrl::worker_name`]).
    pub async fn start_named(
        script_url: &str,
        worker_name: &str,
    ) -> Result<InTabBroker, InTabError> {
        let worker = crate::workers::new_worker(script_url, worker_name)
            .map_err(|e| InTabError::WorkerFailed(describe(&e)))?;
        let w = worker.clone();
        await_ready(move |on_message, on_error| {
            w.set_onmessage(on_message);
            w.set_onerror(on_error);
        })
        .await?;
        worker.set_onerror(None);
        let control = Control::Dedicated(worker);
        Ok(InTabBroker {
            _watch: control.watch(),
            control,
        })
    }

    /// Joins (or starts) the SharedWorker broker whose worker is called `worker_name`,
    /// which every tab of the origin shares.
    pub async fn start_shared(
        script_url: &str,
        worker_name: &str,
    ) -> Result<InTabBroker, InTabError> {
        let worker = crate::workers::new_shared_worker(script_url, worker_name)
            .map_err(|e| InTabError::WorkerFailed(describe(&e)))?;
        let port = worker.port();
        let (w, p) = (worker.clone(), port.clone());
        await_ready(move |on_message, on_error| {
            p.set_onmessage(on_message);
            w.set_onerror(on_error);
        })
        .await?;
        worker.set_onerror(None);
        let control = Control::Shared(port);
        Ok(InTabBroker {
            _watch: control.watch(),
            control,
        })
    }

    /// The broker a `tab://` URL names: started on first use in this page, then reused.
    /// `script_url` is the worker's entry script (the lab's `broker-worker.js`). Callers
    /// that ask while it starts wait for the same start: one URL, one broker.
    pub async fn for_url(url: &str, script_url: &str) -> Result<InTabBroker, InTabError> {
        let tab = parse_tab_url(url)?;
        let key = (tab.worker_name(), tab.shared);
        if let Some(existing) = BROKERS.with(|b| b.borrow().get(&key).cloned()) {
            return Ok(existing);
        }
        let starting = STARTING.with(|s| {
            s.borrow_mut()
                .entry(key.clone())
                .or_insert_with(|| {
                    let (key, script_url) = (key.clone(), script_url.to_owned());
                    wasm_bindgen_futures::future_to_promise(async move {
                        let broker = if key.1 {
                            InTabBroker::start_shared(&script_url, &key.0).await
                        } else {
                            InTabBroker::start_named(&script_url, &key.0).await
                        }
                        .map_err(|e| JsValue::from(e.to_string()))?;
                        BROKERS.with(|b| b.borrow_mut().insert(key, broker));
                        Ok(JsValue::TRUE)
                    })
                })
                .clone()
        });
        let started = JsFuture::from(starting).await;
        STARTING.with(|s| s.borrow_mut().remove(&key));
        started.map_err(|e| InTabError::WorkerFailed(describe(&e)))?;
        BROKERS
            .with(|b| b.borrow().get(&key).cloned())
            .ok_or_else(|| InTabError::NotReady("the broker went away".into()))
    }

    /// Whether this is the origin's shared broker.
    pub fn is_shared(&self) -> bool {
        matches!(self.control, Control::Shared(..))
    }

    /// A new port with its own connection to the broker.
    pub fn open_port(&self) -> Result<MessagePort, InTabError> {
        let channel = MessageChannel::new().map_err(|e| InTabError::Port(describe(&e)))?;
        let broker = self.clone();
        post_connect(channel.port2(), move |request, transfer| {
            broker.post(request, transfer)
        });
        Ok(channel.port1())
    }

    /// A connector: a port on which `{type: "connect"}` with a port opens a connection to
    /// this broker, for a client that reconnects by itself from another worker.
    pub fn open_connector(&self) -> Result<MessagePort, InTabError> {
        let channel = MessageChannel::new().map_err(|e| InTabError::Port(describe(&e)))?;
        let request = Object::new();
        Reflect::set(&request, &"type".into(), &"control".into())
            .map_err(|e| InTabError::Port(describe(&e)))?;
        self.post(&request, &Array::of1(&channel.port2()))
            .map_err(|e| InTabError::Port(describe(&e)))?;
        Ok(channel.port1())
    }

    /// A connector to the broker `url` names that outlives its worker: each
    /// `{type: "connect"}` posted on it goes to the broker [`InTabBroker::for_url`] gives at
    /// that moment, so when the worker died (and this page forgot it), the client's next
    /// attempt starts it again. For a client on this page's thread; one in another worker
    /// takes [`InTabBroker::open_connector`].
    pub async fn connector_for_url(url: &str, script_url: &str) -> Result<MessagePort, InTabError> {
        InTabBroker::for_url(url, script_url).await?;
        let channel = MessageChannel::new().map_err(|e| InTabError::Port(describe(&e)))?;
        let (url, script_url) = (url.to_owned(), script_url.to_owned());
        let forward = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
            let (url, script_url) = (url.clone(), script_url.clone());
            wasm_bindgen_futures::spawn_local(async move {
                let sent = match InTabBroker::for_url(&url, &script_url).await {
                    Ok(broker) => broker.post(&event.data(), &event.ports()),
                    Err(e) => Err(JsValue::from(e.to_string())),
                };
                // The client's connect timeout then tries again.
                if let Err(e) = sent {
                    web_sys::console::error_2(&"tabmq: cannot reach the in-tab broker".into(), &e);
                }
            });
        });
        let near = channel.port2();
        near.set_onmessage(Some(forward.as_ref().unchecked_ref()));
        // It lives as long as the client's port: the client holds that for its life.
        forward.forget();
        Ok(channel.port1())
    }

    fn post(&self, message: &JsValue, transfer: &Array) -> Result<(), JsValue> {
        match &self.control {
            Control::Dedicated(worker) => worker.post_message_with_transfer(message, transfer),
            Control::Shared(port) => port.post_message_with_transferable(message, transfer),
        }
    }

    /// Asks the broker worker something (`{type: "inspect"}`, `{type: "deleteRetained",
    /// topic}`) and waits for its answer, which comes on a port of its own.
    pub async fn request(&self, message: &Object) -> Result<JsValue, InTabError> {
        let channel = MessageChannel::new().map_err(|e| InTabError::Port(describe(&e)))?;
        let transfer = Array::of1(&channel.port2());
        let reply = channel.port1();
        let answer = Promise::new(&mut |resolve, _reject| {
            let on_message = Closure::once_into_js(move |event: MessageEvent| {
                let _ = resolve.call1(&JsValue::NULL, &event.data());
            });
            reply.set_onmessage(Some(on_message.unchecked_ref()));
        });
        self.post(message, &transfer)
            .map_err(|e| InTabError::Port(describe(&e)))?;
        let answer = JsFuture::from(answer)
            .await
            .map_err(|e| InTabError::Port(describe(&e)))?;
        channel.port1().close();
        Ok(answer)
    }

    /// The broker's sessions, subscriptions, retained messages and counters, as
    /// `{sessions, retained, counters}`.
    pub async fn inspect(&self) -> Result<JsValue, InTabError> {
        let message = Object::new();
        Reflect::set(&message, &"type".into(), &"inspect".into())
            .map_err(|e| InTabError::Port(describe(&e)))?;
        self.request(&message).await
    }

    /// Deletes the retained message on `topic`; whether there was one.
    pub async fn delete_retained(&self, topic: &str) -> Result<bool, InTabError> {
        let message = Object::new();
        for (key, value) in [("type", "deleteRetained"), ("topic", topic)] {
            Reflect::set(&message, &key.into(), &value.into())
                .map_err(|e| InTabError::Port(describe(&e)))?;
        }
        Ok(self.request(&message).await?.as_bool().unwrap_or(false))
    }

    /// Stops a dedicated worker and every connection in it. A shared broker belongs to
    /// every tab: this tab only lets go of it.
    pub fn terminate(&self) {
        match &self.control {
            Control::Dedicated(worker) => worker.terminate(),
            Control::Shared(port) => port.close(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tab_urls_are_read_as_the_core_reads_them() -> Result<(), InTabError> {
        let kept = parse_tab_url("tab://lab?shared&persist=indexeddb")?;
        assert!(kept.shared && kept.persist);
        assert_eq!(kept.worker_name(), "tabmq:lab:persist");
        for bad in [
            "tab://",
            "tab://a/b",
            "ws://lab",
            "tab://lab?sharing",
            "lab",
        ] {
            assert!(
                matches!(parse_tab_url(bad), Err(InTabError::BadUrl(_))),
                "{bad}"
            );
        }
        Ok(())
    }
}
