//! Back-pressure: a publisher may not outrun a subscriber that is keeping up.
//!
//! When a message leaves a live subscriber's queue more than half full, the publisher's
//! connection is paused: the host stops reading from it (see [`Broker::poll_flow`]) until
//! every subscriber that paused it is down to a quarter, as Mosquitto's one-packet-per-
//! turn loop slows a publisher to its subscribers' pace. A subscriber that has not made
//! progress (no acknowledgement, no bytes taken by its socket) for
//! [`BrokerConfig::stall_timeout`](crate::BrokerConfig) holds nobody back: its own queue
//! overflows, and only it loses messages.

use crate::broker::{Broker, ConnId};
use std::collections::BTreeSet;
use tabmq_core::Instant;

/// Whether the host should read from a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flow {
    /// Stop reading: a subscriber this connection publishes to is falling behind.
    Pause,
    /// Read again.
    Resume,
}

/// Who holds whom back.
#[derive(Debug, Default)]
pub(crate) struct Pressure {
    /// Subscribers (client ids) whose queue a message just filled past half.
    pub congested_now: Vec<String>,
    /// Paused publisher connections, with the subscribers holding each.
    pub paused: crate::fast_hash::HashMap<ConnId, BTreeSet<String>>,
    /// Subscribers, with the publisher connections they hold.
    pub holding: crate::fast_hash::HashMap<String, BTreeSet<ConnId>>,
    /// Changes not yet taken by the host, the latest per connection.
    pub changes: std::collections::BTreeMap<ConnId, Flow>,
}

impl Pressure {
    pub(crate) fn shrink(&mut self) {
        self.congested_now.shrink_to_fit();
        self.paused.shrink_to_fit();
        self.holding.shrink_to_fit();
    }
}

impl Broker {
    /// The next connection whose reading should stop or start again. A host that cannot
    /// pause its transport may ignore these; the broker then protects itself with its
    /// queue limits alone.
    pub fn poll_flow(&mut self) -> Option<(ConnId, Flow)> {
        let conn = *self.pressure.changes.keys().next()?;
        let flow = self.pressure.changes.remove(&conn)?;
        Some((conn, flow))
    }

    /// Whether reading from `conn` is paused.
    pub fn is_paused(&self, conn: ConnId) -> bool {
        self.pressure.paused.contains_key(&conn)
    }

    /// How many bytes the host holds for `conn` and has not yet written: it reports this
    /// whenever it changes much, so the broker keeps what a slow reader has not taken in
    /// its queue (shared, and bounded) rather than in output buffers.
    pub fn handle_backlog(&mut self, conn: ConnId, unwritten: usize, now: Instant) {
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        if unwritten < c.unwritten {
            c.last_progress = now;
        }
        c.unwritten = unwritten;
        if let Some(client_id) = c.client_id.clone() {
            self.flush(&client_id, now);
        }
    }

    /// The client on `conn` took something (an acknowledgement arrived).
    pub(crate) fn note_progress(&mut self, conn: ConnId, now: Instant) {
        if let Some(c) = self.conns.get_mut(&conn) {
            c.last_progress = now;
        }
    }

    fn congestion_marks(&self) -> (usize, usize) {
        let max = self.config.max_queued_messages.max(4);
        (max / 2, max / 4)
    }

    /// Whether `client_id` is online and has taken something lately.
    fn progressing(&self, client_id: &str, now: Instant) -> bool {
        self.attached
            .get(client_id)
            .and_then(|conn| self.conns.get(conn))
            .is_some_and(|c| now < c.last_progress + self.config.stall_timeout)
    }

    /// After a message was queued for `client_id`: notes it if its queue is past half
    /// and it is keeping up, so the publisher is paused.
    pub(crate) fn note_congestion(&mut self, client_id: &str, now: Instant) {
        let (high, _) = self.congestion_marks();
        let queued = self.sessions.get(client_id).map_or(0, |s| s.state.queued());
        if queued >= high && self.progressing(client_id, now) {
            self.pressure.congested_now.push(client_id.to_owned());
        }
    }

    /// After routing a message from `publisher`: pause its connection if a subscriber it
    /// filled is keeping up and past half.
    pub(crate) fn check_pressure(&mut self, publisher: &str, _now: Instant) {
        let congested = std::mem::take(&mut self.pressure.congested_now);
        let Some(&conn) = self.attached.get(publisher) else {
            return;
        };
        for subscriber in congested {
            if subscriber == publisher {
                continue;
            }
            let newly = !self.pressure.paused.contains_key(&conn);
            self.pressure
                .paused
                .entry(conn)
                .or_default()
                .insert(subscriber.clone());
            self.pressure
                .holding
                .entry(subscriber)
                .or_default()
                .insert(conn);
            if newly {
                self.pressure.changes.insert(conn, Flow::Pause);
            }
        }
    }

    /// After `subscriber`'s queue moved: release the publishers it holds once it is down
    /// to a quarter, or has stopped taking anything.
    pub(crate) fn relieve_pressure(&mut self, subscriber: &str, now: Instant) {
        if !self.pressure.holding.contains_key(subscriber) {
            return;
        }
        let (_, low) = self.congestion_marks();
        let queued = self
            .sessions
            .get(subscriber)
            .map_or(0, |s| s.state.queued());
        if queued > low && self.progressing(subscriber, now) {
            return;
        }
        self.release_held_by(subscriber);
    }

    /// Resumes the publishers `subscriber` holds that nothing else holds.
    pub(crate) fn release_held_by(&mut self, subscriber: &str) {
        let Some(held) = self.pressure.holding.remove(subscriber) else {
            return;
        };
        for conn in held {
            let Some(holders) = self.pressure.paused.get_mut(&conn) else {
                continue;
            };
            holders.remove(subscriber);
            if holders.is_empty() {
                self.pressure.paused.remove(&conn);
                self.pressure.changes.insert(conn, Flow::Resume);
            }
        }
    }

    /// A connection is gone: it holds nobody back, and nobody needs to resume it.
    pub(crate) fn forget_pressure(&mut self, conn: ConnId, client_id: Option<&str>) {
        if let Some(holders) = self.pressure.paused.remove(&conn) {
            for subscriber in holders {
                if let Some(held) = self.pressure.holding.get_mut(&subscriber) {
                    held.remove(&conn);
                    if held.is_empty() {
                        self.pressure.holding.remove(&subscriber);
                    }
                }
            }
        }
        self.pressure.changes.remove(&conn);
        if let Some(client_id) = client_id {
            self.release_held_by(client_id);
        }
    }

    /// Subscribers that stopped making progress release what they hold.
    pub(crate) fn expire_stalled_holders(&mut self, now: Instant) {
        let stalled: Vec<String> = self
            .pressure
            .holding
            .keys()
            .filter(|s| !self.progressing(s, now))
            .cloned()
            .collect();
        for subscriber in stalled {
            self.release_held_by(&subscriber);
        }
    }

    /// When the next holder would count as stalled.
    pub(crate) fn next_stall(&self) -> Option<Instant> {
        self.pressure
            .holding
            .keys()
            .filter_map(|s| self.attached.get(s))
            .filter_map(|conn| self.conns.get(conn))
            .map(|c| c.last_progress + self.config.stall_timeout)
            .min()
    }
}
