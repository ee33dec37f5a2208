//! Making the in-tab broker's workers from the worker entry script's URL, as ES modules
//! whose name tells the broker its name.

use wasm_bindgen::prelude::*;
use web_sys::{SharedWorker, Worker, WorkerOptions, WorkerType};

/// Options for a worker: an ES module, under `name` (which tells the worker its role).
fn module_options(name: &str) -> WorkerOptions {
    let options = WorkerOptions::new();
    options.set_type(WorkerType::Module);
    options.set_name(name);
    options
}

/// A dedicated module Worker named `name`.
pub(crate) fn new_worker(script_url: &str, name: &str) -> Result<Worker, JsValue> {
    Worker::new_with_options(script_url, &module_options(name))
}

/// The SharedWorker named `name` (started, or joined if it runs).
pub(crate) fn new_shared_worker(script_url: &str, name: &str) -> Result<SharedWorker, JsValue> {
    SharedWorker::new_with_worker_options(script_url, &module_options(name))
}
