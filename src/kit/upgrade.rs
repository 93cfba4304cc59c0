//! The client's opening handshake (RFC 6455 §4.1): a fresh `Sec-WebSocket-Key` and the one
//! upgrade-request builder, whose lines a test may drop or add to.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;

/// RFC 6455 §1.3's example key, for golden tests.
pub const RFC_KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";
/// The `Sec-WebSocket-Accept` that [`RFC_KEY`] must produce (RFC 6455 §1.3).
pub const RFC_ACCEPT: &str = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

/// A `Sec-WebSocket-Key` from a 16-byte nonce (§4.1: "a randomly selected 16-byte value that
/// has been base64-encoded").
pub fn key_from_nonce(nonce: [u8; 16]) -> String {
    base64::engine::general_purpose::STANDARD.encode(nonce)
}

/// A key no other call in this process returns: a counter, the clock and the process id.
/// Unpredictable enough for tests (§10.3 matters to browsers, not to a test client).
pub fn fresh_key() -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(1);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let t = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64);
    let mut nonce = [0u8; 16];
    nonce[..8].copy_from_slice(&t.to_le_bytes());
    nonce[8..12].copy_from_slice(&n.to_le_bytes());
    nonce[12..].copy_from_slice(&std::process::id().to_le_bytes());
    key_from_nonce(nonce)
}

/// An upgrade request (RFC 6455 §4.1): `GET target HTTP/1.1` and the five header lines a
/// client must send (`Host`, `Upgrade`, `Connection`, `Sec-WebSocket-Key`,
/// `Sec-WebSocket-Version`), any of which may be dropped, plus extra lines.
#[derive(Debug, Clone)]
pub struct UpgradeRequest {
    pub target: String,
    pub host: String,
    pub key: String,
    /// The request line's version, `HTTP/1.1` unless a test wants another.
    pub version: String,
    drop: Vec<String>,
    extra: Vec<String>,
}

impl UpgradeRequest {
    pub fn new(host: &str, target: &str, key: &str) -> UpgradeRequest {
        UpgradeRequest {
            target: target.to_string(),
            host: host.to_string(),
            key: key.to_string(),
            version: "HTTP/1.1".to_string(),
            drop: Vec::new(),
            extra: Vec::new(),
        }
    }

    /// Leaves out the standard line named `name` (case-insensitive).
    pub fn without(mut self, name: &str) -> UpgradeRequest {
        self.drop.push(name.to_string());
        self
    }

    /// Adds `line` (e.g. `Origin: http://x`) after the standard ones.
    pub fn with(mut self, line: &str) -> UpgradeRequest {
        self.extra.push(line.to_string());
        self
    }

    pub fn version(mut self, version: &str) -> UpgradeRequest {
        self.version = version.to_string();
        self
    }

    /// The request head, ending with the empty line.
    pub fn bytes(&self) -> Vec<u8> {
        let standard = [
            ("Host", self.host.as_str()),
            ("Upgrade", "websocket"),
            ("Connection", "Upgrade"),
            ("Sec-WebSocket-Key", self.key.as_str()),
            ("Sec-WebSocket-Version", "13"),
        ];
        let mut raw = format!("GET {} {}\r\n", self.target, self.version);
        for (name, value) in standard {
            if !self.drop.iter().any(|d| d.eq_ignore_ascii_case(name)) {
                raw.push_str(&format!("{name}: {value}\r\n"));
            }
        }
        for line in &self.extra {
            raw.push_str(line);
            raw.push_str("\r\n");
        }
        raw.push_str("\r\n");
        raw.into_bytes()
    }
}

/// The plain request for `target` with `key`: what a well-behaved client sends.
pub fn upgrade_request(host: &str, target: &str, key: &str) -> Vec<u8> {
    UpgradeRequest::new(host, target, key).bytes()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::handshake::write_client_request;

    #[test]
    fn plain_request_is_the_crates_own() {
        let mut golden = Vec::new();
        write_client_request(&mut golden, "127.0.0.1:3000", "/ws?room=a", RFC_KEY);
        assert_eq!(upgrade_request("127.0.0.1:3000", "/ws?room=a", RFC_KEY), golden);
    }

    #[test]
    fn lines_dropped_and_added() {
        let req = UpgradeRequest::new("h", "/ws", RFC_KEY).without("sec-websocket-key").with("Origin: http://x");
        let req = String::from_utf8(req.version("HTTP/1.0").bytes()).unwrap();
        assert_eq!(
            req,
            "GET /ws HTTP/1.0\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Version: 13\r\nOrigin: http://x\r\n\r\n"
        );
    }

    #[test]
    fn keys_are_16_bytes_and_fresh() {
        let (a, b) = (fresh_key(), fresh_key());
        assert_ne!(a, b);
        let raw = base64::engine::general_purpose::STANDARD.decode(&a).unwrap();
        assert_eq!(raw.len(), 16);
        assert_eq!(key_from_nonce(*b"the sample nonce"), RFC_KEY);
    }
}
