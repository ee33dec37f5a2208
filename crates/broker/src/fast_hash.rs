//! The broker's hash maps and sets: std's, with foldhash's hasher in place of SipHash.
//!
//! Every packet looks up its connection, its session and its subscribers by id, and under
//! load SipHash took 15% of `tabmq broker`'s time (perf, 1 publisher to 1 subscriber at
//! QoS 2). foldhash is the hasher hashbrown itself defaults to; its `RandomState` is seeded
//! per process, so client ids chosen to collide in one broker do not collide in another.

pub(crate) type HashMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;
pub(crate) type HashSet<K> = std::collections::HashSet<K, foldhash::fast::RandomState>;
