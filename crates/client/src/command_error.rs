//! Why a command's future failed: [`crate::ResilientClient::publish_async`] and the others.

use tabmq_core::{ClientError, LostReason, ReasonCode};

/// Why a command did not complete. Who is at fault differs per variant.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CommandError {
    /// Refused before anything was sent; the caller is at fault.
    Refused(ClientError),
    /// The broker answered with a failure reason code (MQTT 5, or SUBACK 0x80).
    Failed(ReasonCode),
    /// It will never complete: the session or the connection is gone.
    Lost(LostReason),
    /// The client was dropped while waiting.
    Dropped,
}

impl std::fmt::Display for CommandError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CommandError::Refused(e) => write!(f, "refused: {e}"),
            CommandError::Failed(code) => {
                write!(f, "the broker answered reason code 0x{:02X}", code.0)
            }
            CommandError::Lost(LostReason::SessionLost) => {
                f.write_str("lost: the broker no longer has the session")
            }
            CommandError::Lost(_) => f.write_str("lost: the connection ended before the answer"),
            CommandError::Dropped => f.write_str("the client was dropped"),
        }
    }
}

impl std::error::Error for CommandError {}
