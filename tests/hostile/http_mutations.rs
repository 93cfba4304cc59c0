//! Hostile HTTP requests: a corpus of well-formed requests (plain GETs, HEADs, pipelined
//! requests, WebSocket upgrades) and the mutations that break them (RFC 9112 §2-§7: request
//! line, header fields, line endings, message body framing; RFC 6455 §4.1: handshake headers).

use crate::common::{Rng, UpgradeRequest};
use crate::failures::show;

/// The well-formed requests every mutation starts from.
pub(crate) fn http_corpus(host: &str) -> Vec<Vec<u8>> {
    let key = "dGhlIHNhbXBsZSBub25jZQ==";
    [
        format!("GET / HTTP/1.1\r\nHost: {host}\r\n\r\n"),
        format!(
            "GET /post HTTP/1.1\r\nHost: {host}\r\nUser-Agent: hostile/1.0\r\nAccept: text/html,*/*;q=0.8\r\nAccept-Encoding: gzip\r\n\r\n"
        ),
        format!("HEAD /wall?room=abc HTTP/1.1\r\nHost: {host}\r\nConnection: keep-alive\r\n\r\n"),
        format!("GET /index.html HTTP/1.1\r\nHost: {host}\r\nIf-None-Match: W/\"x\", \"y\", *\r\n\r\n"),
        "GET /wall HTTP/1.0\r\n\r\n".to_string(),
        String::from_utf8(UpgradeRequest::new(host, "/ws?room=fuzz", key).bytes()).unwrap(),
        String::from_utf8(
            UpgradeRequest::new(host, "/echo", key)
                .without("Connection")
                .with("Connection: keep-alive, Upgrade")
                .with(&format!("Origin: http://{host}"))
                .bytes(),
        )
        .unwrap(),
        format!("GET / HTTP/1.1\r\nHost: {host}\r\n\r\nHEAD /post HTTP/1.1\r\nHost: {host}\r\n\r\n"),
        format!("GET /missing.css HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"),
        format!(
            "GET /post HTTP/1.1\r\nHost: {host}\r\n\r\nGET /wall HTTP/1.1\r\nHost: {host}\r\n\r\nGET / HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
        ),
    ]
    .into_iter()
    .map(String::into_bytes)
    .collect()
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Byte offsets just after each `\n` (line starts after the first line).
fn line_starts(req: &[u8]) -> Vec<usize> {
    req.iter().enumerate().filter(|(_, b)| **b == b'\n').map(|(i, _)| i + 1).filter(|&i| i < req.len()).collect()
}

fn splice(req: &mut Vec<u8>, at: usize, remove: usize, insert: &[u8]) {
    let at = at.min(req.len());
    let end = (at + remove).min(req.len());
    req.splice(at..end, insert.iter().copied());
}

/// Where a new header line goes: the start of the second line (or the end).
fn first_header_at(req: &[u8]) -> usize {
    line_starts(req).first().copied().unwrap_or(req.len())
}

/// Applies one random mutation; returns its name (for failure messages).
pub(crate) fn mutate_http(rng: &mut Rng, req: &mut Vec<u8>, host: &str) -> String {
    let len = req.len();
    match rng.below(16) {
        0 if len > 0 => flip_bit(rng, req),
        1 => insert_byte(rng, req),
        2 if len > 0 => delete_bytes(rng, req),
        3 => duplicate_line(rng, req),
        4 => oversize_header_or_target(rng, req),
        5 => replace_method(rng, req),
        6 => insert_nul(rng, req),
        7 => break_crlf(rng, req),
        8 => truncate(rng, req),
        9 => add_many_headers(rng, req),
        10 => replace_target(rng, req, host),
        11 => replace_version(rng, req),
        12 => add_body_header(rng, req),
        13 => append_garbage_or_repeat(rng, req),
        14 => insert_odd_header_line(rng, req),
        _ => swap_handshake_value(rng, req),
    }
}

/// Flips one bit of one byte (`req` is not empty).
fn flip_bit(rng: &mut Rng, req: &mut [u8]) -> String {
    let at = rng.below(req.len());
    let bit = 1u8 << rng.below(8);
    req[at] ^= bit;
    format!("flip bit {bit:#x} at {at}")
}

fn insert_byte(rng: &mut Rng, req: &mut Vec<u8>) -> String {
    let at = rng.below(req.len() + 1);
    let b = rng.byte();
    req.insert(at, b);
    format!("insert {b:#04x} at {at}")
}

/// Deletes 1 to 8 bytes (`req` is not empty).
fn delete_bytes(rng: &mut Rng, req: &mut Vec<u8>) -> String {
    let at = rng.below(req.len());
    let n = rng.range(1, 8);
    splice(req, at, n, b"");
    format!("delete {n} at {at}")
}

/// Repeats a line once or twice, or 60 to 90 times (header count and size limits).
fn duplicate_line(rng: &mut Rng, req: &mut Vec<u8>) -> String {
    let starts = line_starts(req);
    let Some(&start) = starts.get(rng.below(starts.len().max(1))) else {
        return "no line to duplicate".into();
    };
    let end = req[start..].iter().position(|&b| b == b'\n').map_or(req.len(), |e| start + e + 1);
    let line = req[start..end].to_vec();
    let times = if rng.percent(30) { rng.range(60, 90) } else { rng.range(1, 3) };
    let copies: Vec<u8> = line.iter().copied().cycle().take(line.len() * times).collect();
    splice(req, end, 0, &copies);
    format!("duplicate line {} ×{times}", show(&line, 40))
}

/// A header or a request target around the head size limit (8 KiB) and far beyond it.
fn oversize_header_or_target(rng: &mut Rng, req: &mut Vec<u8>) -> String {
    let n = *rng.pick(&[100, 4000, 8100, 8200, 9000, 20_000, 70_000]);
    let at = first_header_at(req);
    if rng.percent(50) {
        let header = format!("X-Huge: {}\r\n", "a".repeat(n));
        splice(req, at, 0, header.as_bytes());
        format!("header of {n} bytes")
    } else {
        // An over-long request target.
        let target = find(req, b" ").map_or(0, |i| i + 1);
        splice(req, target + 1, 0, "p".repeat(n).as_bytes());
        format!("target +{n} bytes")
    }
}

/// Methods the server does not serve, wrong case, and not tokens at all (RFC 9110 §9).
const METHODS: [&[u8]; 20] = [
    b"POST",
    b"PUT",
    b"DELETE",
    b"OPTIONS",
    b"TRACE",
    b"CONNECT",
    b"PATCH",
    b"get",
    b"GeT",
    b"G",
    b"",
    b"GETT",
    b"BREW",
    b"M-SEARCH",
    b"\0GET",
    b"GET\0",
    "GÉT".as_bytes(),
    b"G(ET",
    b"GET GET",
    b"\xff\xfe",
];

/// Replaces the method: one of `METHODS`, random bytes, or a very long token.
fn replace_method(rng: &mut Rng, req: &mut Vec<u8>) -> String {
    let method: Vec<u8> = if rng.percent(15) {
        (0..rng.range(1, 40)).map(|_| rng.byte()).collect()
    } else if rng.percent(10) {
        vec![b'X'; rng.range(100, 9000)]
    } else {
        rng.pick(&METHODS).to_vec()
    };
    let end = find(req, b" ").unwrap_or(0);
    splice(req, 0, end, &method);
    format!("method {}", show(&method, 40))
}

fn insert_nul(rng: &mut Rng, req: &mut Vec<u8>) -> String {
    let at = rng.below(req.len() + 1);
    req.insert(at, 0);
    format!("NUL at {at}")
}

/// Bare CR or LF, folded lines, and leading empty lines (RFC 9112 §2.2, §5.2).
fn break_crlf(rng: &mut Rng, req: &mut Vec<u8>) -> String {
    let crlfs: Vec<usize> = (0..req.len().saturating_sub(1)).filter(|&i| &req[i..i + 2] == b"\r\n").collect();
    let Some(&at) = crlfs.get(rng.below(crlfs.len().max(1))) else {
        return "no CRLF".into();
    };
    let games: [&[u8]; 9] =
        [b"\n", b"\r", b"\r\r\n", b"\n\r", b"", b"\r\n\r\n", b"\r\n\tfolded", b"\r\n continued: x", b"\r \n"];
    let game = rng.pick(&games);
    if rng.percent(15) {
        let n = rng.range(1, 40);
        splice(req, 0, 0, &b"\r\n".repeat(n));
        format!("{n} leading CRLFs")
    } else {
        splice(req, at, 2, game);
        format!("CRLF at {at} → {}", show(game, 20))
    }
}

fn truncate(rng: &mut Rng, req: &mut Vec<u8>) -> String {
    let at = rng.below(req.len().max(1));
    req.truncate(at);
    format!("truncate at {at}")
}

/// 50 to 80 extra header lines (the header count limit).
fn add_many_headers(rng: &mut Rng, req: &mut Vec<u8>) -> String {
    let n = rng.range(50, 80);
    let at = first_header_at(req);
    let headers: String = (0..n).map(|i| format!("X-H{i}: {i}\r\n")).collect();
    splice(req, at, 0, headers.as_bytes());
    format!("{n} extra headers")
}

/// Path traversal, percent-encoding games, odd target forms (RFC 9112 §3.2), bad rooms.
fn replace_target(rng: &mut Rng, req: &mut Vec<u8>, host: &str) -> String {
    let long_path = format!("/{}", "a/".repeat(3000));
    let long_room = format!("/ws?room={}", "x".repeat(40));
    let absolute = format!("http://{host}/");
    let paths: [&str; 18] = [
        "/../../etc/passwd",
        "/%2e%2e/%2e%2e/etc/passwd",
        "/..%2f..%2fetc%2fpasswd",
        "/%00",
        "/\\..\\..\\windows\\win.ini",
        "*",
        absolute.as_str(),
        "//etc/passwd",
        "/index.html%00.css",
        long_path.as_str(),
        "/%",
        "/%zz",
        "/ws?room=bad%20room",
        long_room.as_str(),
        "/ws?room=",
        "/ws?room=a&room=b",
        "",
        "/wall?\u{1F600}",
    ];
    let path = rng.pick(&paths).as_bytes().to_vec();
    let start = find(req, b" ").map_or(0, |i| i + 1);
    let end = req[start..].iter().position(|&b| b == b' ').map_or(start, |e| start + e);
    splice(req, start, end - start, &path);
    format!("target {}", show(&path, 40))
}

/// Other, malformed and missing HTTP versions (RFC 9112 §2.3).
fn replace_version(rng: &mut Rng, req: &mut Vec<u8>) -> String {
    let versions: [&[u8]; 11] = [
        b"HTTP/1.0",
        b"HTTP/2.0",
        b"HTTP/1.2",
        b"HTTP/1.",
        b"HTTP/11",
        b"http/1.1",
        b"HTTP/1.1 ",
        b"HTTP/9.9",
        b"",
        b"HTTP/1.1\0",
        b"HTTP/0.9",
    ];
    let v = rng.pick(&versions);
    match find(req, b"HTTP/1.") {
        Some(at) => {
            splice(req, at, 8, v);
            format!("version {}", show(v, 20))
        }
        None => "no version".into(),
    }
}

/// Body framing the server must refuse or ignore: odd lengths, chunked, both (RFC 9112 §6).
fn add_body_header(rng: &mut Rng, req: &mut Vec<u8>) -> String {
    let bodies: [&str; 8] = [
        "Content-Length: 5\r\n",
        "Content-Length: 0\r\n",
        "Content-Length: -1\r\n",
        "Content-Length: 99999999999999999999999\r\n",
        "Content-Length: abc\r\n",
        "Transfer-Encoding: chunked\r\n",
        "Content-Length: 3\r\nContent-Length: 4\r\n",
        "Transfer-Encoding: gzip, chunked\r\nContent-Length: 2\r\n",
    ];
    let header = rng.pick(&bodies);
    let at = first_header_at(req);
    splice(req, at, 0, header.as_bytes());
    if rng.percent(50) {
        req.extend_from_slice(b"hello0\r\n\r\n");
    }
    format!("body header {}", header.trim_end())
}

fn append_garbage_or_repeat(rng: &mut Rng, req: &mut Vec<u8>) -> String {
    if rng.percent(50) {
        let n = rng.range(1, 200);
        req.extend((0..n).map(|_| rng.byte()));
        format!("{n} garbage bytes appended")
    } else {
        let copy = req.clone();
        req.extend_from_slice(&copy);
        "request repeated".into()
    }
}

/// Header lines that break the field syntax (RFC 9112 §5), or repeat `Host`.
fn insert_odd_header_line(rng: &mut Rng, req: &mut Vec<u8>) -> String {
    let lines: [&[u8]; 10] = [
        b"Host : x\r\n",
        b"NoColon\r\n",
        b": empty-name\r\n",
        b"X-Obs: \x80\xff\xfe\r\n",
        "X-Ünïcode: ü\r\n".as_bytes(),
        b"X-Ctl: a\x01b\x7fc\r\n",
        b"\r\n",
        b" leading-space: x\r\n",
        b"Host: second.example\r\n",
        b"X-Tab:\t\tv\t\r\n",
    ];
    let line = rng.pick(&lines);
    let starts = line_starts(req);
    let at = starts.get(rng.below(starts.len().max(1))).copied().unwrap_or(req.len());
    splice(req, at, 0, line);
    format!("header line {}", show(line, 30))
}

/// Handshake values the server must refuse (RFC 6455 §4.2.1), and a second `Host`.
const SWAPS: [(&[u8], &[u8]); 10] = [
    (b"Sec-WebSocket-Version: 13", b"Sec-WebSocket-Version: 8"),
    (b"Sec-WebSocket-Version: 13", b"Sec-WebSocket-Version: 13, 8"),
    (b"Sec-WebSocket-Version: 13", b"Sec-WebSocket-Version: abc"),
    (b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==", b"Sec-WebSocket-Key: short"),
    (b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==", b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==="),
    (b"Upgrade: websocket", b"Upgrade: h2c"),
    (b"Connection: Upgrade", b"Connection: close"),
    (b"Origin: http://", b"Origin: http://evil.example/"),
    (b"Host: ", b"Host: other.example\r\nX-Was-Host: "),
    (b"\r\n\r\n", b"\r\n\r\n\r\n"),
];

/// Replaces a handshake value by one of `SWAPS`, if the request has it.
fn swap_handshake_value(rng: &mut Rng, req: &mut Vec<u8>) -> String {
    let (from, to) = rng.pick(&SWAPS);
    match find(req, from) {
        Some(at) => {
            splice(req, at, from.len(), to);
            format!("{} → {}", show(from, 30), show(to, 30))
        }
        None => "swap without a match".into(),
    }
}
