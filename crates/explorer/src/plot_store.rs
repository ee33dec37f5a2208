//! The chart's history in IndexedDB, so a reload finds the charts whole: the model
//! ([`History`]) decides what is kept; this shell replays its [`StoreOp`]s, one
//! transaction per tick, and loads what was kept when the page starts. The series plotted
//! and the limits are kept in localStorage.

use js_sys::{Array, Promise};
use std::collections::BTreeMap;
use tabmq_dashboard::{History, HistoryLimits, Point, SeriesSpec, StoreOp};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

/// The database, one object store of points keyed `[series, at_ms, n]`: a drop is one
/// key-range delete, and `n` keeps two points of one millisecond apart.
const DATABASE: &str = "tabmq-explorer-history";
/// What is plotted, and the limits, in localStorage.
const PLOT_KEY: &str = "tabmq-explorer:plot";

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

/// What localStorage keeps of the chart.
#[derive(Clone, Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct KeptPlot {
    pub specs: Vec<SeriesSpec>,
    pub limits: Option<HistoryLimits>,
}

fn local_storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok().flatten()
}

/// The chart's series and limits as saved, the ones that still check out.
pub fn load_kept() -> KeptPlot {
    let kept: KeptPlot = local_storage()
        .and_then(|s| s.get_item(PLOT_KEY).ok().flatten())
        .and_then(|text| serde_json::from_str(&text).ok())
        .unwrap_or_default();
    KeptPlot {
        specs: kept
            .specs
            .into_iter()
            .filter_map(|s| s.checked().ok())
            .collect(),
        limits: kept.limits,
    }
}

pub fn save_kept(kept: &KeptPlot) {
    if let (Some(storage), Ok(text)) = (local_storage(), serde_json::to_string(kept)) {
        // Without room in localStorage the chart is this load's only.
        let _ = storage.set_item(PLOT_KEY, &text);
    }
}

/// The open database.
#[derive(Clone)]
pub struct PointStore {
    db: JsValue,
}

impl PointStore {
    pub async fn open() -> Result<PointStore, JsValue> {
        let db = JsFuture::from(call(|s| s.open.call1(&JsValue::NULL, &DATABASE.into()))?).await?;
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
