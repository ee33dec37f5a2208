//! Wires the broker core to the worker's ports and timer, and, with persistence, to
//! IndexedDB: then nothing the broker says leaves before the state it follows from is
//! saved, so a PUBACK is a promise that survives a reload.

use js_sys::Reflect;
use std::cell::RefCell;
use std::collections::{HashMap, HashSet};
use std::rc::Rc;
use tabmq_broker::{Broker, BrokerConfig, ConnId};
use tabmq_client::for_worker::{
    announce_life_lock, bytes_of_message, to_array_buffer, when_page_gone, IdbStore, CLOSE_MESSAGE,
    LOCK_KEY, READY_MESSAGE,
};
use tabmq_client::now;
use tabmq_core::Bytes;
use wasm_bindgen::prelude::*;
use web_sys::{DedicatedWorkerGlobalScope, MessageEvent, MessagePort};

struct Port {
    port: MessagePort,
    /// The lock its page holds for its life, if it named one (see `watch_page`).
    page: Option<String>,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
}

/// Something for a port, held until the state it follows from is saved.
enum Out {
    Bytes(ConnId, Bytes),
    Close(ConnId),
}

#[derive(Default)]
struct Host {
    broker: Broker,
    ports: HashMap<ConnId, Port>,
    /// Set once the saved state (if any) is loaded; until then tabs wait.
    ready: bool,
    waiting_tabs: Vec<MessagePort>,
    store: Option<Rc<IdbStore>>,
    saving: bool,
    held: Vec<Out>,
    /// Changed by an inspector (a deleted retained message): save even with nothing held.
    dirty: bool,
    /// The one timer, armed at the broker's `poll_timeout`.
    timer: Option<Timer>,
    /// The pages whose lock this broker waits for.
    watched_pages: HashSet<String>,
    burst: Burst,
}

/// The burst the last send opened. Until it ends, one task later, what the broker answers
/// to the ports' messages waits, and leaves with what the messages queued meanwhile bring
/// about: one postMessage per port per burst, where a send per message made the
/// subscriber of a 10-to-1 fan-in read ten small ones for every publisher's turn. A port
/// that writes after a quiet spell is answered at once.
#[derive(Default)]
struct Burst {
    open: bool,
    /// Output arrived while the burst was open.
    pending: bool,
    /// The channel whose message ends the burst, and its handler.
    end: Option<(web_sys::MessageChannel, Closure<dyn FnMut()>)>,
}

/// An armed `setTimeout`: its id, its deadline, and its callback (alive until it runs).
struct Timer {
    id: JsValue,
    at: tabmq_core::Instant,
    _callback: Closure<dyn FnMut()>,
}

fn global_fn(name: &str) -> Option<js_sys::Function> {
    Reflect::get(&js_sys::global(), &name.into())
        .ok()?
        .dyn_into()
        .ok()
}

/// Arms the one timer at the broker's next deadline (keepalive, will delays, expiry), if
/// it moved: no polling, and nothing runs while nothing is due.
fn arm_timer(host: &Shared) {
    let mut h = host.borrow_mut();
    let at = h.broker.poll_timeout();
    if h.timer.as_ref().map(|t| t.at) == at {
        return;
    }
    if let Some(old) = h.timer.take() {
        if let Some(clear) = global_fn("clearTimeout") {
            let _ = clear.call1(&JsValue::NULL, &old.id);
        }
    }
    let (Some(at), Some(set)) = (at, global_fn("setTimeout")) else {
        return;
    };
    let weak = Rc::downgrade(host);
    let callback = Closure::<dyn FnMut()>::new(move || {
        let Some(host) = weak.upgrade() else { return };
        host.borrow_mut().timer = None;
        host.borrow_mut().broker.handle_timeout(now());
        flush(&host);
    });
    // setTimeout fires at once past 2^31 - 1 ms; a longer wait is re-armed when it fires.
    let wait = at
        .saturating_duration_since(now())
        .as_millis()
        .min(0x7fff_ffff);
    match set.call2(
        &JsValue::NULL,
        callback.as_ref().unchecked_ref(),
        &JsValue::from(wait as f64),
    ) {
        Ok(id) => {
            h.timer = Some(Timer {
                id,
                at,
                _callback: callback,
            })
        }
        Err(e) => web_sys::console::error_2(&"tabmq: no timer, keepalive is off".into(), &e),
    }
}

type Shared = Rc<RefCell<Host>>;

/// The key the broker's snapshot is saved under.
const SNAPSHOT_KEY: &str = "snapshot";

fn deliver(host: &Shared, outs: Vec<Out>) {
    let mut host = host.borrow_mut();
    for out in outs {
        match out {
            Out::Bytes(conn, bytes) => {
                if let Some(p) = host.ports.get(&conn) {
                    let buffer = to_array_buffer(&bytes);
                    // A port whose page is gone throws nothing; the keepalive reaps it.
                    let _ = p
                        .port
                        .post_message_with_transferable(&buffer, &js_sys::Array::of1(&buffer));
                }
            }
            Out::Close(conn) => {
                if let Some(p) = host.ports.remove(&conn) {
                    let _ = p.port.post_message(&CLOSE_MESSAGE.into());
                    p.port.close();
                }
            }
        }
    }
}

/// Sends what the broker produced and closes what it closed; with a store, only once the
/// state is saved.
fn flush(host: &Shared) {
    let (outs, save) = {
        let mut h = host.borrow_mut();
        while let Some((conn, bytes)) = h.broker.poll_transmit() {
            h.held.push(Out::Bytes(conn, bytes));
        }
        while let Some(conn) = h.broker.poll_close() {
            h.held.push(Out::Close(conn));
        }
        match h.store.clone() {
            None => (std::mem::take(&mut h.held), None),
            Some(_) if h.saving || (h.held.is_empty() && !h.dirty) => (Vec::new(), None),
            Some(store) => {
                h.saving = true;
                h.dirty = false;
                (
                    Vec::new(),
                    Some((store, std::mem::take(&mut h.held), h.broker.snapshot())),
                )
            }
        }
    };
    deliver(host, outs);
    arm_timer(host);
    let Some((store, covered, snapshot)) = save else {
        return;
    };
    let weak = Rc::downgrade(host);
    let mut covered = Some(covered);
    let done = move |saved: bool| {
        let Some(host) = weak.upgrade() else { return };
        if !saved {
            web_sys::console::error_1(&"tabmq: saving the broker's state failed".into());
        }
        host.borrow_mut().saving = false;
        deliver(&host, covered.take().unwrap_or_default());
        // What came in meanwhile waits for the next save.
        flush(&host);
    };
    if let Err(e) = store.save(SNAPSHOT_KEY, &snapshot, done) {
        web_sys::console::error_2(&"tabmq: cannot save the broker's state".into(), &e);
    }
}

/// [`flush`], at most once per burst (see [`Burst`]).
fn flush_in_bursts(host: &Shared) {
    {
        let mut h = host.borrow_mut();
        if h.burst.open {
            h.burst.pending = true;
            return;
        }
        h.burst.open = true;
    }
    flush(host);
    end_burst_next_task(host);
}

/// Posts the message whose task ends the burst: it runs after the port messages queued
/// before it, in order.
fn end_burst_next_task(host: &Shared) {
    let mut h = host.borrow_mut();
    if h.burst.end.is_none() {
        let Ok(channel) = web_sys::MessageChannel::new() else {
            // No channel, no bursts: every message is answered at once.
            h.burst.open = false;
            return;
        };
        let weak = Rc::downgrade(host);
        let on_end = Closure::<dyn FnMut()>::new(move || {
            let Some(host) = weak.upgrade() else { return };
            let pending = {
                let mut h = host.borrow_mut();
                h.burst.open = false;
                std::mem::take(&mut h.burst.pending)
            };
            if pending {
                flush_in_bursts(&host);
            }
        });
        channel
            .port1()
            .set_onmessage(Some(on_end.as_ref().unchecked_ref()));
        h.burst.end = Some((channel, on_end));
    }
    if let Some((channel, _)) = &h.burst.end {
        if channel.port2().post_message(&JsValue::NULL).is_err() {
            h.burst.open = false;
        }
    }
}

/// Waits for the page that holds the lock `page` to go, then cuts what is left of its
/// connections, as a dropped network would: a closing tab says nothing on its ports, and
/// without this a shared broker would keep its sessions until their keepalive ran out.
fn watch_page(host: &Shared, page: &str) {
    if !host.borrow_mut().watched_pages.insert(page.to_owned()) {
        return;
    }
    let (weak, name) = (Rc::downgrade(host), page.to_owned());
    when_page_gone(page, move || {
        let Some(host) = weak.upgrade() else { return };
        {
            let mut h = host.borrow_mut();
            h.watched_pages.remove(&name);
            let gone: Vec<ConnId> = h
                .ports
                .iter()
                .filter(|(_, p)| p.page.as_deref() == Some(name.as_str()))
                .map(|(conn, _)| *conn)
                .collect();
            for conn in gone {
                h.ports.remove(&conn);
                h.broker.close(conn, now());
            }
        }
        flush(&host);
    });
}

fn accept(host: &Shared, port: MessagePort, page: Option<String>) {
    if let Some(page) = &page {
        watch_page(host, page);
    }
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
        flush_in_bursts(&host);
    });
    port.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    // Only to a client that named its page's lock, and so speaks of locks: to others the
    // port carries MQTT bytes and "close", nothing else.
    if page.is_some() {
        let announce = port.clone();
        announce_life_lock(move |word| {
            let _ = announce.post_message(word);
        });
    }
    host.borrow_mut().ports.insert(
        conn,
        Port {
            port,
            page,
            _on_message: on_message,
        },
    );
}

/// The control-message handler: `{type: "connect"}` with transferred ports, one per
/// client, and inspectors' requests (see `inspect`), answered on the port they carry.
fn control_handler(host: &Shared) -> Closure<dyn FnMut(MessageEvent)> {
    let host = host.clone();
    Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
        let data = event.data();
        let ports = event.ports();
        let kind = Reflect::get(&data, &"type".into())
            .ok()
            .and_then(|t| t.as_string())
            .unwrap_or_default();
        if kind == "control" {
            // A connector for a client that opens its own connections (a reconnecting
            // `ResilientClient`): it speaks this same protocol.
            if let Ok(port) = ports.get(0).dyn_into::<MessagePort>() {
                serve_tab(&host, port);
            }
            return;
        }
        if kind != "connect" {
            let answer = crate::inspector_port::answer(&mut host.borrow_mut().broker, &data, now());
            if answer.as_ref().is_some_and(|a| a.changed) {
                host.borrow_mut().dirty = true;
            }
            if let (Some(answer), Ok(reply)) = (answer, ports.get(0).dyn_into::<MessagePort>()) {
                let _ = reply.post_message(&answer.value);
                reply.close();
            }
            // A deleted retained message changes the state to keep.
            flush(&host);
            return;
        }
        let page = Reflect::get(&data, &LOCK_KEY.into())
            .ok()
            .and_then(|p| p.as_string());
        for i in 0..ports.length() {
            if let Ok(port) = ports.get(i).dyn_into::<MessagePort>() {
                accept(&host, port, page.clone());
            }
        }
    })
}

/// A tab of a SharedWorker broker: its control port speaks the same protocol.
fn serve_tab(host: &Shared, control: MessagePort) {
    let handler = control_handler(host);
    control.set_onmessage(Some(handler.as_ref().unchecked_ref()));
    // The tab's control port lives as long as the worker.
    handler.forget();
    let _ = control.post_message(&READY_MESSAGE.into());
    announce_life_lock(move |word| {
        let _ = control.post_message(word);
    });
}

/// Loads the saved state, then says ready to whoever waits.
async fn load_then_ready(host: Shared, database: Option<String>, shared: bool) {
    if let Some(name) = database {
        match IdbStore::open(&name).await {
            Ok(store) => {
                match store.load(SNAPSHOT_KEY).await {
                    Ok(Some(bytes)) => match Broker::restore(BrokerConfig::default(), &bytes) {
                        Ok(broker) => host.borrow_mut().broker = broker,
                        Err(e) => web_sys::console::error_1(
                            &format!(
                                "tabmq: the saved broker state is unreadable ({e}); starting empty"
                            )
                            .into(),
                        ),
                    },
                    Ok(None) => {}
                    Err(e) => {
                        web_sys::console::error_2(&"tabmq: cannot read the saved state".into(), &e)
                    }
                }
                host.borrow_mut().store = Some(Rc::new(store));
            }
            Err(e) => web_sys::console::error_2(&"tabmq: no IndexedDB; not persisting".into(), &e),
        }
    }
    let tabs = {
        let mut h = host.borrow_mut();
        h.ready = true;
        std::mem::take(&mut h.waiting_tabs)
    };
    if shared {
        for tab in tabs {
            serve_tab(&host, tab);
        }
    } else {
        let scope: DedicatedWorkerGlobalScope = js_sys::global().unchecked_into();
        let _ = scope.post_message(&READY_MESSAGE.into());
        announce_life_lock(move |word| {
            let _ = scope.post_message(word);
        });
    }
}

/// Starts the broker in this worker. As a dedicated Worker, the page talks to the worker
/// itself; as a SharedWorker (every tab of the origin), each tab's control port arrives in
/// a `connect` event, and the same protocol runs over it: "ready", then
/// `{type: "connect"}` messages with a port per client. A worker named
/// `tabmq:NAME:persist` keeps its state in the IndexedDB database `tabmq-broker:NAME`.
pub fn start() {
    let global = js_sys::global();
    let host: Shared = Rc::new(RefCell::new(Host::default()));
    let name = Reflect::get(&global, &"name".into())
        .ok()
        .and_then(|n| n.as_string())
        .unwrap_or_default();
    let database = name
        .strip_prefix("tabmq:")
        .and_then(|rest| rest.strip_suffix(":persist"))
        .map(|broker| format!("tabmq-broker:{broker}"));
    let shared = Reflect::has(&global, &"onconnect".into()).unwrap_or(false);
    if shared {
        // Set at once: a connect event that found no handler would be lost.
        let for_tabs = host.clone();
        let on_tab = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
            let Ok(control) = event.ports().get(0).dyn_into::<MessagePort>() else {
                return;
            };
            let ready = for_tabs.borrow().ready;
            if ready {
                serve_tab(&for_tabs, control);
            } else {
                for_tabs.borrow_mut().waiting_tabs.push(control);
            }
        });
        // Tabs that connected while the wasm was loading (web/broker-worker.js kept them).
        let early = Reflect::get(&global, &"__tabmqEarlyConnects".into())
            .ok()
            .and_then(|v| v.dyn_into::<js_sys::Array>().ok());
        let _ = Reflect::set(&global, &"onconnect".into(), on_tab.as_ref());
        if let Some(early) = early {
            for event in early.iter() {
                if let Ok(event) = event.dyn_into::<MessageEvent>() {
                    let f: &js_sys::Function = on_tab.as_ref().unchecked_ref();
                    let _ = f.call1(&JsValue::NULL, &event);
                }
            }
            early.set_length(0);
        }
        on_tab.forget();
    } else {
        let scope: DedicatedWorkerGlobalScope = global.unchecked_into();
        let on_connect = control_handler(&host);
        scope.set_onmessage(Some(on_connect.as_ref().unchecked_ref()));
        on_connect.forget();
    }
    wasm_bindgen_futures::spawn_local(load_then_ready(host, database, shared));
}
