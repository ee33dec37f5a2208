//! What the broker task and one connection task share: the buffers waiting to be written,
//! whether the broker wants the connection read, and the connection's read credit. The
//! broker closes a connection by dropping its end: what is queued is written, then the
//! connection ends.
//!
//! One small allocation per connection. A tokio `mpsc` channel, a `watch` channel and an
//! `Arc<Semaphore>` did the same in three, and the channel's first block of 32 slots alone
//! was about 1.3 KB: most of what an idle connection cost beside its session.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};

use bytes::Bytes;
use tokio::sync::{Notify, Semaphore};

/// Reads a connection may have waiting for the broker task.
pub const READS_IN_FLIGHT: usize = 2;

/// Slots a drained queue keeps: a burst's queue is not kept for an idle connection.
const KEPT_SLOTS: usize = 8;

struct Shared {
    state: Mutex<State>,
    /// Something was queued, or the broker side went.
    queued: Notify,
    /// The broker resumed reading.
    resumed: Notify,
    reads: Semaphore,
}

#[derive(Default)]
struct State {
    queue: VecDeque<Bytes>,
    paused: bool,
    /// The broker side was dropped: nothing more will be queued.
    broker_gone: bool,
    /// The connection side was dropped: nothing queued will be written.
    conn_gone: bool,
}

impl Shared {
    fn state(&self) -> MutexGuard<'_, State> {
        // A panic while the lock was held left nothing half-done worth refusing over.
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Both ends of a new connection's link.
pub fn link() -> (BrokerEnd, ConnEnd) {
    let shared = Arc::new(Shared {
        state: Mutex::new(State::default()),
        queued: Notify::new(),
        resumed: Notify::new(),
        reads: Semaphore::new(READS_IN_FLIGHT),
    });
    (BrokerEnd(shared.clone()), ConnEnd(shared))
}

/// The broker task's end: queues what to write, pauses and resumes reading.
pub struct BrokerEnd(Arc<Shared>);

impl BrokerEnd {
    /// Queues `bytes` for the connection task; dropped if that task has ended.
    pub fn send(&self, bytes: Bytes) {
        {
            let mut state = self.0.state();
            if state.conn_gone {
                return;
            }
            state.queue.push_back(bytes);
        }
        self.0.queued.notify_one();
    }

    pub fn set_paused(&self, paused: bool) {
        self.0.state().paused = paused;
        if !paused {
            self.0.resumed.notify_one();
        }
    }
}

impl Drop for BrokerEnd {
    fn drop(&mut self) {
        self.0.state().broker_gone = true;
        self.0.queued.notify_one();
    }
}

/// The connection task's end.
pub struct ConnEnd(Arc<Shared>);

impl ConnEnd {
    /// The next thing queued; `None` once the broker side is gone and the queue is empty.
    pub async fn recv(&self) -> Option<Bytes> {
        loop {
            {
                let mut state = self.0.state();
                if let Some(bytes) = state.queue.pop_front() {
                    return Some(bytes);
                }
                if state.broker_gone {
                    return None;
                }
                if state.queue.capacity() > KEPT_SLOTS {
                    state.queue.shrink_to(KEPT_SLOTS);
                }
            }
            // A send between the check and this wait leaves a permit: no wake-up is lost.
            self.0.queued.notified().await;
        }
    }

    /// The next thing queued, if there is one now.
    pub fn try_recv(&self) -> Option<Bytes> {
        self.0.state().queue.pop_front()
    }

    /// Waits while the broker has this connection paused.
    pub async fn while_paused(&self) {
        while self.0.state().paused {
            self.0.resumed.notified().await;
        }
    }

    /// One read's credit; waits while the broker task still holds the connection's others.
    pub async fn credit(&self) -> Option<ReadCredit> {
        self.0.reads.acquire().await.ok()?.forget();
        Some(ReadCredit(self.0.clone()))
    }
}

impl Drop for ConnEnd {
    fn drop(&mut self) {
        let mut state = self.0.state();
        state.conn_gone = true;
        state.queue = VecDeque::new();
    }
}

/// A read's credit, held until the broker task is done with the bytes it came with: a
/// connection has at most [`READS_IN_FLIGHT`] reads waiting, so a fast publisher cannot
/// pile its stream up, and a pause takes hold at once.
pub struct ReadCredit(Arc<Shared>);

impl Drop for ReadCredit {
    fn drop(&mut self) {
        self.0.reads.add_permits(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn bytes(out: Option<Bytes>) -> Option<Vec<u8>> {
        out.map(|b| b.to_vec())
    }

    #[tokio::test]
    async fn queued_before_the_broker_end_goes_is_received_then_none() {
        let (broker, conn) = link();
        broker.send(Bytes::from_static(b"a"));
        broker.send(Bytes::from_static(b"b"));
        drop(broker);
        assert_eq!(bytes(conn.recv().await), Some(b"a".to_vec()));
        assert_eq!(bytes(conn.try_recv()), Some(b"b".to_vec()));
        assert!(conn.recv().await.is_none());
    }

    #[tokio::test]
    async fn a_waiting_receiver_wakes_on_send() {
        let (broker, conn) = link();
        let waiting = tokio::spawn(async move { bytes(conn.recv().await) });
        tokio::time::sleep(Duration::from_millis(10)).await;
        broker.send(Bytes::from_static(b"x"));
        let got = tokio::time::timeout(Duration::from_secs(5), waiting).await;
        assert_eq!(got.ok().and_then(Result::ok).flatten(), Some(b"x".to_vec()));
    }

    #[tokio::test]
    async fn sends_after_the_connection_end_went_are_dropped() {
        let (broker, conn) = link();
        drop(conn);
        broker.send(Bytes::from_static(b"lost"));
        assert!(broker.0.state().queue.is_empty());
    }

    #[tokio::test]
    async fn reading_waits_while_paused_and_credit_runs_out() {
        let (broker, conn) = link();
        broker.set_paused(true);
        let paused = tokio::time::timeout(Duration::from_millis(50), conn.while_paused()).await;
        assert!(paused.is_err(), "a paused connection must wait");
        broker.set_paused(false);
        let resumed = tokio::time::timeout(Duration::from_secs(5), conn.while_paused()).await;
        assert!(resumed.is_ok());
        let first = conn.credit().await;
        let second = conn.credit().await;
        assert!(first.is_some() && second.is_some());
        let third = tokio::time::timeout(Duration::from_millis(50), conn.credit()).await;
        assert!(third.is_err(), "a third read must wait for the broker task");
        drop(first);
        let third = tokio::time::timeout(Duration::from_secs(5), conn.credit()).await;
        assert!(matches!(third, Ok(Some(_))));
    }
}
