//! Tests of [`HttpConn`](super::HttpConn): requests in, responses out, split anywhere.

use super::*;
use crate::app::App;
use crate::app::metrics::Gauges;
use crate::app::route::{Route, WallRoute};
use crate::server::pages::Pages;
use crate::server::responder::PageResponder;
use crate::wall::Wall;
use crate::wall::blocklist::Blocklist;
use crate::wall::history::HistoryLimits;
use crate::wall::room::Rooms;

fn wall(room: &str) -> Route {
    Route::Wall(WallRoute { room: room.to_string(), client: [127, 0, 0, 1].into(), since: None, epoch: None })
}

const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";

/// The application and the embedded pages, answered by the shell's own responder
/// (src/server/responder.rs), so these tests drive the connection as the server wires it.
struct Router {
    app: App,
    pages: Pages,
}

impl Responder for Router {
    type Route = Route;

    fn respond(&mut self, head: &RequestHead<'_>, client: IpAddr) -> Answer<Route> {
        let (app, pages, now) = (&self.app, &mut self.pages, Instant::now());
        PageResponder { app, pages, gauges: Gauges::default(), healthy: true, now }.respond(head, client)
    }
}

fn router(echo: bool) -> Router {
    let limits = HistoryLimits { max_len: 10, ttl: Duration::from_secs(10) };
    let config = crate::config::Config { echo, ..Default::default() };
    let app = App::new(Wall::new(Rooms::new(10, limits, 0), 0, Blocklist::default()), &config);
    Router { app, pages: Pages::embedded() }
}

static TRUST: TrustList = TrustList::new();

fn rules(origins: &[String]) -> HttpRules<'_> {
    HttpRules {
        peer: IpAddr::from([127, 0, 0, 1]),
        trust: &TRUST,
        limits: HeadLimits::default(),
        request_timeout: Duration::from_secs(10),
        keepalive_timeout: Duration::from_secs(30),
        allow_origins: origins,
    }
}

struct Harness {
    router: Router,
    origins: Vec<String>,
}

impl Harness {
    fn new() -> Self {
        Harness { router: router(true), origins: Vec::new() }
    }

    /// Feeds `input` in pieces of `piece` bytes; returns the events (access-log records left
    /// out) and the bytes sent.
    fn run(&mut self, input: &[u8], piece: usize) -> (Vec<HttpEvent<Route>>, String) {
        let now = Instant::now();
        let rules = rules(&self.origins);
        let mut conn = HttpConn::new(now, rules.request_timeout);
        let mut events = Vec::new();
        for chunk in input.chunks(piece.max(1)) {
            conn.on_bytes(chunk, now, &rules, &mut self.router, &mut events);
        }
        events.retain(|e| !matches!(e, HttpEvent::Log(_)));
        let mut sent = Vec::new();
        for e in &events {
            match e {
                HttpEvent::Send(b) => sent.extend_from_slice(b),
                HttpEvent::SendBody(b) => sent.extend_from_slice(b.as_bytes()),
                _ => {}
            }
        }
        (events, String::from_utf8_lossy(&sent).into_owned())
    }

    fn status_lines(&mut self, input: &str) -> Vec<String> {
        let (_, sent) = self.run(input.as_bytes(), usize::MAX);
        sent.lines().filter(|l| l.starts_with("HTTP/1.1 ")).map(|l| l[9..12].to_string()).collect()
    }
}

fn get(path: &str) -> String {
    format!("GET {path} HTTP/1.1\r\nHost: h\r\n\r\n")
}

fn upgrade(path: &str, extra: &str) -> String {
    format!(
        "GET {path} HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {KEY}\r\nSec-WebSocket-Version: 13\r\n{extra}\r\n"
    )
}

#[test]
fn pages_and_statuses() {
    let mut h = Harness::new();
    assert_eq!(h.status_lines(&get("/")), ["200"]);
    assert_eq!(h.status_lines(&get("/post")), ["200"]);
    assert_eq!(h.status_lines(&get("/wall?room=x")), ["200"]);
    assert_eq!(h.status_lines(&get("/nope")), ["404"]);
    assert_eq!(h.status_lines(&get("/../Cargo.toml")), ["404"]);
    assert_eq!(h.status_lines("POST / HTTP/1.1\r\nHost: h\r\n\r\n"), ["405"]);
    assert_eq!(h.status_lines("BREW / HTTP/1.1\r\nHost: h\r\n\r\n"), ["501"]);
    assert_eq!(h.status_lines("GET / HTTP/1.1\r\n\r\n"), ["400"]);
    assert_eq!(h.status_lines("GET / HTTP/1.0\r\n\r\n"), ["200"]);
    assert_eq!(h.status_lines("GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc"), ["413"]);
    assert_eq!(h.status_lines("GET / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"), ["413"]);
    assert_eq!(h.status_lines("garbage\r\n\r\n"), ["400"]);
    assert_eq!(h.status_lines(&format!("GET /{} HTTP/1.1\r\n\r\n", "a".repeat(9000))), ["414"]);
    assert_eq!(h.status_lines(&format!("GET / HTTP/1.1\r\nX: {}\r\n\r\n", "a".repeat(9000))), ["431"]);
    let (_, sent) = h.run(b"POST / HTTP/1.1\r\nHost: h\r\n\r\n", 1);
    assert!(sent.contains("Allow: GET, HEAD\r\n"));
}

#[test]
fn head_has_no_body_but_the_same_length() {
    let mut h = Harness::new();
    let (_, get_resp) = h.run(get("/wall").as_bytes(), usize::MAX);
    let (_, head_resp) = h.run(b"HEAD /wall HTTP/1.1\r\nHost: h\r\n\r\n", usize::MAX);
    let length = |r: &str| r.lines().find(|l| l.starts_with("Content-Length")).map(str::to_string);
    assert_eq!(length(&get_resp), length(&head_resp));
    assert!(head_resp.ends_with("\r\n\r\n"));
    assert!(get_resp.len() > head_resp.len());
}

#[test]
fn etag_gives_304() {
    let mut h = Harness::new();
    let (_, sent) = h.run(get("/").as_bytes(), usize::MAX);
    let etag = sent.lines().find_map(|l| l.strip_prefix("ETag: ")).unwrap().to_string();
    for inm in [etag.clone(), format!("W/{etag}"), format!("\"nope\", {etag}"), "*".to_string()] {
        let req = format!("GET / HTTP/1.1\r\nHost: h\r\nIf-None-Match: {inm}\r\n\r\n");
        assert_eq!(h.status_lines(&req), ["304"], "{inm}");
    }
    assert_eq!(h.status_lines("GET / HTTP/1.1\r\nHost: h\r\nIf-None-Match: \"nope\"\r\n\r\n"), ["200"]);
}

#[test]
fn pipelined_requests_are_answered_in_order_at_every_split() {
    let mut h = Harness::new();
    let input =
        [get("/nope"), get("/"), "HEAD /post HTTP/1.1\r\nHost: h\r\n\r\n".to_string(), get("/missing")].concat();
    let (_, whole) = h.run(input.as_bytes(), usize::MAX);
    for piece in [1, 2, 3, 7, 50, 333] {
        let (_, sent) = h.run(input.as_bytes(), piece);
        assert_eq!(sent, whole, "pieces of {piece}");
    }
    let statuses: Vec<_> = whole.lines().filter(|l| l.starts_with("HTTP/1.1")).collect();
    assert_eq!(statuses, ["HTTP/1.1 404 Not Found", "HTTP/1.1 200 OK", "HTTP/1.1 200 OK", "HTTP/1.1 404 Not Found"]);
}

#[test]
fn connection_close_and_http_1_0_end_the_connection() {
    let mut h = Harness::new();
    let (events, _) =
        h.run(b"GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n", usize::MAX);
    assert!(matches!(events.last(), Some(HttpEvent::Close)));
    assert_eq!(events.iter().filter(|e| matches!(e, HttpEvent::SendBody(_))).count(), 1, "nothing after close");
    let (events, _) = h.run(b"GET / HTTP/1.0\r\n\r\n", usize::MAX);
    assert!(matches!(events.last(), Some(HttpEvent::Close)));
}

#[test]
fn upgrades_and_their_refusals() {
    let mut h = Harness::new();
    let request = upgrade("/ws?room=abc", "");
    for piece in 1..=request.len() {
        let (events, sent) = h.run(request.as_bytes(), piece);
        assert!(sent.starts_with("HTTP/1.1 101 Switching Protocols\r\n"));
        assert!(sent.contains("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"));
        let Some(HttpEvent::Upgrade { route, leftover }) = events.last() else { panic!("{events:?}") };
        assert_eq!(route, &wall("abc"));
        assert!(leftover.is_empty());
    }
    let (events, _) = h.run(format!("{}\u{81}\u{85}", upgrade("/ws", "")).as_bytes(), usize::MAX);
    let Some(HttpEvent::Upgrade { route, leftover }) = events.last() else { panic!() };
    assert_eq!(route, &wall("main"));
    assert_eq!(leftover.len(), 4, "bytes after the head go to the WebSocket");
    assert_eq!(h.status_lines(&upgrade("/ws?room=a&room=b", "")), ["101"]);
    assert_eq!(h.status_lines(&upgrade("/ws?room=", "")), ["400"]);
    assert_eq!(h.status_lines(&upgrade("/ws?room=no%20spaces", "")), ["400"]);
    assert_eq!(h.status_lines(&upgrade(&format!("/ws?room={}", "x".repeat(33)), "")), ["400"]);
    assert_eq!(h.status_lines(&upgrade("/echo", "")), ["101"]);
    assert_eq!(h.status_lines(&get("/ws")), ["426"]);
    assert_eq!(h.status_lines(&upgrade("/ws", "").replace("Host: h\r\n", "")), ["400"], "an upgrade without Host");
    assert_eq!(h.status_lines(&upgrade("/ws", "Origin: http://evil.example\r\n")), ["403"]);
    assert_eq!(h.status_lines(&upgrade("/ws", "Origin: http://h\r\n")), ["101"]);
    h.origins = vec!["http://evil.example".to_string()];
    assert_eq!(h.status_lines(&upgrade("/ws", "Origin: http://evil.example\r\n")), ["101"]);
    h.router.app.echo = false;
    assert_eq!(h.status_lines(&upgrade("/echo", "")), ["404"]);
    let (_, sent) = h.run(upgrade("/ws", "").replace("Version: 13", "Version: 8").as_bytes(), usize::MAX);
    assert!(sent.starts_with("HTTP/1.1 426") && sent.contains("Sec-WebSocket-Version: 13\r\n"), "{sent}");
}

#[test]
fn deadlines() {
    let t0 = Instant::now();
    let timeout = Duration::from_secs(10);
    let mut router = router(false);
    let rules = rules(&[]);
    // A head that never completes: 408 and close at the request timeout.
    let mut conn = HttpConn::new(t0, timeout);
    let mut events = Vec::new();
    conn.on_bytes(b"GET / HT", t0 + Duration::from_secs(1), &rules, &mut router, &mut events);
    assert_eq!(conn.next_wake(), Some(t0 + timeout), "trickling does not extend the deadline");
    conn.on_timer(t0 + timeout, rules.peer, &mut events);
    assert!(
        matches!(&events[..], [HttpEvent::Send(b), HttpEvent::Log(_), HttpEvent::Close] if b.starts_with(b"HTTP/1.1 408"))
    );
    // After a response, the keep-alive timeout applies; then a silent close.
    let mut conn = HttpConn::new(t0, timeout);
    let mut events = Vec::new();
    conn.on_bytes(get("/").as_bytes(), t0, &rules, &mut router, &mut events);
    assert_eq!(conn.next_wake(), Some(t0 + Duration::from_secs(30)));
    events.clear();
    conn.on_timer(t0 + Duration::from_secs(30), rules.peer, &mut events);
    assert!(matches!(&events[..], [HttpEvent::Close]));
}

#[test]
fn a_new_room_past_the_rooms_limit_gets_503() {
    let limits = HistoryLimits { max_len: 10, ttl: Duration::from_secs(10) };
    let config = crate::config::Config::default();
    let app = App::new(Wall::new(Rooms::new(1, limits, 0), 0, Blocklist::default()), &config);
    let mut h = Harness { router: Router { app, pages: Pages::embedded() }, origins: Vec::new() };
    h.router.app.wall.rooms.join("first", 1).unwrap();
    assert_eq!(h.status_lines(&upgrade("/ws?room=second", "")), ["503"]);
    assert_eq!(h.status_lines(&upgrade("/ws?room=first", "")), ["101"], "an existing room still takes walls");
}
