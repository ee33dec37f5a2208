//! The client build's allocator: power-of-two size classes, each with a free list, over
//! memory grown page by page. It is a fraction of dlmalloc's code, and the client's
//! allocations (packets, buffers of the same few sizes, over and over) reuse blocks in
//! O(1). Blocks are never split or merged: memory stays at most twice the peak need per
//! size. The broker build, which lives longer with more varied sizes, keeps dlmalloc.

use core::alloc::{GlobalAlloc, Layout};
use core::cell::UnsafeCell;
use core::ptr::null_mut;

const PAGE: usize = 65_536;
/// 16 B to 2 GiB.
const CLASSES: usize = 32;
const SMALLEST: usize = 16;

struct Heap {
    free: [*mut u8; CLASSES],
    next: usize,
    end: usize,
}

pub struct ClassAllocator(UnsafeCell<Heap>);

// wasm32-unknown-unknown without the atomics feature runs one thread.
unsafe impl Sync for ClassAllocator {}

impl ClassAllocator {
    pub const fn new() -> ClassAllocator {
        ClassAllocator(UnsafeCell::new(Heap {
            free: [null_mut(); CLASSES],
            next: 0,
            end: 0,
        }))
    }
}

/// The size class of `layout`, whose blocks are `1 << class` bytes.
fn class_of(layout: Layout) -> usize {
    let size = layout.size().max(layout.align()).max(SMALLEST);
    size.next_power_of_two().trailing_zeros() as usize
}

unsafe impl GlobalAlloc for ClassAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let class = class_of(layout);
        // Blocks start at a multiple of their size, up to a page: any alignment up to that.
        if class >= CLASSES || layout.align() > PAGE {
            return null_mut();
        }
        let heap = &mut *self.0.get();
        let head = heap.free[class];
        if !head.is_null() {
            heap.free[class] = *(head as *mut *mut u8);
            return head;
        }
        let block = 1usize << class;
        let align = block.min(PAGE);
        let Some(start) = heap.next.checked_add(align - 1).map(|n| n & !(align - 1)) else {
            return null_mut();
        };
        let Some(end) = start.checked_add(block) else {
            return null_mut();
        };
        if end > heap.end {
            let pages = (end - heap.end).div_ceil(PAGE);
            let before = core::arch::wasm32::memory_grow(0, pages);
            if before == usize::MAX {
                return null_mut();
            }
            if before * PAGE != heap.end {
                // First use (the static data ends below): start on the new pages.
                heap.next = before * PAGE;
                heap.end = before * PAGE + pages * PAGE;
                return self.alloc(layout);
            }
            heap.end += pages * PAGE;
        }
        heap.next = end;
        start as *mut u8
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        let heap = &mut *self.0.get();
        let class = class_of(layout);
        *(ptr as *mut *mut u8) = heap.free[class];
        heap.free[class] = ptr;
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let Ok(grown) = Layout::from_size_align(new_size, layout.align()) else {
            return null_mut();
        };
        if class_of(grown) == class_of(layout) {
            return ptr;
        }
        let moved = self.alloc(grown);
        if !moved.is_null() {
            core::ptr::copy_nonoverlapping(ptr, moved, layout.size().min(new_size));
            self.dealloc(ptr, layout);
        }
        moved
    }
}
