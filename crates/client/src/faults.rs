//! Faults on demand, for the lab: drop the next N outgoing packets of a type, send one
//! twice, or hold every packet back for a while. They apply to what the client sends, so
//! "drop the subscriber's PUBACK" is one rule, and the broker's reaction (a DUP resend on
//! reconnect) is real.

use crate::transport::{Transport, TransportError};
use std::cell::RefCell;
use std::rc::Rc;
use tabmq_core::{decode_fixed_header, Bytes};
use wasm_bindgen::prelude::*;

/// What a fault rule did to a packet, as a [`FaultListener`] hears it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum FaultAction {
    Dropped,
    Duplicated,
    Delayed,
}

/// The fault rules in force on a client, for teaching and testing QoS (the lab's fault
/// panel; [`crate::ResilientClient::change_faults`]); an application has no use for it.
/// `packet_type` is the MQTT control packet type (3 PUBLISH, 4 PUBACK,
/// 5 PUBREC, 6 PUBREL, 7 PUBCOMP, 8 SUBSCRIBE, 12 PINGREQ, ...).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FaultPlan {
    /// `(packet_type, how many more)` to drop.
    pub drop: Vec<(u8, u32)>,
    /// `(packet_type, how many more)` to send twice.
    pub duplicate: Vec<(u8, u32)>,
    /// Hold every packet back this long (milliseconds); 0 sends at once.
    pub delay_ms: u32,
}

impl FaultPlan {
    pub fn is_empty(&self) -> bool {
        self.drop.is_empty() && self.duplicate.is_empty() && self.delay_ms == 0
    }

    /// Uses up one application of a rule in `rules` for `packet_type`, if one is left.
    fn take(rules: &mut Vec<(u8, u32)>, packet_type: u8) -> bool {
        let Some(i) = rules.iter().position(|(t, n)| *t == packet_type && *n > 0) else {
            return false;
        };
        rules[i].1 -= 1;
        if rules[i].1 == 0 {
            rules.remove(i);
        }
        true
    }

    /// What happens to one packet: how many copies go out (0, 1 or 2), and the actions
    /// taken.
    pub fn apply(&mut self, packet_type: u8) -> (usize, Vec<FaultAction>) {
        if FaultPlan::take(&mut self.drop, packet_type) {
            return (0, vec![FaultAction::Dropped]);
        }
        let mut actions = Vec::new();
        let copies = if FaultPlan::take(&mut self.duplicate, packet_type) {
            actions.push(FaultAction::Duplicated);
            2
        } else {
            1
        };
        if self.delay_ms > 0 {
            actions.push(FaultAction::Delayed);
        }
        (copies, actions)
    }
}

/// A change to a client's faults, as the lab's controls ask for them
/// ([`crate::ResilientClient::fault`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum FaultCommand {
    /// No more faults.
    Clear,
    /// Drop the next `count` outgoing packets of `packet_type` (4 PUBACK, 5 PUBREC, ...).
    Drop { packet_type: u8, count: u32 },
    /// Send the next `count` outgoing packets of `packet_type` twice.
    Duplicate { packet_type: u8, count: u32 },
    /// Hold every outgoing packet back this long; 0 stops.
    Delay { millis: u32 },
    /// Cut the connection now, without DISCONNECT; it reconnects after the backoff.
    Cut,
}

/// The plan a client's links share, and who hears what it did.
pub type Faults = Rc<RefCell<FaultPlan>>;

/// Hears each fault applied: the action and the packet type.
pub type FaultListener = Rc<dyn Fn(FaultAction, u8)>;

/// The packets in `bytes`, each whole; a trailing partial packet (there is none in what
/// the engine makes) stays as it is, in one piece.
fn split(bytes: &Bytes) -> Vec<Bytes> {
    let mut out = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        let len = match decode_fixed_header(&bytes[at..]) {
            Ok(Some(header)) => header.frame_len(),
            _ => bytes.len() - at,
        };
        let end = (at + len).min(bytes.len());
        out.push(bytes.slice(at..end));
        at = end;
    }
    out
}

/// A transport that applies the plan to what passes through it.
pub struct FaultyTransport {
    inner: Rc<dyn Transport>,
    faults: Faults,
    listener: Option<FaultListener>,
}

impl FaultyTransport {
    pub fn new(
        inner: Box<dyn Transport>,
        faults: Faults,
        listener: Option<FaultListener>,
    ) -> FaultyTransport {
        FaultyTransport {
            inner: Rc::from(inner),
            faults,
            listener,
        }
    }
}

/// Calls `f` after `millis` on the global object's `setTimeout`.
fn later(millis: u32, f: impl FnOnce() + 'static) {
    let set = js_sys::Reflect::get(&js_sys::global(), &"setTimeout".into())
        .ok()
        .and_then(|f| f.dyn_into::<js_sys::Function>().ok());
    if let Some(set) = set {
        let _ = set.call2(&JsValue::NULL, &Closure::once_into_js(f), &millis.into());
    }
}

impl Transport for FaultyTransport {
    fn send(&self, bytes: Bytes, hold_turns: u32) -> Result<(), TransportError> {
        if self.faults.borrow().is_empty() {
            return self.inner.send(bytes, hold_turns);
        }
        let mut out = Vec::with_capacity(bytes.len());
        let delay = self.faults.borrow().delay_ms;
        for packet in split(&bytes) {
            let packet_type = packet.first().map_or(0, |b| b >> 4);
            let (copies, actions) = self.faults.borrow_mut().apply(packet_type);
            for _ in 0..copies {
                out.extend_from_slice(&packet);
            }
            if let Some(listener) = &self.listener {
                for action in actions {
                    listener(action, packet_type);
                }
            }
        }
        if out.is_empty() {
            return Ok(());
        }
        if delay == 0 {
            return self.inner.send(Bytes::from(out), hold_turns);
        }
        // Same delay for all, so order is kept.
        let inner = self.inner.clone();
        later(delay, move || {
            let _ = inner.send(Bytes::from(out), 0);
        });
        Ok(())
    }

    fn close(&self) {
        self.inner.close();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plan_drops_the_next_n_of_a_type_and_duplicates_on_request() {
        let mut plan = FaultPlan {
            drop: vec![(4, 2)],
            duplicate: vec![(5, 1)],
            delay_ms: 0,
        };
        assert_eq!(plan.apply(4), (0, vec![FaultAction::Dropped]));
        assert_eq!(plan.apply(3), (1, vec![]));
        assert_eq!(plan.apply(4), (0, vec![FaultAction::Dropped]));
        assert_eq!(plan.apply(4), (1, vec![]), "only two were to be dropped");
        assert_eq!(plan.apply(5), (2, vec![FaultAction::Duplicated]));
        assert_eq!(plan.apply(5), (1, vec![]));
        assert!(plan.is_empty());
    }

    #[test]
    fn buffers_split_into_whole_packets() {
        // PUBACK id 1, PINGREQ, PUBACK id 2.
        let bytes = Bytes::from_static(&[0x40, 2, 0, 1, 0xC0, 0, 0x40, 2, 0, 2]);
        let parts: Vec<Vec<u8>> = split(&bytes).iter().map(|b| b.to_vec()).collect();
        assert_eq!(
            parts,
            vec![vec![0x40, 2, 0, 1], vec![0xC0, 0], vec![0x40, 2, 0, 2]]
        );
    }
}
