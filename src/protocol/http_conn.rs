//! An HTTP/1.1 connection until it upgrades or closes: keep-alive, pipelined requests
//! answered in order, the request and keep-alive deadlines, and the opening handshake of the
//! WebSocket endpoints (RFC 9112, RFC 6455 §4.2).
//!
//! What a request *means* is not decided here. Every well-formed `GET`/`HEAD` is put to a
//! [`Responder`] (the application's router, implemented outside this ring), which answers
//! with a decision: content to send, an error status, or "upgrade to this route". This
//! connection turns the decision into bytes, in order, and keeps the connection's rules
//! (RFC 9112 §9.3 persistence, §3.2 `Host`, bodies refused).

use std::rc::Rc;
use std::time::{Duration, Instant};

use std::net::IpAddr;

use crate::wire::forwarded::{self, TrustList};
use crate::wire::handshake;
use crate::wire::http::{self, Body, HeadLimits, RequestHead, Status};

/// The rules an HTTP connection follows, from the configuration.
#[derive(Debug, Clone, Copy)]
pub struct HttpRules<'a> {
    pub limits: HeadLimits,
    pub request_timeout: Duration,
    pub keepalive_timeout: Duration,
    /// `--allow-origin`: cross-site origins allowed to upgrade on routes that accept them.
    pub allow_origins: &'a [String],
    /// The peer's address, and the proxies whose `X-Forwarded-For` is believed: together
    /// they give each request's client address (see [`forwarded::client_address`]).
    pub peer: IpAddr,
    pub trust: &'a TrustList,
}

/// What a request asks for, decided by the application.
#[derive(Debug, Clone)]
pub enum Answer<R> {
    /// `200` (or `status`) with this body; `304` instead when `If-None-Match` matches `etag`.
    Content(Content),
    /// An error status with a one-line text body and these extra headers.
    Refuse(Status, &'static [(&'static str, &'static str)]),
    /// Perform the WebSocket handshake for `route`. `cross_origin`: whether `--allow-origin`
    /// widens the same-origin rule for it.
    Upgrade { route: R, cross_origin: bool },
}

/// A response body and its metadata.
#[derive(Debug, Clone)]
pub struct Content {
    pub status: Status,
    pub content_type: &'static str,
    pub body: Body,
    /// A strong validator (RFC 9110 §8.8.3), quoted; `None` for dynamic content.
    pub etag: Option<Rc<str>>,
}

/// The application's side of a request: the router.
pub trait Responder {
    type Route;
    /// Answers a request from `client` (the peer, or the address a trusted proxy forwarded).
    fn respond(&mut self, head: &RequestHead<'_>, client: IpAddr) -> Answer<Self::Route>;
}

/// One line of the access log: what was asked and answered (the shell adds the time).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Access {
    pub client: IpAddr,
    pub method: String,
    pub target: String,
    pub status: u16,
    pub bytes: usize,
}

/// What the connection asks of the shell, in order.
#[derive(Debug, Clone)]
pub enum HttpEvent<R> {
    /// Bytes to write.
    Send(Vec<u8>),
    /// A body to write (shared, not copied).
    SendBody(Body),
    /// A request was answered (for the access log).
    Log(Access),
    /// The handshake succeeded (its 101 was sent just before): from now on the connection
    /// speaks WebSocket. `leftover` holds bytes that arrived after the request head.
    Upgrade { route: R, leftover: Vec<u8> },
    /// Write what is queued, then close.
    Close,
}

/// One HTTP connection's state: the bytes of a request head still arriving, and its deadline.
#[derive(Debug)]
pub struct HttpConn {
    buf: Vec<u8>,
    deadline: Instant,
    /// A request has begun (request timeout) rather than the connection idling (keep-alive).
    in_request: bool,
    done: bool,
}

/// What the handling of one request decided about the connection.
enum Next<R> {
    KeepAlive,
    Close,
    Upgrade(R),
}

impl HttpConn {
    /// A new connection must send its first request head within the request timeout.
    pub fn new(now: Instant, request_timeout: Duration) -> Self {
        HttpConn { buf: Vec::new(), deadline: now + request_timeout, in_request: true, done: false }
    }

    /// Bytes from the network: answers every complete request, in order.
    pub fn on_bytes<A: Responder>(
        &mut self,
        data: &[u8],
        now: Instant,
        rules: &HttpRules<'_>,
        app: &mut A,
        events: &mut Vec<HttpEvent<A::Route>>,
    ) {
        if self.done {
            return;
        }
        if !self.in_request && !data.is_empty() {
            self.in_request = true;
            self.deadline = now + rules.request_timeout;
        }
        self.buf.extend_from_slice(data);
        while !self.buf.is_empty() {
            let (next, len) = match http::parse_head(&self.buf, &rules.limits) {
                Ok(None) => return,
                Err(e) => {
                    let bytes = error_response(events, e.status(), &[], false, false);
                    events.push(HttpEvent::Log(Access::new(rules.peer, "-", "-", e.status(), bytes)));
                    (Next::Close, self.buf.len())
                }
                Ok(Some((head, len))) => (handle(&head, rules, app, events), len),
            };
            self.buf.drain(..len); // len <= buf.len(): parse_head's length, or buf.len() itself
            match next {
                Next::KeepAlive => {
                    self.in_request = !self.buf.is_empty();
                    self.deadline = now + if self.in_request { rules.request_timeout } else { rules.keepalive_timeout };
                }
                Next::Close => {
                    self.done = true;
                    self.buf = Vec::new();
                    return events.push(HttpEvent::Close);
                }
                Next::Upgrade(route) => {
                    self.done = true;
                    let leftover = std::mem::take(&mut self.buf);
                    return events.push(HttpEvent::Upgrade { route, leftover });
                }
            }
        }
    }

    /// The request or keep-alive deadline: a request head that did not complete gets a
    /// 408; an idle connection just closes.
    pub fn on_timer<R>(&mut self, now: Instant, peer: IpAddr, events: &mut Vec<HttpEvent<R>>) {
        if self.done || now < self.deadline {
            return;
        }
        self.done = true;
        if self.in_request {
            let bytes = error_response(events, Status::RequestTimeout, &[], false, false);
            events.push(HttpEvent::Log(Access::new(peer, "-", "-", Status::RequestTimeout, bytes)));
        }
        events.push(HttpEvent::Close);
    }

    pub fn next_wake(&self) -> Option<Instant> {
        (!self.done).then_some(self.deadline)
    }
}

impl Access {
    fn new(client: IpAddr, method: &str, target: &str, status: Status, bytes: usize) -> Self {
        Access { client, method: method.to_string(), target: target.to_string(), status: status.code(), bytes }
    }
}

/// Answers one request head: the connection's own rules first, then the application's.
fn handle<A: Responder>(
    head: &RequestHead<'_>,
    rules: &HttpRules<'_>,
    app: &mut A,
    events: &mut Vec<HttpEvent<A::Route>>,
) -> Next<A::Route> {
    let keep_alive = head.keep_alive();
    let xff: Vec<&str> = head.forwarded_for.iter().map(|v| std::str::from_utf8(v).unwrap_or("?")).collect();
    let client = forwarded::client_address(rules.peer, &xff, rules.trust);
    let mut refuse = |status: Status, headers: &[(&str, &str)], keep: bool| {
        let bytes = error_response(events, status, headers, head.method == "HEAD", keep);
        events.push(HttpEvent::Log(Access::new(client, head.method, head.target, status, bytes)));
        if keep { Next::KeepAlive } else { Next::Close }
    };
    // RFC 9112 §3.2: a client MUST send Host in an HTTP/1.1 request.
    if head.version == http::Version::Http11 && head.host.is_none() {
        return refuse(Status::BadRequest, &[], false);
    }
    if head.has_body {
        // We never read bodies; the rest of the stream cannot be trusted, so close.
        return refuse(Status::ContentTooLarge, &[], false);
    }
    if !head.path().starts_with('/') {
        return refuse(Status::BadRequest, &[], false);
    }
    match head.method {
        "GET" | "HEAD" => {}
        "POST" | "PUT" | "DELETE" | "PATCH" | "OPTIONS" | "TRACE" | "CONNECT" => {
            return refuse(Status::MethodNotAllowed, &[("Allow", "GET, HEAD")], keep_alive);
        }
        _ => return refuse(Status::NotImplemented, &[], keep_alive),
    }
    match app.respond(head, client) {
        Answer::Refuse(status, headers) => refuse(status, headers, keep_alive),
        Answer::Content(content) => {
            send_content(head, client, &content, events);
            if keep_alive { Next::KeepAlive } else { Next::Close }
        }
        Answer::Upgrade { route, cross_origin } => {
            let origins = if cross_origin { rules.allow_origins } else { &[] };
            match handshake::check_upgrade(head, origins) {
                Ok(key) => {
                    let mut response = Vec::with_capacity(160);
                    handshake::write_accept_response(&mut response, key);
                    events.push(HttpEvent::Send(response));
                    let access = Access::new(client, head.method, head.target, Status::SwitchingProtocols, 0);
                    events.push(HttpEvent::Log(access));
                    Next::Upgrade(route)
                }
                // A body never gets here: it was answered with 413 above.
                Err(e) => refuse(e.status(), e.headers(), keep_alive),
            }
        }
    }
}

/// A `200` with the body (none for `HEAD`), or a `304` when the client's copy is current
/// (RFC 9110 §13.1.2).
fn send_content<R>(head: &RequestHead<'_>, client: IpAddr, content: &Content, events: &mut Vec<HttpEvent<R>>) {
    let keep_alive = head.keep_alive();
    let etag = content.etag.as_deref();
    let mut headers: Vec<(&str, &str)> = vec![("Content-Type", content.content_type)];
    headers.extend(etag.map(|e| ("ETag", e)));
    headers.extend([("Cache-Control", "no-cache"), ("X-Content-Type-Options", "nosniff")]);
    let mut out = Vec::with_capacity(256);
    let not_modified = matches!((head.if_none_match, etag), (Some(inm), Some(e)) if http::if_none_match(inm, e));
    if not_modified {
        // RFC 9110 §15.4.5: a 304 carries the validator and cache headers, not the body's type.
        headers.remove(0);
        http::write_response_head(&mut out, Status::NotModified, &headers, None, keep_alive);
        events.push(HttpEvent::Send(out));
        events.push(HttpEvent::Log(Access::new(client, head.method, head.target, Status::NotModified, 0)));
        return;
    }
    let len = content.body.as_bytes().len();
    http::write_response_head(&mut out, content.status, &headers, Some(len), keep_alive);
    events.push(HttpEvent::Send(out));
    let sent = if head.method == "GET" { len } else { 0 };
    if sent > 0 {
        events.push(HttpEvent::SendBody(content.body.clone()));
    }
    events.push(HttpEvent::Log(Access::new(client, head.method, head.target, content.status, sent)));
}

/// An error response with a one-line text body. Returns the body's length.
pub fn error_response<R>(
    events: &mut Vec<HttpEvent<R>>,
    status: Status,
    headers: &[(&str, &str)],
    head_only: bool,
    keep_alive: bool,
) -> usize {
    let mut out = Vec::with_capacity(160);
    let len = http::write_error_response(&mut out, status, headers, head_only, keep_alive);
    events.push(HttpEvent::Send(out));
    len
}

#[cfg(test)]
#[path = "http_conn_tests.rs"]
mod tests;
