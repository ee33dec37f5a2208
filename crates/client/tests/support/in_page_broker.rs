//! The broker core on this page, behind a connector port, hosted the way the in-tab
//! broker's worker hosts it: the connector takes `{type: "connect"}` with a port per
//! connection; MQTT bytes cross each port as transferable ArrayBuffers, and `"close"` says
//! a side closed. (The tests cannot start the real worker: wasm-bindgen-test-runner serves
//! only the test's own bundle. The end-to-end and npm suites run the real one.)

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;
use tabmq_broker::{Broker, BrokerConfig, ConnId};
use tabmq_client::for_worker::{bytes_of_message, to_array_buffer, CLOSE_MESSAGE};
use tabmq_client::now;
use wasm_bindgen::prelude::*;
use web_sys::{MessageChannel, MessageEvent, MessagePort};

type PortListener = Closure<dyn FnMut(MessageEvent)>;

/// The broker core, its connections' ports, and how many messages the ports brought it.
pub struct Host {
    broker: RefCell<Broker>,
    ports: RefCell<HashMap<ConnId, MessagePort>>,
    pub received: Cell<u32>,
    listeners: RefCell<Vec<PortListener>>,
}

impl Host {
    /// Carries out what the broker says: bytes to their ports, and closes.
    fn flush(&self) {
        let mut broker = self.broker.borrow_mut();
        let mut ports = self.ports.borrow_mut();
        while let Some((conn, out)) = broker.poll_transmit() {
            if let Some(port) = ports.get(&conn) {
                let buffer = to_array_buffer(&out);
                let _ = port.post_message_with_transferable(&buffer, &js_sys::Array::of1(&buffer));
            }
        }
        while let Some(conn) = broker.poll_close() {
            if let Some(port) = ports.remove(&conn) {
                let _ = port.post_message(&CLOSE_MESSAGE.into());
                port.close();
            }
        }
    }

    fn serve(self: &Rc<Host>, port: MessagePort) {
        let conn = self.broker.borrow_mut().accept(now());
        self.ports.borrow_mut().insert(conn, port.clone());
        let host = self.clone();
        let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
            let data = event.data();
            if let Some(bytes) = bytes_of_message(&data) {
                host.received.set(host.received.get() + 1);
                host.broker.borrow_mut().handle_bytes(conn, &bytes, now());
            } else if data.as_string().as_deref() == Some(CLOSE_MESSAGE) {
                host.ports.borrow_mut().remove(&conn);
                host.broker.borrow_mut().close(conn, now());
            }
            host.flush();
        });
        port.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        self.listeners.borrow_mut().push(on_message);
    }
}

/// A broker core and the connector port clients ask it for connections on (a clone of
/// the port serves any number of clients).
pub fn in_page_broker() -> (Rc<Host>, MessagePort) {
    let host = Rc::new(Host {
        broker: RefCell::new(Broker::new(BrokerConfig::default())),
        ports: RefCell::default(),
        received: Cell::new(0),
        listeners: RefCell::default(),
    });
    let connector = MessageChannel::new().expect("a MessageChannel");
    let serving = host.clone();
    let on_connect = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
        if let Ok(port) = event.ports().get(0).dyn_into::<MessagePort>() {
            serving.serve(port);
        }
    });
    connector
        .port2()
        .set_onmessage(Some(on_connect.as_ref().unchecked_ref()));
    host.listeners.borrow_mut().push(on_connect);
    (host, connector.port1())
}
