//! A map from packet id to a value, kept in insertion order.
//!
//! A session walks its entries in the order they were sent, and looks them up by id on
//! every acknowledgement. Both are logarithmic here: a client may hold tens of thousands
//! of unreleased QoS 2 ids, and a linear scan per packet made that quadratic.

use crate::prelude::*;
/// Packet id (as `u16`) to `V`, in insertion order.
///
/// The entries sit in one vector sorted by insertion sequence; a removal leaves a hole
/// that a later compaction closes. The id index is a small hash table of its own: a
/// `BTreeMap` or `HashMap` would add 6 KB gzip to the client's wasm.
#[derive(Debug, Clone)]
pub(crate) struct IdMap<V> {
    /// (sequence, id, value) by ascending sequence; `None` is a removed entry.
    entries: Vec<(u64, u16, Option<V>)>,
    /// Id to its sequence number.
    by_id: IdIndex,
    next: u64,
}

impl<V> Default for IdMap<V> {
    fn default() -> Self {
        IdMap {
            entries: Vec::new(),
            by_id: IdIndex::default(),
            next: 0,
        }
    }
}

impl<V: PartialEq> PartialEq for IdMap<V> {
    /// Equal when they hold the same entries in the same order.
    fn eq(&self, other: &Self) -> bool {
        self.len() == other.len() && self.iter().zip(other.iter()).all(|(a, b)| a == b)
    }
}

impl<V: Eq> Eq for IdMap<V> {}

impl<V> IdMap<V> {
    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }

    pub fn contains_key(&self, id: u16) -> bool {
        self.by_id.get(id).is_some()
    }

    /// Where `id`'s entry sits in `entries`.
    fn index(&self, id: u16) -> Option<usize> {
        let seq = self.by_id.get(id)?;
        let at = self.entries.partition_point(|(s, _, _)| *s < seq);
        (at < self.entries.len()).then_some(at)
    }

    pub fn get(&self, id: u16) -> Option<&V> {
        let at = self.index(id)?;
        self.entries[at].2.as_ref()
    }

    pub fn get_mut(&mut self, id: u16) -> Option<&mut V> {
        let at = self.index(id)?;
        self.entries[at].2.as_mut()
    }

    /// Sets `id`'s value; a new id goes last, a known one keeps its place.
    pub fn insert(&mut self, id: u16, value: V) {
        if let Some(v) = self.get_mut(id) {
            *v = value;
            return;
        }
        let seq = self.next;
        self.next += 1;
        self.by_id.insert(id, seq);
        self.entries.push((seq, id, Some(value)));
    }

    pub fn remove(&mut self, id: u16) -> Option<V> {
        let at = self.index(id)?;
        self.by_id.remove(id);
        let value = self.entries[at].2.take();
        // Holes are closed once they outnumber the entries, so each costs O(1) amortized.
        let holes = self.entries.len() - self.by_id.len();
        if holes > 8 && holes > self.by_id.len() {
            self.entries.retain(|(_, _, v)| v.is_some());
        }
        value
    }

    pub fn clear(&mut self) {
        self.entries.clear();
        self.by_id.clear();
    }

    /// Entries in insertion order.
    pub fn iter(&self) -> impl Iterator<Item = (u16, &V)> {
        self.entries
            .iter()
            .filter_map(|(_, id, v)| v.as_ref().map(|v| (*id, v)))
    }

    pub fn keys(&self) -> impl Iterator<Item = u16> + '_ {
        self.iter().map(|(id, _)| id)
    }

    pub fn values(&self) -> impl Iterator<Item = &V> {
        self.iter().map(|(_, v)| v)
    }

    /// Empties the map; its entries in insertion order.
    pub fn drain(&mut self) -> impl Iterator<Item = (u16, V)> + '_ {
        self.by_id.clear();
        self.entries
            .drain(..)
            .filter_map(|(_, id, v)| v.map(|v| (id, v)))
    }
}

/// Packet id to sequence number: open addressing with linear probing, at most half full,
/// with backward-shift deletion (no tombstones).
#[derive(Debug, Clone, Default)]
struct IdIndex {
    /// `None` is a free slot; the length is zero or a power of two.
    slots: Vec<Option<(u16, u64)>>,
    len: usize,
}

impl IdIndex {
    fn len(&self) -> usize {
        self.len
    }

    fn is_empty(&self) -> bool {
        self.len == 0
    }

    fn home(&self, id: u16) -> usize {
        // Fibonacci hashing spreads consecutive ids, which is what allocators hand out.
        (usize::from(id).wrapping_mul(40_503) >> 4) & (self.slots.len() - 1)
    }

    fn find(&self, id: u16) -> Option<usize> {
        if self.slots.is_empty() {
            return None;
        }
        let mask = self.slots.len() - 1;
        let mut at = self.home(id);
        while let Some((key, _)) = self.slots[at] {
            if key == id {
                return Some(at);
            }
            at = (at + 1) & mask;
        }
        None
    }

    fn get(&self, id: u16) -> Option<u64> {
        self.find(id)
            .and_then(|at| self.slots[at])
            .map(|(_, seq)| seq)
    }

    /// Inserts or replaces `id`.
    fn insert(&mut self, id: u16, seq: u64) {
        if (self.len + 1) * 2 > self.slots.len() {
            self.resize((self.slots.len() * 2).max(16));
        }
        let mask = self.slots.len() - 1;
        let mut at = self.home(id);
        loop {
            match self.slots[at] {
                Some((key, _)) if key != id => at = (at + 1) & mask,
                Some(_) => break,
                None => {
                    self.len += 1;
                    break;
                }
            }
        }
        self.slots[at] = Some((id, seq));
    }

    fn remove(&mut self, id: u16) {
        let Some(mut hole) = self.find(id) else {
            return;
        };
        self.slots[hole] = None;
        self.len -= 1;
        // Moves back each later entry of the run that may no longer be reached past the hole.
        let mask = self.slots.len() - 1;
        let mut at = (hole + 1) & mask;
        while let Some((key, seq)) = self.slots[at] {
            let home = self.home(key);
            // The entry stays if its home lies cyclically in (hole, at].
            let stays = if hole <= at {
                hole < home && home <= at
            } else {
                hole < home || home <= at
            };
            if !stays {
                self.slots[hole] = Some((key, seq));
                self.slots[at] = None;
                hole = at;
            }
            at = (at + 1) & mask;
        }
        if self.len * 8 < self.slots.len() && self.slots.len() > 16 {
            self.resize(self.slots.len() / 2);
        }
    }

    fn clear(&mut self) {
        *self = IdIndex::default();
    }

    fn resize(&mut self, capacity: usize) {
        let old = core::mem::replace(&mut self.slots, vec![None; capacity]);
        self.len = 0;
        for (id, seq) in old.into_iter().flatten() {
            self.insert(id, seq);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_keep_their_insertion_order_through_updates_and_removals() {
        let mut map = IdMap::default();
        for id in [5, 1, 9] {
            map.insert(id, id * 10);
        }
        map.insert(1, 11);
        assert_eq!(map.remove(5), Some(50));
        assert_eq!(map.remove(5), None);
        map.insert(5, 55);
        assert_eq!(
            map.iter().collect::<Vec<_>>(),
            [(1, &11), (9, &90), (5, &55)]
        );
        assert!(map.contains_key(9) && !map.contains_key(2));
        // Past the compaction threshold, order and lookups still hold.
        for id in 100..200 {
            map.insert(id, id);
        }
        for id in (100..200).filter(|id| id % 3 != 0) {
            assert_eq!(map.remove(id), Some(id));
        }
        let kept: Vec<u16> = map.keys().collect();
        let mut expected = vec![1, 9, 5];
        expected.extend((100..200).filter(|id| id % 3 == 0));
        assert_eq!(kept, expected);
        assert_eq!(map.get(150), Some(&150));
        map.insert(9, 99);
        assert_eq!(map.get(9), Some(&99));
        for id in (100..200).filter(|id| id % 3 == 0) {
            map.remove(id);
        }
        assert_eq!(map.drain().count(), 3);
        assert!(map.is_empty());
    }

    #[test]
    fn the_id_index_agrees_with_a_btree_map_through_seeded_inserts_and_removals() {
        let mut index = IdIndex::default();
        let mut model = alloc::collections::BTreeMap::new();
        let mut state: u32 = 0x2545_f491;
        for step in 0..200_000u64 {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            // Few distinct ids for collisions and long runs; phases of growth and of shrinking.
            let id = ((state % 700) as u16).wrapping_mul(if step % 3 == 0 { 97 } else { 1 });
            let grow = (step / 20_000) % 2 == 0;
            if state % 5 < if grow { 3 } else { 1 } {
                index.insert(id, step);
                model.insert(id, step);
            } else {
                index.remove(id);
                model.remove(&id);
            }
            assert_eq!(index.len(), model.len());
            let probe = (state >> 7) as u16 % 700;
            assert_eq!(index.get(probe), model.get(&probe).copied(), "step {step}");
        }
        for (id, seq) in &model {
            assert_eq!(index.get(*id), Some(*seq));
        }
    }

    #[test]
    fn a_removal_keeps_entries_whose_run_wraps_past_the_table_end() {
        let mut index = IdIndex::default();
        index.insert(0, 0);
        assert_eq!(index.slots.len(), 16);
        let homed = |home: usize| (1..u16::MAX).filter(move |id| index_home(*id) == home);
        // Three ids at home 15 fill slots 15, 0 and 1; one at home 0 goes to slot 2.
        index.remove(0);
        let last: Vec<u16> = homed(15).take(3).collect();
        let first = homed(0).next().unwrap_or_default();
        for (seq, id) in last.iter().chain([&first]).enumerate() {
            index.insert(*id, seq as u64);
        }
        index.remove(last[0]);
        assert_eq!(index.get(last[1]), Some(1));
        assert_eq!(index.get(last[2]), Some(2));
        assert_eq!(index.get(first), Some(3));
        index.remove(last[1]);
        assert_eq!(index.get(first), Some(3));
        assert_eq!(index.get(last[2]), Some(2));
        // An entry at its own home just past the end stays there when the end is freed.
        let mut index = IdIndex::default();
        let (end, start) = (last[0], homed(0).nth(1).unwrap_or_default());
        index.insert(end, 10);
        index.insert(start, 11);
        index.remove(end);
        assert_eq!(index.get(start), Some(11));
    }

    fn index_home(id: u16) -> usize {
        let index = IdIndex {
            slots: vec![None; 16],
            len: 0,
        };
        index.home(id)
    }
}
