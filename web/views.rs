//! The data views' entry point, a wasm module the lab's page imports on `?view=explorer`
//! or `?view=dashboard`:
//! everything lives in the `tabmq-data-views` crate.

fn main() {
    tabmq_data_views::mount();
}
