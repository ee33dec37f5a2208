//! The demo page's entry point: everything lives in the `tabmq-app` crate.

fn main() {
    tabmq_app::mount();
}
