//! One connection, several exchanges: HEAD, keep-alive, HTTP/1.0 and pipelining (RFC 9112
//! §9.3).

use crate::common::{HttpClient, Server, get, http};
use crate::support::req;

pub fn head_has_headers_and_no_body() {
    let server = Server::start(&[]);
    let addr = server.addr();
    for path in ["/", "/wall"] {
        let full = get(addr, path);
        let r = http(addr, &req(addr, "HEAD", path, "Connection: close\r\n"));
        assert_eq!(r.status, 200, "HEAD {path}");
        assert_eq!(r.content_length(), Some(full.body.len()), "HEAD {path}: Content-Length of the GET body");
        assert_eq!(r.header("content-type"), full.header("content-type"));
        assert_eq!(r.header("etag"), full.header("etag"));
        assert!(r.closed && r.extra.is_empty(), "HEAD {path} sent a body: {} bytes", r.extra.len());
    }
    // HEAD then GET on one connection: the GET's response starts right after HEAD's head.
    let mut c = HttpClient::connect(addr);
    c.send(&req(addr, "HEAD", "/", ""));
    let h = c.read_response(true);
    assert_eq!(h.status, 200);
    c.send(&req(addr, "GET", "/", ""));
    let g = c.read_response(false);
    assert_eq!(g.status, 200);
    assert_eq!(Some(g.body.len()), h.content_length());
}

pub fn keep_alive_serves_two_requests_on_one_connection() {
    let server = Server::start(&[]);
    let addr = server.addr();
    let mut c = HttpClient::connect(addr);
    c.send(&req(addr, "GET", "/", ""));
    let a = c.read_response(false);
    assert_eq!(a.status, 200);
    assert!(!a.says_close(), "HTTP/1.1 defaults to keep-alive: {:?}", a.header("connection"));
    c.send(&req(addr, "GET", "/post", ""));
    let b = c.read_response(false);
    assert_eq!(b.status, 200);
    assert_eq!(b.body, get(addr, "/post").body);
    // HTTP/1.0 with keep-alive too.
    c.send(b"GET /wall HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    assert_eq!(c.read_response(false).status, 200);
    // Connection: close is honoured.
    c.send(&req(addr, "GET", "/", "Connection: close\r\n"));
    assert!(c.read_response(false).says_close());
    assert!(c.read_to_eof().is_empty());
}

pub fn http10_without_keep_alive_closes() {
    let server = Server::start(&[]);
    let r = http(server.addr(), b"GET / HTTP/1.0\r\n\r\n");
    assert_eq!(r.status, 200);
    assert!(r.closed && r.extra.is_empty());
}

pub fn pipelined_requests_are_answered_in_order() {
    let server = Server::start(&[]);
    let addr = server.addr();
    let post = get(addr, "/post");
    let wall = get(addr, "/wall");
    let mut batch = req(addr, "GET", "/post", "");
    batch.extend(req(addr, "GET", "/no-such-file.html", ""));
    batch.extend(req(addr, "HEAD", "/wall", ""));
    batch.extend(req(addr, "GET", "/wall", "Connection: close\r\n"));
    let mut c = HttpClient::connect(addr);
    c.send(&batch);
    let r1 = c.read_response(false);
    let r2 = c.read_response(false);
    let r3 = c.read_response(true);
    let r4 = c.read_response(false);
    assert_eq!((r1.status, &r1.body), (200, &post.body));
    assert_eq!(r2.status, 404);
    assert_eq!((r3.status, r3.content_length()), (200, Some(wall.body.len())));
    assert_eq!((r4.status, &r4.body), (200, &wall.body));
    assert!(c.read_to_eof().is_empty());
}
