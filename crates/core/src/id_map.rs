//! A map from packet id to a value, kept in insertion order.
//!
//! A session walks its entries in the order they were sent, and looks them up by id on
//! every acknowledgement. Both are logarithmic here: a client may hold tens of thousands
//! of unreleased QoS 2 ids, and a linear scan per packet made that quadratic.

use std::collections::BTreeMap;

/// Packet id (as `u16`) to `V`, in insertion order.
#[derive(Debug, Clone)]
pub(crate) struct IdMap<V> {
    /// Insertion sequence number to id.
    order: BTreeMap<u64, u16>,
    /// Id to its sequence number and value.
    by_id: BTreeMap<u16, (u64, V)>,
    next: u64,
}

impl<V> Default for IdMap<V> {
    fn default() -> Self {
        IdMap {
            order: BTreeMap::new(),
            by_id: BTreeMap::new(),
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
        self.by_id.contains_key(&id)
    }

    pub fn get(&self, id: u16) -> Option<&V> {
        self.by_id.get(&id).map(|(_, v)| v)
    }

    pub fn get_mut(&mut self, id: u16) -> Option<&mut V> {
        self.by_id.get_mut(&id).map(|(_, v)| v)
    }

    /// Sets `id`'s value; a new id goes last, a known one keeps its place.
    pub fn insert(&mut self, id: u16, value: V) {
        if let Some((_, v)) = self.by_id.get_mut(&id) {
            *v = value;
            return;
        }
        let seq = self.next;
        self.next += 1;
        self.order.insert(seq, id);
        self.by_id.insert(id, (seq, value));
    }

    pub fn remove(&mut self, id: u16) -> Option<V> {
        let (seq, value) = self.by_id.remove(&id)?;
        self.order.remove(&seq);
        Some(value)
    }

    pub fn clear(&mut self) {
        self.order.clear();
        self.by_id.clear();
    }

    /// Entries in insertion order.
    pub fn iter(&self) -> impl Iterator<Item = (u16, &V)> {
        self.order
            .values()
            .filter_map(|id| self.by_id.get(id).map(|(_, v)| (*id, v)))
    }

    pub fn keys(&self) -> impl Iterator<Item = u16> + '_ {
        self.order.values().copied()
    }

    pub fn values(&self) -> impl Iterator<Item = &V> {
        self.iter().map(|(_, v)| v)
    }

    /// Empties the map; its entries in insertion order.
    pub fn drain(&mut self) -> impl Iterator<Item = (u16, V)> + '_ {
        let order = std::mem::take(&mut self.order);
        let mut by_id = std::mem::take(&mut self.by_id);
        order
            .into_values()
            .filter_map(move |id| by_id.remove(&id).map(|(_, v)| (id, v)))
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
        assert_eq!(map.drain().count(), 3);
        assert!(map.is_empty());
    }
}
