//! The client's one timer, kept in a tiny worker. Chrome holds a background tab's own
//! timers back (to one wake-up a second, then a minute), long enough for a broker to drop
//! a connection whose PINGREQ comes late; a dedicated worker's timers are not held back,
//! and the message it posts when one is due wakes the page at once. MQTT.js's
//! `worker-timers` and the npm package's `timer-worker.js` do the same. If the worker
//! cannot start (a Content-Security-Policy without `worker-src blob:`), the page's own
//! `setTimeout` is used instead.

use js_sys::{Array, Function, Reflect};
use std::cell::RefCell;
use std::collections::HashMap;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{Blob, BlobPropertyBag, MessageEvent, Url, Worker};

/// `[id, ms]` arms (or re-arms) a timer, `[id, -1]` cancels it; the id comes back when due.
const WORKER_SOURCE: &str = "const p=new Map();onmessage=({data:[i,m]})=>{clearTimeout(p.get(i));p.delete(i);if(m>=0)p.set(i,setTimeout(()=>{p.delete(i);postMessage(i)},m))}";

/// setTimeout fires at once past 2^31 - 1 ms; a longer wait is cut to that, and the
/// caller re-arms when it fires early.
const LONGEST_MS: u64 = 0x7fff_ffff;

/// A page timer: setTimeout's handle, and the callback it calls.
type PageTimer = (JsValue, Closure<dyn FnMut()>);

/// A callback, and when it is due (`Date.now()` ms).
type Due = (Box<dyn FnOnce()>, f64);

enum Host {
    Worker {
        worker: Worker,
        _on_message: Closure<dyn FnMut(MessageEvent)>,
        _on_error: Closure<dyn FnMut()>,
    },
    /// No worker: the page's own timers, by id.
    Page(HashMap<u32, PageTimer>),
}

#[derive(Default)]
struct Timers {
    host: Option<Host>,
    /// Callbacks by id, with when each is due (`Date.now()` ms), to move them to the
    /// page's timers if the worker fails.
    due: HashMap<u32, Due>,
    next_id: u32,
}

thread_local! {
    static TIMERS: RefCell<Timers> = RefCell::new(Timers::default());
}

fn start_worker() -> Option<Host> {
    let parts = Array::of1(&JsValue::from_str(WORKER_SOURCE));
    let bag = BlobPropertyBag::new();
    bag.set_type("text/javascript");
    let blob = Blob::new_with_str_sequence_and_options(&parts, &bag).ok()?;
    let url = Url::create_object_url_with_blob(&blob).ok()?;
    let worker = Worker::new(&url);
    let _ = Url::revoke_object_url(&url);
    let worker = worker.ok()?;
    let on_message = Closure::<dyn FnMut(MessageEvent)>::new(|event: MessageEvent| {
        if let Some(id) = event.data().as_f64() {
            fire(id as u32);
        }
    });
    worker.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    // A worker that fails to load would leave every timer unfired: they move to the page.
    let on_error = Closure::<dyn FnMut()>::new(move_to_page);
    worker.set_onerror(Some(on_error.as_ref().unchecked_ref()));
    Some(Host::Worker {
        worker,
        _on_message: on_message,
        _on_error: on_error,
    })
}

fn move_to_page() {
    let old = TIMERS.with(|t| {
        let mut t = t.borrow_mut();
        let due: Vec<(u32, f64)> = t.due.iter().map(|(id, (_, at))| (*id, *at)).collect();
        let mut native = HashMap::new();
        for (id, at) in due {
            if let Some(armed) = set_page_timer(id, at - js_sys::Date::now()) {
                native.insert(id, armed);
            }
        }
        t.host.replace(Host::Page(native))
    });
    if let Some(Host::Worker { worker, .. }) = &old {
        worker.terminate();
    }
    // Dropped outside the borrow, and after this handler returns, by wasm-bindgen's rules.
    drop(old);
}

/// Arms the page's own timer for `id`.
fn set_page_timer(id: u32, millis: f64) -> Option<PageTimer> {
    let closure = Closure::<dyn FnMut()>::new(move || fire(id));
    let set = global_fn("setTimeout")?;
    let handle = set
        .call2(
            &JsValue::NULL,
            closure.as_ref().unchecked_ref(),
            &JsValue::from(millis.clamp(0.0, LONGEST_MS as f64)),
        )
        .ok()?;
    Some((handle, closure))
}

fn fire(id: u32) {
    let callback = TIMERS.with(|t| {
        let mut t = t.borrow_mut();
        if let Some(Host::Page(native)) = &mut t.host {
            native.remove(&id);
        }
        t.due.remove(&id).map(|(callback, _)| callback)
    });
    // Called with nothing borrowed: it may arm the next timer.
    if let Some(callback) = callback {
        callback();
    }
}

fn global_fn(name: &str) -> Option<Function> {
    Reflect::get(&js_sys::global(), &name.into())
        .ok()?
        .dyn_into()
        .ok()
}

/// A timer armed by [`Timeout::after`]; dropping it cancels it.
pub struct Timeout {
    id: u32,
}

impl Timeout {
    /// Calls `callback` once, `millis` from now.
    pub fn after(millis: u64, callback: impl FnOnce() + 'static) -> Timeout {
        let millis = millis.min(LONGEST_MS) as f64;
        TIMERS.with(|t| {
            let mut t = t.borrow_mut();
            let t = &mut *t;
            t.next_id = t.next_id.wrapping_add(1);
            let id = t.next_id;
            t.due
                .insert(id, (Box::new(callback), js_sys::Date::now() + millis));
            let host = t
                .host
                .get_or_insert_with(|| start_worker().unwrap_or(Host::Page(HashMap::new())));
            match host {
                Host::Worker { worker, .. } => {
                    let message = Array::of2(&JsValue::from(id), &JsValue::from(millis));
                    let _ = worker.post_message(&message);
                }
                Host::Page(native) => {
                    if let Some(armed) = set_page_timer(id, millis) {
                        native.insert(id, armed);
                    }
                }
            }
            Timeout { id }
        })
    }
}

impl Drop for Timeout {
    fn drop(&mut self) {
        let id = self.id;
        // During thread teardown the timers may already be gone; nothing is left to cancel.
        let _ = TIMERS.try_with(|t| {
            let Ok(mut t) = t.try_borrow_mut() else {
                return;
            };
            if t.due.remove(&id).is_none() {
                return;
            }
            match &mut t.host {
                Some(Host::Worker { worker, .. }) => {
                    let message = Array::of2(&JsValue::from(id), &JsValue::from(-1));
                    let _ = worker.post_message(&message);
                }
                Some(Host::Page(native)) => {
                    if let (Some((handle, _)), Some(clear)) =
                        (native.remove(&id), global_fn("clearTimeout"))
                    {
                        let _ = clear.call1(&JsValue::NULL, &handle);
                    }
                }
                None => {}
            }
        });
    }
}
