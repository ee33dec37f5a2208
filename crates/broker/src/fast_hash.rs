//! The broker's hash maps and sets: std's, with foldhash's hasher in place of SipHash
//! natively.
//!
//! Every packet looks up its connection, its session and its subscribers by id, and under
//! load SipHash took 15% of `tabmq broker`'s time (perf, 1 publisher to 1 subscriber at
//! QoS 2). foldhash is the hasher hashbrown itself defaults to; its `RandomState` is seeded
//! per process, so client ids chosen to collide in one broker do not collide in another.
//! In the browser the in-tab broker keeps std's hasher: its pace is set by postMessage, not
//! by hashing, and a second hasher would be code every page downloads (the lab's first
//! load is held to 400 KB).

#[cfg(not(target_arch = "wasm32"))]
type Hasher = foldhash::fast::RandomState;
#[cfg(target_arch = "wasm32")]
type Hasher = std::collections::hash_map::RandomState;

pub(crate) type HashMap<K, V> = std::collections::HashMap<K, V, Hasher>;
pub(crate) type HashSet<K> = std::collections::HashSet<K, Hasher>;
