//! A map from packet id to a value, kept in insertion order in one vector.
//!
//! A client or broker session holds few entries (the in-flight window), and walks them in
//! the order they were sent: a scan of a short vector beats a tree or a hash table there,
//! and costs the wasm build a fraction of their code.

/// Packet id (as `u16`) to `V`, in insertion order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct IdMap<V> {
    entries: Vec<(u16, V)>,
}

impl<V> Default for IdMap<V> {
    fn default() -> Self {
        IdMap {
            entries: Vec::new(),
        }
    }
}

impl<V> IdMap<V> {
    fn position(&self, id: u16) -> Option<usize> {
        self.entries.iter().position(|(k, _)| *k == id)
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn contains_key(&self, id: u16) -> bool {
        self.position(id).is_some()
    }

    pub fn get(&self, id: u16) -> Option<&V> {
        self.position(id).map(|i| &self.entries[i].1)
    }

    pub fn get_mut(&mut self, id: u16) -> Option<&mut V> {
        self.position(id).map(|i| &mut self.entries[i].1)
    }

    /// Sets `id`'s value; a new id goes last, a known one keeps its place.
    pub fn insert(&mut self, id: u16, value: V) {
        match self.position(id) {
            Some(i) => self.entries[i].1 = value,
            None => self.entries.push((id, value)),
        }
    }

    pub fn remove(&mut self, id: u16) -> Option<V> {
        self.position(id).map(|i| self.entries.remove(i).1)
    }

    pub fn clear(&mut self) {
        self.entries.clear();
    }

    /// Entries in insertion order.
    pub fn iter(&self) -> impl Iterator<Item = (u16, &V)> {
        self.entries.iter().map(|(k, v)| (*k, v))
    }

    pub fn keys(&self) -> impl Iterator<Item = u16> + '_ {
        self.entries.iter().map(|(k, _)| *k)
    }

    pub fn values(&self) -> impl Iterator<Item = &V> {
        self.entries.iter().map(|(_, v)| v)
    }

    /// Empties the map; its entries in insertion order.
    pub fn drain(&mut self) -> impl Iterator<Item = (u16, V)> + '_ {
        self.entries.drain(..)
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
