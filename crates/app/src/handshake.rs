//! Message flows for the handshake view, assembled from the clients' packet events: the
//! publisher's client sees every packet between it and the broker, the subscriber's every
//! packet between the broker and it, so together they draw the whole exchange.

pub use crate::flow::{Flow, Side, Step};
use crate::state::Lab;
use leptos::prelude::*;
use tabmq_core::Packet;

/// How many flows the view keeps.
pub const FLOW_LIMIT: usize = 40;

fn now_ms() -> f64 {
    web_sys::window()
        .and_then(|w| w.performance())
        .map_or(0.0, |p| p.now())
}

fn step(side: Side, from_client: bool, packet: &Packet) -> Step {
    let (packet_id, dup, qos) = match packet {
        Packet::Publish(p) => (p.packet_id.map(|id| id.get()), p.dup, Some(p.qos.as_u8())),
        Packet::PubAck(a) | Packet::PubRec(a) | Packet::PubRel(a) | Packet::PubComp(a) => {
            (Some(a.packet_id.get()), false, None)
        }
        _ => (None, false, None),
    };
    Step {
        side,
        from_client,
        name: packet.name(),
        packet_id,
        dup,
        qos,
        at_ms: now_ms(),
        fault: None,
    }
}

fn ack_id(packet: &Packet) -> Option<u16> {
    match packet {
        Packet::PubAck(a) | Packet::PubRec(a) | Packet::PubRel(a) | Packet::PubComp(a) => {
            Some(a.packet_id.get())
        }
        _ => None,
    }
}

/// Files a packet a client sent (`sent`) or received into its flow.
pub fn record(lab: Lab, client: &str, side: Side, sent: bool, packet: &Packet) {
    if !lab.recording.get_untracked() {
        return;
    }
    let id = lab.next_flow.get_value();
    let mut created = false;
    let fault = if sent {
        take_fault(lab, client, packet.type_number())
    } else {
        None
    };
    // Changed quietly, and shown once a frame: a flood reports thousands of packets a
    // second, and the view need not redraw for each.
    lab.flows.update_untracked(|flows| {
        let mut s = step(side, sent, packet);
        s.fault = fault;
        match (side, packet) {
            (Side::Publisher, Packet::Publish(p)) if sent => {
                let resend = if p.dup {
                    flows.iter_mut().rev().find(|f| {
                        f.publisher.as_deref() == Some(client)
                            && f.publisher_id == p.packet_id.map(|i| i.get())
                    })
                } else {
                    None
                };
                // A duplicated packet left twice: both copies are drawn, the second marked.
                let mut steps = vec![s.clone()];
                if s.fault == Some("duplicated") {
                    steps.push(Step {
                        fault: Some("the duplicate"),
                        ..s
                    });
                }
                if let Some(flow) = resend {
                    flow.steps.extend(steps);
                } else {
                    created = true;
                    flows.push_back(Flow {
                        id,
                        topic: p.topic.to_string(),
                        payload: p.payload.to_vec(),
                        publisher: Some(client.to_owned()),
                        publisher_id: p.packet_id.map(|i| i.get()),
                        publish_qos: Some(p.qos.as_u8()),
                        subscriber: None,
                        subscriber_id: None,
                        delivered_qos: None,
                        steps,
                    });
                }
            }
            (Side::Subscriber, Packet::Publish(p)) if !sent => {
                let pid = p.packet_id.map(|i| i.get());
                // Its flow: the one it is a resend of (DUP, same id), the publisher's flow
                // of the same message not yet delivered, or one whose publisher sent it
                // twice (a duplicate the broker forwards as a second message).
                let same = |f: &Flow| f.topic == *p.topic && f.payload == p.payload;
                let known = flows.iter_mut().rev().find(|f| {
                    (f.subscriber.as_deref() == Some(client) && p.dup && f.subscriber_id == pid)
                        || (f.subscriber.is_none() && same(f))
                        || (f.subscriber.as_deref() == Some(client)
                            && same(f)
                            && f.steps.iter().any(|s| s.fault == Some("the duplicate")))
                });
                match known {
                    Some(flow) => {
                        flow.subscriber = Some(client.to_owned());
                        flow.subscriber_id = pid;
                        flow.delivered_qos = Some(p.qos.as_u8());
                        flow.steps.push(s);
                    }
                    None => {
                        created = true;
                        flows.push_back(Flow {
                            id,
                            topic: p.topic.to_string(),
                            payload: p.payload.to_vec(),
                            publisher: None,
                            publisher_id: None,
                            publish_qos: None,
                            subscriber: Some(client.to_owned()),
                            subscriber_id: pid,
                            delivered_qos: Some(p.qos.as_u8()),
                            steps: vec![s],
                        });
                    }
                }
            }
            _ => {
                let Some(pid) = ack_id(packet) else { return };
                let flow = flows.iter_mut().rev().find(|f| match side {
                    Side::Publisher => {
                        f.publisher.as_deref() == Some(client) && f.publisher_id == Some(pid)
                    }
                    Side::Subscriber => {
                        f.subscriber.as_deref() == Some(client) && f.subscriber_id == Some(pid)
                    }
                });
                if let Some(flow) = flow {
                    flow.steps.push(s);
                }
            }
        }
        while flows.len() > FLOW_LIMIT {
            flows.pop_front();
        }
    });
    if created {
        lab.next_flow.set_value(id + 1);
    }
    if !lab.flows_redraw.get_value() {
        lab.flows_redraw.set_value(true);
        crate::timers::next_frame(move || {
            lab.flows_redraw.set_value(false);
            lab.flows.notify();
        });
    }
}

/// Notes that a fault hit the packet of `packet_type` that `client` is sending. The
/// client's fault layer applies it as the packet leaves, before it reports the packet sent, so the mark
/// waits for that report (see [`record`]).
pub fn mark_fault(lab: Lab, client: &str, packet_type: u8, fault: &'static str) {
    lab.pending_faults.update_value(|p| {
        p.push((client.to_owned(), packet_type, fault));
        if p.len() > 50 {
            p.remove(0);
        }
    });
}

/// The fault waiting for this packet, if any.
fn take_fault(lab: Lab, client: &str, wanted: u8) -> Option<&'static str> {
    lab.pending_faults
        .try_update_value(|pending| {
            let i = pending
                .iter()
                .position(|(c, t, _)| c == client && *t == wanted)?;
            Some(pending.remove(i).2)
        })
        .flatten()
}
