//! The commands a [`ClientMachine`] takes, and how each one ends.

use super::{Action, ClientMachine, Link, MachineEvent, Token};
use crate::client_events::{ClientError, CloseReason, ConnectionState, LostReason};
use crate::packet::{Publish, QoS, SubscribeFilter};
use crate::prelude::*;
use crate::properties::Properties;
use crate::reason::ReasonCode;
use crate::time::Instant;
use crate::topic::validate_topic_filter;

/// What the application asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Queued while disconnected (QoS 0 only with `queue_qos0`).
    Publish(Publish),
    /// Queued while disconnected, and remembered to make again if the broker loses the
    /// session.
    Subscribe {
        filters: Vec<SubscribeFilter>,
        properties: Properties,
    },
    /// Queued while disconnected, and forgotten at once.
    Unsubscribe {
        filters: Vec<String>,
        properties: Properties,
    },
}

/// How a command succeeded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Done {
    /// PUBACK or PUBCOMP with this code; for QoS 0, its bytes were handed to the transport.
    Published(ReasonCode),
    /// SUBACK: one code per filter, failures included.
    Subscribed(Vec<ReasonCode>),
    Unsubscribed,
}

/// Why a command will never succeed. Who is at fault is in the name.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CommandFailure {
    /// The broker refused the message (an MQTT 5 reason code of 0x80 or more).
    Refused(ReasonCode),
    /// The engine refused it when a connection came to carry it (the caller's fault).
    Invalid(ClientError),
    /// The broker answered CONNECT without the session the message was in.
    SessionLost,
    /// The connection that carried it ended before its answer, or with no reconnect to
    /// come.
    ConnectionLost,
    /// `end` came before its answer.
    Ended,
}

impl From<LostReason> for CommandFailure {
    fn from(reason: LostReason) -> Self {
        match reason {
            LostReason::SessionLost => CommandFailure::SessionLost,
            LostReason::ConnectionLost => CommandFailure::ConnectionLost,
        }
    }
}

pub type Outcome = Result<Done, CommandFailure>;

/// How to end (MQTT.js's `end(force, { reasonCode, properties })`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct End {
    /// Drop the transport without DISCONNECT, at once: the broker sends the will.
    pub force: bool,
    /// MQTT 5: DISCONNECT's reason code; 0x04 asks the broker to send the will anyway.
    pub reason_code: ReasonCode,
    pub properties: Properties,
}

impl ClientMachine {
    /// Takes a command. An error now is the caller's fault (a bad topic, a full queue, an
    /// ended client); otherwise exactly one [`MachineEvent::Completed`] names `token` later.
    pub fn command(
        &mut self,
        token: Token,
        command: Command,
        now: Instant,
    ) -> Result<(), ClientError> {
        // From `end()` on, including while its DISCONNECT is closing the link: a command
        // taken then could only fail later.
        if self.ended || self.end_when_idle.is_some() || matches!(self.link, Link::Closing(..)) {
            return Err(ClientError::Ended);
        }
        if self.stopped {
            return Err(ClientError::NotConnected);
        }
        let result = match command {
            Command::Publish(_) => self.issue(token, command, now),
            Command::Subscribe { ref filters, .. } => {
                for f in filters {
                    validate_topic_filter(&f.filter).map_err(ClientError::InvalidTopic)?;
                }
                self.subscriptions
                    .retain(|x| filters.iter().all(|f| f.filter != x.filter));
                self.subscriptions.extend(filters.iter().cloned());
                self.issue_or_hold(token, command, now)
            }
            Command::Unsubscribe { ref filters, .. } => {
                for f in filters {
                    validate_topic_filter(f).map_err(ClientError::InvalidTopic)?;
                }
                self.subscriptions.retain(|x| !filters.contains(&x.filter));
                self.issue_or_hold(token, command, now)
            }
        };
        self.after_input(now);
        result
    }

    fn issue_or_hold(
        &mut self,
        token: Token,
        command: Command,
        now: Instant,
    ) -> Result<(), ClientError> {
        if self.engine.state() != ConnectionState::Disconnected {
            return self.issue(token, command, now);
        }
        if self.pending.len() >= self.engine.options().max_queued {
            return Err(ClientError::QueueFull);
        }
        self.pending.push_back((token, command));
        self.engine.hold_queue(true, now);
        Ok(())
    }

    /// Hands a command to the engine, and remembers whom its answer is for.
    pub(super) fn issue(
        &mut self,
        token: Token,
        command: Command,
        now: Instant,
    ) -> Result<(), ClientError> {
        match command {
            Command::Publish(publish) => {
                let connected = self.engine.state() == ConnectionState::Connected;
                if publish.qos == QoS::AtMostOnce && !connected && !self.engine.options().queue_qos0
                {
                    // At most once: without a connection, "once" is none.
                    return Err(ClientError::NotConnected);
                }
                match self.engine.publish_with(publish, now)? {
                    Some(id) => self.by_id.insert(id.get(), token),
                    None if connected => self.written_next.push(token),
                    None => self.queued_qos0.push(token),
                }
            }
            Command::Subscribe {
                filters,
                properties,
            } => {
                let id = self.engine.subscribe_with(filters, properties, now)?;
                self.by_id.insert(id.get(), token);
            }
            Command::Unsubscribe {
                filters,
                properties,
            } => {
                let id = self.engine.unsubscribe_with(filters, properties, now)?;
                self.by_id.insert(id.get(), token);
            }
        }
        Ok(())
    }

    /// Ends the client: no more connections until [`connect`](ClientMachine::connect).
    /// Gracefully (DISCONNECT, then close), once the commands in flight are answered, as
    /// MQTT.js's `end()` waits for them; with `force`, at once and without DISCONNECT.
    /// [`MachineEvent::Ended`] follows; what is still waiting then fails with `Ended`.
    pub fn end(&mut self, end: End, now: Instant) {
        if self.ended {
            return;
        }
        self.retry_at = None;
        let connected = self.engine.state() == ConnectionState::Connected;
        if !end.force && connected && self.commands_in_flight() > 0 {
            self.end_when_idle = Some(end);
        } else {
            self.end_when_idle = None;
            self.finish_end(end, now);
        }
        self.after_input(now);
    }

    pub(super) fn finish_end(&mut self, end: End, now: Instant) {
        match self.link {
            Link::Idle => self.finish_ended(),
            Link::Opening(t) => {
                self.link = Link::Idle;
                self.drop_link_bytes(t);
                self.push_action(Action::Cut { transport: t });
                self.finish_ended();
            }
            Link::Up(t) if end.force || self.engine.state() != ConnectionState::Connected => {
                self.link = Link::Idle;
                self.engine.abandon(if end.force {
                    CloseReason::ConnectionLost
                } else {
                    CloseReason::Disconnected
                });
                self.pump(now);
                self.drop_link_bytes(t);
                let action = if end.force {
                    Action::Cut { transport: t }
                } else {
                    Action::Close { transport: t }
                };
                self.push_action(action);
                self.finish_ended();
            }
            Link::Up(t) => {
                // Closing before the engine speaks, so its Closed is not taken for a drop.
                self.link = Link::Closing(t, now + self.policy.close_wait);
                self.engine
                    .disconnect_with(end.reason_code, end.properties, now);
                self.pump(now);
                self.push_action(Action::Close { transport: t });
            }
            Link::Closing(..) => {}
        }
    }

    /// The end is complete.
    pub(super) fn finish_ended(&mut self) {
        if self.ended {
            return;
        }
        self.ended = true;
        self.retry_at = None;
        self.connect_deadline = None;
        self.fail_all(CommandFailure::Ended);
        self.events.push_back(MachineEvent::Ended);
    }
}
