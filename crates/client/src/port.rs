//! MQTT over a MessagePort: the in-tab broker's transport.
//!
//! Each client has a port of its own. Real MQTT bytes cross it as transferable
//! ArrayBuffers; the only other messages are the string `"close"`, which the worker sends
//! when the broker closes the connection (ports have no close event of their own), and,
//! to a client whose `connect` named its page's lock, the broker's own life lock
//! (`page_lock::BROKER_LOCK_PREFIX`).

use crate::browser::to_array_buffer;
use crate::coalesce::{Coalescer, Sink};
use crate::transport::{Transport, TransportError};
use std::cell::Cell;
use std::rc::Rc;
use tabmq_core::Bytes;
use web_sys::MessagePort;

/// The string the far side posts before it closes the port.
pub const CLOSE_MESSAGE: &str = "close";

/// Sends MQTT bytes over a MessagePort, one transferred buffer per event-loop turn.
#[derive(Clone)]
pub struct MessagePortTransport {
    port: MessagePort,
    closed: Rc<Cell<bool>>,
    out: Coalescer,
}

impl MessagePortTransport {
    pub fn new(port: MessagePort) -> Self {
        let target = port.clone();
        let sink: Sink = Rc::new(move |bytes: &[u8]| {
            let buffer = to_array_buffer(bytes);
            target.post_message_with_transferable(&buffer, &js_sys::Array::of1(&buffer))
        });
        MessagePortTransport {
            port,
            closed: Rc::new(Cell::new(false)),
            out: Coalescer::new(sink),
        }
    }
}

impl Transport for MessagePortTransport {
    fn send(&self, bytes: Bytes, hold_turns: u32) -> Result<(), TransportError> {
        if self.closed.get() || self.out.is_closed() {
            return Err(TransportError::Closed);
        }
        self.out
            .push(&bytes, hold_turns)
            .map_err(|e| TransportError::Platform(crate::browser::describe(&e)))
    }

    fn close(&self) {
        if !self.closed.replace(true) {
            // What is already queued (a DISCONNECT) still leaves before the close.
            self.out.close();
            self.port.close();
        }
    }
}
