//! `http_head`: request heads, alone (`wire::http::parse_head`) and in a connection
//! (`protocol::http_conn::HttpConn::on_bytes`).
//!
//! Properties, for the default limits and for small limits derived from the input:
//! * `parse_head` never panics; a complete head of `len` bytes has `len <= input length`,
//!   `len <= max_head_bytes`, ends with `\n`, and parses the same from `input[..len]`.
//! * Results only move forward as bytes arrive: with `R(k) = parse_head(input[..k])`, there
//!   is a `k0` with `R(k) = Ok(None)` for `k < k0` and `R(k) = R(k0)` for every `k >= k0`
//!   (for a complete head, `k0` is its length). So a prefix of a complete head is never an
//!   error, and an error stays the same error however many bytes follow.
//! * The limits refuse exactly what is over them: compared with no limits, a byte limit
//!   changes nothing for a head that fits and refuses one that does not; a header-field
//!   limit changes nothing for a head with at most that many fields and refuses one with
//!   more (`HeadTooLarge`).
//! * `HttpConn` answers the same however the bytes are split: the bytes it sends (`Send` and
//!   `SendBody` concatenated), its last event (`Close`, `Upgrade` with its route, or
//!   nothing) and, for an upgrade, the bytes that belong to the WebSocket afterwards
//!   (`leftover` plus whatever arrived after the upgrade) are identical. Nothing follows a
//!   `Close` or an `Upgrade`, and every `Send` starts a response (`HTTP/1.1 `).
#![no_main]

mod common;

use std::cell::RefCell;
use std::time::{Duration, Instant};

use common::{Rng, cut_points, pieces, splittings};
use danmaku_wall::app::App;
use danmaku_wall::app::metrics::Gauges;
use danmaku_wall::app::route::Route;
use danmaku_wall::config::Config;
use danmaku_wall::protocol::http_conn::{HttpConn, HttpEvent, HttpRules};
use danmaku_wall::server::pages::Pages;
use danmaku_wall::server::responder::PageResponder;
use danmaku_wall::wall::Wall;
use danmaku_wall::wall::blocklist::Blocklist;
use danmaku_wall::wall::history::HistoryLimits;
use danmaku_wall::wall::room::Rooms;
use danmaku_wall::wire::forwarded::TrustList;
use danmaku_wall::wire::http::{HEADER_SLOTS, HeadError, HeadLimits, parse_head};
use libfuzzer_sys::fuzz_target;

thread_local! {
    /// Building the embedded pages hashes every file: once per process, not per input.
    static PAGES: RefCell<Pages> = RefCell::new(Pages::embedded());
    /// The application's router, as the server has it (echo on).
    static APP: App = {
        let limits = HistoryLimits { max_len: 10, ttl: Duration::from_secs(10) };
        let config = Config { echo: true, ..Config::default() };
        App::new(Wall::new(Rooms::new(10, limits, 0), 0, Blocklist::default()), &config)
    };
}

static TRUST: TrustList = TrustList::new();

fuzz_target!(|data: &[u8]| {
    let mut rng = Rng::from_input(data);
    let small = HeadLimits { max_head_bytes: rng.range(1, 300), max_headers: rng.below(9) };
    for limits in [HeadLimits::default(), small] {
        check_prefixes(data, &limits, &mut rng);
    }
    check_limits(data, &small);
    PAGES.with(|pages| {
        let mut pages = pages.borrow_mut();
        check_connection(data, HeadLimits::default(), &mut pages, &mut rng, true);
        check_connection(data, small, &mut pages, &mut rng, false);
    });
});

/// The shape of one complete result, and the forward-only property over prefixes.
fn check_prefixes(data: &[u8], limits: &HeadLimits, rng: &mut Rng) {
    let whole = parse_head(data, limits);
    let n = data.len();
    if let Ok(Some((_, len))) = &whole {
        let len = *len;
        assert!(len >= 1 && len <= n, "head length {len} for {n} bytes");
        assert!(len <= limits.max_head_bytes, "head length {len} over the limit {limits:?}");
        assert_eq!(data[len - 1], b'\n', "a head ends with an empty line");
        assert_eq!(parse_head(&data[..len], limits), whole, "the bytes after the head changed it");
    }
    if let Ok(None) = &whole {
        assert!(n < limits.max_head_bytes, "{n} bytes at limit {limits:?} yet still incomplete");
    }
    // Which prefixes to look at: all of them for short inputs, else a sample plus the edges.
    let mut ks: Vec<usize> = if n <= 200 {
        (0..=n).collect()
    } else {
        let mut ks = cut_points(n, 24, rng);
        ks.extend([0, 1, n - 1, n]);
        for edge in [limits.max_head_bytes.saturating_sub(1), limits.max_head_bytes, limits.max_head_bytes + 1] {
            ks.push(edge.min(n));
        }
        if let Ok(Some((_, len))) = &whole {
            ks.extend([len - 1, *len, (len + 1).min(n)]);
        }
        ks
    };
    ks.sort_unstable();
    ks.dedup();
    let mut first_final: Option<(usize, _)> = None;
    for k in ks {
        let r = parse_head(&data[..k], limits);
        match (&first_final, &r) {
            (None, Ok(None)) => {}
            (None, _) => {
                // The first final answer must be the whole input's.
                assert_eq!(r, whole, "prefix {k} of {n} gives {r:?}, the whole input {whole:?}");
                first_final = Some((k, r));
            }
            (Some((k0, r0)), r) => assert_eq!(r, r0, "prefix {k} changed the answer given at prefix {k0}"),
        }
    }
    if let Ok(Some((_, len))) = &whole {
        // Every prefix shorter than the head is still waiting.
        let short = parse_head(&data[..len - 1], limits);
        assert_eq!(short, Ok(None), "prefix {} of a {len}-byte head", len - 1);
    }
}

/// The limits refuse exactly what is over them: compared with no limits at all, a byte
/// limit `M` changes nothing for a head of at most `M` bytes (or fewer than `M` bytes still
/// arriving) and refuses the rest as too large; a header limit `H` changes nothing for a
/// head of at most `H` fields and refuses one with more (the field count comes from
/// httparse itself, the parser `parse_head` uses).
fn check_limits(data: &[u8], small: &HeadLimits) {
    let n = data.len();
    let unlimited = HeadLimits { max_head_bytes: usize::MAX, max_headers: HEADER_SLOTS };
    let u = parse_head(data, &unlimited);
    let too_large =
        |r: &Result<_, HeadError>| matches!(r, Err(HeadError::HeadTooLarge | HeadError::RequestLineTooLong));

    let m = small.max_head_bytes;
    let r = parse_head(data, &HeadLimits { max_head_bytes: m, max_headers: HEADER_SLOTS });
    match &u {
        Ok(Some((_, len))) if *len <= m => assert_eq!(r, u, "a {len}-byte head under a {m}-byte limit"),
        Ok(Some((_, len))) => assert!(too_large(&r), "a {len}-byte head under a {m}-byte limit gave {r:?}"),
        Ok(None) if n < m => assert_eq!(r, u, "{n} bytes of a head under a {m}-byte limit"),
        Ok(None) => assert!(too_large(&r), "{n} bytes of a head, none complete, under a {m}-byte limit gave {r:?}"),
        Err(_) if n < m => assert_eq!(r, u, "{n} bytes under a {m}-byte limit"),
        Err(_) => assert!(r.is_err(), "an error without limits, {r:?} with {m} bytes"),
    }

    let h = small.max_headers;
    let r = parse_head(data, &HeadLimits { max_head_bytes: usize::MAX, max_headers: h });
    let mut slots = [httparse::EMPTY_HEADER; HEADER_SLOTS];
    let mut req = httparse::Request::new(&mut slots);
    if let (Ok(Some(_)), Ok(httparse::Status::Complete(_))) = (&u, req.parse(data)) {
        let fields = req.headers.len();
        if fields <= h {
            assert_eq!(r, u, "{fields} header fields under a limit of {h}");
        } else {
            assert_eq!(r, Err(HeadError::HeadTooLarge), "{fields} header fields under a limit of {h}");
        }
    }
    match &r {
        Ok(_) | Err(HeadError::Malformed) => assert_eq!(r, u, "a limit of {h} header fields changed the answer"),
        Err(_) => {}
    }
}

/// What a connection did with a byte stream.
#[derive(Debug, PartialEq, Eq)]
struct Outcome {
    sent: Vec<u8>,
    last: Last,
}

#[derive(Debug, PartialEq, Eq)]
enum Last {
    /// Still reading requests.
    Open,
    Close,
    /// The route, and every byte the WebSocket gets: `leftover` and what came later.
    Upgrade(Route, Vec<u8>),
}

fn run(input: &[&[u8]], limits: HeadLimits, pages: &mut Pages) -> Outcome {
    APP.with(|app| run_with(input, limits, app, pages))
}

fn run_with(input: &[&[u8]], limits: HeadLimits, app: &App, pages: &mut Pages) -> Outcome {
    let now = Instant::now();
    let rules = HttpRules {
        limits,
        request_timeout: Duration::from_secs(10),
        keepalive_timeout: Duration::from_secs(30),
        allow_origins: &[],
        peer: [127, 0, 0, 1].into(),
        trust: &TRUST,
    };
    let mut responder = PageResponder { app, pages, gauges: Gauges::default(), healthy: true, now };
    let mut conn = HttpConn::new(now, rules.request_timeout);
    let mut events = Vec::new();
    let mut after_done: Vec<u8> = Vec::new();
    for piece in input {
        if conn.next_wake().is_none() {
            // Done (closed or upgraded): these bytes are not the HTTP connection's any more.
            after_done.extend_from_slice(piece);
            let before = events.len();
            conn.on_bytes(piece, now, &rules, &mut responder, &mut events);
            assert_eq!(events.len(), before, "events after the connection was done");
        } else {
            conn.on_bytes(piece, now, &rules, &mut responder, &mut events);
        }
    }
    let mut sent = Vec::new();
    let mut last = Last::Open;
    let mut last_was_101 = false;
    for (i, event) in events.into_iter().enumerate() {
        assert_eq!(last, Last::Open, "event {i} after the end: {event:?}");
        match event {
            HttpEvent::Send(bytes) => {
                assert!(bytes.starts_with(b"HTTP/1.1 "), "a Send that is not a response: {bytes:?}");
                sent.extend_from_slice(&bytes);
                last_was_101 = bytes.starts_with(b"HTTP/1.1 101 ");
            }
            HttpEvent::SendBody(body) => sent.extend_from_slice(body.as_bytes()),
            HttpEvent::Log(_) => {}
            HttpEvent::Close => last = Last::Close,
            HttpEvent::Upgrade { route, mut leftover } => {
                assert!(last_was_101, "an upgrade not just after a 101");
                leftover.extend_from_slice(&after_done);
                after_done.clear();
                last = Last::Upgrade(route, leftover);
            }
        }
    }
    if last == Last::Open {
        assert!(after_done.is_empty(), "the connection stopped reading without saying why");
    }
    Outcome { sent, last }
}

fn check_connection(data: &[u8], limits: HeadLimits, pages: &mut Pages, rng: &mut Rng, every_way: bool) {
    let whole = run(&[data], limits, pages);
    let splits =
        if every_way { splittings(data, rng, 128) } else { vec![pieces(data, &cut_points(data.len(), 1, rng))] };
    for split in splits {
        let lens: Vec<usize> = split.iter().map(|p| p.len()).collect();
        let got = run(&split, limits, pages);
        if got != whole {
            panic!(
                "split {lens:?} (limits {limits:?}) differs from the whole input:\nwhole: {:?} sent {:?}\nsplit: {:?} sent {:?}",
                whole.last,
                String::from_utf8_lossy(&whole.sent),
                got.last,
                String::from_utf8_lossy(&got.sent)
            );
        }
    }
}
