//! The tabmq Web Worker. By its name it is either:
//! - a broker (`tabmq:NAME[:persist]`): a dedicated Worker for one tab, or a SharedWorker
//!   that every tab of the origin shares. The page sends `{type: "connect"}` with a
//!   MessagePort transferred; each port is one MQTT connection, carrying real packet bytes
//!   as transferable ArrayBuffers. The worker posts `"ready"` before anything else, so the
//!   page knows when it may connect; as a SharedWorker it does this over each tab's
//!   control port.
//! - the host of a page's clients (`tabmq-clients`), so that their keepalive and
//!   reconnect timers run off the page's main thread (see `tabmq_client::WorkerClient`).

#[cfg(target_arch = "wasm32")]
mod broker_host;
#[cfg(target_arch = "wasm32")]
mod inspector_port;

/// Starts this worker in the role its name gives it.
pub fn run() {
    #[cfg(target_arch = "wasm32")]
    {
        let name = js_sys::Reflect::get(&js_sys::global(), &"name".into())
            .ok()
            .and_then(|n| n.as_string());
        if name.as_deref() == Some(tabmq_client::CLIENT_WORKER_NAME) {
            tabmq_client::serve_clients();
        } else {
            broker_host::start();
        }
    }
}
