//! Packet identifiers, shared by PUBLISH, SUBSCRIBE and UNSUBSCRIBE so that no two
//! operations in flight ever carry the same id.

use crate::packet::PacketId;
use crate::prelude::*;

/// Hands out packet ids in turn, skipping those still in use.
#[derive(Debug, Clone, Default)]
pub struct PacketIdAllocator {
    last: u16,
    /// Ids in use. Up to [`SMALL`] of them, a sorted vector, which keeps an idle session
    /// small; past that, a bitmap of one bit per id (8 KiB), where taking and freeing an
    /// id costs the same at any count, so thousands in flight stay linear overall.
    in_use: InUse,
}

/// Ids in use up to which a sorted vector holds them.
const SMALL: usize = 64;

#[derive(Debug, Clone, Default)]
enum InUse {
    #[default]
    None,
    Few(Vec<u16>),
    Many {
        bits: Box<[u64; 1024]>,
        count: usize,
    },
}

impl InUse {
    fn len(&self) -> usize {
        match self {
            InUse::None => 0,
            InUse::Few(v) => v.len(),
            InUse::Many { count, .. } => *count,
        }
    }

    fn contains(&self, id: u16) -> bool {
        match self {
            InUse::None => false,
            InUse::Few(v) => v.binary_search(&id).is_ok(),
            InUse::Many { bits, .. } => bits[usize::from(id / 64)] & (1 << (id % 64)) != 0,
        }
    }

    /// Marks `id`; false if it was marked already.
    fn insert(&mut self, id: u16) -> bool {
        match self {
            InUse::None => {
                *self = InUse::Few(vec![id]);
                true
            }
            InUse::Few(v) => match v.binary_search(&id) {
                Ok(_) => false,
                Err(at) if v.len() < SMALL => {
                    v.insert(at, id);
                    true
                }
                Err(_) => {
                    let mut bits = Box::new([0u64; 1024]);
                    for &old in v.iter() {
                        bits[usize::from(old / 64)] |= 1 << (old % 64);
                    }
                    bits[usize::from(id / 64)] |= 1 << (id % 64);
                    *self = InUse::Many {
                        bits,
                        count: v.len() + 1,
                    };
                    true
                }
            },
            InUse::Many { bits, count } => {
                let word = &mut bits[usize::from(id / 64)];
                let bit = 1 << (id % 64);
                if *word & bit != 0 {
                    return false;
                }
                *word |= bit;
                *count += 1;
                true
            }
        }
    }

    fn remove(&mut self, id: u16) {
        match self {
            InUse::None => {}
            InUse::Few(v) => {
                if let Ok(at) = v.binary_search(&id) {
                    v.remove(at);
                }
                if v.is_empty() {
                    *self = InUse::None;
                }
            }
            InUse::Many { bits, count } => {
                let word = &mut bits[usize::from(id / 64)];
                let bit = 1 << (id % 64);
                if *word & bit != 0 {
                    *word &= !bit;
                    *count -= 1;
                }
                if *count == 0 {
                    *self = InUse::None;
                }
            }
        }
    }
}

/// All 65,535 packet ids are in flight.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PacketIdsExhausted;

impl core::fmt::Display for PacketIdsExhausted {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("all 65535 packet identifiers are in use")
    }
}

impl core::error::Error for PacketIdsExhausted {}

impl PacketIdAllocator {
    pub fn new() -> Self {
        Self::default()
    }

    /// An allocator that continues after `last`, with `in_use` taken.
    pub fn resume(last: u16, in_use: impl IntoIterator<Item = PacketId>) -> Self {
        let mut allocator = PacketIdAllocator {
            last,
            in_use: InUse::None,
        };
        for id in in_use {
            allocator.in_use.insert(id.get());
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
            if self.in_use.insert(self.last) {
                if let Some(id) = PacketId::new(self.last) {
                    return Ok(id);
                }
            }
        }
    }

    /// Marks `id` free again; freeing a free id does nothing.
    pub fn free(&mut self, id: PacketId) {
        self.in_use.remove(id.get());
    }

    /// Whether `id` is in flight.
    pub fn is_in_use(&self, id: PacketId) -> bool {
        self.in_use.contains(id.get())
    }

    /// How many ids are in flight.
    pub fn in_use(&self) -> usize {
        self.in_use.len()
    }
}
