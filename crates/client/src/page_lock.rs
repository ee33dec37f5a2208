//! How a shared broker and the tabs it serves learn that the other is gone.
//!
//! A closing tab says nothing on its ports (Chromium fires no close event at the far
//! end), and its `pagehide` handler does not always live long enough to post a word. A
//! Web Lock is different: the browser itself releases it when the page (or worker) that
//! holds it goes, however it goes. So each page holds one lock for its whole life and
//! names it in every `{type: "connect"}`; the broker asks for the same lock, is granted it
//! only once the page is gone, and then cuts what is left of that page's connections, as a
//! dropped network would (the will goes out). The other way round, the broker's worker
//! holds a lock for its life and names it to the tabs ([`BROKER_LOCK_PREFIX`]): a worker
//! can die with the tab whose renderer ran it, its ports silent, and the tabs' clients
//! then cut their links and start it again. `web/tab-broker.js` does the page's half for
//! JavaScript clients; the names and the protocol are the same.
//!
//! Where a browser has no Web Locks (an opaque origin, an old engine), connections carry no
//! lock and the broker falls back on keepalive.

use js_sys::{Array, Function, Object, Promise, Reflect};
use std::cell::RefCell;
use wasm_bindgen::prelude::*;
use web_sys::MessagePort;

#[wasm_bindgen]
extern "C" {
    /// `navigator.locks` (web-sys has it only behind `web_sys_unstable_apis`).
    type LockManager;
    #[wasm_bindgen(method, catch)]
    fn request(this: &LockManager, name: &str, callback: &Function) -> Result<Promise, JsValue>;
}

/// What a broker worker posts, followed by the name of the lock it holds for its life, on
/// each tab's control port and on each connection's port: the tab's side asks for that
/// lock, and is granted it when the broker's worker is gone (a crash of the renderer that
/// ran it), which its ports do not say.
pub const BROKER_LOCK_PREFIX: &str = "broker-lock:";

/// The key of a `{type: "connect"}` message that names the page's lock.
pub const LOCK_KEY: &str = "pageLock";

fn lock_manager() -> Option<LockManager> {
    let navigator = Reflect::get(&js_sys::global(), &"navigator".into()).ok()?;
    let locks = Reflect::get(&navigator, &"locks".into()).ok()?;
    (locks.is_object()).then(|| locks.unchecked_into())
}

type Waiter = Box<dyn FnOnce(Option<&str>)>;

enum PageLock {
    Unasked,
    Asking(String, Vec<Waiter>),
    Held(String),
    Unavailable,
}

thread_local! {
    static PAGE_LOCK: RefCell<PageLock> = const { RefCell::new(PageLock::Unasked) };
}

/// Calls `then` with the name of the lock this page holds for its life: once it holds it,
/// which after the first time is at once; with `None` where there are no Web Locks.
pub(crate) fn with_page_lock(then: impl FnOnce(Option<&str>) + 'static) {
    let asked = PAGE_LOCK.with(|lock| {
        let mut lock = lock.borrow_mut();
        match &mut *lock {
            PageLock::Held(name) => Err((Some(name.clone()), Box::new(then) as Waiter)),
            PageLock::Unavailable => Err((None, Box::new(then) as Waiter)),
            PageLock::Asking(_, waiters) => {
                waiters.push(Box::new(then));
                Ok(None)
            }
            PageLock::Unasked => {
                let name = format!("tabmq-page-{}", random_hex());
                *lock = PageLock::Asking(name.clone(), vec![Box::new(then)]);
                Ok(Some(name))
            }
        }
    });
    match asked {
        Err((name, then)) => then(name.as_deref()),
        Ok(Some(name)) => ask(&name),
        Ok(None) => {}
    }
}

/// Asks for the page's lock, kept by a promise that never settles.
fn ask(name: &str) {
    let granted = Closure::once_into_js(move |_lock: JsValue| -> JsValue {
        settle(true);
        Promise::new(&mut |_, _| {}).into()
    });
    let asked = lock_manager()
        .ok_or(JsValue::UNDEFINED)
        .and_then(|locks| locks.request(name, granted.unchecked_ref()));
    match asked {
        // Refused later (an opaque origin rejects the promise): then there is no lock.
        // Held, the promise never settles, and this one future waits for the page's life.
        Ok(promise) => wasm_bindgen_futures::spawn_local(async move {
            if wasm_bindgen_futures::JsFuture::from(promise).await.is_err() {
                settle(false);
            }
        }),
        Err(_) => settle(false),
    }
}

fn settle(held: bool) {
    let (name, waiters) = PAGE_LOCK.with(|lock| {
        let mut lock = lock.borrow_mut();
        let PageLock::Asking(name, waiters) = std::mem::replace(&mut *lock, PageLock::Unavailable)
        else {
            return (None, Vec::new());
        };
        if held {
            *lock = PageLock::Held(name.clone());
            (Some(name), waiters)
        } else {
            (None, waiters)
        }
    });
    for waiter in waiters {
        waiter(name.as_deref());
    }
}

/// Posts `{type: "connect"}` with `far_end` through `post`, naming the page's lock, once
/// the page holds it; meanwhile what is sent on the near end waits in the channel.
pub(crate) fn post_connect(
    far_end: MessagePort,
    post: impl FnOnce(&Object, &Array) -> Result<(), JsValue> + 'static,
) {
    with_page_lock(move |lock| {
        let request = Object::new();
        let _ = Reflect::set(&request, &"type".into(), &"connect".into());
        if let Some(lock) = lock {
            let _ = Reflect::set(&request, &LOCK_KEY.into(), &lock.into());
        }
        if let Err(e) = post(&request, &Array::of1(&far_end)) {
            web_sys::console::error_2(&"tabmq: cannot reach the in-tab broker".into(), &e);
        }
    });
}

fn random_hex() -> String {
    format!(
        "{:x}",
        (js_sys::Math::random() * 9_007_199_254_740_992.0) as u64
    )
}

/// Posts on `target` the name of the lock this global holds for its life, once it holds
/// it (the broker's worker; see [`BROKER_LOCK_PREFIX`]).
pub fn announce_life_lock(target: impl FnOnce(&JsValue) + 'static) {
    with_page_lock(move |lock| {
        if let Some(lock) = lock {
            target(&format!("{BROKER_LOCK_PREFIX}{lock}").into());
        }
    });
}

/// Calls `gone` when the broker that posted `message` is gone, if `message` is a
/// [`BROKER_LOCK_PREFIX`] word.
pub(crate) fn when_broker_gone(message: &JsValue, gone: impl FnOnce() + 'static) {
    if let Some(name) = message.as_string() {
        if let Some(name) = name.strip_prefix(BROKER_LOCK_PREFIX) {
            when_page_gone(name, gone);
        }
    }
}

/// The broker's half: calls `gone` once the page holding `name` is gone (at once if no
/// page holds it); never where there are no Web Locks.
pub fn when_page_gone(name: &str, gone: impl FnOnce() + 'static) {
    let granted = Closure::once_into_js(move |_lock: JsValue| gone());
    if let Some(locks) = lock_manager() {
        let _ = locks.request(name, granted.unchecked_ref());
    }
}
