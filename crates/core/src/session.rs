//! Durable session state, apart from any connection (as in minimq), and the QoS 1/2 flows
//! over it: messages in flight and queued, QoS 2 ids received and not yet released. The
//! client engine and the broker (for each session) drive the same type, so both sides keep
//! the same promises. It is a value: serialize it, keep it (a file, IndexedDB), and a
//! restarted client or broker picks up where it was.

use crate::decode::decode_packet;
use crate::encode::encode_to_vec;
use crate::id_map::IdMap;
use crate::packet::{Ack, Packet, PacketId, ProtocolVersion, Publish, QoS};
use crate::packet_id::{PacketIdAllocator, PacketIdsExhausted};
use crate::time::Instant;
use bytes::Bytes;
use std::collections::VecDeque;

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
    /// The PUBLISH, encoded as MQTT 5 (a superset of 3.1.1's fields) so the session needs
    /// no serde view of packets.
    pub publish: Vec<u8>,
}

/// Durable session state of one side of a session: the QoS 1/2 flows and the queue.
#[derive(Debug, Clone, Default)]
pub struct SessionState {
    pub(crate) last_packet_id: u16,
    /// In the order of first sending, which resends keep [MQTT-4.6.0-1].
    pub(crate) outbound: IdMap<Outbound>,
    pub(crate) inbound_qos2: IdMap<()>,
    /// Waiting for a connection, or for room in the in-flight window.
    pub(crate) queued: VecDeque<Queued>,
    /// Ids taken by messages in flight and queued, and by requests; rebuilt on load.
    pub(crate) ids: PacketIdAllocator,
    /// Encoded bytes of the queued messages; rebuilt on load.
    pub(crate) queued_bytes: usize,
}

/// One message waiting to be sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Queued {
    /// v5-encoded PUBLISH.
    pub publish: Vec<u8>,
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

pub(crate) fn store(publish: &Publish) -> Vec<u8> {
    // Packets in a session were validated when they were made, so they encode.
    encode_to_vec(&Packet::Publish(publish.clone()), ProtocolVersion::V5).unwrap_or_default()
}

pub(crate) fn load(bytes: &[u8]) -> Option<Publish> {
    match decode_packet(Bytes::copy_from_slice(bytes), ProtocolVersion::V5) {
        Ok(Packet::Publish(p)) => Some(p),
        _ => None,
    }
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
        let stored = store(&publish);
        self.queued_bytes += stored.len();
        self.queued.push_back(Queued {
            publish: stored,
            expires_at: expires_at.map(Instant::as_millis),
        });
        Ok(publish.packet_id)
    }

    fn pop_queued(&mut self) -> Option<Queued> {
        let q = self.queued.pop_front()?;
        self.queued_bytes = self.queued_bytes.saturating_sub(q.publish.len());
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
            let publish = load(&front.publish);
            let Some(mut publish) = publish else {
                // Stored by us, so it loads; a stray entry is dropped rather than stuck.
                self.pop_queued();
                continue;
            };
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
                let mut stored = self.pop_queued().map(|q| q.publish).unwrap_or_default();
                if expires_at.is_some() && now.is_some() {
                    stored = store(&publish);
                }
                self.outbound.insert(
                    id.get(),
                    Outbound {
                        stage: Stage::Published,
                        qos: publish.qos.as_u8(),
                        publish: stored,
                    },
                );
            } else {
                self.pop_queued();
            }
            return Some(publish);
        }
    }

    /// The packet that resends in-flight message `id`: its PUBLISH with DUP, or its PUBREL.
    pub fn resend(&self, id: PacketId) -> Option<Packet> {
        let outbound = self.outbound.get(id.get())?;
        Some(match outbound.stage {
            Stage::Published => Packet::Publish(Publish {
                dup: true,
                ..load(&outbound.publish)?
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
        self.inbound_qos2.insert(id.get(), ());
        Inbound::Deliver
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
