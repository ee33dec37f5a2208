//! The worker side: every page client is a port. Commands come in as frames, and the
//! client's events go back as frames, one buffer per event-loop turn.

use super::frames::{self, push_frame, Frame};
use super::options_from_js;
use crate::browser::{bytes_of, to_array_buffer};
use crate::client::SessionStore;
use crate::coalesce::{Coalescer, Sink};
use crate::completion::CommandError;
use crate::faults::{FaultAction, FaultPlan};
use crate::in_tab::READY_MESSAGE;
use crate::reconnect::{MachineListener, ResilientClient};
use crate::session_store::IdbSessionStore;
use js_sys::Reflect;
use std::cell::RefCell;
use std::future::Future;
use std::rc::Rc;
use std::time::Duration;
use tabmq_core::{
    decode_packet, Backoff, Bytes, ClientOptions, ClientSession, CloseReason, ConnectionPolicy,
    End, MachineEvent, Packet, ProtocolVersion, ReasonCode,
};
use wasm_bindgen::prelude::*;
use web_sys::{DedicatedWorkerGlobalScope, MessageEvent, MessagePort};

struct Hosted {
    out: Coalescer,
    version: ProtocolVersion,
    /// Over WebSocket, or over ports to the in-tab broker.
    conn: Option<ResilientClient>,
    /// Commands that came before the connection was set up (the session loads first).
    early: Vec<Vec<u8>>,
}

type Shared = Rc<RefCell<Hosted>>;

fn send(out: &Coalescer, kind: u8, req: u32, body: &[u8]) {
    let mut frame = Vec::with_capacity(9 + body.len());
    push_frame(&mut frame, kind, req, body);
    // A page that is gone cannot be told; its client keeps running until END or unload.
    let _ = out.push(&frame);
}

fn send_packet(out: &Coalescer, kind: u8, packet: &Packet, version: ProtocolVersion) {
    if let Ok(frame) = frames::packet_frame(kind, 0, packet, version) {
        let _ = out.push(&frame);
    }
}

fn send_error(out: &Coalescer, code: &str, message: &str) {
    let mut body = code.as_bytes().to_vec();
    body.push(0);
    body.extend_from_slice(message.as_bytes());
    send(out, frames::ERROR, 0, &body);
}

/// Why a connection ended, in words (its error code is the core's `error_code`).
fn close_text(reason: &CloseReason) -> String {
    match reason {
        CloseReason::Disconnected => "disconnected".into(),
        CloseReason::ConnectionLost => "connection lost".into(),
        CloseReason::KeepAliveTimeout => "no PINGRESP in time".into(),
        CloseReason::Refused(code) => {
            format!("the broker refused CONNECT with code 0x{:02X}", code.0)
        }
        CloseReason::DisconnectedByBroker(code) => {
            format!("the broker sent DISCONNECT with reason 0x{:02X}", code.0)
        }
        CloseReason::ProtocolError(e) => format!("the broker broke the protocol: {e}"),
        CloseReason::UnexpectedPacket(what) => format!("the broker sent an unexpected {what}"),
        CloseReason::ReceiveMaximumExceeded => "the broker exceeded our Receive Maximum".into(),
        CloseReason::ConnectTimeout => "no CONNACK within the connect timeout".into(),
        _ => "closed".into(),
    }
}

/// The machine's events, as frames for the page.
fn on_event(out: &Coalescer, version: ProtocolVersion, event: &MachineEvent) {
    match event {
        MachineEvent::Connected { session_present } => {
            send(out, frames::CONNECTED, 0, &[u8::from(*session_present)])
        }
        MachineEvent::Message(publish) => send_packet(
            out,
            frames::MESSAGE,
            &Packet::Publish(publish.clone()),
            version,
        ),
        MachineEvent::PacketSent(p) => send_packet(out, frames::PACKET_SENT, p, version),
        MachineEvent::PacketReceived(p) => send_packet(out, frames::PACKET_RECEIVED, p, version),
        MachineEvent::Closed(reason) => {
            if let CloseReason::DisconnectedByBroker(code) = reason {
                send(out, frames::DISCONNECTED, 0, &[code.0]);
            }
            let text = close_text(reason);
            if let Some(code) = reason.error_code() {
                send_error(out, code, &text);
            }
            send(out, frames::CLOSED, 0, text.as_bytes());
        }
        MachineEvent::TransportFailed => {
            send_error(out, "CONNECT_FAILED", "the WebSocket could not be opened");
            send(out, frames::CLOSED, 0, b"the WebSocket could not be opened");
        }
        MachineEvent::Offline => send(out, frames::OFFLINE, 0, &[]),
        MachineEvent::Reconnecting => send(out, frames::RECONNECTING, 0, &[]),
        MachineEvent::Ended => send(out, frames::ENDED, 0, &[]),
        _ => {}
    }
}

/// Replies to `req` when `done` completes; `req` 0 asked for no reply.
fn reply<T: 'static>(
    out: &Coalescer,
    req: u32,
    done: impl Future<Output = Result<T, CommandError>> + 'static,
    body: impl FnOnce(T) -> Vec<u8> + 'static,
) {
    let out = out.clone();
    wasm_bindgen_futures::spawn_local(async move {
        let result = done.await;
        if req == 0 {
            return;
        }
        match result {
            Ok(value) => send(&out, frames::DONE, req, &body(value)),
            Err(e) => send(&out, frames::FAILED, req, &frames::encode_error(&e)),
        }
    });
}

fn codes(codes: Vec<ReasonCode>) -> Vec<u8> {
    codes.into_iter().map(|c| c.0).collect()
}

fn u32_at(body: &[u8], at: usize) -> u32 {
    let mut b = [0u8; 4];
    if let Some(slice) = body.get(at..at + 4) {
        b.copy_from_slice(slice);
    }
    u32::from_le_bytes(b)
}

/// A FAULT command: `[0]` clears, `[1, type, n: u32]` drops the next n of a type, `[2,
/// type, n]` duplicates, `[3, ms: u32]` delays everything, `[4]` cuts the connection.
fn handle_fault(r: &ResilientClient, body: &[u8]) {
    match body {
        [0, ..] => r.change_faults(|f| *f = FaultPlan::default()),
        [1, t, ..] => r.change_faults(|f| f.drop.push((*t, u32_at(body, 2)))),
        [2, t, ..] => r.change_faults(|f| f.duplicate.push((*t, u32_at(body, 2)))),
        [3, ..] => r.change_faults(|f| f.delay_ms = u32_at(body, 1)),
        [4, ..] => r.cut(),
        _ => {}
    }
}

fn handle_frame(hosted: &Shared, frame: Frame<'_>) {
    let (r, out, version) = {
        let h = hosted.borrow();
        let Some(r) = h.conn.clone() else { return };
        (r, h.out.clone(), h.version)
    };
    let packet = || decode_packet(Bytes::copy_from_slice(frame.body), version).ok();
    let refuse = |out: &Coalescer| {
        if frame.req != 0 {
            send(
                out,
                frames::FAILED,
                frame.req,
                &frames::encode_error(&CommandError::Dropped),
            );
        }
    };
    match frame.kind {
        frames::PUBLISH => match packet() {
            Some(Packet::Publish(p)) if frame.req == 0 => {
                // Nobody waits: no future to keep, which matters for floods of QoS 0.
                let _ = r.publish(p);
            }
            Some(Packet::Publish(p)) => reply(&out, frame.req, r.publish_async(p), |c| vec![c.0]),
            _ => refuse(&out),
        },
        frames::SUBSCRIBE => match packet() {
            Some(Packet::Subscribe(s)) => {
                let done = r.subscribe_async(s.filters, s.properties);
                reply(&out, frame.req, done, codes);
            }
            _ => refuse(&out),
        },
        frames::UNSUBSCRIBE => match packet() {
            Some(Packet::Unsubscribe(u)) => {
                let done = r.unsubscribe_async(u.filters, u.properties);
                reply(&out, frame.req, done, |()| Vec::new());
            }
            _ => refuse(&out),
        },
        // `[force]` or `[force, reason code]`: MQTT.js's `end(force, { reasonCode })`.
        frames::END => r.end(End {
            force: frame.body.first() == Some(&1),
            reason_code: ReasonCode(frame.body.get(1).copied().unwrap_or(0)),
            ..End::default()
        }),
        frames::TRACE => r.set_trace(frame.body.first() == Some(&1)),
        frames::RECONNECT => r.reconnect(),
        frames::FAULT => handle_fault(&r, frame.body),
        _ => {}
    }
}

fn handle_buffer(hosted: &Shared, bytes: &[u8]) {
    if hosted.borrow().conn.is_none() {
        hosted.borrow_mut().early.push(bytes.to_vec());
        return;
    }
    for frame in frames::frames(bytes) {
        handle_frame(hosted, frame);
    }
}

fn read_string(o: &JsValue, key: &str) -> Option<String> {
    Reflect::get(o, &key.into()).ok()?.as_string()
}

fn read_millis(o: &JsValue, key: &str, default: Duration) -> Duration {
    Reflect::get(o, &key.into())
        .ok()
        .and_then(|v| v.as_f64())
        .filter(|ms| *ms >= 0.0)
        .map_or(default, |ms| Duration::from_millis(ms as u64))
}

/// Makes the client `open` describes, resuming its saved session if it keeps one.
async fn open_connection(
    hosted: Shared,
    open: JsValue,
    options: ClientOptions,
    broker_port: Option<MessagePort>,
) {
    let out = hosted.borrow().out.clone();
    let url = read_string(&open, "url").unwrap_or_default();
    let persist = Reflect::get(&open, &"persistSession".into())
        .ok()
        .and_then(|v| v.as_bool())
        .unwrap_or(false);
    let (store, session) = if persist {
        match IdbSessionStore::open(&options.client_id).await {
            Ok((store, session)) => (Some(store), session),
            Err(e) => {
                let why = crate::browser::describe(&e);
                send_error(&out, "NO_SESSION_STORE", &format!("no IndexedDB: {why}"));
                (None, None)
            }
        }
    } else {
        (None, None)
    };
    let session = session.unwrap_or_else(ClientSession::new);
    let reconnect = Reflect::get(&open, &"reconnect".into())
        .ok()
        .and_then(|v| v.as_bool())
        .unwrap_or(true);
    let policy = ConnectionPolicy {
        reconnect: reconnect.then(|| {
            Backoff::new(
                read_millis(&open, "backoffMinMs", Duration::from_secs(1)),
                read_millis(&open, "backoffMaxMs", Duration::from_secs(60)),
            )
        }),
        connect_timeout: Some(read_millis(&open, "connectTimeoutMs", Duration::ZERO))
            .filter(|t| !t.is_zero()),
        resubscribe: Reflect::get(&open, &"resubscribe".into())
            .ok()
            .and_then(|v| v.as_bool())
            .unwrap_or(true),
        ..ConnectionPolicy::default()
    };
    let version = options.protocol;
    let events = out.clone();
    let listener: MachineListener = Box::new(move |event| on_event(&events, version, event));
    let store = store.map(|s| Rc::new(s) as Rc<dyn SessionStore>);
    let conn = ResilientClient::start(&url, options, policy, session, broker_port, store, listener)
        .inspect(|r| {
            let out = out.clone();
            r.set_fault_listener(Rc::new(move |action, packet_type| {
                let code = match action {
                    FaultAction::Dropped => 1,
                    FaultAction::Duplicated => 2,
                    _ => 3,
                };
                send(&out, frames::FAULT_APPLIED, 0, &[code, packet_type]);
            }));
        })
        .map_err(|e| e.to_string());
    match conn {
        Ok(conn) => {
            let early = {
                let mut h = hosted.borrow_mut();
                h.conn = Some(conn);
                std::mem::take(&mut h.early)
            };
            for bytes in early {
                handle_buffer(&hosted, &bytes);
            }
        }
        Err(why) => {
            send_error(&out, "CONNECT_FAILED", &why);
            send(&out, frames::CLOSED, 0, why.as_bytes());
            send(&out, frames::ENDED, 0, &[]);
        }
    }
}

/// Hosts the client a page asked for over `port`.
fn host(port: MessagePort, open: JsValue, broker_port: Option<MessagePort>) {
    let target = port.clone();
    let sink: Sink = Rc::new(move |bytes: &[u8]| {
        let buffer = to_array_buffer(bytes);
        target.post_message_with_transferable(&buffer, &js_sys::Array::of1(&buffer))
    });
    let out = Coalescer::new(sink);
    let Some(options) = options_from_js(&open) else {
        send_error(
            &out,
            "BAD_OPTIONS",
            "the page sent options this worker cannot read",
        );
        send(&out, frames::ENDED, 0, &[]);
        return;
    };
    let hosted: Shared = Rc::new(RefCell::new(Hosted {
        out,
        version: options.protocol,
        conn: None,
        early: Vec::new(),
    }));
    let weak = Rc::downgrade(&hosted);
    let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
        let Some(hosted) = weak.upgrade() else { return };
        if let Some(bytes) = bytes_of(&event.data()) {
            handle_buffer(&hosted, &bytes);
        }
    });
    port.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    // The client lives as long as the worker, which lives as long as its page.
    on_message.forget();
    std::mem::forget(hosted.clone());
    wasm_bindgen_futures::spawn_local(open_connection(hosted, open, options, broker_port));
}

/// Runs this dedicated Worker as the host of a page's clients: it posts `"ready"`, then
/// takes `{type: "client", open}` messages, each with the client's port transferred (and,
/// for `tab://`, a port to the in-tab broker after it).
pub fn serve_clients() {
    let scope: DedicatedWorkerGlobalScope = js_sys::global().unchecked_into();
    let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
        let data = event.data();
        if read_string(&data, "type").as_deref() != Some("client") {
            return;
        }
        let ports = event.ports();
        let Ok(port) = ports.get(0).dyn_into::<MessagePort>() else {
            return;
        };
        let broker_port = ports.get(1).dyn_into::<MessagePort>().ok();
        let open = Reflect::get(&data, &"open".into()).unwrap_or_default();
        host(port, open, broker_port);
    });
    scope.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    // Serves for the worker's whole life.
    on_message.forget();
    let _ = scope.post_message(&READY_MESSAGE.into());
}
