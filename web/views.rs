//! The Explorer's entry point, a wasm module the lab's page imports on `?view=explorer`:
//! everything lives in the `tabmq-explorer` crate.

fn main() {
    tabmq_explorer::mount_explorer();
}
