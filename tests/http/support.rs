//! What the HTTP tests send and check: a request's bytes, and a page served as HTML.

use std::net::SocketAddr;

use crate::common::{self};

/// A request `method path` with `Host` and the `extra` header lines (each ending in CRLF).
pub fn req(addr: SocketAddr, method: &str, path: &str, extra: &str) -> Vec<u8> {
    format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\n{extra}\r\n").into_bytes()
}

/// `r` is a page: a 200 in `text/html` with a right Content-Length, an HTML body and an ETag.
pub fn assert_html(r: &common::Response, what: &str) {
    assert_eq!(r.status, 200, "{what}: {r:?}");
    let ct = r.header("content-type").unwrap_or_default().to_ascii_lowercase();
    assert!(ct.starts_with("text/html"), "{what}: Content-Type {ct}");
    assert_eq!(r.content_length(), Some(r.body.len()), "{what}: Content-Length");
    let body = r.body_str().to_ascii_lowercase();
    assert!(body.contains("<html") || body.contains("<!doctype html"), "{what}: not HTML: {body:.200}");
    assert!(r.header("etag").is_some(), "{what}: no ETag");
}
