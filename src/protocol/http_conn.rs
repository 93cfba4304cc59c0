//! An HTTP/1.1 connection until it upgrades or closes: keep-alive, pipelined requests
//! answered in order, the request and keep-alive deadlines, static pages, and the routing of
//! upgrade requests to the WebSocket endpoints (RFC 9112, RFC 6455 §4.2).

use std::time::{Duration, Instant};

use crate::pages::{self, Body, Pages};
use crate::wire::handshake::{self, HandshakeError};
use crate::wire::http::{self, HeadLimits, RequestHead, Status};

/// What the connection needs to know about the server to answer requests.
pub struct HttpContext<'a> {
    pub pages: &'a mut Pages,
    pub echo: bool,
    pub allow_origins: &'a [String],
    pub limits: HeadLimits,
    pub request_timeout: Duration,
    pub keepalive_timeout: Duration,
}

/// The WebSocket endpoints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    /// `/ws?room=NAME`: the danmaku wall of a room.
    Wall { room: String },
    /// `/echo`: every message back to its sender (for conformance suites).
    Echo,
}

/// What the connection asks of the shell, in order.
#[derive(Debug, Clone)]
pub enum HttpEvent {
    /// Bytes to write.
    Send(Vec<u8>),
    /// A file body to write (shared, not copied).
    SendBody(Body),
    /// The handshake succeeded (its 101 was sent just before): from now on the connection
    /// speaks WebSocket. `leftover` holds bytes that arrived after the request head.
    Upgrade { endpoint: Endpoint, leftover: Vec<u8> },
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
enum Next {
    KeepAlive,
    Close,
    Upgrade(Endpoint),
}

impl HttpConn {
    /// A new connection must send its first request head within the request timeout.
    pub fn new(now: Instant, request_timeout: Duration) -> Self {
        HttpConn { buf: Vec::new(), deadline: now + request_timeout, in_request: true, done: false }
    }

    /// Bytes from the network: answers every complete request, in order.
    pub fn on_bytes(&mut self, data: &[u8], now: Instant, ctx: &mut HttpContext<'_>, events: &mut Vec<HttpEvent>) {
        if self.done {
            return;
        }
        if !self.in_request && !data.is_empty() {
            self.in_request = true;
            self.deadline = now + ctx.request_timeout;
        }
        self.buf.extend_from_slice(data);
        while !self.buf.is_empty() {
            let (next, len) = match http::parse_head(&self.buf, &ctx.limits) {
                Ok(None) => return,
                Err(e) => {
                    log::info!("- - {} (bad request head)", e.status().code());
                    error_response(events, e.status(), &[], false, false);
                    (Next::Close, self.buf.len())
                }
                Ok(Some((head, len))) => (handle(&head, ctx, events), len),
            };
            self.buf.drain(..len);
            match next {
                Next::KeepAlive => {
                    self.in_request = !self.buf.is_empty();
                    self.deadline = now + if self.in_request { ctx.request_timeout } else { ctx.keepalive_timeout };
                }
                Next::Close => {
                    self.done = true;
                    self.buf = Vec::new();
                    return events.push(HttpEvent::Close);
                }
                Next::Upgrade(endpoint) => {
                    self.done = true;
                    let leftover = std::mem::take(&mut self.buf);
                    return events.push(HttpEvent::Upgrade { endpoint, leftover });
                }
            }
        }
    }

    /// The request or keep-alive deadline: a request head that did not complete gets a
    /// 408; an idle connection just closes.
    pub fn on_timer(&mut self, now: Instant, events: &mut Vec<HttpEvent>) {
        if self.done || now < self.deadline {
            return;
        }
        self.done = true;
        if self.in_request {
            log::debug!("request head not complete within the request timeout");
            error_response(events, Status::RequestTimeout, &[], false, false);
        }
        events.push(HttpEvent::Close);
    }

    pub fn next_wake(&self) -> Option<Instant> {
        (!self.done).then_some(self.deadline)
    }
}

/// Answers one request head.
fn handle(head: &RequestHead<'_>, ctx: &mut HttpContext<'_>, events: &mut Vec<HttpEvent>) -> Next {
    let started = Instant::now();
    let keep_alive = head.keep_alive();
    let path = head.path();
    let log = |status: Status, bytes: usize| {
        let ms = started.elapsed().as_secs_f64() * 1000.0;
        log::info!("{} {} {} {ms:.1}ms {}", head.method, path, status.code(), human_bytes(bytes));
    };
    let reject = |events: &mut Vec<HttpEvent>, status: Status, headers: &[(&str, &str)], keep: bool| {
        let bytes = error_response(events, status, headers, head.method == "HEAD", keep);
        log(status, bytes);
        if keep { Next::KeepAlive } else { Next::Close }
    };
    // RFC 9112 §3.2: a client MUST send Host in an HTTP/1.1 request.
    if head.version == http::Version::Http11 && head.host.is_none() {
        return reject(events, Status::BadRequest, &[], false);
    }
    if head.has_body {
        // We never read bodies; the rest of the stream cannot be trusted, so close.
        return reject(events, Status::ContentTooLarge, &[], false);
    }
    if !path.starts_with('/') {
        return reject(events, Status::BadRequest, &[], false);
    }
    match head.method {
        "GET" | "HEAD" => {}
        "POST" | "PUT" | "DELETE" | "PATCH" | "OPTIONS" | "TRACE" | "CONNECT" => {
            return reject(events, Status::MethodNotAllowed, &[("Allow", "GET, HEAD")], keep_alive);
        }
        _ => return reject(events, Status::NotImplemented, &[], keep_alive),
    }
    let endpoint = match path {
        "/ws" => match query_param(head.query().unwrap_or(""), "room") {
            None => Some(Endpoint::Wall { room: "main".to_string() }),
            Some(room) if crate::wall::room::valid_room_name(room) => Some(Endpoint::Wall { room: room.to_string() }),
            Some(_) => return reject(events, Status::BadRequest, &[], keep_alive),
        },
        "/echo" if ctx.echo => Some(Endpoint::Echo),
        _ => None,
    };
    if let Some(endpoint) = endpoint {
        return match handshake::check_upgrade(head, ctx.allow_origins) {
            Ok(key) => {
                let mut response = Vec::with_capacity(160);
                handshake::write_accept_response(&mut response, key);
                log(Status::SwitchingProtocols, 0);
                events.push(HttpEvent::Send(response));
                Next::Upgrade(endpoint)
            }
            Err(e) => {
                log::debug!("refused upgrade on {path}: {}", e.reason());
                let keep = keep_alive && !matches!(e, HandshakeError::HasBody);
                reject(events, e.status(), e.headers(), keep)
            }
        };
    }
    let Some(page) = ctx.pages.lookup(path) else {
        return reject(events, Status::NotFound, &[], keep_alive);
    };
    let mut out = Vec::with_capacity(256);
    let cache = [
        ("Content-Type", page.content_type),
        ("ETag", &page.etag),
        ("Cache-Control", "no-cache"),
        ("X-Content-Type-Options", "nosniff"),
    ];
    if head.if_none_match.is_some_and(|inm| pages::if_none_match(inm, &page.etag)) {
        http::write_response_head(&mut out, Status::NotModified, &cache[1..3], None, keep_alive);
        events.push(HttpEvent::Send(out));
        log(Status::NotModified, 0);
    } else {
        let len = page.body.as_bytes().len();
        http::write_response_head(&mut out, Status::Ok, &cache, Some(len), keep_alive);
        events.push(HttpEvent::Send(out));
        if head.method == "GET" {
            events.push(HttpEvent::SendBody(page.body));
        }
        log(Status::Ok, if head.method == "GET" { len } else { 0 });
    }
    if keep_alive { Next::KeepAlive } else { Next::Close }
}

/// An error response with a one-line text body. Returns the body's length.
pub fn error_response(
    events: &mut Vec<HttpEvent>,
    status: Status,
    headers: &[(&str, &str)],
    head_only: bool,
    keep_alive: bool,
) -> usize {
    let body = format!("{} {}\n", status.code(), status.reason());
    let mut all = vec![("Content-Type", "text/plain; charset=utf-8")];
    all.extend_from_slice(headers);
    let mut out = Vec::with_capacity(160);
    http::write_response_head(&mut out, status, &all, Some(body.len()), keep_alive);
    if !head_only {
        out.extend_from_slice(body.as_bytes());
    }
    events.push(HttpEvent::Send(out));
    if head_only { 0 } else { body.len() }
}

/// The value of the first `key=` in a query string, undecoded.
pub fn query_param<'q>(query: &'q str, key: &str) -> Option<&'q str> {
    query.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        (k == key).then_some(v)
    })
}

/// `3.1KiB`-style sizes for the access log.
pub fn human_bytes(n: usize) -> String {
    match n {
        0..1024 => format!("{n}B"),
        1024..1_048_576 => format!("{:.1}KiB", n as f64 / 1024.0),
        _ => format!("{:.1}MiB", n as f64 / 1_048_576.0),
    }
}

#[cfg(test)]
#[path = "http_conn_tests.rs"]
mod tests;
