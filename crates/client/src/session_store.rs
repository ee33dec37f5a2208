//! A client's session in IndexedDB, so unacknowledged QoS 1/2 messages and the offline
//! queue survive a reload: [`crate::connect`] opens it with `persist_session`, resumes the
//! saved session, and the client saves it before anything that depends on it leaves.

use crate::idb::IdbStore;
use std::cell::RefCell;
use std::rc::Rc;
use tabmq_core::ClientSession;
use wasm_bindgen::JsValue;

/// Where a client's session survives a reload. [`IdbSessionStore`] is the one to use in a
/// browser; implement this to keep the session somewhere else, and give it to
/// [`crate::ResilientClient::start`].
pub trait SessionStore {
    /// Saves the session's bytes; `done` is called once, with whether they were saved.
    fn save(&self, session: &[u8], done: Box<dyn FnOnce(bool)>);
}

/// The database every tabmq client session lives in, one key per client id.
pub const SESSION_DATABASE: &str = "tabmq-client-sessions";

/// A client's session in IndexedDB, keyed by client id (the npm package reads and writes
/// the same entries). [`crate::connect`] opens it for `persist_session`; open it yourself
/// only to read a saved session or to pass it to [`crate::ResilientClient::start`].
pub struct IdbSessionStore {
    store: Rc<IdbStore>,
    key: String,
}

impl IdbSessionStore {
    /// Opens the sessions database, and reads the session saved for `client_id` (`None` if
    /// there is none, or if what is there is not a session this version wrote).
    pub async fn open(
        client_id: &str,
    ) -> Result<(IdbSessionStore, Option<ClientSession>), JsValue> {
        let store = IdbStore::open(SESSION_DATABASE).await?;
        let saved = store.load(client_id).await?;
        let (session, set_aside) = ClientSession::resume(saved.as_deref());
        if let Some(e) = set_aside {
            web_sys::console::warn_1(
                &format!("tabmq: ignoring the saved session of {client_id}: {e}").into(),
            );
        }
        let session = saved.is_some().then_some(session);
        Ok((
            IdbSessionStore {
                store: Rc::new(store),
                key: client_id.to_owned(),
            },
            session,
        ))
    }
}

impl SessionStore for IdbSessionStore {
    fn save(&self, session: &[u8], done: Box<dyn FnOnce(bool)>) {
        let done = Rc::new(RefCell::new(Some(done)));
        let on_saved = done.clone();
        let result = self.store.save(&self.key, session, move |saved| {
            if let Some(done) = on_saved.borrow_mut().take() {
                done(saved);
            }
        });
        if let Err(e) = result {
            web_sys::console::error_2(&"tabmq: cannot save the client session".into(), &e);
            if let Some(done) = done.borrow_mut().take() {
                done(false);
            }
        }
    }
}
