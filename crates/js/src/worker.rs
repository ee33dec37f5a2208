//! The package's Web Worker entry points, and the hook that lets its JavaScript make the
//! workers (so bundlers see `new Worker(new URL(...))`).

use js_sys::Function;
use wasm_bindgen::prelude::*;

/// Runs this worker in the role its name gives it: the host of a page's clients, or (in
/// the broker build) a broker.
#[wasm_bindgen(js_name = serveWorker)]
pub fn serve_worker() {
    #[cfg(feature = "broker")]
    tabmq_worker::run();
    #[cfg(not(feature = "broker"))]
    tabmq_client::serve_clients();
}

/// `factory(shared, name, role)` makes every worker from now on; see
/// `tabmq_client::set_worker_factory`.
#[wasm_bindgen(js_name = setWorkerFactory)]
pub fn set_worker_factory(factory: Function) {
    tabmq_client::set_worker_factory(factory);
}
