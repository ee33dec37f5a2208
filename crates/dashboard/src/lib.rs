//! The data model behind the lab's Explorer and Dashboard views, kept apart from Leptos so
//! that any view (or a test) can drive it: messages and `now` go in, what to draw and what
//! to store come out.
//!
//! - [`TopicTree`]: every topic seen on a filter, with counts, rates, the last value, the
//!   retained flag and the stale mark ([`Cadence`]).
//! - [`JsonPath`]: a numeric field picked out of a JSON payload (`$.sensors[0].value`).
//! - [`payload`]: a payload shown as text, JSON, hex, base64 or Sparkplug B.
//! - [`History`]: numeric points per series, bounded by count and age, with the storage
//!   operations a shell replays into IndexedDB, and [`downsample`] for drawing.
//!
//! Times are milliseconds since the Unix epoch, passed in by the caller: history outlives
//! the page, so it needs the wall clock, and every decision here is a difference of two
//! such times that saturates when the clock steps back.

pub mod board;
mod cadence;
mod history;
mod json_path;
pub mod payload;
mod rate;
mod readings;
pub mod series;
pub mod sparkplug;
mod topic_tree;

pub use board::{Board, BoardError, Widget, WidgetKind};
pub use cadence::{Cadence, STALE_AFTER_INTERVALS};
pub use history::{downsample, History, HistoryLimits, Point, StoreOp};
pub use json_path::{JsonPath, PathError, Step};
pub use rate::RateWindow;
pub use readings::{Incoming, Reading, Readings, MAX_READINGS};
pub use series::{key_topic, SeriesSpec, SpecError};
pub use topic_tree::{Message, Node, NodeId, TopicStats, TopicTree, TreeLimits};
