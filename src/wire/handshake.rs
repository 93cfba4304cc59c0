//! The server's side of the opening handshake (RFC 6455 §4.2) and the client's check of the
//! answer (§4.1), plus the same-origin rule the contract adds (§10.2).

use base64::Engine as _;
use sha1::{Digest, Sha1};

use crate::wire::http::{RequestHead, Status, Version};

/// RFC 6455 §1.3: the GUID concatenated with the client's key before hashing.
pub const GUID: &str = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

/// `Sec-WebSocket-Accept` for a `Sec-WebSocket-Key` (RFC 6455 §1.3, §4.2.2 item 5.4): the
/// base64 of the SHA-1 of the key (as sent, not decoded) followed by [`GUID`].
pub fn accept_key(key: &[u8]) -> String {
    let mut sha1 = Sha1::new();
    sha1.update(key);
    sha1.update(GUID.as_bytes());
    base64::engine::general_purpose::STANDARD.encode(sha1.finalize())
}

/// §4.1: "a nonce consisting of a randomly selected 16-byte value that has been
/// base64-encoded". §4.2.1 item 5: the server checks it decodes to 16 bytes.
pub fn is_valid_key(key: &[u8]) -> bool {
    key.len() == 24 && base64::engine::general_purpose::STANDARD.decode(key).is_ok_and(|k| k.len() == 16)
}

/// Why an upgrade request is refused, with the status each gets (RFC 6455 §4.2.1, §4.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HandshakeError {
    /// §4.2.1 item 1: "An HTTP/1.1 or higher GET request".
    NotGetOrHttp11,
    /// No `Upgrade: websocket`: a plain request to a WebSocket endpoint. 426 tells the
    /// client which protocol to switch to (RFC 9110 §15.5.22).
    NotAnUpgrade,
    /// §4.2.1 item 4: "A |Connection| header field that includes the token 'Upgrade'".
    MissingConnectionUpgrade,
    /// §4.2.1 item 5: `Sec-WebSocket-Key` missing or not 16 base64-encoded bytes.
    BadKey,
    /// §4.2.1 item 6: no `Sec-WebSocket-Version`.
    MissingVersion,
    /// §4.4: a version we do not speak; 426 with `Sec-WebSocket-Version: 13`.
    UnsupportedVersion,
    /// §10.2: a browser page from another origin (the contract's same-origin rule).
    ForbiddenOrigin,
    /// A request body on an upgrade.
    HasBody,
}

impl HandshakeError {
    pub fn status(self) -> Status {
        match self {
            HandshakeError::NotAnUpgrade | HandshakeError::UnsupportedVersion => Status::UpgradeRequired,
            HandshakeError::ForbiddenOrigin => Status::Forbidden,
            _ => Status::BadRequest,
        }
    }

    /// Extra response headers (§4.4: the versions the server supports).
    pub fn headers(self) -> &'static [(&'static str, &'static str)] {
        match self {
            HandshakeError::NotAnUpgrade | HandshakeError::UnsupportedVersion => {
                &[("Upgrade", "websocket"), ("Sec-WebSocket-Version", "13")]
            }
            _ => &[],
        }
    }

    pub fn reason(self) -> &'static str {
        match self {
            HandshakeError::NotGetOrHttp11 => "a WebSocket upgrade must be an HTTP/1.1 GET",
            HandshakeError::NotAnUpgrade => "this endpoint speaks WebSocket: send Upgrade: websocket",
            HandshakeError::MissingConnectionUpgrade => "Connection header must include 'upgrade'",
            HandshakeError::BadKey => "missing or malformed Sec-WebSocket-Key",
            HandshakeError::MissingVersion => "missing Sec-WebSocket-Version",
            HandshakeError::UnsupportedVersion => "unsupported Sec-WebSocket-Version (this server speaks 13)",
            HandshakeError::ForbiddenOrigin => "cross-origin WebSocket upgrade not allowed",
            HandshakeError::HasBody => "an upgrade request must not have a body",
        }
    }
}

/// Checks an upgrade request as RFC 6455 §4.2.1 asks of a server and returns the client's
/// key. `allowed_origins` are the `--allow-origin` values (`*` allows any).
///
/// §4.2.1 item 2 (a `Host`) is not checked here: it is an HTTP/1.1 rule (RFC 9112 §3.2),
/// enforced for every request, upgrade or not, before any route is chosen
/// (`protocol::http_conn::handle` answers 400), and only HTTP/1.1 gets past item 1 below.
pub fn check_upgrade<'b>(head: &RequestHead<'b>, allowed_origins: &[String]) -> Result<&'b [u8], HandshakeError> {
    if !head.upgrade_websocket {
        return Err(HandshakeError::NotAnUpgrade);
    }
    if head.method != "GET" || head.version != Version::Http11 {
        return Err(HandshakeError::NotGetOrHttp11);
    }
    // Never `None` when called from `http_conn::handle` (see above). A direct caller that
    // skipped that rule gets an empty Host, which no `Origin` matches.
    let host = head.host.unwrap_or_default();
    if !head.connection_upgrade {
        return Err(HandshakeError::MissingConnectionUpgrade);
    }
    let key = head.ws_key.filter(|k| is_valid_key(k)).ok_or(HandshakeError::BadKey)?;
    match head.ws_version {
        None => return Err(HandshakeError::MissingVersion),
        Some(b"13") => {}
        Some(_) => return Err(HandshakeError::UnsupportedVersion),
    }
    if head.has_body {
        return Err(HandshakeError::HasBody);
    }
    if let Some(origin) = head.origin
        && !origin_allowed(origin, host, allowed_origins)
    {
        return Err(HandshakeError::ForbiddenOrigin);
    }
    Ok(key)
}

/// The contract's origin rule (RFC 6455 §10.2 leaves the policy to the server): a browser
/// sends `Origin`; it is allowed when its host (and port) equal `Host`, or when it is listed
/// in `allowed` (compared case-insensitively, without a trailing `/`), or `allowed` has `*`.
pub fn origin_allowed(origin: &[u8], host: &[u8], allowed: &[String]) -> bool {
    let origin = origin.strip_suffix(b"/").unwrap_or(origin);
    if allowed.iter().any(|a| a == "*" || a.trim_end_matches('/').as_bytes().eq_ignore_ascii_case(origin)) {
        return true;
    }
    // RFC 6454 §6.2: scheme "://" host [ ":" port ]. `null` and other forms never match.
    // An origin without a host (`http://`) is malformed and matches nothing, not even an
    // empty `Host`.
    let Some((scheme, authority)) = split_scheme(origin).filter(|(_, a)| !a.is_empty()) else { return false };
    let default_port: &[u8] = if scheme.eq_ignore_ascii_case(b"https") { b":443" } else { b":80" };
    let strip = |a: &'_ [u8]| -> Vec<u8> {
        let a = a.strip_suffix(default_port).unwrap_or(a);
        a.to_ascii_lowercase()
    };
    strip(authority) == strip(host)
}

fn split_scheme(origin: &[u8]) -> Option<(&[u8], &[u8])> {
    let pos = origin.windows(3).position(|w| w == b"://")?;
    // A window of 3 starts at `pos`, so `pos + 3` ≤ `origin.len()`: both slices are in bounds.
    Some((&origin[..pos], &origin[pos + 3..]))
}

/// Appends the 101 response that completes the handshake (RFC 6455 §4.2.2 item 5).
pub fn write_accept_response(out: &mut Vec<u8>, key: &[u8]) {
    let accept = accept_key(key);
    crate::wire::http::write_response_head(
        out,
        Status::SwitchingProtocols,
        &[("Upgrade", "websocket"), ("Connection", "Upgrade"), ("Sec-WebSocket-Accept", &accept)],
        None,
        true,
    );
}

/// A client's request for `path` on `host` with `key` (RFC 6455 §4.1), for the load
/// generator and tests.
pub fn write_client_request(out: &mut Vec<u8>, host: &str, path: &str, key: &str) {
    let req = format!(
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
    );
    out.extend_from_slice(req.as_bytes());
}

/// The client's check of the server's answer (RFC 6455 §4.1, "If the server's response is
/// not correct..."): a 101 with the right `Sec-WebSocket-Accept`. Returns the head's length
/// once complete, `Ok(None)` while partial.
pub fn check_server_response(buf: &[u8], key: &str) -> Result<Option<usize>, String> {
    let mut slots = [httparse::EMPTY_HEADER; 32];
    let mut resp = httparse::Response::new(&mut slots);
    let len = match resp.parse(buf) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(e) => return Err(format!("malformed response: {e}")),
    };
    if resp.code != Some(101) {
        return Err(format!("expected 101, got {:?}", resp.code));
    }
    let expected = accept_key(key.as_bytes());
    let accept = resp.headers.iter().find(|h| h.name.eq_ignore_ascii_case("sec-websocket-accept"));
    match accept {
        Some(h) if h.value == expected.as_bytes() => Ok(Some(len)),
        _ => Err("wrong or missing Sec-WebSocket-Accept".to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::http::{HeadLimits, parse_head};

    #[test]
    fn rfc_1_3_accept_key() {
        assert_eq!(accept_key(b"dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
    }

    #[test]
    fn key_must_be_16_bytes_of_base64() {
        assert!(is_valid_key(b"dGhlIHNhbXBsZSBub25jZQ=="));
        assert!(!is_valid_key(b"dGhlIHNhbXBsZSBub25jZQ"));
        assert!(!is_valid_key(b"dGhlIHNhbXBsZSBub25jZXg=")); // 17 bytes
        assert!(!is_valid_key(b"dGhlIHNhbXBsZSBub25j!Q=="));
        assert!(!is_valid_key(b""));
    }

    fn check(req: &str, allowed: &[String]) -> Result<(), HandshakeError> {
        let (head, _) = parse_head(req.as_bytes(), &HeadLimits::default()).unwrap().unwrap();
        check_upgrade(&head, allowed).map(|_| ())
    }

    const KEY: &str = "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n";

    #[test]
    fn upgrade_rules() {
        let ok = format!(
            "GET /ws HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n{KEY}Sec-WebSocket-Version: 13\r\n\r\n"
        );
        assert_eq!(check(&ok, &[]), Ok(()));
        let cases = [
            ("Upgrade: websocket\r\n", "", HandshakeError::NotAnUpgrade),
            ("HTTP/1.1", "HTTP/1.0", HandshakeError::NotGetOrHttp11),
            ("GET", "PUT", HandshakeError::NotGetOrHttp11),
            // Without Host no Origin can match (the 400 for a missing Host comes earlier,
            // in `http_conn::handle`, for every HTTP/1.1 request).
            ("Host: h\r\n", "Origin: http://h\r\n", HandshakeError::ForbiddenOrigin),
            ("Connection: Upgrade", "Connection: keep-alive", HandshakeError::MissingConnectionUpgrade),
            (KEY, "", HandshakeError::BadKey),
            ("dGhlIHNhbXBsZSBub25jZQ==", "abc", HandshakeError::BadKey),
            ("Sec-WebSocket-Version: 13\r\n", "", HandshakeError::MissingVersion),
            ("Version: 13", "Version: 8", HandshakeError::UnsupportedVersion),
            ("Host: h\r\n", "Host: h\r\nContent-Length: 3\r\n", HandshakeError::HasBody),
            ("Host: h\r\n", "Host: h\r\nOrigin: http://evil.example\r\n", HandshakeError::ForbiddenOrigin),
        ];
        for (from, to, expected) in cases {
            assert_eq!(check(&ok.replacen(from, to, 1), &[]), Err(expected), "{from} -> {to}");
        }
        // Case-insensitive tokens, in lists.
        let mixed = ok
            .replace("Upgrade: websocket", "upgrade: WebSocket")
            .replace("Connection: Upgrade", "connection: keep-alive, UPGRADE");
        assert_eq!(check(&mixed, &[]), Ok(()));
        assert_eq!(HandshakeError::UnsupportedVersion.status().code(), 426);
        assert_eq!(HandshakeError::NotAnUpgrade.status().code(), 426);
    }

    #[test]
    fn origin_policy() {
        assert!(origin_allowed(b"http://h:3000", b"h:3000", &[]));
        assert!(origin_allowed(b"http://H:3000/", b"h:3000", &[]));
        assert!(origin_allowed(b"http://h", b"h:80", &[]));
        assert!(origin_allowed(b"https://h:443", b"h", &[]));
        assert!(!origin_allowed(b"http://h:3001", b"h:3000", &[]));
        assert!(!origin_allowed(b"null", b"h", &[]));
        assert!(!origin_allowed(b"http://", b"", &[]));
        assert!(!origin_allowed(b"http://h", b"", &[]));
        assert!(!origin_allowed(b"http://evil.example", b"h", &[]));
        let allowed = vec!["http://overlay.example".to_string()];
        assert!(origin_allowed(b"http://overlay.example", b"h", &allowed));
        assert!(!origin_allowed(b"http://other.example", b"h", &allowed));
        assert!(origin_allowed(b"null", b"h", &["*".to_string()]));
    }

    #[test]
    fn client_and_server_agree() {
        let mut out = Vec::new();
        write_accept_response(&mut out, b"dGhlIHNhbXBsZSBub25jZQ==");
        let text = String::from_utf8(out.clone()).unwrap();
        assert!(text.starts_with("HTTP/1.1 101 Switching Protocols\r\n"));
        assert!(text.contains("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"));
        assert_eq!(check_server_response(&out, "dGhlIHNhbXBsZSBub25jZQ=="), Ok(Some(out.len())));
        for split in 0..out.len() {
            assert_eq!(check_server_response(&out[..split], "dGhlIHNhbXBsZSBub25jZQ=="), Ok(None), "split {split}");
        }
        assert!(check_server_response(&out, "AAAAAAAAAAAAAAAAAAAAAA==").is_err());
    }
}
