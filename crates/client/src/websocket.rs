//! MQTT over WebSocket to a real broker (Mosquitto, EMQX, HiveMQ, `tabmq broker`):
//! subprotocol `mqtt`, binary frames [MQTT-6.0.0-3]. A frame may carry part of a packet or
//! several; the engine's decoder is incremental, so framing does not matter on the way in.
//! On the way out, every packet produced in the same turn of the event loop leaves in one
//! frame: in Chromium the frame rate is the ceiling, not the codec.

use crate::coalesce::{Coalescer, Sink};
use crate::transport::{Transport, TransportError};
use std::rc::Rc;
use tabmq_core::Bytes;
use web_sys::WebSocket;

/// The WebSocket subprotocol MQTT uses.
pub const SUBPROTOCOL: &str = "mqtt";

/// Sends MQTT bytes over an open WebSocket, one frame per event-loop turn.
pub struct WebSocketTransport {
    ws: WebSocket,
    out: Coalescer,
}

/// A transport over an open socket.
pub(crate) fn new_transport(ws: WebSocket) -> WebSocketTransport {
    let socket = ws.clone();
    let sink: Sink = Rc::new(move |bytes: &[u8]| socket.send_with_u8_array(bytes));
    WebSocketTransport {
        ws,
        out: Coalescer::new(sink),
    }
}

impl Transport for WebSocketTransport {
    fn send(&self, bytes: Bytes, hold_turns: u32) -> Result<(), TransportError> {
        if self.out.is_closed() || self.ws.ready_state() > WebSocket::OPEN {
            return Err(TransportError::Closed);
        }
        self.out
            .push(&bytes, hold_turns)
            .map_err(|e| TransportError::Platform(crate::browser::describe(&e)))
    }

    fn close(&self) {
        // What is already queued (a DISCONNECT) still leaves before the close.
        self.out.close();
        let _ = self.ws.close();
    }
}
