//! One write per event-loop turn: every packet the client makes in the same turn leaves in
//! one WebSocket frame or one postMessage. In Chromium the frame and message rates are the
//! ceiling, not the codec, so batching is what makes QoS 0 bursts fast. Bytes the machine
//! says to hold ([`tabmq_core::Transmit::hold_turns`]: made while the application may be
//! answering a message or a completion) wait that many microtask turns more, so that the
//! answer made a few awaits later joins them in one frame.

use js_sys::{Function, Reflect};
use std::cell::RefCell;
use std::rc::Rc;
use wasm_bindgen::prelude::*;

/// Writes one buffer to the platform; an error means the channel is gone.
pub(crate) type Sink = Rc<dyn Fn(&[u8]) -> Result<(), JsValue>>;

#[derive(Default)]
struct Outbox {
    bytes: Vec<u8>,
    scheduled: bool,
    closed: bool,
}

/// Gathers a turn's bytes and writes them once, when the current task's synchronous work
/// is done, or the turns the first of them asks for later.
#[derive(Clone)]
pub(crate) struct Coalescer {
    outbox: Rc<RefCell<Outbox>>,
    sink: Sink,
}

/// Runs `f` once the current task's synchronous work is done.
pub(crate) fn queue_microtask(f: impl FnOnce() + 'static) -> Result<(), JsValue> {
    let queue: Function = Reflect::get(&js_sys::global(), &"queueMicrotask".into())?.dyn_into()?;
    queue.call1(&JsValue::NULL, &Closure::once_into_js(f))?;
    Ok(())
}

impl Coalescer {
    pub fn new(sink: Sink) -> Coalescer {
        Coalescer {
            outbox: Rc::default(),
            sink,
        }
    }

    pub fn is_closed(&self) -> bool {
        self.outbox.borrow().closed
    }

    /// Adds `bytes` to this turn's write, which waits `hold_turns` more microtask turns if
    /// it is not already queued.
    pub fn push(&self, bytes: &[u8], hold_turns: u32) -> Result<(), JsValue> {
        let mut out = self.outbox.borrow_mut();
        out.bytes.extend_from_slice(bytes);
        if out.scheduled {
            return Ok(());
        }
        out.scheduled = true;
        drop(out);
        self.flush_after(hold_turns)
    }

    /// Flushes once `turns` more microtask turns have passed (at once if one cannot be
    /// queued: the bytes must not wait for a turn that never comes).
    fn flush_after(&self, turns: u32) -> Result<(), JsValue> {
        let me = self.clone();
        queue_microtask(move || {
            if turns == 0 || me.flush_after(turns - 1).is_err() {
                me.flush();
            }
        })
    }

    /// Writes what is gathered now.
    pub fn flush(&self) {
        let mut out = self.outbox.borrow_mut();
        out.scheduled = false;
        if out.bytes.is_empty() || out.closed {
            return;
        }
        let bytes = std::mem::take(&mut out.bytes);
        drop(out);
        if (self.sink)(&bytes).is_err() {
            // The channel is closing; its close event tells the client.
            self.outbox.borrow_mut().closed = true;
        }
    }

    /// Writes what is gathered, then takes no more.
    pub fn close(&self) {
        self.flush();
        self.outbox.borrow_mut().closed = true;
    }
}
