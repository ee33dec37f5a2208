//! The seam between the client engine and whatever carries its bytes.

use tabmq_core::Bytes;

/// Why a transport could not take bytes. The environment is at fault, not the peer.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TransportError {
    /// The transport is closed.
    Closed,
    /// The platform refused the write; its message.
    Platform(String),
}

impl std::fmt::Display for TransportError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TransportError::Closed => f.write_str("the transport is closed"),
            TransportError::Platform(msg) => write!(f, "transport error: {msg}"),
        }
    }
}

impl std::error::Error for TransportError {}

/// A byte pipe to a broker: a MessagePort to the in-tab broker, a WebSocket, a socket.
///
/// Incoming bytes are pushed into [`crate::Client::handle_bytes`] by whoever owns the
/// transport; this trait is only the outgoing half, so that it stays object-safe and
/// trivially implementable in tests.
pub trait Transport {
    /// Sends one buffer: it may hold several packets, and should leave as one frame. It may
    /// wait `hold_turns` microtask turns first ([`tabmq_core::Transmit::hold_turns`]),
    /// gathering what is sent meanwhile into the same frame.
    fn send(&self, bytes: Bytes, hold_turns: u32) -> Result<(), TransportError>;
    /// Closes the transport; later sends fail.
    fn close(&self);
}
