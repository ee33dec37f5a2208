//! Packet identifiers, shared by PUBLISH, SUBSCRIBE and UNSUBSCRIBE so that no two
//! operations in flight ever carry the same id.

use crate::packet::PacketId;

/// Hands out packet ids in turn, skipping those still in use.
#[derive(Debug, Clone, Default)]
pub struct PacketIdAllocator {
    last: u16,
    /// Sorted. Ids are taken in rising order and mostly freed oldest first, so inserts
    /// land at the end; a sorted vector is the smallest code for it in wasm.
    in_use: Vec<u16>,
}

/// All 65,535 packet ids are in flight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PacketIdsExhausted;

impl std::fmt::Display for PacketIdsExhausted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("all 65535 packet identifiers are in use")
    }
}

impl std::error::Error for PacketIdsExhausted {}

impl PacketIdAllocator {
    pub fn new() -> Self {
        Self::default()
    }

    /// An allocator that continues after `last`, with `in_use` taken.
    pub fn resume(last: u16, in_use: impl IntoIterator<Item = PacketId>) -> Self {
        let mut allocator = PacketIdAllocator {
            last,
            in_use: Vec::new(),
        };
        for id in in_use {
            if let Err(at) = allocator.in_use.binary_search(&id.get()) {
                allocator.in_use.insert(at, id.get());
            }
        }
        allocator
    }

    /// The id handed out last.
    pub fn last(&self) -> u16 {
        self.last
    }

    /// The next free id, now marked in use.
    pub fn allocate(&mut self) -> Result<PacketId, PacketIdsExhausted> {
        if self.in_use.len() >= usize::from(u16::MAX) {
            return Err(PacketIdsExhausted);
        }
        loop {
            self.last = self.last.checked_add(1).unwrap_or(1);
            if let Err(at) = self.in_use.binary_search(&self.last) {
                self.in_use.insert(at, self.last);
                if let Some(id) = PacketId::new(self.last) {
                    return Ok(id);
                }
            }
        }
    }

    /// Marks `id` free again; freeing a free id does nothing.
    pub fn free(&mut self, id: PacketId) {
        if let Ok(at) = self.in_use.binary_search(&id.get()) {
            self.in_use.remove(at);
        }
    }

    /// Whether `id` is in flight.
    pub fn is_in_use(&self, id: PacketId) -> bool {
        self.in_use.binary_search(&id.get()).is_ok()
    }

    /// How many ids are in flight.
    pub fn in_use(&self) -> usize {
        self.in_use.len()
    }
}
