//! Wires the broker core to the worker's ports and timer.

use js_sys::Reflect;
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;
use tabmq_broker::{Broker, BrokerConfig, ConnId};
use tabmq_client::{
    bytes_of_message, now, to_array_buffer, Interval, CLOSE_MESSAGE, READY_MESSAGE,
};
use wasm_bindgen::prelude::*;
use web_sys::{DedicatedWorkerGlobalScope, MessageEvent, MessagePort};

struct Port {
    port: MessagePort,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
}

#[derive(Default)]
struct Host {
    broker: Broker,
    ports: HashMap<ConnId, Port>,
}

type Shared = Rc<RefCell<Host>>;

/// Sends what the broker produced and closes what it closed.
fn flush(host: &Shared) {
    let mut host = host.borrow_mut();
    while let Some((conn, bytes)) = host.broker.poll_transmit() {
        if let Some(p) = host.ports.get(&conn) {
            let buffer = to_array_buffer(&bytes);
            // A port whose page is gone throws nothing; the keepalive reaps the connection.
            let _ = p
                .port
                .post_message_with_transferable(&buffer, &js_sys::Array::of1(&buffer));
        }
    }
    while let Some(conn) = host.broker.poll_close() {
        if let Some(p) = host.ports.remove(&conn) {
            let _ = p.port.post_message(&CLOSE_MESSAGE.into());
            p.port.close();
        }
    }
}

fn accept(host: &Shared, port: MessagePort) {
    let conn = host.borrow_mut().broker.accept(now());
    let weak = Rc::downgrade(host);
    let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
        let Some(host) = weak.upgrade() else { return };
        let data = event.data();
        if let Some(bytes) = bytes_of_message(&data) {
            host.borrow_mut().broker.handle_bytes(conn, &bytes, now());
        } else if data.as_string().as_deref() == Some(CLOSE_MESSAGE) {
            host.borrow_mut().broker.close(conn, now());
            host.borrow_mut().ports.remove(&conn);
        }
        flush(&host);
    });
    port.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    host.borrow_mut().ports.insert(
        conn,
        Port {
            port,
            _on_message: on_message,
        },
    );
}

/// The control-message handler: `{type: "connect"}` with transferred ports, one per client.
fn control_handler(host: &Shared) -> Closure<dyn FnMut(MessageEvent)> {
    let host = host.clone();
    Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
        let is_connect = Reflect::get(&event.data(), &"type".into())
            .ok()
            .and_then(|t| t.as_string())
            .is_some_and(|t| t == "connect");
        if !is_connect {
            return;
        }
        let ports = event.ports();
        for i in 0..ports.length() {
            if let Ok(port) = ports.get(i).dyn_into::<MessagePort>() {
                accept(&host, port);
            }
        }
    })
}

/// Starts the broker in this worker. As a dedicated Worker, the page talks to the worker
/// itself; as a SharedWorker (every tab of the origin), each tab's control port arrives in
/// a `connect` event, and the same protocol runs over it: "ready", then
/// `{type: "connect"}` messages with a port per client.
pub fn start() {
    let global = js_sys::global();
    let host: Shared = Rc::new(RefCell::new(Host {
        broker: Broker::new(BrokerConfig::default()),
        ports: HashMap::new(),
    }));
    let shared = Reflect::has(&global, &"onconnect".into()).unwrap_or(false);
    if shared {
        let for_tabs = host.clone();
        let on_tab = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
            let Ok(control) = event.ports().get(0).dyn_into::<MessagePort>() else {
                return;
            };
            let handler = control_handler(&for_tabs);
            control.set_onmessage(Some(handler.as_ref().unchecked_ref()));
            // The tab's control port lives as long as the worker.
            handler.forget();
            let _ = control.post_message(&READY_MESSAGE.into());
        });
        let _ = Reflect::set(&global, &"onconnect".into(), on_tab.as_ref());
        on_tab.forget();
    } else {
        let scope: DedicatedWorkerGlobalScope = global.unchecked_into();
        let on_connect = control_handler(&host);
        scope.set_onmessage(Some(on_connect.as_ref().unchecked_ref()));
        on_connect.forget();
    }
    let for_timer = host.clone();
    match Interval::new(1_000, move || {
        for_timer.borrow_mut().broker.handle_timeout(now());
        flush(&for_timer);
    }) {
        // The worker lives as long as its timer; nothing ever stops it but terminate().
        Ok(timer) => std::mem::forget(timer),
        Err(e) => web_sys::console::error_2(&"tabmq: no timer, keepalive is off".into(), &e),
    }
    if !shared {
        let scope: DedicatedWorkerGlobalScope = js_sys::global().unchecked_into();
        let _ = scope.post_message(&READY_MESSAGE.into());
    }
}
