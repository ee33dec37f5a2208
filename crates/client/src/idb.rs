//! A small key-value store in IndexedDB, for state that must survive a reload: the in-tab
//! broker's snapshot and a client's session. Works in a page and in a worker.

use js_sys::{Promise, Reflect, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{IdbDatabase, IdbFactory, IdbOpenDbRequest, IdbRequest, IdbTransactionMode};

const STORE: &str = "state";

/// One IndexedDB database with one object store of byte values.
pub struct IdbStore {
    db: IdbDatabase,
}

/// Resolves with a request's result, or rejects with its error.
async fn finished(request: &IdbRequest) -> Result<JsValue, JsValue> {
    let promise = Promise::new(&mut |resolve, reject| {
        request.set_onsuccess(Some(&resolve));
        request.set_onerror(Some(&reject));
    });
    JsFuture::from(promise).await?;
    request.result()
}

impl IdbStore {
    /// Opens (or creates) the database `name`.
    pub async fn open(name: &str) -> Result<IdbStore, JsValue> {
        let factory: IdbFactory =
            Reflect::get(&js_sys::global(), &"indexedDB".into())?.dyn_into()?;
        let request: IdbOpenDbRequest = factory.open_with_u32(name, 1)?;
        let upgrade = Closure::<dyn FnMut(JsValue)>::new(move |event: JsValue| {
            let db = Reflect::get(&event, &"target".into())
                .and_then(|t| Reflect::get(&t, &"result".into()))
                .and_then(|r| r.dyn_into::<IdbDatabase>());
            if let Ok(db) = db {
                let _ = db.create_object_store(STORE);
            }
        });
        request.set_onupgradeneeded(Some(upgrade.as_ref().unchecked_ref()));
        let db = finished(&request).await?.dyn_into::<IdbDatabase>()?;
        drop(upgrade);
        Ok(IdbStore { db })
    }

    /// The bytes saved under `key`, if any.
    pub async fn load(&self, key: &str) -> Result<Option<Vec<u8>>, JsValue> {
        let tx = self.db.transaction_with_str(STORE)?;
        let request = tx.object_store(STORE)?.get(&key.into())?;
        let value = finished(&request).await?;
        Ok(value.dyn_ref::<Uint8Array>().map(Uint8Array::to_vec))
    }

    /// Saves `bytes` under `key`; `done` hears whether the transaction committed.
    pub fn save(
        &self,
        key: &str,
        bytes: &[u8],
        done: impl FnOnce(bool) + 'static,
    ) -> Result<(), JsValue> {
        let tx = self
            .db
            .transaction_with_str_and_mode(STORE, IdbTransactionMode::Readwrite)?;
        tx.object_store(STORE)?
            .put_with_key(&Uint8Array::from(bytes), &key.into())?;
        let done = std::rc::Rc::new(std::cell::RefCell::new(Some(done)));
        let (ok, failed) = (done.clone(), done);
        let on_complete = Closure::once_into_js(move || {
            if let Some(f) = ok.borrow_mut().take() {
                f(true);
            }
        });
        let on_error = Closure::once_into_js(move || {
            if let Some(f) = failed.borrow_mut().take() {
                f(false);
            }
        });
        tx.set_oncomplete(Some(on_complete.unchecked_ref()));
        tx.set_onerror(Some(on_error.unchecked_ref()));
        tx.set_onabort(Some(on_error.unchecked_ref()));
        Ok(())
    }
}
