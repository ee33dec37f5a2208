//! wasm-bindgen glue around the core. For now: the codec benchmark's entry points, which
//! keep the decoded packets inside wasm, as the client and broker do.

mod codec_bench;

pub use codec_bench::CodecBench;
