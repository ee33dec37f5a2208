//! Every topic seen on a filter, as a tree of its levels, with what an explorer shows on
//! each node: message counts (its own and its subtree's), the rate, the last values, the
//! retained flag and whether it has gone stale.
//!
//! Bounded whatever the traffic: the nodes by [`TreeLimits::max_nodes`], each topic's
//! recent messages by count, and their payloads by a byte budget past which only a short
//! head of each new payload is kept.

use crate::cadence::Cadence;
use crate::rate::RateWindow;
use std::collections::{BTreeMap, VecDeque};

/// A node's place in its tree.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NodeId(u32);

impl NodeId {
    /// The tree's root, above the first level: it names no level itself.
    pub const ROOT: NodeId = NodeId(0);

    fn index(self) -> usize {
        self.0 as usize
    }

    /// A number for the node, unique in its tree for the tree's life (a DOM id).
    pub fn as_u32(self) -> u32 {
        self.0
    }
}

/// How much a tree keeps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TreeLimits {
    /// Nodes in all (levels, not only topics): a message that would need more is counted in
    /// [`TopicTree::refused`] and not kept.
    pub max_nodes: usize,
    /// Messages kept per topic for its history view.
    pub recent_per_topic: usize,
    /// Payload bytes kept across all topics' recent messages.
    pub payload_budget: usize,
    /// Bytes kept of each payload once the budget is spent, and the topic keeps only its
    /// last message.
    pub head_over_budget: usize,
}

impl Default for TreeLimits {
    fn default() -> TreeLimits {
        TreeLimits {
            max_nodes: 100_000,
            recent_per_topic: 50,
            payload_budget: 32 << 20,
            head_over_budget: 256,
        }
    }
}

/// One message as a topic's history keeps it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    pub at_ms: u64,
    /// The payload, or its head when the budget was spent: see `full_len`.
    pub payload: Vec<u8>,
    pub full_len: usize,
    pub retain: bool,
    pub qos: u8,
}

/// What is known of one topic, a node a message was published to.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TopicStats {
    pub messages: u64,
    pub first_at_ms: u64,
    pub last_at_ms: u64,
    /// Whether the broker holds a retained message here, as far as this client has seen:
    /// set by a message delivered as retained (on subscribing, or live under MQTT 5's
    /// Retain As Published), cleared by an empty payload (how a retained message is
    /// deleted, and how the broker passes the deletion on).
    pub retained: bool,
    recent: VecDeque<Message>,
    cadence: Cadence,
    rate: RateWindow,
}

impl TopicStats {
    /// Recent messages, oldest first; the last one is the current value.
    pub fn recent(&self) -> &VecDeque<Message> {
        &self.recent
    }

    pub fn last(&self) -> Option<&Message> {
        self.recent.back()
    }

    pub fn per_second(&self, now_ms: u64) -> f64 {
        self.rate.per_second(now_ms)
    }

    pub fn cadence(&self) -> &Cadence {
        &self.cadence
    }

    /// Silent for more than three of its usual intervals.
    pub fn is_stale(&self, now_ms: u64) -> bool {
        self.cadence.is_stale(now_ms)
    }

    /// How long since the last message.
    pub fn age_ms(&self, now_ms: u64) -> u64 {
        now_ms.saturating_sub(self.last_at_ms)
    }
}

/// One level of the tree.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Node {
    name: String,
    parent: Option<NodeId>,
    children: BTreeMap<String, NodeId>,
    topic: Option<TopicStats>,
    subtree_messages: u64,
    subtree_topics: u64,
}

impl Node {
    /// This level's name (may be empty: `a//b` and `/a` have empty levels).
    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn parent(&self) -> Option<NodeId> {
        self.parent
    }

    /// Children, by name.
    pub fn children(&self) -> impl ExactSizeIterator<Item = NodeId> + '_ {
        self.children.values().copied()
    }

    pub fn has_children(&self) -> bool {
        !self.children.is_empty()
    }

    /// The topic's statistics, if a message was published to exactly this node.
    pub fn topic(&self) -> Option<&TopicStats> {
        self.topic.as_ref()
    }

    /// Messages on this node and below.
    pub fn subtree_messages(&self) -> u64 {
        self.subtree_messages
    }

    /// Topics at this node and below.
    pub fn subtree_topics(&self) -> u64 {
        self.subtree_topics
    }
}

/// The tree of topics.
#[derive(Clone, Debug)]
pub struct TopicTree {
    nodes: Vec<Node>,
    limits: TreeLimits,
    payload_bytes: usize,
    refused: u64,
    version: u64,
}

impl Default for TopicTree {
    fn default() -> TopicTree {
        TopicTree::new(TreeLimits::default())
    }
}

impl TopicTree {
    pub fn new(limits: TreeLimits) -> TopicTree {
        TopicTree {
            nodes: vec![Node::default()],
            limits,
            payload_bytes: 0,
            refused: 0,
            version: 0,
        }
    }

    /// Forgets everything (a new filter, a new broker).
    pub fn clear(&mut self) {
        *self = TopicTree::new(self.limits);
    }

    /// Takes one message. Returns its topic's node, or `None` if the tree is full (counted
    /// in [`TopicTree::refused`]).
    pub fn insert(
        &mut self,
        topic: &str,
        payload: &[u8],
        retain: bool,
        qos: u8,
        at_ms: u64,
    ) -> Option<NodeId> {
        let id = self.node_for(topic)?;
        self.version += 1;
        let limits = self.limits;
        let over_budget = self.payload_bytes.saturating_add(payload.len()) > limits.payload_budget;
        let kept = if over_budget {
            &payload[..payload.len().min(limits.head_over_budget)]
        } else {
            payload
        };
        let new_topic = self.nodes[id.index()].topic.is_none();
        let stats = self.nodes[id.index()]
            .topic
            .get_or_insert_with(|| TopicStats {
                first_at_ms: at_ms,
                ..TopicStats::default()
            });
        stats.messages += 1;
        stats.last_at_ms = stats.last_at_ms.max(at_ms);
        stats.rate.record(at_ms);
        // A topic's first message, when retained, is the one the broker held when the
        // subscription began: old news, whose arrival says nothing of the topic's rhythm.
        // Later retained messages (with Retain As Published) are live.
        if !(retain && new_topic) {
            stats.cadence.observe(at_ms);
        }
        if retain {
            stats.retained = true;
        }
        if payload.is_empty() {
            stats.retained = false;
        }
        stats.recent.push_back(Message {
            at_ms,
            payload: kept.to_vec(),
            full_len: payload.len(),
            retain,
            qos,
        });
        let mut freed = 0;
        let keep = if over_budget {
            1
        } else {
            limits.recent_per_topic.max(1)
        };
        while stats.recent.len() > keep {
            if let Some(old) = stats.recent.pop_front() {
                freed += old.payload.len();
            }
        }
        self.payload_bytes = (self.payload_bytes + kept.len()).saturating_sub(freed);
        let mut at = Some(id);
        while let Some(n) = at {
            let node = &mut self.nodes[n.index()];
            node.subtree_messages += 1;
            node.subtree_topics += u64::from(new_topic);
            at = node.parent;
        }
        Some(id)
    }

    /// The node of `topic`, made (with any missing levels) if there is room.
    fn node_for(&mut self, topic: &str) -> Option<NodeId> {
        let mut at = NodeId::ROOT;
        let mut levels = topic.split('/');
        for level in levels.by_ref() {
            match self.nodes[at.index()].children.get(level) {
                Some(child) => at = *child,
                None => {
                    let missing = 1 + levels.clone().count();
                    if self.nodes.len() + missing > self.limits.max_nodes {
                        self.refused += 1;
                        return None;
                    }
                    at = self.add_child(at, level);
                    for rest in levels.by_ref() {
                        at = self.add_child(at, rest);
                    }
                    return Some(at);
                }
            }
        }
        Some(at)
    }

    fn add_child(&mut self, parent: NodeId, name: &str) -> NodeId {
        // max_nodes is far below u32::MAX, checked by the caller.
        let id = NodeId(self.nodes.len() as u32);
        self.nodes.push(Node {
            name: name.to_owned(),
            parent: Some(parent),
            ..Node::default()
        });
        self.nodes[parent.index()]
            .children
            .insert(name.to_owned(), id);
        id
    }

    pub fn node(&self, id: NodeId) -> Option<&Node> {
        self.nodes.get(id.index())
    }

    pub fn root(&self) -> &Node {
        &self.nodes[0]
    }

    /// The node of `topic`, if it was seen (as a topic or as a level of one).
    pub fn find(&self, topic: &str) -> Option<NodeId> {
        topic.split('/').try_fold(NodeId::ROOT, |at, level| {
            self.nodes[at.index()].children.get(level).copied()
        })
    }

    /// The topic a node stands for: its levels from the root, joined by `/`.
    pub fn topic_of(&self, id: NodeId) -> String {
        let mut levels = Vec::new();
        let mut at = Some(id);
        while let Some(n) = at.filter(|n| *n != NodeId::ROOT) {
            let Some(node) = self.node(n) else { break };
            levels.push(node.name.as_str());
            at = node.parent;
        }
        levels.reverse();
        levels.join("/")
    }

    /// Every topic at `id` and below that holds a retained message: what a recursive
    /// delete publishes an empty retained message to.
    pub fn retained_under(&self, id: NodeId) -> Vec<String> {
        let mut out = Vec::new();
        let mut stack = vec![id];
        while let Some(n) = stack.pop() {
            let Some(node) = self.node(n) else { continue };
            if node.topic.as_ref().is_some_and(|t| t.retained) {
                out.push(self.topic_of(n));
            }
            stack.extend(node.children.values().rev());
        }
        out
    }

    /// The broker has no retained message on `topic` any more (this client deleted it).
    pub fn clear_retained(&mut self, topic: &str) {
        if let Some(stats) = self
            .find(topic)
            .and_then(|id| self.nodes[id.index()].topic.as_mut())
        {
            stats.retained = false;
            self.version += 1;
        }
    }

    /// Topics seen.
    pub fn topics(&self) -> u64 {
        self.nodes[0].subtree_topics
    }

    /// Messages taken.
    pub fn messages(&self) -> u64 {
        self.nodes[0].subtree_messages
    }

    /// Nodes, the root included.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.nodes.len() == 1
    }

    /// Messages not kept because the tree was full.
    pub fn refused(&self) -> u64 {
        self.refused
    }

    /// Payload bytes held in the topics' recent messages.
    pub fn payload_bytes(&self) -> usize {
        self.payload_bytes
    }

    /// Changes with every message taken: a view redraws when it has moved.
    pub fn version(&self) -> u64 {
        self.version
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_flow_up_the_levels() -> Result<(), Box<dyn std::error::Error>> {
        let mut t = TopicTree::default();
        for (i, topic) in [
            "home/kitchen/temp",
            "home/kitchen/hum",
            "home/bedroom/temp",
            "home/kitchen/temp",
        ]
        .iter()
        .enumerate()
        {
            t.insert(topic, b"1", false, 0, i as u64 * 100);
        }
        let home = t.find("home").ok_or("missing")?;
        let kitchen = t.find("home/kitchen").ok_or("missing")?;
        assert_eq!(t.node(home).ok_or("missing")?.subtree_messages(), 4);
        assert_eq!(t.node(home).ok_or("missing")?.subtree_topics(), 3);
        assert_eq!(t.node(kitchen).ok_or("missing")?.subtree_messages(), 3);
        assert!(t.node(kitchen).ok_or("missing")?.topic().is_none());
        let names: Vec<&str> = t
            .node(home)
            .ok_or("missing")?
            .children()
            .filter_map(|c| t.node(c).map(Node::name))
            .collect();
        assert_eq!(names, ["bedroom", "kitchen"]);
        assert_eq!(
            t.topic_of(t.find("home/kitchen/temp").ok_or("missing")?),
            "home/kitchen/temp"
        );
        assert_eq!(
            t.topic_of(t.find("home/kitchen/temp").ok_or("missing")?),
            "home/kitchen/temp"
        );
        Ok(())
    }

    #[test]
    fn retained_flags_and_the_recursive_list() -> Result<(), Box<dyn std::error::Error>> {
        let mut t = TopicTree::default();
        t.insert("a/b", b"x", true, 0, 0);
        t.insert("a/b/c", b"y", true, 0, 0);
        t.insert("a/d", b"z", false, 0, 0);
        t.insert("e", b"w", true, 0, 0);
        let a = t.find("a").ok_or("missing")?;
        assert_eq!(t.retained_under(a), ["a/b", "a/b/c"]);
        t.insert("a/b/c", b"", false, 0, 1);
        assert_eq!(t.retained_under(a), ["a/b"]);
        t.clear_retained("a/b");
        assert!(t.retained_under(NodeId::ROOT) == ["e"]);
        Ok(())
    }

    #[test]
    fn full_trees_refuse_and_budgets_cut_payloads() -> Result<(), Box<dyn std::error::Error>> {
        let mut t = TopicTree::new(TreeLimits {
            max_nodes: 4,
            recent_per_topic: 3,
            payload_budget: 10,
            head_over_budget: 2,
        });
        assert!(t.insert("a/b/c", b"12345", false, 0, 0).is_some());
        assert!(t.insert("a/x", b"", false, 0, 0).is_none());
        assert_eq!(t.refused(), 1);
        t.insert("a/b/c", b"12345", false, 0, 1);
        t.insert("a/b/c", b"12345", false, 0, 2);
        let stats = t
            .node(t.find("a/b/c").ok_or("missing")?)
            .ok_or("missing")?
            .topic()
            .ok_or("missing")?;
        assert_eq!(stats.recent().len(), 1);
        assert_eq!(stats.last().ok_or("missing")?.payload, b"12");
        assert_eq!(stats.last().ok_or("missing")?.full_len, 5);
        assert!(t.payload_bytes() <= 10);
        Ok(())
    }
}
