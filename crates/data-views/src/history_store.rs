//! Charts' history in IndexedDB, so a reload finds the charts whole: the model
//! ([`History`]) decides what is kept; this shell replays its [`StoreOp`]s, one
//! transaction per tick, and loads what was kept when the page starts. What is plotted,
//! and the limits, are kept in localStorage (`load_json`, `save_json`).

use crate::watch::wall_ms;
use js_sys::{Array, Promise};
use leptos::prelude::*;
use std::collections::BTreeMap;
use tabmq_dashboard::{History, HistoryLimits, Point, StoreOp};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

// Each view's database has one object store of points keyed `[series, at_ms, n]`: a drop
// is one key-range delete, and `n` keeps two points of one millisecond apart.

/// The database's script: three functions, built here rather than shipped as a
/// wasm-bindgen snippet, which trunk would preload on the lab's page too.
struct Script {
    open: js_sys::Function,
    apply: js_sys::Function,
    load: js_sys::Function,
}

thread_local! {
    static SCRIPT: Script = Script {
        open: js_sys::Function::new_with_args(
            "name",
            "return new Promise((resolve, reject) => {
               const r = indexedDB.open(name, 1);
               r.onupgradeneeded = () => r.result.createObjectStore('points');
               r.onsuccess = () => resolve(r.result);
               r.onerror = () => reject(r.error);
             });",
        ),
        apply: js_sys::Function::new_with_args(
            "db, ops",
            "return new Promise((resolve, reject) => {
               const tx = db.transaction('points', 'readwrite');
               const st = tx.objectStore('points');
               for (const o of ops) {
                 if (o.op === 'clear') st.clear();
                 else if (o.op === 'drop') st.delete(IDBKeyRange.bound([o.s, -Infinity], [o.s, o.t], false, true));
                 else for (const [t, v, n] of o.p) st.put(v, [o.s, t, n]);
               }
               tx.oncomplete = () => resolve();
               tx.onerror = tx.onabort = () => reject(tx.error);
             });",
        ),
        load: js_sys::Function::new_with_args(
            "db",
            "return new Promise((resolve, reject) => {
               const st = db.transaction('points').objectStore('points');
               const keys = st.getAllKeys();
               const values = st.getAll();
               values.onsuccess = () => resolve(keys.result.map((k, i) => [k[0], k[1], values.result[i]]));
               values.onerror = () => reject(values.error);
             });",
        ),
    };
}

/// Calls one of the script's functions; its promise.
fn call(pick: impl FnOnce(&Script) -> Result<JsValue, JsValue>) -> Result<Promise, JsValue> {
    SCRIPT.with(pick).map(Promise::from)
}

fn local_storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok().flatten()
}

/// What localStorage keeps under `key`, if it reads as a `T`.
pub fn load_json<T: serde::de::DeserializeOwned>(key: &str) -> Option<T> {
    let text = local_storage()?.get_item(key).ok().flatten()?;
    serde_json::from_str(&text).ok()
}

/// Keeps `value` under `key`. Without room in localStorage it is this load's only.
pub fn save_json<T: serde::Serialize>(key: &str, value: &T) {
    if let (Some(storage), Ok(text)) = (local_storage(), serde_json::to_string(value)) {
        let _ = storage.set_item(key, &text);
    }
}

/// The open database.
#[derive(Clone)]
pub struct PointStore {
    db: JsValue,
}

impl PointStore {
    pub async fn open(name: &str) -> Result<PointStore, JsValue> {
        let db = JsFuture::from(call(|s| s.open.call1(&JsValue::NULL, &name.into()))?).await?;
        Ok(PointStore { db })
    }

    /// Every stored point, by series, oldest first.
    pub async fn load(&self) -> Result<BTreeMap<String, Vec<Point>>, JsValue> {
        let rows: Array = JsFuture::from(call(|s| s.load.call1(&JsValue::NULL, &self.db))?)
            .await?
            .into();
        let mut out: BTreeMap<String, Vec<Point>> = BTreeMap::new();
        for row in rows.iter() {
            let row: Array = row.into();
            let (Some(series), Some(at), Some(value)) = (
                row.get(0).as_string(),
                row.get(1).as_f64(),
                row.get(2).as_f64(),
            ) else {
                continue;
            };
            out.entry(series).or_default().push(Point {
                at_ms: at as u64,
                value,
            });
        }
        Ok(out)
    }

    /// Stores `ops` (from [`store_ops`]) in one transaction.
    pub async fn apply(&self, ops: Array) -> Result<(), JsValue> {
        let done = call(|s| s.apply.call2(&JsValue::NULL, &self.db, &ops))?;
        JsFuture::from(done).await.map(drop)
    }
}

thread_local! {
    static NEXT: std::cell::Cell<u32> = std::cell::Cell::new((js_sys::Math::random() * f64::from(u32::MAX / 2)) as u32);
}

/// What `history` has for storage, as the operations the database's script replays.
pub fn store_ops(history: &mut History) -> Result<Array, JsValue> {
    let ops = Array::new();
    while let Some(op) = history.poll_store() {
        let o = js_sys::Object::new();
        let set = |k: &str, v: JsValue| js_sys::Reflect::set(&o, &k.into(), &v);
        match op {
            StoreOp::Clear => {
                set("op", "clear".into())?;
            }
            StoreOp::DropBefore { series, at_ms } => {
                set("op", "drop".into())?;
                set("s", series.into())?;
                // u64::MAX (a whole series) is past every time stored.
                set("t", (at_ms as f64).into())?;
            }
            StoreOp::Append { series, points } => {
                set("op", "append".into())?;
                set("s", series.into())?;
                let list = Array::new();
                for p in points {
                    let n = NEXT.with(|c| {
                        let n = c.get();
                        c.set(n.wrapping_add(1));
                        n
                    });
                    list.push(&Array::of3(
                        &(p.at_ms as f64).into(),
                        &p.value.into(),
                        &n.into(),
                    ));
                }
                set("p", list.into())?;
            }
        }
        ops.push(&o);
    }
    Ok(ops)
}

/// A view's chart history with its stored copy: the points, what the storage says, and the
/// one transaction in flight. `Copy`, as a view's state is.
#[derive(Clone, Copy)]
pub struct KeptHistory {
    pub points: StoredValue<History, LocalStorage>,
    /// How storage stands: loaded, or why not.
    pub status: RwSignal<String>,
    store: StoredValue<Option<PointStore>, LocalStorage>,
    flushing: StoredValue<bool>,
}

impl KeptHistory {
    pub fn new(limits: HistoryLimits) -> KeptHistory {
        KeptHistory {
            points: StoredValue::new_local(History::new(limits)),
            status: RwSignal::new("History: opening IndexedDB".to_owned()),
            store: StoredValue::new_local(None),
            flushing: StoredValue::new(false),
        }
    }

    /// Opens database `name` and puts back what it kept of the series `owned` says are
    /// still drawn; the others' points go.
    pub async fn open(self, name: &str, owned: impl Fn(&str) -> bool) {
        let store = match PointStore::open(name).await {
            Ok(store) => store,
            Err(e) => {
                self.status
                    .set(format!("History: this load only (no IndexedDB: {e:?})"));
                return;
            }
        };
        match store.load().await {
            Ok(stored) => {
                let now = wall_ms();
                let mut points = 0;
                self.points.update_value(|h| {
                    for (key, kept) in stored {
                        if owned(&key) {
                            points += kept.len();
                            h.restore(&key, kept, now);
                        } else {
                            h.remove(&key);
                        }
                    }
                });
                self.status
                    .set(format!("History: {points} points loaded from IndexedDB"));
            }
            Err(e) => self
                .status
                .set(format!("History: could not be loaded ({e:?})")),
        }
        self.store.set_value(Some(store));
    }

    /// Stores what changed since the last flush, one transaction at a time.
    pub fn flush(self) {
        let Some(store) = self.store.get_value() else {
            return;
        };
        if self.flushing.get_value() {
            return;
        }
        let ops = self.points.try_update_value(|h| {
            h.expire(wall_ms());
            store_ops(h)
        });
        let Some(Ok(ops)) = ops else { return };
        if ops.length() == 0 {
            return;
        }
        self.flushing.set_value(true);
        wasm_bindgen_futures::spawn_local(async move {
            if let Err(e) = store.apply(ops).await {
                self.status.set(format!("History: storing failed ({e:?})"));
            }
            self.flushing.set_value(false);
        });
    }
}
