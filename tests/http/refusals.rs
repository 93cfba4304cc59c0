//! Requests refused, each with its status: 404, 405 with Allow, 400, a body, heads over
//! 8192 bytes or 64 headers (431), an over-long request line (414).

use std::net::SocketAddr;

use crate::common::{HttpClient, Server, get, http};
use crate::support::req;

pub fn missing_file_is_404() {
    let server = Server::start(&[]);
    for path in ["/nope.html", "/css/nope.css", "/post/", "/ws/x", "/Index.html"] {
        assert_eq!(get(server.addr(), path).status, 404, "{path}");
    }
}

pub fn other_methods_are_405_with_allow() {
    let server = Server::start(&[]);
    let addr = server.addr();
    for method in ["POST", "PUT", "DELETE", "OPTIONS"] {
        let r = http(addr, &req(addr, method, "/", "Content-Length: 0\r\nConnection: close\r\n"));
        assert_eq!(r.status, 405, "{method}");
        assert_eq!(r.header("allow"), Some("GET, HEAD"), "{method}");
    }
    // An unknown method: 405 or 501.
    let r = http(addr, &req(addr, "BREW", "/", "Connection: close\r\n"));
    assert!(matches!(r.status, 405 | 501), "BREW: {}", r.status);
    // The connection survives a 405.
    let mut c = HttpClient::connect(addr);
    c.send(&req(addr, "DELETE", "/", ""));
    assert_eq!(c.read_response(false).status, 405);
    c.send(&req(addr, "GET", "/", ""));
    assert_eq!(c.read_response(false).status, 200);
}

pub fn malformed_requests_are_400() {
    let server = Server::start(&[]);
    let addr = server.addr();
    let host = format!("Host: {addr}\r\n");
    for raw in [
        "GARBAGE\r\n\r\n".to_string(),
        "GET / HTTP/9.9\r\nHost: x\r\n\r\n".to_string(),
        "GET / FTP/1.1\r\nHost: x\r\n\r\n".to_string(),
        "GET /\r\nHost: x\r\n\r\n".to_string(),
        format!("GET / HTTP/1.1\r\n{host}No colon here\r\n\r\n"),
        format!("GET / HTTP/1.1\r\n{host}Bad Name: x\r\n\r\n"),
        "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n".to_string(),
        format!("GET / HTTP/1.1\r\n{host}Content-Length: abc\r\n\r\n"),
        format!("GET / HTTP/1.1\r\n{host}Content-Length: 0\r\nContent-Length: 0\r\n\r\n"),
    ] {
        let r = http(addr, raw.as_bytes());
        assert_eq!(r.status, 400, "{raw:?}");
        assert!(r.closed, "{raw:?}: connection stays open after a 400");
    }
}

pub fn http11_without_host_is_400() {
    let server = Server::start(&[]);
    let r = http(server.addr(), b"GET / HTTP/1.1\r\nConnection: close\r\n\r\n");
    assert_eq!(r.status, 400);
    // HTTP/1.0 needs no Host.
    assert_eq!(http(server.addr(), b"GET / HTTP/1.0\r\n\r\n").status, 200);
}

pub fn a_request_body_is_refused_and_the_connection_closes() {
    let server = Server::start(&[]);
    let addr = server.addr();
    // The body looks like a second request: it must never be answered (no smuggling).
    let smuggled = format!("GET /post HTTP/1.1\r\nHost: {addr}\r\n\r\n");
    for (method, framing, body) in [
        ("POST", format!("Content-Length: {}\r\n", smuggled.len()), smuggled.clone()),
        ("GET", format!("Content-Length: {}\r\n", smuggled.len()), smuggled.clone()),
        (
            "POST",
            "Transfer-Encoding: chunked\r\n".to_string(),
            format!("{:x}\r\n{smuggled}\r\n0\r\n\r\n", smuggled.len()),
        ),
        ("GET", "Transfer-Encoding: chunked\r\n".to_string(), "0\r\n\r\n".to_string()),
    ] {
        let mut raw = req(addr, method, "/", &framing);
        raw.extend_from_slice(body.as_bytes());
        let mut c = HttpClient::connect(addr);
        c.send(&raw);
        let r = c.read_response(false);
        assert!(matches!(r.status, 400 | 413), "{method} with {framing:?}: {}", r.status);
        let rest = c.read_to_eof();
        assert!(
            rest.is_empty(),
            "{method} with {framing:?}: more after the refusal: {:?}",
            String::from_utf8_lossy(&rest)
        );
    }
}

/// A head of exactly `total` bytes: request line, Host, one filler header, final CRLF.
fn head_of_size(addr: SocketAddr, total: usize) -> Vec<u8> {
    let start = format!("GET / HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nX-Fill: ");
    let end = "\r\n\r\n";
    let fill = total - start.len() - end.len();
    let head = format!("{start}{}{end}", "a".repeat(fill));
    assert_eq!(head.len(), total);
    head.into_bytes()
}

pub fn head_over_8192_bytes_is_431() {
    let server = Server::start(&[]);
    let addr = server.addr();
    assert_eq!(http(addr, &head_of_size(addr, 8192)).status, 200, "a head of exactly 8192 bytes is fine");
    let r = http(addr, &head_of_size(addr, 8193));
    assert_eq!(r.status, 431);
    assert!(r.closed);
    // Far over the limit, sent while the server answers.
    let r = http(addr, &head_of_size(addr, 100_000));
    assert_eq!(r.status, 431);
}

/// A `GET /` whose head has `count` header lines (Host and Connection among them).
fn with_headers(addr: SocketAddr, count: usize) -> Vec<u8> {
    // Host and Connection count among them.
    let mut head = format!("GET / HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for i in 0..count - 2 {
        head.push_str(&format!("X-H{i}: v\r\n"));
    }
    head.push_str("\r\n");
    head.into_bytes()
}

pub fn more_than_64_headers_is_431() {
    let server = Server::start(&[]);
    let addr = server.addr();
    assert_eq!(http(addr, &with_headers(addr, 64)).status, 200, "64 headers are fine");
    let r = http(addr, &with_headers(addr, 65));
    assert_eq!(r.status, 431);
    assert!(r.closed);
}

pub fn over_long_request_line_is_414() {
    let server = Server::start(&[]);
    let addr = server.addr();
    let raw = format!("GET /{} HTTP/1.1\r\nHost: {addr}\r\n\r\n", "a".repeat(9000));
    let r = http(addr, raw.as_bytes());
    assert_eq!(r.status, 414);
    assert!(r.closed);
    // A long but acceptable target is just a 404.
    let raw = format!("GET /{} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n", "a".repeat(4000));
    assert_eq!(http(addr, raw.as_bytes()).status, 404);
}
