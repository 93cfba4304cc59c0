//! Every way a WebSocket peer can break the protocol, and the one place where each becomes a
//! close code (RFC 6455 §7.4.1).

use std::fmt;

use crate::wire::close::{CloseCode, ClosePayloadError};
use crate::wire::frame::FrameError;

/// Every way a peer can break the protocol, each with its close code (RFC 6455 §7.4.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProtocolError {
    Frame(FrameError),
    /// §5.1: "a server MUST close the connection upon receiving a frame that is not masked".
    UnmaskedFrame,
    /// §5.1: "A client MUST close a connection if it detects a masked frame".
    MaskedFrame,
    /// §5.4: a continuation frame with no message in progress.
    UnexpectedContinuation,
    /// §5.4: a new text/binary frame while a fragmented message is unfinished.
    ExpectedContinuation,
    /// §8.1: text that is not UTF-8.
    InvalidUtf8,
    /// §5.5.1, §7.4: a close frame with a bad code or reason.
    InvalidClose(ClosePayloadError),
    /// §7.4.1 (1009): a message over the configured limit.
    MessageTooBig,
}

impl ProtocolError {
    /// The one place where protocol errors become close codes (RFC 6455 §7.4.1).
    pub fn close_code(self) -> CloseCode {
        match self {
            ProtocolError::InvalidUtf8 | ProtocolError::InvalidClose(ClosePayloadError::InvalidUtf8) => {
                CloseCode::INVALID_PAYLOAD
            }
            ProtocolError::MessageTooBig => CloseCode::MESSAGE_TOO_BIG,
            _ => CloseCode::PROTOCOL_ERROR,
        }
    }
}

impl fmt::Display for ProtocolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProtocolError::Frame(e) => e.fmt(f),
            ProtocolError::UnmaskedFrame => f.write_str("unmasked client frame"),
            ProtocolError::MaskedFrame => f.write_str("masked server frame"),
            ProtocolError::UnexpectedContinuation => f.write_str("continuation frame without a message"),
            ProtocolError::ExpectedContinuation => f.write_str("new message inside a fragmented one"),
            ProtocolError::InvalidUtf8 => f.write_str("invalid UTF-8 in text"),
            ProtocolError::InvalidClose(e) => e.fmt(f),
            ProtocolError::MessageTooBig => f.write_str("message too big"),
        }
    }
}
