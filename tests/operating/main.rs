//! Operating it (INTERFACE.md, "Operating it"), against the real binary: `/metrics` checked
//! by the reference Prometheus parser (tests/tools/check_metrics.sh) with counters that move
//! and gauges that return to zero, `/healthz`, `/settings.json`, `/qr.svg`, and whose address
//! counts behind `--trust-proxy` (and without it, whatever `X-Forwarded-For` says).
//!
//! The helpers are in modules named for what they handle: [`support`] (the admin socket),
//! [`exposition`] (`/metrics` and the traffic that moves it), [`forwarded`] (members behind
//! a proxy).

#[path = "../common/mod.rs"]
mod common;

mod exposition;
mod forwarded;
mod support;

use std::process::Command;
use std::time::{Duration, Instant};

use common::{Server, TempDir, Ws};
use danmaku_wall::wire::json::Value;
use danmaku_wall::wire::qr;
use exposition::{
    FLUSH_PASS, REQUIRED, SOCKET_WRITES, Traffic, check_with_parser, metrics, metrics_once_gauges_are_zero, sample,
};
use forwarded::{join_with, seen_from};
use support::{next_of, parse, sign_in, str_of, token_file};

// ---------------------------------------------------------------------------------------------
// /metrics
// ---------------------------------------------------------------------------------------------

#[test]
fn metrics_is_404_without_the_flag() {
    let server = Server::start(&[]);
    assert_eq!(common::get(server.addr(), "/metrics").status, 404);
}

#[test]
fn metrics_parse_and_move_and_gauges_return_to_zero() {
    let dir = TempDir::new("metrics-run");
    let token = token_file(&dir);
    let server = Server::start(&["--metrics", "--rate", "0", "--history-ttl", "0.5", "--admin-token-file", &token]);
    let addr = server.addr();
    let idle = metrics(addr);
    check_with_parser(&idle, &REQUIRED);
    assert_eq!(sample(&idle, "danmaku_connections{kind=\"ws\"}"), 0.0);
    assert_eq!(sample(&idle, "danmaku_connections{kind=\"http\"}"), 1.0, "the /metrics request itself");
    assert_eq!(sample(&idle, "danmaku_rooms"), 0.0);

    let mut admin = sign_in(addr);
    let traffic = Traffic::make(addr, &mut admin);
    let busy = metrics(addr);
    check_with_parser(&busy, &REQUIRED);
    let expect = [
        ("danmaku_connections{kind=\"ws\"}", 4.0),
        ("danmaku_connections{kind=\"admin\"}", 1.0),
        ("danmaku_rooms", 2.0),
        ("danmaku_posts_total{result=\"accepted\"}", 3.0),
        ("danmaku_posts_total{result=\"rejected\"}", 2.0),
        ("danmaku_posts_total{result=\"held\"}", 1.0),
        ("danmaku_deliveries_total", 3.0 * 2.0 + 3.0),
    ];
    for (series, value) in expect {
        assert_eq!(sample(&busy, series), value, "{series} in\n{busy}");
    }
    // Hellos, answers and broadcasts were written since the idle exposition.
    assert!(sample(&busy, SOCKET_WRITES) > sample(&idle, SOCKET_WRITES), "{busy}");
    // Everyone leaves; the held post is rejected and the hold lifted, so nothing keeps m1.
    let before_closed = sample(&busy, "danmaku_closed_total{reason=\"peer\"}");
    traffic.leave(admin);
    let after = metrics_once_gauges_are_zero(addr);
    check_with_parser(&after, &REQUIRED);
    assert_eq!(sample(&after, "danmaku_connections{kind=\"http\"}"), 1.0);
    let closed: f64 = ["peer", "error", "timeout", "slow", "server"]
        .iter()
        .map(|r| sample(&after, &format!("danmaku_closed_total{{reason=\"{r}\"}}")))
        .sum();
    assert!(closed >= 5.0, "5 WebSockets closed, counted {closed}:\n{after}");
    assert!(sample(&after, "danmaku_closed_total{reason=\"peer\"}") >= before_closed + 4.0, "{after}");
    assert_eq!(sample(&after, "danmaku_posts_total{result=\"accepted\"}"), 3.0, "counters never go down");
}

/// `danmaku_socket_writes_total` counts every write system call to a client socket: hellos and
/// HTTP answers too, so it is never compared with the deliveries; but a write goes to one
/// socket, so a broadcast that reaches N sockets adds N writes at least.
#[test]
fn socket_writes_count_every_broadcast() {
    let server = Server::start(&["--metrics", "--rate", "0"]);
    let addr = server.addr();
    let (mut poster, _) = Ws::join(addr, "w");
    let (mut wall, _) = Ws::join(addr, "w");
    let (mut other, _) = Ws::join(addr, "w");
    let before = sample(&metrics(addr), SOCKET_WRITES);
    assert!(before >= 3.0, "three hellos were written at least: {before}");
    poster.post("counted", None);
    for ws in [&mut poster, &mut wall, &mut other] {
        assert!(ws.recv_text().contains("counted"));
    }
    let after = metrics(addr);
    check_with_parser(&after, &[SOCKET_WRITES]);
    // Three sockets got the broadcast; the /metrics answer before it was one more write.
    let grew = sample(&after, SOCKET_WRITES) - before;
    assert!(grew >= 3.0 + 1.0, "{SOCKET_WRITES} grew by {grew} for a broadcast to 3:\n{after}");
    assert!(sample(&after, "danmaku_deliveries_total") >= 3.0, "{after}");
}

/// `danmaku_flush_pass_seconds` is a histogram of flush passes to 64 connections or more: a
/// broadcast to 66 walls is one pass (they had output when it began), smaller ones are not.
#[test]
fn a_broadcast_to_many_walls_is_a_flush_pass() {
    let server = Server::start(&["--metrics", "--rate", "0"]);
    let addr = server.addr();
    let mut walls: Vec<Ws> = (0..66).map(|_| Ws::join(addr, "many").0).collect();
    let (mut few, _) = Ws::join(addr, "few");
    let count = format!("{FLUSH_PASS}_count");
    let before = metrics(addr);
    assert!(before.lines().any(|l| l == format!("# TYPE {FLUSH_PASS} histogram")), "{before}");
    few.post("to one wall", None);
    assert!(few.recv_text().contains("to one wall"));
    let after_few = metrics(addr);
    assert_eq!(sample(&after_few, &count), sample(&before, &count), "one wall is no pass:\n{after_few}");
    walls[0].post("to every wall", None);
    for ws in &mut walls {
        assert!(ws.recv_text().contains("to every wall"));
    }
    let after = metrics(addr);
    check_with_parser(&after, &[FLUSH_PASS]);
    assert!(sample(&after, &count) > sample(&before, &count), "{count} did not grow:\n{after}");
    let inf = sample(&after, &format!("{FLUSH_PASS}_bucket{{le=\"+Inf\"}}"));
    assert_eq!(inf, sample(&after, &count), "the +Inf bucket is the count:\n{after}");
    assert!(sample(&after, &format!("{FLUSH_PASS}_sum")) > 0.0, "{after}");
}

#[test]
fn a_slow_reader_is_counted_as_closed_slow() {
    let server = Server::start(&["--metrics", "--rate", "0", "--max-backlog", "4096"]);
    let addr = server.addr();
    let stream = common::connect_with_rcvbuf(addr, 4096);
    let reader = Ws::connect_on(stream, "/ws?room=slow").expect("upgrade");
    let (mut poster, _) = Ws::join(addr, "slow");
    let msg = "😀".repeat(100); // 400 bytes: the kernel's buffers fill sooner
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        for _ in 0..200 {
            poster.post(&msg, None);
        }
        while let common::Recv::Frame(_) = poster.recv_within(Duration::from_millis(20)) {}
        if sample(&metrics(addr), "danmaku_closed_total{reason=\"slow\"}") >= 1.0 {
            break;
        }
        assert!(Instant::now() < deadline, "the reader that never reads was not closed as slow: {:?}", server.logs());
    }
    reader.shutdown_write();
}

// ---------------------------------------------------------------------------------------------
// /healthz, /settings.json, /qr.svg
// ---------------------------------------------------------------------------------------------

#[test]
fn healthz_says_ok() {
    let server = Server::start(&[]);
    let resp = common::get(server.addr(), "/healthz");
    assert_eq!((resp.status, resp.body_str().as_str()), (200, "ok"));
}

#[test]
fn settings_json_carries_the_public_url() {
    let server = Server::start(&[]);
    let resp = common::get(server.addr(), "/settings.json");
    assert_eq!(resp.status, 200);
    assert_eq!(resp.header("content-type").map(|c| c.starts_with("application/json")), Some(true));
    assert_eq!(parse(&resp.body_str()).get("public_url"), Some(&Value::Null), "{}", resp.body_str());
    let server = Server::start(&["--public-url", "https://wall.example.org//"]);
    let resp = common::get(server.addr(), "/settings.json");
    let v = parse(&resp.body_str());
    assert_eq!(str_of(&v, "public_url"), "https://wall.example.org", "without trailing slashes");
    for bad in ["wall.example.org", "ftp://x", ""] {
        let out = Command::new(env!("CARGO_BIN_EXE_danmaku-wall"))
            .args(["--bind", "127.0.0.1:0", "--public-url", bad])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "--public-url {bad:?}");
    }
}

#[test]
fn qr_svg_is_the_encoders_symbol_of_the_text() {
    let server = Server::start(&[]);
    let addr = server.addr();
    let url = "https://wall.example.org/post?room=main";
    let resp = common::get(addr, "/qr.svg?text=https%3A%2F%2Fwall.example.org%2Fpost%3Froom%3Dmain");
    assert_eq!(resp.status, 200);
    assert_eq!(resp.header("content-type").map(|c| c.starts_with("image/svg+xml")), Some(true));
    let expected = qr::encode(url.as_bytes(), qr::Ecc::M).unwrap().to_svg();
    assert_eq!(resp.body_str(), expected);
    let other = common::get(addr, "/qr.svg?text=https%3A%2F%2Fwall.example.org%2Fpost%3Froom%3Dother");
    assert_ne!(other.body, resp.body, "another text, another symbol");
    for bad in ["/qr.svg", "/qr.svg?text=", "/qr.svg?text=%zz", &format!("/qr.svg?text={}", "a".repeat(1025))] {
        assert_eq!(common::get(addr, bad).status, 400, "{bad}");
    }
}

// ---------------------------------------------------------------------------------------------
// --trust-proxy
// ---------------------------------------------------------------------------------------------

#[test]
fn forwarded_headers_are_ignored_without_trust_proxy() {
    let dir = TempDir::new("xff-off");
    let token = token_file(&dir);
    let server = Server::start(&["--rate", "0", "--admin-token-file", &token]);
    let addr = server.addr();
    let mut admin = sign_in(addr);
    assert_eq!(seen_from(addr, &mut admin, &["X-Forwarded-For: 203.0.113.7"]), "127.0.0.1");
    // A banned address cannot escape its ban by forging the header.
    admin.send_text(r#"{"type":"ban","address":"127.0.0.1","seconds":60}"#);
    next_of(&mut admin, "ok");
    let mut ws = join_with(addr, "proxied", &["X-Forwarded-For: 198.51.100.20", "X-Real-IP: 198.51.100.20"]);
    ws.post("let me out", None);
    let reply = parse(&ws.recv_text());
    assert!(str_of(&reply, "error").contains("muted"), "{reply:?}");
    // Not in the access log either.
    assert!(!server.log_contains("198.51.100.20") && !server.log_contains("203.0.113.7"), "{:?}", server.logs());
}

#[test]
fn forwarded_headers_from_an_untrusted_peer_are_ignored() {
    let dir = TempDir::new("xff-other");
    let token = token_file(&dir);
    let server = Server::start(&["--rate", "0", "--admin-token-file", &token, "--trust-proxy", "10.0.0.0/8"]);
    let addr = server.addr();
    let mut admin = sign_in(addr);
    assert_eq!(seen_from(addr, &mut admin, &["X-Forwarded-For: 203.0.113.7"]), "127.0.0.1");
}

#[test]
fn behind_a_trusted_peer_the_right_most_untrusted_address_is_the_client() {
    let dir = TempDir::new("xff-on");
    let token = token_file(&dir);
    let server = Server::start(&["--rate", "0", "--admin-token-file", &token, "--trust-proxy", "loopback"]);
    let addr = server.addr();
    let mut admin = sign_in(addr);
    for (headers, expected) in [
        (&["X-Forwarded-For: 203.0.113.7"][..], "203.0.113.7"),
        (&["X-Forwarded-For: 198.51.100.1, 203.0.113.7"], "203.0.113.7"),
        (&["X-Forwarded-For: 198.51.100.1,203.0.113.8, 127.0.0.5"], "203.0.113.8"),
        (&["X-Forwarded-For: 127.0.0.9, 127.0.0.2"], "127.0.0.9"),
        (&["X-Forwarded-For: 198.51.100.1", "X-Forwarded-For: 203.0.113.9"], "203.0.113.9"),
        (&["X-Forwarded-For: 2001:db8::7"], "2001:db8::7"),
        (&["X-Forwarded-For: ::ffff:203.0.113.10"], "203.0.113.10"),
        (&["X-Forwarded-For: 203.0.113.7, garbage"], "127.0.0.1"),
        (&["X-Forwarded-For: garbage, 203.0.113.7"], "127.0.0.1"),
        (&["X-Forwarded-For: 203.0.113.7:4711"], "127.0.0.1"),
        (&["X-Forwarded-For: "], "127.0.0.1"),
        (&[], "127.0.0.1"),
    ] {
        assert_eq!(seen_from(addr, &mut admin, headers), expected, "{headers:?}");
    }
    // The forwarded address is what bans, rate limits and the access log use.
    admin.send_text(r#"{"type":"ban","address":"203.0.113.7","seconds":60}"#);
    next_of(&mut admin, "ok");
    let mut banned = join_with(addr, "proxied", &["X-Forwarded-For: 203.0.113.7"]);
    banned.post("muted?", None);
    assert!(str_of(&parse(&banned.recv_text()), "error").contains("muted"));
    assert_eq!(seen_from(addr, &mut admin, &["X-Forwarded-For: 203.0.113.70"]), "203.0.113.70", "others are not");
    assert!(server.wait_for_log("203.0.113.7 GET /ws 101", Duration::from_secs(2)), "{:?}", server.logs());
}

/// A `--www` folder or `--blocklist` file that cannot be read is a bad value of that flag:
/// the server says which and exits 2 (INTERFACE.md: "a bad value ... prints why and exits 2").
#[test]
fn unreadable_files_named_by_flags_exit_2() {
    let dir = TempDir::new("bad-files");
    let missing = dir.join("missing");
    let missing = missing.to_str().unwrap();
    for (flag, value) in [("--blocklist", missing), ("--www", missing), ("--blocklist", dir.join("").to_str().unwrap())]
    {
        let out = Command::new(env!("CARGO_BIN_EXE_danmaku-wall"))
            .args(["--bind", "127.0.0.1:0", flag, value])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{flag} {value}: {out:?}");
        let said = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert!(said.contains("ERROR") && said.contains(flag), "{flag} named in: {said}");
    }
}

/// "A delivery is one danmaku frame queued to one connection": the `delete` and `clear` that
/// reach the same walls, and their replay in a resume, are not deliveries.
#[test]
fn deliveries_count_danmaku_not_moderation_events() {
    let dir = TempDir::new("deliveries");
    let token = token_file(&dir);
    let server = Server::start(&["--metrics", "--rate", "0", "--admin-token-file", &token]);
    let addr = server.addr();
    let mut admin = sign_in(addr);
    let (mut poster, hello) = Ws::join(addr, "d");
    let (mut wall, _) = Ws::join(addr, "d");
    poster.post("one", None);
    for ws in [&mut poster, &mut wall] {
        assert!(ws.recv_text().contains("one"));
    }
    assert_eq!(sample(&metrics(addr), "danmaku_deliveries_total"), 2.0);
    for request in [r#"{"type":"delete","room":"d","id":1}"#, r#"{"type":"clear","room":"d"}"#] {
        admin.send_text(request);
        next_of(&mut admin, "ok");
        for ws in [&mut poster, &mut wall] {
            assert!(ws.recv_text().starts_with(r#"{"type":"#));
        }
    }
    // A resume from 0 replays the two events and no danmaku.
    let mut resumed = Ws::connect(addr, &format!("/ws?room=d&since=0&epoch={}", hello.epoch));
    for _ in 0..2 {
        let text = resumed.recv_text();
        assert!(text.contains("delete") || text.contains("clear"), "{text}");
    }
    assert_eq!(sample(&metrics(addr), "danmaku_deliveries_total"), 2.0, "events are not deliveries");
}
