//! wasm-bindgen glue for the npm package `tabmq` (see `web/npm/`): the client (`Client`,
//! the core's connection policy and engine, driven by the package's I/O shell), and, with the
//! `broker` feature, the in-tab broker's worker entry (`serveWorker`); with the `bench`
//! feature, the codec benchmark's entry points.
//!
//! Two builds ship. The client build holds only the core's codec and engine: sockets,
//! timers and workers are JavaScript's, which costs the page no wasm for them. The
//! `broker` build adds the broker core for the in-tab broker's worker.

// The npm client's build (feature `npm-client`, which `cargo xtask npm` builds alone) is
// `no_std`: its panics (there should be none) trap without the formatting machinery `std`'s
// panic handler carries, 2.4 KB of the gzipped wasm. Every other build (the broker's, the
// benchmark's, a workspace build whose other crates turn on `wasm-bindgen/std`) keeps `std`.
#![cfg_attr(
    all(
        target_arch = "wasm32",
        feature = "npm-client",
        not(test),
        not(feature = "broker"),
        not(feature = "bench")
    ),
    no_std
)]

extern crate alloc;

mod client_for_js;
#[cfg(feature = "bench")]
mod codec_bench;
mod errors;
#[cfg(all(target_arch = "wasm32", not(feature = "broker")))]
mod heap;
mod js_object;
mod options;
mod packets;
#[cfg(feature = "broker")]
mod worker;

pub use client_for_js::Client;
#[cfg(feature = "bench")]
pub use codec_bench::CodecBench;
pub use errors::{client_error, invalid, js_error};
pub use options::read_client_options;
pub use packets::{packet_to_js, properties_from_js, properties_to_js};
#[cfg(feature = "broker")]
pub use worker::serve_worker;

#[cfg(all(
    target_arch = "wasm32",
    feature = "npm-client",
    not(test),
    not(feature = "broker"),
    not(feature = "bench")
))]
#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    core::arch::wasm32::unreachable()
}

#[cfg(all(target_arch = "wasm32", not(feature = "broker")))]
#[global_allocator]
static ALLOCATOR: heap::ClassAllocator = heap::ClassAllocator::new();
