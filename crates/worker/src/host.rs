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

pub fn start() {
    let scope: DedicatedWorkerGlobalScope = js_sys::global().unchecked_into();
    let host: Shared = Rc::new(RefCell::new(Host {
        broker: Broker::new(BrokerConfig::default()),
        ports: HashMap::new(),
    }));
    let for_connect = host.clone();
    let on_connect = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
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
                accept(&for_connect, port);
            }
        }
    });
    scope.set_onmessage(Some(on_connect.as_ref().unchecked_ref()));
    on_connect.forget();
    let for_timer = host.clone();
    match Interval::new(1_000, move || {
        for_timer.borrow_mut().broker.handle_timeout(now());
        flush(&for_timer);
    }) {
        // The worker lives as long as its timer; nothing ever stops it but terminate().
        Ok(timer) => std::mem::forget(timer),
        Err(e) => web_sys::console::error_2(&"tabmq: no timer, keepalive is off".into(), &e),
    }
    let _ = scope.post_message(&READY_MESSAGE.into());
}
