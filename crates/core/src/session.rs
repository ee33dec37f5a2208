//! Durable session state, apart from any connection (as in minimq), and the QoS 1/2 flows
//! over it: messages in flight and queued, QoS 2 ids received and not yet released. The
//! client engine and the broker (for each session) drive the same type, so both sides keep
//! the same promises. It is a value: serialize it, keep it (a file, IndexedDB), and a
//! restarted client or broker picks up where it was.

use crate::decode::decode_publish;
use crate::encode::encode_to_vec;
use crate::id_map::IdMap;
use crate::packet::{Ack, Packet, PacketId, ProtocolVersion, Publish, QoS};
use crate::packet_id::{PacketIdAllocator, PacketIdsExhausted};
use crate::prelude::*;
use crate::time::Instant;
use alloc::collections::VecDeque;
use bytes::Bytes;

/// Where an outbound QoS 1/2 message stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stage {
    /// PUBLISH sent (QoS 1: waiting for PUBACK; QoS 2: waiting for PUBREC).
    Published,
    /// QoS 2: PUBREC received and PUBREL sent; waiting for PUBCOMP. The PUBLISH is never
    /// sent again from here on.
    Released,
}

/// One outbound QoS 1/2 message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Outbound {
    pub stage: Stage,
    /// 1 or 2.
    pub qos: u8,
    /// The PUBLISH. Its payload is shared (`Bytes`) with every other session the message
    /// went to, so a message fanned out to many sessions is held once.
    pub publish: Publish,
}

/// Durable session state of one side of a session: the QoS 1/2 flows and the queue.
#[derive(Debug, Clone, Default)]
pub struct SessionState {
    pub(crate) last_packet_id: u16,
    /// In the order of first sending, which resends keep [MQTT-4.6.0-1].
    pub(crate) outbound: IdMap<Outbound>,
    /// QoS 2 ids received and not yet released, with the message where the receiver holds
    /// it until PUBREL (the broker does, as Mosquitto does; the client delivers at once).
    pub(crate) inbound_qos2: IdMap<Option<Publish>>,
    /// Waiting for a connection, or for room in the in-flight window.
    pub(crate) queued: VecDeque<Queued>,
    /// Ids taken by messages in flight and queued, and by requests; rebuilt on load.
    pub(crate) ids: PacketIdAllocator,
    /// Payload bytes of the queued messages; rebuilt on load.
    pub(crate) queued_bytes: usize,
}

/// One message waiting to be sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Queued {
    /// The PUBLISH, its payload shared as in [`Outbound`].
    pub publish: Publish,
    /// When its MQTT 5 Message Expiry Interval runs out, on the host's clock (ms).
    pub expires_at: Option<u64>,
}

/// The session state of a client; the same type the broker keeps per session.
pub type ClientSession = SessionState;

impl PartialEq for SessionState {
    fn eq(&self, other: &SessionState) -> bool {
        self.last_packet_id == other.last_packet_id
            && self.outbound == other.outbound
            && self.inbound_qos2 == other.inbound_qos2
            && self.queued == other.queued
    }
}

impl Eq for SessionState {}

/// What to do with an inbound QoS 2 PUBLISH.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inbound {
    /// New: deliver it, then PUBREC.
    Deliver,
    /// Seen before and not yet released: PUBREC again, do not deliver.
    Duplicate,
    /// More unreleased QoS 2 messages than our Receive Maximum: disconnect with 0x93.
    OverReceiveMaximum,
}

/// What a PUBREC means for the flow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PubRecOutcome {
    /// Send PUBREL (again, if this PUBREC is a repeat).
    Release,
    /// A failure reason (MQTT 5): the flow ends here, without PUBREL.
    Completed,
    /// No QoS 2 message with that id: answer PUBREL 0x92 (5.0) or PUBREL (3.1.1).
    Unknown,
}

/// A PUBLISH in its stored form: MQTT 5 bytes, a superset of 3.1.1's fields.
pub(crate) fn store(publish: &Publish) -> Vec<u8> {
    // Packets in a session were validated when they were made, so they encode.
    encode_to_vec(&Packet::Publish(publish.clone()), ProtocolVersion::V5).unwrap_or_default()
}

/// A PUBLISH from its stored form.
pub(crate) fn load(bytes: &[u8]) -> Option<Publish> {
    decode_publish(Bytes::copy_from_slice(bytes), ProtocolVersion::V5)
}

impl SessionState {
    /// A new, empty session.
    pub fn new() -> SessionState {
        SessionState::default()
    }

    /// QoS 1/2 messages sent and not yet acknowledged.
    pub fn in_flight(&self) -> usize {
        self.outbound.len()
    }

    /// Payload bytes of the QoS 1/2 messages in flight.
    pub fn in_flight_payload_bytes(&self) -> usize {
        self.outbound
            .values()
            .map(|o| o.publish.payload.len())
            .sum()
    }

    /// Messages waiting for a connection (or for the broker's Receive Maximum).
    pub fn queued(&self) -> usize {
        self.queued.len()
    }

    /// Encoded size of the queued messages, for a per-session byte limit.
    pub fn queued_bytes(&self) -> usize {
        self.queued_bytes
    }

    /// QoS 2 ids received and not yet released by PUBREL.
    pub fn inbound_qos2(&self) -> usize {
        self.inbound_qos2.len()
    }

    /// Whether nothing is pending.
    pub fn is_idle(&self) -> bool {
        self.outbound.is_empty() && self.inbound_qos2.is_empty() && self.queued.is_empty()
    }

    /// Packet ids taken.
    pub fn packet_ids_in_use(&self) -> usize {
        self.ids.in_use()
    }

    /// A packet id for a request (SUBSCRIBE, UNSUBSCRIBE) that shares the id space.
    pub fn allocate_id(&mut self) -> Result<PacketId, PacketIdsExhausted> {
        let id = self.ids.allocate()?;
        self.last_packet_id = self.ids.last();
        Ok(id)
    }

    /// Frees an id taken with [`SessionState::allocate_id`].
    pub fn free_id(&mut self, id: PacketId) {
        self.ids.free(id);
    }

    /// Queues `publish`, assigning its packet id (QoS 1/2). It leaves through
    /// [`SessionState::next_ready`].
    pub fn enqueue(&mut self, publish: Publish) -> Result<Option<PacketId>, PacketIdsExhausted> {
        self.enqueue_until(publish, None)
    }

    /// [`SessionState::enqueue`] for a message that expires at `expires_at` (MQTT 5
    /// Message Expiry Interval): [`SessionState::next_ready_at`] drops it after that, and
    /// forwards the time that remains before.
    pub fn enqueue_until(
        &mut self,
        mut publish: Publish,
        expires_at: Option<Instant>,
    ) -> Result<Option<PacketId>, PacketIdsExhausted> {
        publish.dup = false;
        publish.packet_id = match publish.qos {
            QoS::AtMostOnce => None,
            _ => Some(self.allocate_id()?),
        };
        self.queued_bytes += publish.payload.len();
        let id = publish.packet_id;
        self.queued.push_back(Queued {
            publish,
            expires_at: expires_at.map(Instant::as_millis),
        });
        Ok(id)
    }

    fn pop_queued(&mut self) -> Option<Queued> {
        let q = self.queued.pop_front()?;
        self.queued_bytes = self.queued_bytes.saturating_sub(q.publish.payload.len());
        Some(q)
    }

    /// The next queued message to send, if the in-flight `window` has room; a QoS 1/2
    /// message moves in flight.
    pub fn next_ready(&mut self, window: usize) -> Option<Publish> {
        self.next_ready_at(window, None)
    }

    /// [`SessionState::next_ready`] at time `now`: expired messages are dropped [MQTT-3.3.2-5]
    /// and the rest carry the expiry interval that remains [MQTT-3.3.2-6].
    pub fn next_ready_at(&mut self, window: usize, now: Option<Instant>) -> Option<Publish> {
        loop {
            let front = self.queued.front()?;
            let expires_at = front.expires_at;
            let mut publish = front.publish.clone();
            if let (Some(deadline), Some(now)) = (expires_at, now) {
                let left_ms = deadline.saturating_sub(now.as_millis());
                if left_ms == 0 {
                    if let Some(id) = publish.packet_id {
                        self.ids.free(id);
                    }
                    self.pop_queued();
                    continue;
                }
                let left_s = u32::try_from(left_ms.div_ceil(1000)).unwrap_or(u32::MAX);
                publish.properties.message_expiry_interval = Some(left_s);
            }
            if let Some(id) = publish.packet_id {
                if self.outbound.len() >= window {
                    return None;
                }
                self.pop_queued();
                self.outbound.insert(
                    id.get(),
                    Outbound {
                        stage: Stage::Published,
                        qos: publish.qos.as_u8(),
                        publish: publish.clone(),
                    },
                );
            } else {
                self.pop_queued();
            }
            return Some(publish);
        }
    }

    /// Drops the next queued message without sending it, freeing its packet id: for a
    /// message the other side could not take, which [MQTT-3.1.2-25] treats as delivered.
    pub fn discard_next(&mut self) -> Option<Publish> {
        let q = self.pop_queued()?;
        if let Some(id) = q.publish.packet_id {
            self.ids.free(id);
        }
        Some(q.publish)
    }

    /// Drops the queued and in-flight messages `keep` refuses, freeing their ids: what a
    /// broker does when a client reconnects and may no longer read some of them (its ACL
    /// changed while it was away). Returns how many were dropped.
    pub fn drop_messages(&mut self, mut keep: impl FnMut(&Publish) -> bool) -> usize {
        let before = self.queued.len() + self.outbound.len();
        let mut kept = VecDeque::with_capacity(self.queued.len());
        for q in core::mem::take(&mut self.queued) {
            if keep(&q.publish) {
                kept.push_back(q);
            } else {
                self.queued_bytes = self.queued_bytes.saturating_sub(q.publish.payload.len());
                if let Some(id) = q.publish.packet_id {
                    self.ids.free(id);
                }
            }
        }
        self.queued = kept;
        let refused: Vec<PacketId> = self
            .outbound
            .iter()
            .filter(|(_, o)| o.stage == Stage::Published && !keep(&o.publish))
            .filter_map(|(id, _)| PacketId::new(id))
            .collect();
        for id in refused {
            self.finish(id);
        }
        before - self.queued.len() - self.outbound.len()
    }

    /// The QoS of outbound message `id` in flight, and whether it is released (PUBREC
    /// received): what an acknowledgement for `id` must match.
    pub fn in_flight_stage(&self, id: PacketId) -> Option<(QoS, bool)> {
        self.outbound.get(id.get()).map(|o| {
            let qos = if o.qos == 2 {
                QoS::ExactlyOnce
            } else {
                QoS::AtLeastOnce
            };
            (qos, o.stage == Stage::Released)
        })
    }

    /// The next queued message, without taking it: what [`SessionState::next_ready_at`]
    /// would return first, before expiry is applied. Lets a sender check its size.
    pub fn peek_queued(&self) -> Option<&Publish> {
        self.queued.front().map(|q| &q.publish)
    }

    /// The packet that resends in-flight message `id`: its PUBLISH with DUP, or its PUBREL.
    pub fn resend(&self, id: PacketId) -> Option<Packet> {
        let outbound = self.outbound.get(id.get())?;
        Some(match outbound.stage {
            Stage::Published => Packet::Publish(Publish {
                dup: true,
                ..outbound.publish.clone()
            }),
            Stage::Released => Packet::PubRel(Ack::new(id)),
        })
    }

    /// Every in-flight message's resend, in the order they were first sent: what a
    /// reconnect that finds the session present sends first [MQTT-4.4.0-1].
    pub fn resend_all(&self) -> Vec<Packet> {
        self.in_flight_ids()
            .into_iter()
            .filter_map(|id| self.resend(id))
            .collect()
    }

    /// Ids of the messages in flight, in sending order.
    pub fn in_flight_ids(&self) -> Vec<PacketId> {
        self.outbound.keys().filter_map(PacketId::new).collect()
    }

    fn finish(&mut self, id: PacketId) {
        self.outbound.remove(id.get());
        self.ids.free(id);
    }

    fn stage(&self, id: PacketId) -> Option<(Stage, u8)> {
        self.outbound.get(id.get()).map(|o| (o.stage, o.qos))
    }

    /// PUBACK: completes a QoS 1 message. False if no QoS 1 message has that id.
    pub fn on_puback(&mut self, id: PacketId) -> bool {
        let done = self.stage(id) == Some((Stage::Published, 1));
        if done {
            self.finish(id);
        }
        done
    }

    /// PUBREC, with whether its reason code is a success.
    pub fn on_pubrec(&mut self, id: PacketId, success: bool) -> PubRecOutcome {
        match self.stage(id) {
            Some((Stage::Published, 2)) if !success => {
                self.finish(id);
                PubRecOutcome::Completed
            }
            Some((_, 2)) => {
                if let Some(o) = self.outbound.get_mut(id.get()) {
                    o.stage = Stage::Released;
                }
                PubRecOutcome::Release
            }
            _ => PubRecOutcome::Unknown,
        }
    }

    /// PUBCOMP: completes a released QoS 2 message. False if none has that id.
    pub fn on_pubcomp(&mut self, id: PacketId) -> bool {
        let done = matches!(self.stage(id), Some((Stage::Released, _)));
        if done {
            self.finish(id);
        }
        done
    }

    /// An inbound QoS 2 PUBLISH, against our `receive_maximum`.
    pub fn on_inbound_qos2(&mut self, id: PacketId, receive_maximum: u16) -> Inbound {
        if self.inbound_qos2.contains_key(id.get()) {
            return Inbound::Duplicate;
        }
        if self.inbound_qos2.len() >= usize::from(receive_maximum) {
            return Inbound::OverReceiveMaximum;
        }
        self.inbound_qos2.insert(id.get(), None);
        Inbound::Deliver
    }

    /// An inbound QoS 2 PUBLISH whose message is held until PUBREL releases it: what a
    /// broker that routes on PUBREL keeps. `Deliver` here means "held"; the message comes
    /// back from [`SessionState::release_inbound`].
    pub fn hold_inbound_qos2(
        &mut self,
        id: PacketId,
        publish: Publish,
        receive_maximum: u16,
    ) -> Inbound {
        match self.on_inbound_qos2(id, receive_maximum) {
            Inbound::Deliver => {
                self.inbound_qos2.insert(id.get(), Some(publish));
                Inbound::Deliver
            }
            other => other,
        }
    }

    /// The message held for inbound QoS 2 id `id`, if one is.
    pub fn held_inbound(&self, id: PacketId) -> Option<&Publish> {
        self.inbound_qos2.get(id.get()).and_then(Option::as_ref)
    }

    /// PUBREL for a held QoS 2 message: the id is released, and its message, if one was
    /// held, is returned to be routed now.
    pub fn release_inbound(&mut self, id: PacketId) -> Option<Publish> {
        self.inbound_qos2.remove(id.get()).flatten()
    }

    /// PUBREL: the QoS 2 id is released (known or not; PUBCOMP answers either way).
    pub fn on_pubrel(&mut self, id: PacketId) {
        self.inbound_qos2.remove(id.get());
    }

    /// The other side has no session: every message in flight ends, and its id is freed.
    /// Returns them, in sending order, to be reported lost.
    pub fn lose_in_flight(&mut self) -> Vec<PacketId> {
        let lost = self.in_flight_ids();
        for id in &lost {
            self.finish(*id);
        }
        self.inbound_qos2.clear();
        lost
    }
}
