//! Commands as futures: `publish` that completes at PUBACK or PUBCOMP (at once for QoS 0),
//! `subscribe` that gives the granted QoS. The engine's events complete them by packet id.

use futures_channel::oneshot;
use std::cell::RefCell;
use std::collections::HashMap;
use tabmq_core::{ClientError, ClientEvent, LostReason, PacketId, ReasonCode};

/// Why a command did not complete. Who is at fault differs per variant.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CommandError {
    /// Refused before anything was sent; the caller is at fault.
    Refused(ClientError),
    /// The broker answered with a failure reason code (MQTT 5, or SUBACK 0x80).
    Failed(ReasonCode),
    /// It will never complete: the session or the connection is gone.
    Lost(LostReason),
    /// The client was dropped while waiting.
    Dropped,
}

impl std::fmt::Display for CommandError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CommandError::Refused(e) => write!(f, "refused: {e}"),
            CommandError::Failed(code) => {
                write!(f, "the broker answered reason code 0x{:02X}", code.0)
            }
            CommandError::Lost(LostReason::SessionLost) => {
                f.write_str("lost: the broker no longer has the session")
            }
            CommandError::Lost(_) => f.write_str("lost: the connection ended before the answer"),
            CommandError::Dropped => f.write_str("the client was dropped"),
        }
    }
}

impl std::error::Error for CommandError {}

/// How a command ended, as its waiter hears it.
#[derive(Debug)]
pub(crate) enum Outcome {
    Published(ReasonCode),
    Subscribed(Vec<ReasonCode>),
    Unsubscribed,
    Lost(LostReason),
}

/// Waiters by packet id.
#[derive(Default)]
pub(crate) struct Waiters(RefCell<HashMap<u16, oneshot::Sender<Outcome>>>);

impl Waiters {
    pub fn wait(&self, id: PacketId) -> oneshot::Receiver<Outcome> {
        let (tx, rx) = oneshot::channel();
        self.0.borrow_mut().insert(id.get(), tx);
        rx
    }

    /// Completes the waiter an event concerns, if any.
    pub fn complete(&self, event: &ClientEvent) {
        let (id, outcome) = match event {
            ClientEvent::Published {
                packet_id,
                reason_code,
            } => (*packet_id, Outcome::Published(*reason_code)),
            ClientEvent::Subscribed {
                packet_id,
                reason_codes,
            } => (*packet_id, Outcome::Subscribed(reason_codes.clone())),
            ClientEvent::Unsubscribed { packet_id } => (*packet_id, Outcome::Unsubscribed),
            ClientEvent::Lost { packet_id, reason } => (*packet_id, Outcome::Lost(*reason)),
            _ => return,
        };
        let waiter = self.0.borrow_mut().remove(&id.get());
        if let Some(tx) = waiter {
            let _ = tx.send(outcome);
        }
    }
}

impl Waiters {
    /// Ends every waiter: nothing will complete them.
    pub fn fail_all(&self, reason: LostReason) {
        let waiters: Vec<_> = self.0.borrow_mut().drain().collect();
        for (_, tx) in waiters {
            let _ = tx.send(Outcome::Lost(reason));
        }
    }
}

pub(crate) async fn outcome(rx: oneshot::Receiver<Outcome>) -> Result<Outcome, CommandError> {
    match rx.await {
        Ok(Outcome::Lost(reason)) => Err(CommandError::Lost(reason)),
        Ok(outcome) => Ok(outcome),
        Err(_) => Err(CommandError::Dropped),
    }
}
