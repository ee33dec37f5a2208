//! Messages into a subscriber card: gathered as they come, and moved into the card's
//! bounded history once per animation frame, so a flood of thousands a second costs one
//! render a frame.

use crate::state::{Received, SubscriberInbox, HISTORY_LIMIT};
use leptos::prelude::*;
use std::collections::hash_map::DefaultHasher;
use std::collections::VecDeque;
use std::hash::{Hash, Hasher};
use tabmq_core::Publish;

/// `HH:MM:SS.mmm`, now.
pub fn clock_label() -> String {
    clock_label_at(js_sys::Date::now())
}

/// `HH:MM:SS.mmm` of `at_ms` (milliseconds since the Unix epoch), in local time.
pub fn clock_label_at(at_ms: f64) -> String {
    let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(at_ms));
    format!(
        "{:02}:{:02}:{:02}.{:03}",
        date.get_hours(),
        date.get_minutes(),
        date.get_seconds(),
        date.get_milliseconds()
    )
}

/// Takes a message for `inbox`.
pub fn deliver(inbox: SubscriberInbox, publish: Publish) {
    let payload = publish.payload.to_vec();
    let mut hasher = DefaultHasher::new();
    (&publish.topic, &payload).hash(&mut hasher);
    let key = hasher.finish();
    // A hash per message, in a set: a flood must not scan the history for each arrival.
    let repeat = inbox
        .seen
        .try_update_value(|(set, order)| {
            let repeat = !set.insert(key);
            if !repeat {
                order.push_back(key);
                if order.len() > HISTORY_LIMIT {
                    if let Some(old) = order.pop_front() {
                        set.remove(&old);
                    }
                }
            }
            repeat
        })
        .unwrap_or(false);
    let message = Received {
        seq: 0,
        topic: publish.topic.into(),
        payload,
        qos: publish.qos,
        retain: publish.retain,
        dup: publish.dup,
        packet_id: publish.packet_id.map(|id| id.get()),
        properties: publish.properties,
        repeat,
        time: clock_label(),
    };
    let mut overflow = 0;
    inbox.pending.update_value(|p| {
        p.push(message);
        // Paused, the wait is bounded like the history: the oldest go, counted.
        if p.len() > HISTORY_LIMIT {
            p.remove(0);
            overflow = 1;
        }
    });
    if overflow > 0 {
        inbox.total.update(|t| *t += overflow);
    }
    if !inbox.flush_scheduled.get_value() && !inbox.paused.get_untracked() {
        inbox.flush_scheduled.set_value(true);
        crate::timers::next_frame(move || flush(inbox));
    }
}

/// Resumes a paused log: what waited goes in now.
pub fn resume(inbox: SubscriberInbox) {
    inbox.paused.set(false);
    flush(inbox);
}

/// Empties the log (what waits too); the received count stays.
pub fn clear(inbox: SubscriberInbox) {
    inbox.pending.update_value(Vec::clear);
    inbox.messages.update(VecDeque::clear);
    inbox.seen.update_value(|(set, order)| {
        set.clear();
        order.clear();
    });
}

/// Moves what arrived into the history, numbering it, and drops the oldest beyond the
/// limit.
fn flush(inbox: SubscriberInbox) {
    inbox.flush_scheduled.set_value(false);
    let arrived = inbox
        .pending
        .try_update_value(std::mem::take)
        .unwrap_or_default();
    if arrived.is_empty() {
        return;
    }
    let mut seq = inbox.next_seq.get_value();
    let count = arrived.len() as u64;
    inbox.messages.update(|list| {
        for mut m in arrived {
            m.seq = seq;
            seq += 1;
            list.push_back(m);
        }
        while list.len() > HISTORY_LIMIT {
            list.pop_front();
        }
    });
    inbox.next_seq.set_value(seq);
    inbox.total.update(|t| *t += count);
}
