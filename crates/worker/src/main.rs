//! The broker in a dedicated Web Worker.
//!
//! The page sends `{type: "connect"}` with a MessagePort transferred; each port is one
//! MQTT connection, carrying real packet bytes as transferable ArrayBuffers. The worker
//! posts `"ready"` before anything else, so the page knows when it may connect.

#[cfg(target_arch = "wasm32")]
mod host;

fn main() {
    #[cfg(target_arch = "wasm32")]
    host::start();
}
