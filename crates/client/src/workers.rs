//! Making the workers: the broker's and the one that hosts a page's clients.
//!
//! By default from a script URL. Bundlers (Vite, webpack 5) only find and bundle a worker
//! written as `new Worker(new URL('./w.js', import.meta.url), {type: 'module'})` in
//! JavaScript, so an embedder such as the npm package hands over a factory that does just
//! that, and the URL given here is then unused.

use js_sys::Function;
use std::cell::RefCell;
use wasm_bindgen::prelude::*;
use web_sys::{SharedWorker, Worker, WorkerOptions, WorkerType};

thread_local! {
    static FACTORY: RefCell<Option<Function>> = const { RefCell::new(None) };
}

/// From now on, workers come from `factory(shared, name, role)`: `shared` says whether a
/// SharedWorker is wanted, `name` is the worker's name, and `role` is `"broker"` or
/// `"clients"`. It must return a module Worker (or SharedWorker) given that name.
pub fn set_worker_factory(factory: Function) {
    FACTORY.with(|f| *f.borrow_mut() = Some(factory));
}

/// Options for a worker: an ES module, under `name` (which tells the worker its role).
fn module_options(name: &str) -> WorkerOptions {
    let options = WorkerOptions::new();
    options.set_type(WorkerType::Module);
    options.set_name(name);
    options
}

fn from_factory(shared: bool, name: &str, role: &str) -> Option<Result<JsValue, JsValue>> {
    let factory = FACTORY.with(|f| f.borrow().clone())?;
    Some(factory.call3(&JsValue::NULL, &shared.into(), &name.into(), &role.into()))
}

/// A dedicated module Worker named `name`, for `role`.
pub(crate) fn new_worker(script_url: &str, name: &str, role: &str) -> Result<Worker, JsValue> {
    match from_factory(false, name, role) {
        Some(made) => made?
            .dyn_into::<Worker>()
            .map_err(|_| JsValue::from("the worker factory did not return a Worker")),
        None => Worker::new_with_options(script_url, &module_options(name)),
    }
}

/// The SharedWorker named `name` (started, or joined if it runs), for `role`.
pub(crate) fn new_shared_worker(
    script_url: &str,
    name: &str,
    role: &str,
) -> Result<SharedWorker, JsValue> {
    match from_factory(true, name, role) {
        Some(made) => made?
            .dyn_into::<SharedWorker>()
            .map_err(|_| JsValue::from("the worker factory did not return a SharedWorker")),
        None => SharedWorker::new_with_worker_options(script_url, &module_options(name)),
    }
}
