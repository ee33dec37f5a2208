//! wasm-bindgen glue for the npm package `tabmq` (see `web/npm/`): the worker client
//! (`RawClient`), the in-tab broker (`RawBroker`), the workers' entry point, and, with the
//! `bench` feature, the codec benchmark's entry points.
//!
//! Two builds ship: the client build, and the `broker` build that adds the broker core for
//! the in-tab broker's worker. A page using only `ws://` brokers loads the client build.

mod broker;
mod client;
#[cfg(feature = "bench")]
mod codec_bench;
mod errors;
mod options;
mod packets;
mod worker;

pub use broker::RawBroker;
pub use client::RawClient;
#[cfg(feature = "bench")]
pub use codec_bench::CodecBench;
pub use errors::{command_error, js_error};
pub use packets::{packet_to_js, properties_from_js, properties_to_js};
pub use worker::{serve_worker, set_worker_factory};
