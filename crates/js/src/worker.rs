//! The in-tab broker's Web Worker entry point (the `broker` build).

use wasm_bindgen::prelude::*;

/// Runs this worker as the broker its name gives (`tabmq:NAME[:persist]`).
#[wasm_bindgen(js_name = serveWorker)]
pub fn serve_worker() {
    tabmq_worker::run();
}
