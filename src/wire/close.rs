//! Close frames: status codes and the close payload (RFC 6455 §5.5.1, §7.4).

use std::fmt;

/// A close status code (RFC 6455 §7.4). Names follow §7.4.1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CloseCode(pub u16);

impl CloseCode {
    /// 1000: "normal closure".
    pub const NORMAL: CloseCode = CloseCode(1000);
    /// 1001: "an endpoint is going away, such as a server going down".
    pub const GOING_AWAY: CloseCode = CloseCode(1001);
    /// 1002: "terminating the connection due to a protocol error".
    pub const PROTOCOL_ERROR: CloseCode = CloseCode(1002);
    /// 1003: "received a type of data it cannot accept".
    pub const UNSUPPORTED_DATA: CloseCode = CloseCode(1003);
    /// 1007: "data within a message that was not consistent with the type of the message".
    pub const INVALID_PAYLOAD: CloseCode = CloseCode(1007);
    /// 1008: "a message that violates its policy".
    pub const POLICY_VIOLATION: CloseCode = CloseCode(1008);
    /// 1009: "a message that is too big for it to process".
    pub const MESSAGE_TOO_BIG: CloseCode = CloseCode(1009);
    /// 1013: "Try Again Later" (IANA's registry, RFC 6455 §7.4.2): the server is at a limit.
    pub const TRY_AGAIN_LATER: CloseCode = CloseCode(1013);

    /// Whether a peer may send this code in a close frame.
    ///
    /// RFC 6455 §7.4.1 defines 1000-1003 and 1007-1011; 1004 is reserved and 1005, 1006 and
    /// 1015 "MUST NOT be set as a status code in a Close control frame". 1012-1014 were
    /// registered with IANA later (§7.4.2's registry), so we accept them. §7.4.2: 0-999 are
    /// not used, 1000-2999 belong to the RFC and its extensions, 3000-3999 to libraries and
    /// frameworks, 4000-4999 to applications.
    pub fn is_valid_on_wire(self) -> bool {
        matches!(self.0, 1000..=1003 | 1007..=1014 | 3000..=4999)
    }
}

impl fmt::Display for CloseCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Why a received close payload is invalid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClosePayloadError {
    /// One byte: too short for a code, and a body must start with one (§5.5.1).
    Truncated,
    /// A code no endpoint may send (§7.4.1, §7.4.2).
    InvalidCode(u16),
    /// The reason is not UTF-8 (§5.5.1: "the data MUST be UTF-8-encoded").
    InvalidUtf8,
}

impl fmt::Display for ClosePayloadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClosePayloadError::Truncated => f.write_str("close payload of one byte"),
            ClosePayloadError::InvalidCode(code) => write!(f, "invalid close code {code}"),
            ClosePayloadError::InvalidUtf8 => f.write_str("close reason is not UTF-8"),
        }
    }
}

/// Reads a close frame's payload (RFC 6455 §5.5.1): empty, or a 2-byte code followed by a
/// UTF-8 reason. Returns the code and reason, or `None` for an empty body.
pub fn parse_close_payload(payload: &[u8]) -> Result<Option<(CloseCode, &str)>, ClosePayloadError> {
    match payload {
        [] => Ok(None),
        [_] => Err(ClosePayloadError::Truncated),
        [hi, lo, reason @ ..] => {
            let code = CloseCode(u16::from_be_bytes([*hi, *lo]));
            if !code.is_valid_on_wire() {
                return Err(ClosePayloadError::InvalidCode(code.0));
            }
            let reason = std::str::from_utf8(reason).map_err(|_| ClosePayloadError::InvalidUtf8)?;
            Ok(Some((code, reason)))
        }
    }
}

/// Builds a close payload: the code in network byte order, then as much of `reason` as fits
/// in a control frame (§5.5: 125 bytes), cut at a character boundary.
pub fn close_payload(code: CloseCode, reason: &str) -> Vec<u8> {
    let mut end = reason.len().min(crate::wire::frame::MAX_CONTROL_PAYLOAD - 2);
    // 0 is always a char boundary, so `end` stops there at the latest (no underflow), and
    // `end` ≤ `reason.len()` keeps the slice below in bounds.
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    let mut payload = Vec::with_capacity(2 + end);
    payload.extend_from_slice(&code.0.to_be_bytes());
    payload.extend_from_slice(&reason.as_bytes()[..end]);
    payload
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_a_peer_may_send() {
        // The valid codes Autobahn's case 7.7.* sends, and the invalid ones of 7.9.*.
        for code in [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999, 4000, 4999] {
            assert!(CloseCode(code).is_valid_on_wire(), "{code}");
        }
        for code in [0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535] {
            assert!(!CloseCode(code).is_valid_on_wire(), "{code}");
        }
    }

    #[test]
    fn payload_rules() {
        assert_eq!(parse_close_payload(b""), Ok(None));
        assert_eq!(parse_close_payload(&[0x03]), Err(ClosePayloadError::Truncated));
        assert_eq!(parse_close_payload(&[0x03, 0xE8]), Ok(Some((CloseCode::NORMAL, ""))));
        assert_eq!(parse_close_payload(b"\x03\xe9bye"), Ok(Some((CloseCode::GOING_AWAY, "bye"))));
        assert_eq!(parse_close_payload(&[0x03, 0xEC]), Err(ClosePayloadError::InvalidCode(1004)));
        assert_eq!(parse_close_payload(&[0x03, 0xE8, 0xFF]), Err(ClosePayloadError::InvalidUtf8));
        assert_eq!(
            parse_close_payload(b"\x0f\xa0\xce\xba\xe1\xbd\xb9"),
            Ok(Some((CloseCode(4000), "\u{3ba}\u{1f79}")))
        );
    }

    #[test]
    fn built_payloads_fit_a_control_frame() {
        assert_eq!(close_payload(CloseCode::MESSAGE_TOO_BIG, "too big"), b"\x03\xf1too big");
        let long = "é".repeat(100);
        let payload = close_payload(CloseCode::NORMAL, &long);
        assert!(payload.len() <= 125);
        assert!(parse_close_payload(&payload).is_ok(), "cut inside a character");
    }
}
