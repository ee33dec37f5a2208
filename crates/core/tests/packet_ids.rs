//! The packet id allocator: one id space for PUBLISH, SUBSCRIBE and UNSUBSCRIBE.

#[cfg(target_arch = "wasm32")]
use wasm_bindgen_test::wasm_bindgen_test as test;
#[cfg(target_arch = "wasm32")]
wasm_bindgen_test::wasm_bindgen_test_configure!(run_in_browser);

use tabmq_core::{PacketIdAllocator, PacketIdsExhausted};

#[test]
fn skips_ids_in_use_and_wraps_past_zero() {
    let mut ids = PacketIdAllocator::new();
    let first = ids.allocate().unwrap();
    assert_eq!(first.get(), 1);
    for _ in 2..=u16::MAX {
        ids.allocate().unwrap();
    }
    assert_eq!(ids.allocate(), Err(PacketIdsExhausted));
    ids.free(first);
    assert_eq!(ids.allocate().unwrap().get(), 1, "wraps to 1, never 0");
    assert_eq!(ids.allocate(), Err(PacketIdsExhausted));
}
