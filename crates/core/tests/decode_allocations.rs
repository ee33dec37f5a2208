//! Reading a PUBLISH allocates nothing: its topic and payload are slices of the frame that
//! brought it. A broker reads every message it routes through here, so an allocation per
//! PUBLISH would be paid on its hot path.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use tabmq_core::{decode, encode, BytesMut, Packet, PacketId, ProtocolVersion, Publish, QoS};

/// The system allocator, counting the allocations made on the current thread (the test
/// harness allocates on others).
struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<usize> = const { Cell::new(0) };
}

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.with(|n| n.set(n.get() + 1));
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.with(|n| n.set(n.get() + 1));
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations() -> usize {
    ALLOCATIONS.with(Cell::get)
}

fn stream(version: ProtocolVersion, count: u16) -> BytesMut {
    let mut out = BytesMut::new();
    for i in 1..=count {
        let publish = Publish {
            qos: if i % 2 == 0 {
                QoS::AtLeastOnce
            } else {
                QoS::AtMostOnce
            },
            topic: format!("home/room-{}/temperature", i % 7).into(),
            packet_id: (i % 2 == 0).then_some(PacketId::new(i).expect("i starts at 1")),
            payload: vec![i as u8; 64].into(),
            ..Publish::default()
        };
        encode(&Packet::Publish(publish), version, &mut out).expect("a valid PUBLISH encodes");
    }
    out
}

#[test]
fn decoding_a_publish_allocates_nothing_and_shares_the_frame() {
    for version in [ProtocolVersion::V311, ProtocolVersion::V5] {
        let mut buf = stream(version, 500);
        let start = buf.as_ptr() as usize;
        let range = start..start + buf.len();
        // The first split turns the buffer into a shared one: one allocation per buffer,
        // not per packet.
        let first = decode(&mut buf, version, 1 << 20).expect("decodes");
        assert!(matches!(first, Some(Packet::Publish(_))));
        let before = allocations();
        let mut seen = 0;
        while let Some(packet) = decode(&mut buf, version, 1 << 20).expect("decodes") {
            let Packet::Publish(p) = packet else {
                panic!("{version:?}: not a PUBLISH: {packet:?}");
            };
            // Both fields point into the buffer the frames arrived in.
            assert!(range.contains(&(p.topic.as_bytes().as_ptr() as usize)));
            assert!(range.contains(&(p.payload.as_ptr() as usize)));
            assert!(p.topic.starts_with("home/room-"));
            assert_eq!(p.payload.len(), 64);
            seen += 1;
        }
        let made = allocations() - before;
        assert_eq!(seen, 499, "{version:?}");
        assert_eq!(
            made, 0,
            "{version:?}: {made} allocations decoding {seen} PUBLISHes"
        );
    }
}

#[test]
fn the_counter_sees_allocations() {
    // Without this, a counter that never counts would pass the test above.
    let before = allocations();
    let topic = String::from("a/b");
    std::hint::black_box(&topic);
    assert!(allocations() > before);
}
