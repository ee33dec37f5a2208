//! The worker binary trunk builds for the lab; the npm package calls [`tabmq_worker::run`]
//! from its own entry.

fn main() {
    tabmq_worker::run();
}
