//! The client driver against the real broker core, over an in-memory transport.

#![cfg(not(target_arch = "wasm32"))]

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use tabmq_broker::{Broker, BrokerConfig, ConnId};
use tabmq_client::{Client, Transport, TransportError};
use tabmq_core::{Bytes, ClientError, ClientEvent, ClientOptions, ConnectionState, Instant, QoS};

/// Bytes the client sent, waiting for the test to hand them to the broker.
#[derive(Clone, Default)]
struct Wire {
    to_broker: Rc<RefCell<Vec<Bytes>>>,
    closed: Rc<Cell<bool>>,
}

impl Transport for Wire {
    fn send(&self, bytes: Bytes) -> Result<(), TransportError> {
        if self.closed.get() {
            return Err(TransportError::Closed);
        }
        self.to_broker.borrow_mut().push(bytes);
        Ok(())
    }
    fn close(&self) {
        self.closed.set(true);
    }
}

struct Net {
    broker: Broker,
    links: Vec<(ConnId, Wire, Client)>,
    clock: Rc<Cell<u64>>,
}

impl Net {
    fn new() -> Self {
        Net {
            broker: Broker::new(BrokerConfig::default()),
            links: Vec::new(),
            clock: Rc::new(Cell::new(1_000)),
        }
    }

    fn connect(
        &mut self,
        id: &str,
        listener: impl FnMut(&Client, ClientEvent) + 'static,
    ) -> Client {
        let wire = Wire::default();
        let clock = self.clock.clone();
        let client = Client::connect(
            ClientOptions {
                client_id: id.into(),
                ..ClientOptions::default()
            },
            Box::new(wire.clone()),
            Box::new(move || Instant::from_millis(clock.get())),
            Box::new(listener),
        )
        .unwrap();
        let conn = self.broker.accept(Instant::from_millis(self.clock.get()));
        self.links.push((conn, wire, client.clone()));
        self.run();
        client
    }

    fn run(&mut self) {
        let now = Instant::from_millis(self.clock.get());
        for _ in 0..100 {
            let mut moved = false;
            for (conn, wire, _) in &self.links {
                let sent: Vec<Bytes> = wire.to_broker.borrow_mut().drain(..).collect();
                for bytes in sent {
                    moved = true;
                    self.broker.handle_bytes(*conn, &bytes, now);
                }
            }
            while let Some((conn, bytes)) = self.broker.poll_transmit() {
                moved = true;
                if let Some((_, _, client)) = self.links.iter().find(|(c, _, _)| *c == conn) {
                    client.handle_bytes(&bytes);
                }
            }
            if !moved {
                return;
            }
        }
        panic!("no quiet after 100 rounds");
    }
}

#[test]
fn a_listener_may_subscribe_from_its_connected_event() {
    let mut net = Net::new();
    let received = Rc::new(RefCell::new(Vec::new()));
    let sink = received.clone();
    let sub = net.connect("sub", move |client, event| match event {
        ClientEvent::Connected { .. } => {
            client.subscribe("sensor/+", QoS::AtLeastOnce).unwrap();
        }
        ClientEvent::Message(p) => sink.borrow_mut().push(p.payload),
        _ => {}
    });
    let publisher = net.connect("pub", |_, _| {});
    assert_eq!(sub.state(), ConnectionState::Connected);
    publisher
        .publish(
            "sensor/temperature",
            b"21".to_vec(),
            QoS::AtLeastOnce,
            false,
        )
        .unwrap();
    net.run();
    assert_eq!(*received.borrow(), [Bytes::from_static(b"21")]);
}

#[test]
fn packets_from_one_command_leave_as_one_buffer() {
    let mut net = Net::new();
    let publisher = net.connect("pub", |_, _| {});
    let wire = net.links[0].1.clone();
    publisher.subscribe("a", QoS::AtMostOnce).unwrap();
    assert_eq!(wire.to_broker.borrow().len(), 1);
}

#[test]
fn events_are_delivered_in_order_even_when_a_listener_reenters() {
    let mut net = Net::new();
    let log = Rc::new(RefCell::new(Vec::new()));
    let sink = log.clone();
    net.connect("c", move |client, event| {
        let name = match &event {
            ClientEvent::Connected { .. } => {
                client.subscribe("x", QoS::AtMostOnce).unwrap();
                "connected"
            }
            ClientEvent::Subscribed { .. } => {
                client
                    .publish("x", b"me".to_vec(), QoS::AtMostOnce, false)
                    .unwrap();
                "subscribed"
            }
            ClientEvent::Message(_) => "message",
            _ => "other",
        };
        sink.borrow_mut().push(name);
    });
    net.run();
    assert_eq!(*log.borrow(), ["connected", "subscribed", "message"]);
}

#[test]
fn a_closed_transport_ends_the_connection_and_commands_fail() {
    let mut net = Net::new();
    let closed = Rc::new(Cell::new(false));
    let flag = closed.clone();
    let client = net.connect("c", move |_, event| {
        if matches!(event, ClientEvent::Closed(_)) {
            flag.set(true);
        }
    });
    net.links[0].1.closed.set(true);
    // The write fails underneath: the engine closes and says so.
    client
        .publish("t", b"x".to_vec(), QoS::AtMostOnce, false)
        .unwrap();
    assert_eq!(client.state(), ConnectionState::Disconnected);
    assert!(closed.get(), "the listener heard Closed");
    assert_eq!(
        client.publish("t", b"y".to_vec(), QoS::AtMostOnce, false),
        Err(ClientError::NotConnected)
    );
}

#[test]
fn a_client_outlives_its_transport_and_resumes_its_session_on_the_next() {
    let mut net = Net::new();
    let received = Rc::new(RefCell::new(Vec::new()));
    let sink = received.clone();
    net.connect("sub", move |_, event| {
        if let ClientEvent::Message(p) = event {
            sink.borrow_mut().push(p.payload);
        }
    });
    net.links[0].2.subscribe("t", QoS::AtLeastOnce).unwrap();
    net.run();
    let clock = net.clock.clone();
    let publisher = Client::new(
        ClientOptions {
            client_id: "pub".into(),
            clean_session: false,
            ..ClientOptions::default()
        },
        Default::default(),
        Box::new(move || Instant::from_millis(clock.get())),
        Box::new(|_, _| {}),
    );
    publisher.set_reconnects(true);
    // Before any transport: publishing queues, since one will come.
    publisher
        .publish("t", b"queued".to_vec(), QoS::AtLeastOnce, false)
        .unwrap();
    for round in 0..2 {
        let wire = Wire::default();
        publisher.attach(Box::new(wire.clone())).unwrap();
        let conn = net.broker.accept(Instant::from_millis(net.clock.get()));
        net.links.push((conn, wire, publisher.clone()));
        net.run();
        assert_eq!(
            publisher.state(),
            ConnectionState::Connected,
            "round {round}"
        );
        // The transport dies under it; the next publish waits for the next one.
        let (conn, _, _) = net.links.pop().unwrap();
        net.broker
            .close(conn, Instant::from_millis(net.clock.get()));
        publisher.handle_transport_closed();
        publisher
            .publish(
                "t",
                format!("while away {round}").into_bytes(),
                QoS::AtLeastOnce,
                false,
            )
            .unwrap();
    }
    let wire = Wire::default();
    publisher.attach(Box::new(wire.clone())).unwrap();
    let conn = net.broker.accept(Instant::from_millis(net.clock.get()));
    net.links.push((conn, wire, publisher.clone()));
    net.run();
    let got: Vec<String> = received
        .borrow()
        .iter()
        .map(|b| String::from_utf8_lossy(b).into_owned())
        .collect();
    assert_eq!(got, ["queued", "while away 0", "while away 1"]);
    assert!(publisher.session().is_idle(), "everything was acknowledged");
}

#[test]
fn publish_async_completes_at_the_ack_and_subscribe_async_gives_the_granted_qos() {
    use futures_util::FutureExt;
    let mut net = Net::new();
    let c = net.connect("c", |_, _| {});
    let mut granted = Box::pin(c.subscribe_async("t/+", QoS::AtLeastOnce));
    assert!(
        granted.as_mut().now_or_never().is_none(),
        "not before SUBACK"
    );
    net.run();
    assert_eq!(granted.now_or_never(), Some(Ok(QoS::AtLeastOnce)));
    let mut q2 = Box::pin(c.publish_async("t/x", b"2".to_vec(), QoS::ExactlyOnce, false));
    assert!(q2.as_mut().now_or_never().is_none(), "not before PUBCOMP");
    net.run();
    assert_eq!(q2.now_or_never(), Some(Ok(tabmq_core::ReasonCode::SUCCESS)));
    let q0 = c.publish_async("t/x", b"0".to_vec(), QoS::AtMostOnce, false);
    assert_eq!(
        q0.now_or_never(),
        Some(Ok(tabmq_core::ReasonCode::SUCCESS)),
        "QoS 0 at once"
    );
    let mut gone = Box::pin(c.unsubscribe_async("t/+"));
    net.run();
    assert_eq!(gone.as_mut().now_or_never(), Some(Ok(())));
}

#[test]
fn waiting_commands_fail_when_the_transport_dies_for_good() {
    use futures_util::FutureExt;
    let mut net = Net::new();
    let c = net.connect("c", |_, _| {});
    let mut pending = Box::pin(c.publish_async("t", b"x".to_vec(), QoS::AtLeastOnce, false));
    assert!(pending.as_mut().now_or_never().is_none());
    c.handle_transport_closed();
    assert_eq!(
        pending.now_or_never(),
        Some(Err(tabmq_client::CommandError::Lost(
            tabmq_core::LostReason::ConnectionLost
        )))
    );
    assert_eq!(
        c.publish_async("t", b"y".to_vec(), QoS::AtLeastOnce, false)
            .now_or_never(),
        Some(Err(tabmq_client::CommandError::Refused(
            ClientError::NotConnected
        )))
    );
}

/// A save waiting for the test: the bytes and the store's callback.
type PendingSave = (Vec<u8>, Box<dyn FnOnce(bool)>);

/// A session store whose saves complete when the test says.
#[derive(Default)]
struct ManualStore {
    saved: RefCell<Vec<u8>>,
    pending: RefCell<Vec<PendingSave>>,
}

impl tabmq_client::SessionStore for ManualStore {
    fn save(&self, session: &[u8], done: Box<dyn FnOnce(bool)>) {
        self.pending.borrow_mut().push((session.to_vec(), done));
    }
}

impl ManualStore {
    fn complete_all(&self) {
        loop {
            let next = {
                let mut pending = self.pending.borrow_mut();
                if pending.is_empty() {
                    return;
                }
                pending.remove(0)
            };
            *self.saved.borrow_mut() = next.0;
            (next.1)(true);
        }
    }
}

#[test]
fn with_a_session_store_nothing_leaves_before_the_session_is_saved_and_a_reload_resumes_it() {
    let mut net = Net::new();
    let received = Rc::new(RefCell::new(Vec::new()));
    let sink = received.clone();
    net.connect("sub", move |_, event| {
        if let ClientEvent::Message(p) = event {
            sink.borrow_mut().push((p.payload, p.qos));
        }
    });
    net.links[0].2.subscribe("t", QoS::ExactlyOnce).unwrap();
    net.run();
    let store = Rc::new(ManualStore::default());
    let clock = net.clock.clone();
    let options = ClientOptions {
        client_id: "page".into(),
        clean_session: false,
        ..ClientOptions::default()
    };
    let page = Client::new(
        options.clone(),
        Default::default(),
        Box::new(move || Instant::from_millis(clock.get())),
        Box::new(|_, _| {}),
    );
    page.set_session_store(store.clone());
    page.set_reconnects(true);
    let wire = Wire::default();
    page.attach(Box::new(wire.clone())).unwrap();
    assert!(
        wire.to_broker.borrow().is_empty(),
        "CONNECT waits for the save"
    );
    store.complete_all();
    assert_eq!(wire.to_broker.borrow().len(), 1, "then it leaves");
    let conn = net.broker.accept(Instant::from_millis(net.clock.get()));
    net.links.push((conn, wire.clone(), page.clone()));
    net.run();
    store.complete_all();
    net.run();
    for i in 0..3 {
        page.publish("t", format!("m{i}").into_bytes(), QoS::ExactlyOnce, false)
            .unwrap();
    }
    assert!(
        wire.to_broker.borrow().is_empty(),
        "PUBLISH waits for the save"
    );
    store.complete_all();
    // The page goes away mid-flow: the PUBLISHes left, nothing came back yet.
    let snapshot = store.saved.borrow().clone();
    let (conn, _, _) = net.links.pop().unwrap();
    net.broker.handle_bytes(
        conn,
        &wire
            .to_broker
            .borrow_mut()
            .drain(..)
            .flat_map(|b| b.to_vec())
            .collect::<Vec<u8>>(),
        Instant::from_millis(net.clock.get()),
    );
    net.broker
        .close(conn, Instant::from_millis(net.clock.get()));
    net.run();
    // The reload: a new client from the saved session.
    let session = tabmq_core::ClientSession::from_bytes(&snapshot).unwrap();
    assert_eq!(
        session.in_flight(),
        3,
        "the three PUBLISHes were saved as in flight"
    );
    let clock = net.clock.clone();
    let again = Client::new(
        options,
        session,
        Box::new(move || Instant::from_millis(clock.get())),
        Box::new(|_, _| {}),
    );
    let wire = Wire::default();
    again.attach(Box::new(wire.clone())).unwrap();
    let conn = net.broker.accept(Instant::from_millis(net.clock.get()));
    net.links.push((conn, wire, again.clone()));
    net.run();
    let got = received.borrow().clone();
    let payloads: Vec<String> = got
        .iter()
        .map(|(p, _)| String::from_utf8_lossy(p).into_owned())
        .collect();
    assert_eq!(
        payloads,
        ["m0", "m1", "m2"],
        "QoS 2: each exactly once across the reload"
    );
    assert!(again.session().is_idle());
}
