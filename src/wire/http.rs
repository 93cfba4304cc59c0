//! HTTP/1.1 request heads (parsed with httparse) and response heads (RFC 9110, RFC 9112).
//!
//! [`parse_head`] reads one request head from the start of a buffer without copying: the
//! [`RequestHead`] it returns borrows from that buffer. It also pulls out, once, the headers
//! the rest of the server looks at (`Host`, `Connection`, `Upgrade`, the WebSocket keys,
//! `Origin`, `If-None-Match`, and whether a body follows).

use std::fmt::Write as _;

/// Limits on a request head; the defaults are the contract's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HeadLimits {
    /// Request line + headers + CRLFs, in bytes (431 past it; 414 if the request line alone is).
    pub max_head_bytes: usize,
    /// Header fields (431 past it). At most [`HEADER_SLOTS`].
    pub max_headers: usize,
}

impl Default for HeadLimits {
    fn default() -> Self {
        HeadLimits { max_head_bytes: 8192, max_headers: 64 }
    }
}

/// Header slots on the stack for httparse; `max_headers` is clamped to this.
pub const HEADER_SLOTS: usize = 128;

/// HTTP status codes this server sends (RFC 9110 §15, RFC 6585, RFC 6455 §4.2.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    SwitchingProtocols,
    Ok,
    NotModified,
    BadRequest,
    Forbidden,
    NotFound,
    MethodNotAllowed,
    RequestTimeout,
    ContentTooLarge,
    UriTooLong,
    UpgradeRequired,
    TooManyRequests,
    HeaderFieldsTooLarge,
    InternalServerError,
    NotImplemented,
    ServiceUnavailable,
}

impl Status {
    pub fn code(self) -> u16 {
        match self {
            Status::SwitchingProtocols => 101,
            Status::Ok => 200,
            Status::NotModified => 304,
            Status::BadRequest => 400,
            Status::Forbidden => 403,
            Status::NotFound => 404,
            Status::MethodNotAllowed => 405,
            Status::RequestTimeout => 408,
            Status::ContentTooLarge => 413,
            Status::UriTooLong => 414,
            Status::UpgradeRequired => 426,
            Status::HeaderFieldsTooLarge => 431,
            Status::InternalServerError => 500,
            Status::NotImplemented => 501,
            Status::ServiceUnavailable => 503,
            Status::TooManyRequests => 429,
        }
    }

    pub fn reason(self) -> &'static str {
        match self {
            Status::SwitchingProtocols => "Switching Protocols",
            Status::Ok => "OK",
            Status::NotModified => "Not Modified",
            Status::BadRequest => "Bad Request",
            Status::Forbidden => "Forbidden",
            Status::NotFound => "Not Found",
            Status::MethodNotAllowed => "Method Not Allowed",
            Status::RequestTimeout => "Request Timeout",
            Status::ContentTooLarge => "Content Too Large",
            Status::UriTooLong => "URI Too Long",
            Status::UpgradeRequired => "Upgrade Required",
            Status::HeaderFieldsTooLarge => "Request Header Fields Too Large",
            Status::InternalServerError => "Internal Server Error",
            Status::NotImplemented => "Not Implemented",
            Status::ServiceUnavailable => "Service Unavailable",
            Status::TooManyRequests => "Too Many Requests",
        }
    }
}

/// The request line's HTTP version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    Http10,
    Http11,
}

/// One parsed request head, borrowing from the read buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestHead<'b> {
    pub method: &'b str,
    /// The request target as sent (origin-form: path and query).
    pub target: &'b str,
    pub version: Version,
    /// `Host`; `None` if absent. Sent twice, the request is malformed ([`HeadError::Malformed`]).
    pub host: Option<&'b [u8]>,
    /// `Connection` tokens seen, in any of its header lines (RFC 9110 §7.6.1).
    pub connection_close: bool,
    pub connection_keep_alive: bool,
    pub connection_upgrade: bool,
    /// `Upgrade` lists `websocket` (RFC 6455 §4.2.1 item 3, case-insensitive).
    pub upgrade_websocket: bool,
    pub ws_key: Option<&'b [u8]>,
    pub ws_version: Option<&'b [u8]>,
    pub origin: Option<&'b [u8]>,
    pub if_none_match: Option<&'b [u8]>,
    /// Every `X-Forwarded-For` line, in order (they form one list); only read from trusted
    /// proxies (see [`crate::wire::forwarded`]).
    pub forwarded_for: Vec<&'b [u8]>,
    /// `Content-Length` > 0 or any `Transfer-Encoding`: a body follows, which this server
    /// never accepts.
    pub has_body: bool,
}

impl RequestHead<'_> {
    /// Whether the connection stays open after the response (RFC 9112 §9.3).
    pub fn keep_alive(&self) -> bool {
        match self.version {
            Version::Http11 => !self.connection_close,
            Version::Http10 => self.connection_keep_alive && !self.connection_close,
        }
    }

    /// The path part of the target, before any `?`.
    pub fn path(&self) -> &str {
        self.target.split_once('?').map_or(self.target, |(path, _)| path)
    }

    /// The query part of the target, after the first `?`.
    pub fn query(&self) -> Option<&str> {
        self.target.split_once('?').map(|(_, query)| query)
    }
}

/// Why a head cannot be answered normally; each maps to one status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeadError {
    /// Not HTTP/1.x syntax, a bad header, a duplicated `Host` or `Content-Length`: 400.
    Malformed,
    /// The request line alone passes the size limit: 414.
    RequestLineTooLong,
    /// The head passes the size limit or has too many headers: 431.
    HeadTooLarge,
}

impl HeadError {
    pub fn status(self) -> Status {
        match self {
            HeadError::Malformed => Status::BadRequest,
            HeadError::RequestLineTooLong => Status::UriTooLong,
            HeadError::HeadTooLarge => Status::HeaderFieldsTooLarge,
        }
    }
}

/// Tries to parse one request head from the start of `buf`.
///
/// `Ok(None)`: the head is not complete yet (and still within the limits). `Ok(Some((head,
/// len)))`: a head of `len` bytes. Bytes after it belong to the next request (pipelining).
pub fn parse_head<'b>(buf: &'b [u8], limits: &HeadLimits) -> Result<Option<(RequestHead<'b>, usize)>, HeadError> {
    let mut slots = [httparse::EMPTY_HEADER; HEADER_SLOTS];
    let max_headers = limits.max_headers.min(HEADER_SLOTS);
    // Leading empty lines before a request line are allowed (RFC 9112 §2.2); httparse skips them.
    let window = &buf[..buf.len().min(limits.max_head_bytes)];
    let mut req = httparse::Request::new(&mut slots[..max_headers]);
    let len = match req.parse(window) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) if window.len() < buf.len() || buf.len() >= limits.max_head_bytes => {
            // The limit is reached without the end of the head.
            return Err(if window.contains(&b'\n') { HeadError::HeadTooLarge } else { HeadError::RequestLineTooLong });
        }
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(httparse::Error::TooManyHeaders) => return Err(HeadError::HeadTooLarge),
        Err(_) => return Err(HeadError::Malformed),
    };
    let (Some(method), Some(target), Some(minor)) = (req.method, req.path, req.version) else {
        return Err(HeadError::Malformed);
    };
    let mut head = RequestHead {
        method,
        target: origin_form(target),
        version: if minor == 0 { Version::Http10 } else { Version::Http11 },
        host: None,
        connection_close: false,
        connection_keep_alive: false,
        connection_upgrade: false,
        upgrade_websocket: false,
        forwarded_for: Vec::new(),
        ws_key: None,
        ws_version: None,
        origin: None,
        if_none_match: None,
        has_body: false,
    };
    let mut content_length_seen = false;
    for h in req.headers.iter() {
        read_header(&mut head, h.name, trim(h.value), &mut content_length_seen)?;
    }
    Ok(Some((head, len)))
}

/// Records one header field of a request head: the ones the server looks at, each at most
/// once where a repeat would be ambiguous (RFC 9110 §5.3).
fn read_header<'b>(
    head: &mut RequestHead<'b>,
    name: &str,
    value: &'b [u8],
    content_length_seen: &mut bool,
) -> Result<(), HeadError> {
    let once = |slot: &mut Option<&'b [u8]>| {
        if slot.is_some() {
            return Err(HeadError::Malformed);
        }
        *slot = Some(value);
        Ok(())
    };
    if name.eq_ignore_ascii_case("host") {
        once(&mut head.host)?;
    } else if name.eq_ignore_ascii_case("connection") {
        for token in tokens(value) {
            head.connection_close |= token.eq_ignore_ascii_case(b"close");
            head.connection_keep_alive |= token.eq_ignore_ascii_case(b"keep-alive");
            head.connection_upgrade |= token.eq_ignore_ascii_case(b"upgrade");
        }
    } else if name.eq_ignore_ascii_case("upgrade") {
        // RFC 9110 §7.8: a list of protocol[/version]; RFC 6455 wants "websocket".
        head.upgrade_websocket |= tokens(value).any(|t| t.eq_ignore_ascii_case(b"websocket"));
    } else if name.eq_ignore_ascii_case("sec-websocket-key") {
        once(&mut head.ws_key)?;
    } else if name.eq_ignore_ascii_case("sec-websocket-version") {
        once(&mut head.ws_version)?;
    } else if name.eq_ignore_ascii_case("origin") {
        once(&mut head.origin)?;
    } else if name.eq_ignore_ascii_case("if-none-match") {
        once(&mut head.if_none_match)?;
    } else if name.eq_ignore_ascii_case("x-forwarded-for") {
        head.forwarded_for.push(value);
    } else if name.eq_ignore_ascii_case("content-length") {
        // RFC 9112 §6.3: several differing lengths are unrecoverable; we refuse any repeat.
        if *content_length_seen {
            return Err(HeadError::Malformed);
        }
        *content_length_seen = true;
        let digits =
            std::str::from_utf8(value).ok().filter(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()));
        match digits {
            Some(d) => head.has_body |= d.bytes().any(|b| b != b'0'),
            None => return Err(HeadError::Malformed),
        }
    } else if name.eq_ignore_ascii_case("transfer-encoding") {
        head.has_body = true;
    }
    Ok(())
}

/// The origin-form (`/path?query`) of a request target. RFC 9112 §3.2.2: a server MUST
/// accept the absolute-form (`http://host/path`) too; its path is what we route on.
fn origin_form(target: &str) -> &str {
    let lower = |n: usize| target.get(..n).map(str::to_ascii_lowercase);
    let rest = if lower(7).as_deref() == Some("http://") {
        &target[7..]
    } else if lower(8).as_deref() == Some("https://") {
        &target[8..]
    } else {
        return target;
    };
    rest.find('/').map_or("/", |slash| &rest[slash..])
}

/// The value of the first `key=` in a query string, undecoded.
pub fn query_param<'q>(query: &'q str, key: &str) -> Option<&'q str> {
    query.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        (k == key).then_some(v)
    })
}

/// RFC 3986 §2.1 percent-decoding; a malformed escape makes the whole input invalid (`None`).
/// `+` stays `+` (that is a form encoding, not part of URIs).
pub fn percent_decode(s: &str) -> Option<Vec<u8>> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            // Exactly two hex digits (`from_str_radix` alone would also take a sign).
            let hex = bytes.get(i + 1..i + 3).filter(|h| h.iter().all(u8::is_ascii_hexdigit))?;
            out.push(u8::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    Some(out)
}

/// RFC 9110 §13.1.2: does `If-None-Match` (`*`, one tag, or a list, weak or strong) match?
/// The comparison is weak (§8.8.3.2): `W/"x"` matches `"x"`.
pub fn if_none_match(header: &[u8], etag: &str) -> bool {
    let header = trim(header);
    if header == b"*" {
        return true;
    }
    let ours = etag.strip_prefix("W/").unwrap_or(etag).as_bytes();
    tokens(header).any(|tag| tag.strip_prefix(b"W/").unwrap_or(tag) == ours)
}

/// Comma-separated list elements, trimmed, empty ones skipped (RFC 9110 §5.6.1).
pub fn tokens(value: &[u8]) -> impl Iterator<Item = &[u8]> {
    value.split(|&b| b == b',').map(trim).filter(|t| !t.is_empty())
}

/// Strips optional white space (RFC 9110 §5.6.3: SP and HTAB).
pub fn trim(mut s: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = s {
        s = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = s {
        s = rest;
    }
    s
}

/// Appends a status line and headers, ending with the empty line. `content_length` is
/// written when given (for HEAD, the length the GET body would have).
pub fn write_response_head(
    out: &mut Vec<u8>,
    status: Status,
    headers: &[(&str, &str)],
    content_length: Option<usize>,
    keep_alive: bool,
) {
    let mut head = String::with_capacity(128);
    let _ = write!(head, "HTTP/1.1 {} {}\r\n", status.code(), status.reason());
    for (name, value) in headers {
        let _ = write!(head, "{name}: {value}\r\n");
    }
    if let Some(len) = content_length {
        let _ = write!(head, "Content-Length: {len}\r\n");
    }
    if status != Status::SwitchingProtocols {
        head.push_str(if keep_alive { "Connection: keep-alive\r\n" } else { "Connection: close\r\n" });
    }
    head.push_str("\r\n");
    out.extend_from_slice(head.as_bytes());
}

/// An error response with a one-line text body (`404 Not Found`); the body is left out for
/// `HEAD`. Returns the body's length.
pub fn write_error_response(
    out: &mut Vec<u8>,
    status: Status,
    headers: &[(&str, &str)],
    head_only: bool,
    keep_alive: bool,
) -> usize {
    let body = format!("{} {}\n", status.code(), status.reason());
    let mut all = vec![("Content-Type", "text/plain; charset=utf-8")];
    all.extend_from_slice(headers);
    write_response_head(out, status, &all, Some(body.len()), keep_alive);
    if head_only {
        return 0;
    }
    out.extend_from_slice(body.as_bytes());
    body.len()
}

/// A response body: borrowed from the binary, or shared with other responses.
#[derive(Debug, Clone)]
pub enum Body {
    Static(&'static [u8]),
    Shared(std::rc::Rc<[u8]>),
}

impl Body {
    pub fn as_bytes(&self) -> &[u8] {
        match self {
            Body::Static(b) => b,
            Body::Shared(b) => b,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: HeadLimits = HeadLimits { max_head_bytes: 8192, max_headers: 64 };

    fn parse(buf: &[u8]) -> Result<Option<(RequestHead<'_>, usize)>, HeadError> {
        parse_head(buf, &LIMITS)
    }

    /// RFC 6455 §1.3's example handshake.
    const UPGRADE: &[u8] = b"GET /chat HTTP/1.1\r\nHost: server.example.com\r\nUpgrade: websocket\r\n\
Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nOrigin: http://example.com\r\n\
Sec-WebSocket-Protocol: chat, superchat\r\nSec-WebSocket-Version: 13\r\n\r\n";

    #[test]
    fn parses_the_rfc_upgrade_request() {
        let (head, len) = parse(UPGRADE).unwrap().unwrap();
        assert_eq!(len, UPGRADE.len());
        assert_eq!((head.method, head.target, head.version), ("GET", "/chat", Version::Http11));
        assert_eq!(head.host, Some(&b"server.example.com"[..]));
        assert!(head.upgrade_websocket && head.connection_upgrade && !head.has_body);
        assert_eq!(head.ws_key, Some(&b"dGhlIHNhbXBsZSBub25jZQ=="[..]));
        assert_eq!(head.ws_version, Some(&b"13"[..]));
        assert_eq!(head.origin, Some(&b"http://example.com"[..]));
        assert!(head.keep_alive());
    }

    #[test]
    fn every_split_point_is_partial_until_the_end() {
        for split in 0..UPGRADE.len() {
            assert_eq!(parse(&UPGRADE[..split]), Ok(None), "split {split}");
        }
    }

    #[test]
    fn pipelined_requests_parse_one_after_another() {
        let two = b"GET /a HTTP/1.1\r\nHost: x\r\n\r\nHEAD /b?q=1 HTTP/1.1\r\nHost: x\r\n\r\n";
        let (first, n) = parse(two).unwrap().unwrap();
        assert_eq!(first.path(), "/a");
        let (second, m) = parse(&two[n..]).unwrap().unwrap();
        assert_eq!((second.method, second.path(), second.query()), ("HEAD", "/b", Some("q=1")));
        assert_eq!(n + m, two.len());
    }

    #[test]
    fn connection_tokens_and_versions() {
        let (h, _) = parse(b"GET / HTTP/1.0\r\n\r\n").unwrap().unwrap();
        assert!(!h.keep_alive() && h.host.is_none());
        let (h, _) = parse(b"GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n").unwrap().unwrap();
        assert!(h.keep_alive());
        let (h, _) =
            parse(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: keep-alive, Upgrade\r\nConnection: close\r\n\r\n")
                .unwrap()
                .unwrap();
        assert!(h.connection_upgrade && !h.keep_alive());
    }

    #[test]
    fn bodies_are_flagged() {
        let (h, _) = parse(b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n").unwrap().unwrap();
        assert!(!h.has_body);
        let (h, _) = parse(b"GET / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\n").unwrap().unwrap();
        assert!(h.has_body);
        let (h, _) = parse(b"GET / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n").unwrap().unwrap();
        assert!(h.has_body);
        assert_eq!(parse(b"GET / HTTP/1.1\r\nContent-Length: -1\r\n\r\n"), Err(HeadError::Malformed));
        assert_eq!(
            parse(b"GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n"),
            Err(HeadError::Malformed)
        );
    }

    #[test]
    fn malformed_heads() {
        for bad in [
            &b"GET\r\n\r\n"[..],
            b"GET / HTTP/2.0\r\n\r\n",
            b"GET / FTP/1.1\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost x\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
            b"GET / HTTP/1.1\r\nBad Name: x\r\n\r\n",
            b"\x00\x01\x02\r\n\r\n",
            b"GET /\x7f HTTP/1.1\r\n\r\n",
        ] {
            assert_eq!(parse(bad), Err(HeadError::Malformed), "{}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn size_limits() {
        let long_line = format!("GET /{} HTTP/1.1\r\n\r\n", "a".repeat(9000));
        assert_eq!(parse(long_line.as_bytes()), Err(HeadError::RequestLineTooLong));
        let long_line_partial = format!("GET /{}", "a".repeat(9000));
        assert_eq!(parse(long_line_partial.as_bytes()), Err(HeadError::RequestLineTooLong));
        let big_head = format!("GET / HTTP/1.1\r\nX: {}\r\n\r\n", "a".repeat(9000));
        assert_eq!(parse(big_head.as_bytes()), Err(HeadError::HeadTooLarge));
        // Exactly at the limit is fine; one byte more is not.
        let pad = 8192 - "GET / HTTP/1.1\r\nX: \r\n\r\n".len();
        let exact = format!("GET / HTTP/1.1\r\nX: {}\r\n\r\n", "a".repeat(pad));
        assert_eq!(parse(exact.as_bytes()).unwrap().unwrap().1, 8192);
        let over = format!("GET / HTTP/1.1\r\nX: {}\r\n\r\n", "a".repeat(pad + 1));
        assert_eq!(parse(over.as_bytes()), Err(HeadError::HeadTooLarge));
        let many: String = (0..65).map(|i| format!("X{i}: y\r\n")).collect();
        assert_eq!(parse(format!("GET / HTTP/1.1\r\n{many}\r\n").as_bytes()), Err(HeadError::HeadTooLarge));
        let enough: String = (0..64).map(|i| format!("X{i}: y\r\n")).collect();
        assert!(parse(format!("GET / HTTP/1.1\r\n{enough}\r\n").as_bytes()).unwrap().is_some());
    }

    #[test]
    fn absolute_form_targets_route_on_their_path() {
        let (h, _) =
            parse(b"GET http://example.com/wall?room=a HTTP/1.1\r\nHost: example.com\r\n\r\n").unwrap().unwrap();
        assert_eq!((h.path(), h.query()), ("/wall", Some("room=a")));
        let (h, _) = parse(b"GET HTTPS://example.com HTTP/1.1\r\nHost: example.com\r\n\r\n").unwrap().unwrap();
        assert_eq!(h.path(), "/");
        let (h, _) = parse(b"GET http://x/../../etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n").unwrap().unwrap();
        assert_eq!(h.path(), "/../../etc/passwd");
    }

    #[test]
    fn response_heads() {
        let mut out = Vec::new();
        write_response_head(&mut out, Status::NotFound, &[("Content-Type", "text/plain")], Some(3), true);
        assert_eq!(out, b"HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nContent-Length: 3\r\nConnection: keep-alive\r\n\r\n");
    }
}
