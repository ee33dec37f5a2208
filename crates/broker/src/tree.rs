//! Subscriptions indexed by topic level, so routing a message walks the levels of its
//! topic instead of testing every subscription.

use crate::fast_hash::HashMap;

/// Who holds a subscription: the client id and the filter as subscribed (with its
/// `$share/GROUP/` prefix, if shared), which keys the session's subscription map.
pub(crate) type Subscriber = (String, String);

#[derive(Debug, Default)]
struct Node {
    children: Children,
    /// In the order they subscribed; exactly as long as it needs to be, as most filters
    /// have one or a few.
    subscribers: Vec<Subscriber>,
}

impl Node {
    fn is_empty(&self) -> bool {
        self.children.is_empty() && self.subscribers.is_empty()
    }

    fn shrink(&mut self) {
        self.children.shrink();
        self.subscribers.shrink_to_fit();
        for child in self.children.values_mut() {
            child.shrink();
        }
    }
}

/// Children past which a node indexes its children in a hash table.
const FEW: usize = 8;

/// A node's children by level. Most nodes have one or two (each level of a long filter
/// is a node), so they are a short vector, scanned; a node with many (a level of ids)
/// gets a hash table. A table per node cost ~1.4 KB per subscription.
#[derive(Debug)]
enum Children {
    Few(Vec<(Box<str>, Node)>),
    Many(HashMap<Box<str>, Node>),
}

impl Default for Children {
    fn default() -> Self {
        Children::Few(Vec::new())
    }
}

impl Children {
    fn is_empty(&self) -> bool {
        match self {
            Children::Few(v) => v.is_empty(),
            Children::Many(m) => m.is_empty(),
        }
    }

    fn get(&self, level: &str) -> Option<&Node> {
        match self {
            Children::Few(v) => v.iter().find(|(k, _)| &**k == level).map(|(_, n)| n),
            Children::Many(m) => m.get(level),
        }
    }

    fn get_mut(&mut self, level: &str) -> Option<&mut Node> {
        match self {
            Children::Few(v) => v.iter_mut().find(|(k, _)| &**k == level).map(|(_, n)| n),
            Children::Many(m) => m.get_mut(level),
        }
    }

    /// The child at `level`, made if missing.
    fn entry(&mut self, level: &str) -> &mut Node {
        if let Children::Few(v) = self {
            if v.len() >= FEW && !v.iter().any(|(k, _)| &**k == level) {
                let table = std::mem::take(v).into_iter().collect();
                *self = Children::Many(table);
            }
        }
        match self {
            Children::Few(v) => {
                let at = match v.iter().position(|(k, _)| &**k == level) {
                    Some(at) => at,
                    None => {
                        v.reserve_exact(1);
                        v.push((level.into(), Node::default()));
                        v.len() - 1
                    }
                };
                &mut v[at].1
            }
            Children::Many(m) => m.entry(level.into()).or_default(),
        }
    }

    fn remove(&mut self, level: &str) {
        match self {
            Children::Few(v) => v.retain(|(k, _)| &**k != level),
            Children::Many(m) => {
                m.remove(level);
                if m.len() <= FEW / 2 {
                    let few = std::mem::take(m).into_iter().collect();
                    *self = Children::Few(few);
                }
            }
        }
    }

    fn values_mut(&mut self) -> Box<dyn Iterator<Item = &mut Node> + '_> {
        match self {
            Children::Few(v) => Box::new(v.iter_mut().map(|(_, n)| n)),
            Children::Many(m) => Box::new(m.values_mut()),
        }
    }

    fn shrink(&mut self) {
        match self {
            Children::Few(v) => v.shrink_to_fit(),
            Children::Many(m) => m.shrink_to_fit(),
        }
    }
}

/// The topic tree: one node per filter level, `+` and `#` as ordinary children.
#[derive(Debug, Default)]
pub(crate) struct SubscriptionTree {
    root: Node,
    count: usize,
}

impl SubscriptionTree {
    /// Gives back what removed subscriptions left of the tables.
    pub fn shrink(&mut self) {
        self.root.shrink();
    }

    /// Subscriptions held.
    pub fn len(&self) -> usize {
        self.count
    }

    /// Adds `subscriber` under `filter` (the part after any `$share/GROUP/`).
    pub fn insert(&mut self, filter: &str, subscriber: Subscriber) {
        let mut node = &mut self.root;
        for level in filter.split('/') {
            node = node.children.entry(level);
        }
        if !node.subscribers.contains(&subscriber) {
            node.subscribers.reserve_exact(1);
            node.subscribers.push(subscriber);
            self.count += 1;
        }
    }

    /// Removes `subscriber` from under `filter`, and the nodes left empty.
    pub fn remove(&mut self, filter: &str, subscriber: &Subscriber) {
        let levels: Vec<&str> = filter.split('/').collect();
        if remove_from(&mut self.root, &levels, subscriber) {
            self.count -= 1;
        }
    }

    /// Every subscriber whose filter matches `topic`. A wildcard in the first level does
    /// not match a topic starting with `$` [MQTT-4.7.2-1].
    pub fn matches(&self, topic: &str) -> Vec<&Subscriber> {
        let levels: Vec<&str> = topic.split('/').collect();
        let mut out = Vec::new();
        collect(&self.root, &levels, topic.starts_with('$'), &mut out);
        out
    }
}

fn remove_from(node: &mut Node, levels: &[&str], subscriber: &Subscriber) -> bool {
    let Some((first, rest)) = levels.split_first() else {
        let Some(at) = node.subscribers.iter().position(|s| s == subscriber) else {
            return false;
        };
        node.subscribers.remove(at);
        if node.subscribers.capacity() > 2 * node.subscribers.len() + 4 {
            node.subscribers.shrink_to_fit();
        }
        return true;
    };
    let Some(child) = node.children.get_mut(first) else {
        return false;
    };
    let removed = remove_from(child, rest, subscriber);
    if child.is_empty() {
        node.children.remove(first);
    }
    removed
}

/// `dollar` is set only at the first level of a `$` topic, where wildcards do not apply.
fn collect<'a>(node: &'a Node, levels: &[&str], dollar: bool, out: &mut Vec<&'a Subscriber>) {
    if !dollar {
        // `#` also matches the parent level: `a/#` matches `a` [MQTT-4.7.1-2].
        if let Some(hash) = node.children.get("#") {
            out.extend(hash.subscribers.iter());
        }
    }
    let Some((first, rest)) = levels.split_first() else {
        out.extend(node.subscribers.iter());
        return;
    };
    if let Some(child) = node.children.get(first) {
        collect(child, rest, false, out);
    }
    if !dollar {
        if let Some(plus) = node.children.get("+") {
            collect(plus, rest, false, out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tabmq_core::topic_matches;

    fn sub(filter: &str) -> Subscriber {
        ("c".to_owned(), filter.to_owned())
    }

    fn matched(tree: &SubscriptionTree, topic: &str) -> Vec<String> {
        let mut found: Vec<String> = tree
            .matches(topic)
            .into_iter()
            .map(|s| s.1.clone())
            .collect();
        found.sort();
        found
    }

    const FILTERS: &[&str] = &[
        "#", "+", "a", "a/#", "a/+", "a/b", "a/+/c", "+/b", "+/+", "a/b/#", "$SYS/#", "$SYS/+",
        "/", "/+", "+/", "a//c", "a/+/#",
    ];
    const TOPICS: &[&str] = &[
        "a", "a/b", "a/b/c", "a/x/c", "b", "b/b", "$SYS/x", "$SYS", "/", "/a", "a/", "a//c", "",
        "$x/b",
    ];

    #[test]
    fn agrees_with_the_filter_matcher_everywhere() {
        let mut tree = SubscriptionTree::default();
        for f in FILTERS {
            tree.insert(f, sub(f));
        }
        for topic in TOPICS {
            let mut expected: Vec<String> = FILTERS
                .iter()
                .filter(|f| topic_matches(f, topic))
                .map(|f| f.to_string())
                .collect();
            expected.sort();
            assert_eq!(matched(&tree, topic), expected, "topic {topic:?}");
        }
    }

    #[test]
    fn mqtt_4_7_2_1_first_level_wildcards_skip_dollar_topics() {
        let mut tree = SubscriptionTree::default();
        for f in ["#", "+/x", "$SYS/#"] {
            tree.insert(f, sub(f));
        }
        assert_eq!(matched(&tree, "$SYS/x"), ["$SYS/#"]);
    }

    #[test]
    fn removing_prunes_and_counts() {
        let mut tree = SubscriptionTree::default();
        tree.insert("a/b/c", sub("a/b/c"));
        tree.insert("a/b/c", sub("a/b/c"));
        tree.insert("a/#", sub("a/#"));
        assert_eq!(tree.len(), 2);
        tree.remove("a/b/c", &sub("a/b/c"));
        tree.remove("a/b/c", &sub("a/b/c"));
        assert_eq!(tree.len(), 1);
        let a = tree.root.children.get("a");
        assert!(a.is_some_and(|a| a.children.get("b").is_none()));
        tree.remove("a/#", &sub("a/#"));
        assert!(tree.root.is_empty());
    }
}
