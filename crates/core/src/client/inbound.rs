//! What the engine does with each packet from the broker: CONNACK, the QoS flows'
//! acknowledgements, messages, and packets that make no sense here.

use super::{ClientEngine, CloseReason, ConnectionState, Request};
use crate::client_events::{ClientEvent, LostReason};
use crate::packet::*;
use crate::reason::ReasonCode;
use crate::session::{Inbound, PubRecOutcome};
use crate::time::Instant;

impl ClientEngine {
    fn handle_connack(&mut self, ack: ConnAck, now: Instant) {
        if self.state != ConnectionState::Connecting {
            return self.end(CloseReason::UnexpectedPacket("CONNACK"));
        }
        if ack.code != ReasonCode::SUCCESS {
            return self.end(CloseReason::Refused(ack.code));
        }
        self.state = ConnectionState::Connected;
        if let Some(max) = ack.properties.receive_maximum {
            self.send_quota = self.send_quota.min(usize::from(max));
        }
        if ack.session_present {
            // Resend what was in flight, in the order it was first sent.
            for id in self.session.in_flight_ids() {
                self.resend(id, now);
            }
        } else {
            // The broker has no state for these: they will never complete.
            for packet_id in self.session.lose_in_flight() {
                self.events.push_back(ClientEvent::Lost {
                    packet_id,
                    reason: LostReason::SessionLost,
                });
            }
        }
        self.events.push_back(ClientEvent::Connected {
            session_present: ack.session_present,
        });
        self.flush_queue(now);
    }

    pub(super) fn handle_packet(&mut self, packet: Packet, now: Instant) {
        if self.options.trace_packets {
            self.events
                .push_back(ClientEvent::PacketReceived(packet.clone()));
        }
        if self.state == ConnectionState::Connecting && !matches!(packet, Packet::ConnAck(_)) {
            // [MQTT-3.2.0-1]: CONNACK is the broker's first packet.
            return self.end(CloseReason::UnexpectedPacket(packet.name()));
        }
        match packet {
            Packet::ConnAck(ack) => self.handle_connack(ack, now),
            Packet::Publish(publish) => self.handle_publish(publish, now),
            Packet::PubAck(ack) => {
                if self.session.on_puback(ack.packet_id) {
                    self.completed(ack.packet_id, ack.reason_code, now);
                }
            }
            Packet::PubRec(ack) => {
                match self
                    .session
                    .on_pubrec(ack.packet_id, ack.reason_code.is_success())
                {
                    // MQTT 5: a failed PUBREC ends the flow; no PUBREL follows.
                    PubRecOutcome::Completed => self.completed(ack.packet_id, ack.reason_code, now),
                    // A repeated PUBREC means our PUBREL may be lost: send it again.
                    PubRecOutcome::Release => {
                        self.sent_at.insert(ack.packet_id.get(), now);
                        let _ = self.send(Packet::PubRel(Ack::new(ack.packet_id)), now);
                    }
                    PubRecOutcome::Unknown => {
                        let mut rel = Ack::new(ack.packet_id);
                        if self.options.protocol.is_v5() {
                            rel.reason_code = ReasonCode::PACKET_IDENTIFIER_NOT_FOUND;
                        }
                        let _ = self.send(Packet::PubRel(rel), now);
                    }
                }
            }
            Packet::PubComp(ack) => {
                if self.session.on_pubcomp(ack.packet_id) {
                    self.completed(ack.packet_id, ack.reason_code, now);
                }
            }
            Packet::PubRel(ack) => {
                // Answered also for unknown ids: our PUBCOMP may have been lost.
                self.session.on_pubrel(ack.packet_id);
                let _ = self.send(Packet::PubComp(Ack::new(ack.packet_id)), now);
            }
            Packet::SubAck(ack) => {
                if self.requests.get(ack.packet_id.get()) == Some(&Request::Subscribe) {
                    self.requests.remove(ack.packet_id.get());
                    self.session.free_id(ack.packet_id);
                    self.events.push_back(ClientEvent::Subscribed {
                        packet_id: ack.packet_id,
                        reason_codes: ack.reason_codes,
                    });
                }
            }
            Packet::UnsubAck(ack) => {
                if self.requests.get(ack.packet_id.get()) == Some(&Request::Unsubscribe) {
                    self.requests.remove(ack.packet_id.get());
                    self.session.free_id(ack.packet_id);
                    self.events.push_back(ClientEvent::Unsubscribed {
                        packet_id: ack.packet_id,
                    });
                }
            }
            Packet::PingResp => self.ping_sent_at = None,
            Packet::Disconnect(d) => self.end(CloseReason::DisconnectedByBroker(d.reason_code)),
            other => {
                self.tell_broker(ReasonCode::PROTOCOL_ERROR, now);
                self.end(CloseReason::UnexpectedPacket(other.name()));
            }
        }
    }

    fn handle_publish(&mut self, publish: Publish, now: Instant) {
        match (publish.qos, publish.packet_id) {
            (QoS::AtLeastOnce, Some(id)) => {
                self.events.push_back(ClientEvent::Message(publish));
                let _ = self.send(Packet::PubAck(Ack::new(id)), now);
            }
            (QoS::ExactlyOnce, Some(id)) => {
                match self
                    .session
                    .on_inbound_qos2(id, self.options.receive_maximum)
                {
                    Inbound::Deliver => self.events.push_back(ClientEvent::Message(publish)),
                    Inbound::Duplicate => {}
                    Inbound::OverReceiveMaximum => {
                        self.tell_broker(ReasonCode::RECEIVE_MAXIMUM_EXCEEDED, now);
                        return self.end(CloseReason::ReceiveMaximumExceeded);
                    }
                }
                let _ = self.send(Packet::PubRec(Ack::new(id)), now);
            }
            _ => self.events.push_back(ClientEvent::Message(publish)),
        }
    }
}
