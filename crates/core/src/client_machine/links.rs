//! Transports: when to open one, when to give up on one, and what follows its end.

use super::{
    splitmix, Action, ClientMachine, CommandFailure, Link, MachineEvent, Out, TransportId,
};
use crate::client_events::{CloseReason, ConnectionState};
use crate::prelude::*;
use crate::time::Instant;

impl ClientMachine {
    pub(super) fn open(&mut self, now: Instant) {
        if self.link != Link::Idle || self.ended || self.stopped || self.end_when_idle.is_some() {
            return;
        }
        if self.url.needs_network() && !self.online {
            // `set_online(true)` opens it.
            return;
        }
        self.next_transport += 1;
        let transport = TransportId(self.next_transport);
        self.push_action(Action::Open {
            transport,
            url: self.url.clone(),
        });
        if core::mem::replace(&mut self.attempted, true) {
            self.events.push_back(MachineEvent::Reconnecting);
        }
        self.link = Link::Opening(transport);
        self.connect_deadline = self.policy.connect_timeout.map(|t| now + t);
    }

    pub(super) fn connect_timed_out(&mut self, now: Instant) {
        match self.link {
            Link::Opening(t) => {
                self.link = Link::Idle;
                self.drop_link_bytes(t);
                self.push_action(Action::Cut { transport: t });
                self.events.push_back(MachineEvent::TransportFailed);
                self.link_down(now);
            }
            Link::Up(t) if self.engine.state() != ConnectionState::Connected => {
                self.link = Link::Idle;
                self.engine.abandon(CloseReason::ConnectTimeout);
                self.pump(now);
                self.drop_link_bytes(t);
                self.push_action(Action::Cut { transport: t });
                self.link_down(now);
            }
            _ => {}
        }
    }

    /// Bytes for a transport that is gone never leave; the QoS 0 messages in them are lost.
    pub(super) fn drop_link_bytes(&mut self, transport: TransportId) {
        // The link is no longer current: what the engine still holds is dropped.
        self.take_engine_bytes();
        let mut lost = Vec::new();
        self.out.retain_mut(|o| match o {
            Out::Bytes {
                transport: t,
                written,
                ..
            } if *t == transport => {
                lost.append(written);
                false
            }
            _ => true,
        });
        lost.append(&mut self.written_next);
        for token in lost {
            self.complete(token, Err(CommandFailure::ConnectionLost));
        }
    }

    /// A link ended other than by `end`: wait and try again, or stop.
    pub(super) fn link_down(&mut self, now: Instant) {
        self.connect_deadline = None;
        if self.end_when_idle.take().is_some() {
            return self.finish_ended();
        }
        match self.policy.reconnect.as_mut() {
            Some(backoff) if !self.ended => {
                let wait = backoff.next_delay(splitmix(&mut self.rng));
                self.retry_at = Some(now + wait);
                self.events.push_back(MachineEvent::Offline);
            }
            _ => {
                self.stopped = true;
                self.fail_all(CommandFailure::ConnectionLost);
            }
        }
    }
}
