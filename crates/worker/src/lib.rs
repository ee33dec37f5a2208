//! The tabmq Web Worker: the in-tab broker (named `tabmq:NAME[:persist]`), a dedicated
//! Worker for one tab or a SharedWorker that every tab of the origin shares. The page
//! sends `{type: "connect"}` with a MessagePort transferred; each port is one MQTT
//! connection, carrying real packet bytes as transferable ArrayBuffers. The worker posts
//! `"ready"` before anything else, so the page knows when it may connect; as a
//! SharedWorker it does this over each tab's control port. Then it names the Web Lock it
//! holds for its life (`broker-lock:NAME`), on the control and on each connection whose
//! `connect` named its page's lock (`pageLock`), which it waits on in turn: each side
//! learns so that the other is gone (see tabmq-client's `page_lock`).

#[cfg(target_arch = "wasm32")]
mod broker_host;
#[cfg(target_arch = "wasm32")]
mod inspector_port;

/// Starts the broker.
pub fn run() {
    #[cfg(target_arch = "wasm32")]
    broker_host::start();
}
