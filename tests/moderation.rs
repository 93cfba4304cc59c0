//! Moderation (INTERFACE.md, "Moderation (`/admin`)") against the real binary: who may sign
//! in and every way of being refused, then every admin action and what walls, posters and
//! other admins see of it, and the audit log (which names the admin and never the token).

mod common;

use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use common::{CLOSE, Recv, Server, TEXT, TempDir, UpgradeRequest, Ws};
use danmaku_wall::kit::spawn::{ServerProcess, SpawnOptions};
use danmaku_wall::wire::json::{self, Value};

const TOKEN: &str = "s3cret-Token-0123456789";

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

fn parse(text: &str) -> Value {
    json::parse(text, 16).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

fn str_of<'v>(v: &'v Value, key: &str) -> &'v str {
    v.get(key).and_then(Value::as_str).unwrap_or_else(|| panic!("no string {key} in {v:?}"))
}

fn num_of(v: &Value, key: &str) -> f64 {
    v.get(key).and_then(Value::as_f64).unwrap_or_else(|| panic!("no number {key} in {v:?}"))
}

fn array_of<'v>(v: &'v Value, key: &str) -> &'v [Value] {
    match v.get(key) {
        Some(Value::Array(items)) => items,
        _ => panic!("no array {key} in {v:?}"),
    }
}

/// A server with moderation on (the token in a file) and the given extra flags.
struct Moderated {
    server: Server,
    _dir: TempDir,
}

impl Moderated {
    fn start(flags: &[&str]) -> Moderated {
        let dir = TempDir::new("moderation");
        let token_file = dir.join("token");
        std::fs::write(&token_file, format!("{TOKEN}\r\nsecond line ignored\n")).unwrap();
        let mut all = vec!["--admin-token-file", token_file.to_str().unwrap(), "--rate", "0"];
        all.extend_from_slice(flags);
        Moderated { server: Server::start(&all), _dir: dir }
    }

    fn addr(&self) -> SocketAddr {
        self.server.addr()
    }
}

impl Drop for Moderated {
    fn drop(&mut self) {
        if !thread::panicking() {
            assert_token_never_logged(&self.server.logs());
        }
    }
}

fn assert_token_never_logged(logs: &[String]) {
    for line in logs {
        assert!(!line.contains(TOKEN), "the token was logged: {line}");
    }
}

/// A signed-in admin: its `state`, and feed messages read while waiting for replies.
struct Admin {
    ws: Ws,
    state: Value,
    feed: Vec<Value>,
}

impl Admin {
    fn sign_in(addr: SocketAddr) -> Admin {
        let mut ws = Ws::connect(addr, "/admin/ws");
        ws.send_text(&format!(r#"{{"type":"auth","token":"{TOKEN}"}}"#));
        let state = parse(&ws.recv_text());
        assert_eq!(str_of(&state, "type"), "state", "{state:?}");
        Admin { ws, state, feed: Vec::new() }
    }

    /// Sends `request` and returns its reply (`ok` or `error`), keeping feed messages.
    fn request(&mut self, request: &str) -> Value {
        self.ws.send_text(request);
        self.reply()
    }

    /// The next reply (`ok` or `error`), keeping feed messages.
    fn reply(&mut self) -> Value {
        loop {
            let v = parse(&self.ws.recv_text());
            match str_of(&v, "type") {
                "ok" | "error" => return v,
                _ => self.feed.push(v),
            }
        }
    }

    /// `request` must be answered `ok`.
    fn ok(&mut self, request: &str) {
        let reply = self.request(request);
        assert_eq!(str_of(&reply, "type"), "ok", "{request} -> {reply:?}");
        let kind = str_of(&parse(request), "type").to_string();
        assert_eq!(str_of(&reply, "request"), kind, "{reply:?}");
    }

    /// `request` must be answered `error`; returns the reason.
    fn error(&mut self, request: &str) -> String {
        let reply = self.request(request);
        assert_eq!(str_of(&reply, "type"), "error", "{request} -> {reply:?}");
        str_of(&reply, "error").to_string()
    }

    /// The next feed message of type `kind` (earlier ones of other types are dropped).
    fn next(&mut self, kind: &str) -> Value {
        if let Some(i) = self.feed.iter().position(|v| str_of(v, "type") == kind) {
            return self.feed.remove(i);
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            assert!(Instant::now() < deadline, "no {kind} message within 5 s");
            let v = parse(&self.ws.recv_text());
            if str_of(&v, "type") == kind {
                return v;
            }
        }
    }
}

/// Text frames until `quiet` passes without one.
fn texts_until_quiet(ws: &mut Ws, quiet: Duration) -> Vec<Value> {
    let mut out = Vec::new();
    loop {
        match ws.recv_within(quiet) {
            Recv::Frame(f) if f.opcode == TEXT => out.push(parse(f.text())),
            Recv::Frame(f) => panic!("unexpected frame {f:?} after {out:?}"),
            Recv::Timeout => return out,
            Recv::Eof => panic!("EOF after {out:?}"),
        }
    }
}

fn assert_silent(ws: &mut Ws, what: &str) {
    let got = texts_until_quiet(ws, Duration::from_millis(300));
    assert!(got.is_empty(), "{what}: expected nothing, got {got:?}");
}

/// Posts `msg` and returns the next message the sender gets (its reply, or its broadcast).
fn post_reply(ws: &mut Ws, msg: &str, reference: Option<&str>) -> Value {
    ws.post(msg, reference);
    parse(&ws.recv_text())
}

fn assert_rejected(reply: &Value, word: &str) -> String {
    assert_eq!(str_of(reply, "type"), "error", "{reply:?}");
    let reason = str_of(reply, "error");
    assert!(reason.contains(word), "reason {reason:?} lacks {word:?}");
    reason.to_string()
}

fn assert_danmaku(v: &Value, id: u64, msg: &str) {
    assert_eq!(str_of(v, "type"), "danmaku", "{v:?}");
    assert_eq!((num_of(v, "id") as u64, str_of(v, "msg")), (id, msg), "{v:?}");
}

fn upgrade_status(addr: SocketAddr, target: &str, extra: &[&str]) -> u16 {
    let mut req = UpgradeRequest::new(&addr.to_string(), target, &common::new_key());
    for line in extra {
        req = req.with(line);
    }
    common::http(addr, &req.bytes()).status
}

/// The first frame the server sends is a close with `code` (no admin data before it); the
/// closing handshake is completed and the server then closes TCP.
fn assert_closed_with(ws: &mut Ws, code: u16, what: &str) {
    let first = match ws.recv_within(Duration::from_secs(5)) {
        Recv::Frame(f) => f,
        other => panic!("{what}: expected a close frame, got {other:?}"),
    };
    assert_eq!(first.opcode, CLOSE, "{what}: admin data before the close: {first:?}");
    assert_eq!(first.close_code(), Some(code), "{what}");
    ws.close(code, "");
    let after = ws.drain_to_eof_within(Duration::from_secs(5)).unwrap_or_else(|f| panic!("{what}: no EOF: {f:?}"));
    assert!(after.is_empty(), "{what}: frames after the close: {after:?}");
}

fn binary() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_danmaku-wall"));
    c.env_remove("DANMAKU_ADMIN_TOKEN").args(["--bind", "127.0.0.1:0"]);
    c
}

// ---------------------------------------------------------------------------------------------
// Turning it on, signing in
// ---------------------------------------------------------------------------------------------

#[test]
fn admin_is_404_without_a_token() {
    let server = Server::start(&[]);
    let addr = server.addr();
    for path in ["/admin", "/admin.html"] {
        assert_eq!(common::get(addr, path).status, 404, "{path}");
    }
    assert_eq!(upgrade_status(addr, "/admin/ws", &[]), 404);
    let on = Moderated::start(&[]);
    let page = common::get(on.addr(), "/admin");
    assert_eq!(page.status, 200);
    assert!(page.body_str().contains("admin-token"), "the moderation page");
    assert!(!page.body_str().contains(TOKEN));
}

#[test]
fn a_short_or_missing_token_exits_2() {
    let dir = TempDir::new("token");
    let short = dir.join("short");
    std::fs::write(&short, "fifteen-chars-x\n").unwrap();
    let missing = dir.join("missing");
    for (what, mut command) in [("short file", binary()), ("missing file", binary()), ("short variable", binary())] {
        match what {
            "short file" => command.arg("--admin-token-file").arg(&short),
            "missing file" => command.arg("--admin-token-file").arg(&missing),
            _ => command.env("DANMAKU_ADMIN_TOKEN", "fifteen-chars-x"),
        };
        let out = command.output().expect("run the binary");
        assert_eq!(out.status.code(), Some(2), "{what}: {out:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.trim().is_empty(), "{what}: says why");
        assert!(!stderr.contains("fifteen-chars-x"), "{what}: the token printed: {stderr}");
    }
    // 16 characters from the variable turn it on; the file wins over the variable.
    let mut command = binary();
    command.env("DANMAKU_ADMIN_TOKEN", "sixteen-chars-xy");
    let server = ServerProcess::start(command, &SpawnOptions::default()).expect("starts");
    assert_eq!(common::get(server.addr(), "/admin").status, 200);
    let mut ws = Ws::connect(server.addr(), "/admin/ws");
    ws.send_text(r#"{"type":"auth","token":"sixteen-chars-xy"}"#);
    assert_eq!(str_of(&parse(&ws.recv_text()), "type"), "state");
    let good = dir.join("good");
    std::fs::write(&good, format!("{TOKEN}\n")).unwrap();
    let mut command = binary();
    command.env("DANMAKU_ADMIN_TOKEN", "sixteen-chars-xy").arg("--admin-token-file").arg(&good);
    let server = ServerProcess::start(command, &SpawnOptions::default()).expect("starts");
    let mut ws = Ws::connect(server.addr(), "/admin/ws");
    ws.send_text(r#"{"type":"auth","token":"sixteen-chars-xy"}"#);
    assert_closed_with(&mut ws, 1008, "the variable's token when a file is given");
}

#[test]
fn wrong_token_or_another_first_message_closes_1008_without_admin_data() {
    let m = Moderated::start(&[]);
    let addr = m.addr();
    let (_wall, _) = Ws::join(addr, "secret-room");
    for (what, first) in [
        ("wrong token", format!(r#"{{"type":"auth","token":"{}x"}}"#, TOKEN)),
        ("token prefix", format!(r#"{{"type":"auth","token":"{}"}}"#, &TOKEN[..TOKEN.len() - 1])),
        ("another type", r#"{"type":"clear","room":"secret-room"}"#.to_string()),
        ("invalid JSON", format!(r#"{{"type":"auth","token":"{TOKEN}""#)),
    ] {
        let mut ws = Ws::connect(addr, "/admin/ws");
        ws.send_text(&first);
        assert_closed_with(&mut ws, 1008, what);
    }
    // That was four failures: one more is allowed.
    let mut ws = Ws::connect(addr, "/admin/ws");
    ws.send_binary(format!(r#"{{"type":"auth","token":"{TOKEN}"}}"#).as_bytes());
    assert_closed_with(&mut ws, 1008, "auth in a binary message");
    assert!(
        m.server.wait_for_log("refused admin sign-in from 127.0.0.1", Duration::from_secs(2)),
        "{:?}",
        m.server.logs()
    );
}

#[test]
fn a_token_in_the_query_string_does_not_authenticate() {
    let m = Moderated::start(&[]);
    let addr = m.addr();
    let mut ws = Ws::connect(addr, &format!("/admin/ws?token={TOKEN}"));
    assert_silent(&mut ws, "nothing before auth");
    ws.send_text(r#"{"type":"hold","room":"main","on":true}"#);
    assert_closed_with(&mut ws, 1008, "a request with the token only in the URL");
    let mut ws = Ws::connect(addr, &format!("/admin/ws?token={TOKEN}"));
    ws.send_text(r#"{"type":"auth"}"#);
    assert_closed_with(&mut ws, 1008, "auth without a token, the token in the URL");
}

#[test]
fn five_failures_within_a_minute_earn_429() {
    let m = Moderated::start(&[]);
    let addr = m.addr();
    for n in 1..=5 {
        let mut ws = Ws::connect(addr, "/admin/ws");
        ws.send_text(r#"{"type":"auth","token":"guess-guess-guess-guess"}"#);
        assert_closed_with(&mut ws, 1008, &format!("failure {n}"));
    }
    let mut client = common::HttpClient::connect(addr);
    client.send(&common::upgrade_request(addr, "/admin/ws"));
    let resp = client.read_response(false);
    assert_eq!(resp.status, 429, "{resp:?}");
    assert_eq!(resp.header("retry-after"), Some("60"));
    // The right token does not get past it either (the upgrade itself is refused)...
    assert_eq!(upgrade_status(addr, "/admin/ws", &[]), 429);
    // ...while walls and pages are untouched. That the block ends after 60 s is unit-tested
    // in src/wall/moderation/auth_limit.rs (a minute of waiting here would prove no more).
    let (_ws, hello) = Ws::join(addr, "main");
    assert_eq!(hello.room, "main");
    assert_eq!(common::get(addr, "/admin").status, 200);
}

#[test]
fn no_auth_within_10_seconds_closes_1008() {
    let m = Moderated::start(&[]);
    let mut ws = Ws::connect(m.addr(), "/admin/ws");
    let started = Instant::now();
    // One read waits at most 5 s (the kit's cap): wait in turns.
    loop {
        match ws.recv_within(Duration::from_secs(5)) {
            Recv::Timeout if started.elapsed() < Duration::from_secs(14) => {}
            Recv::Frame(f) if f.opcode == CLOSE => break assert_eq!(f.close_code(), Some(1008)),
            other => panic!("expected a close, got {other:?} after {:?}", started.elapsed()),
        }
    }
    let waited = started.elapsed();
    assert!(waited >= Duration::from_millis(9500) && waited < Duration::from_secs(13), "closed after {waited:?}");
    assert!(m.server.wait_for_log("no auth within 10 s", Duration::from_secs(2)), "counted and logged as a failure");
}

#[test]
fn cross_origin_admin_upgrades_get_403_even_with_allow_origin_star() {
    let m = Moderated::start(&["--allow-origin", "*"]);
    let addr = m.addr();
    let evil = "Origin: http://evil.example";
    assert_eq!(upgrade_status(addr, "/admin/ws", &[evil]), 403);
    assert_eq!(upgrade_status(addr, "/ws", &[evil]), 101, "--allow-origin * widens /ws");
    assert_eq!(upgrade_status(addr, "/admin/ws", &[&format!("Origin: http://{addr}")]), 101);
    assert_eq!(upgrade_status(addr, "/admin/ws", &[]), 101, "no Origin: not a browser");
}

#[test]
fn admin_requests_on_ws_are_just_invalid_posts() {
    let m = Moderated::start(&[]);
    let addr = m.addr();
    let (mut poster, _) = Ws::join(addr, "sneaky");
    poster.post("keep me", None);
    assert_danmaku(&parse(&poster.recv_text()), 1, "keep me");
    for request in [
        r#"{"type":"clear","room":"sneaky"}"#.to_string(),
        r#"{"type":"lock","room":"sneaky","on":true}"#.to_string(),
        r#"{"type":"ban","address":"127.0.0.1","seconds":600}"#.to_string(),
        format!(r#"{{"type":"auth","token":"{TOKEN}"}}"#),
    ] {
        poster.send_text(&request);
        let reply = parse(&poster.recv_text());
        assert_eq!(str_of(&reply, "type"), "error", "{request} -> {reply:?}");
    }
    // None of it was executed: not cleared, not locked, not banned.
    poster.post("still here", None);
    assert_danmaku(&parse(&poster.recv_text()), 2, "still here");
    let mut wall = Ws::connect(addr, "/ws?room=sneaky&since=0");
    let replay = texts_until_quiet(&mut wall, Duration::from_millis(300));
    assert_eq!(replay.len(), 2, "{replay:?}");
    let admin = Admin::sign_in(addr);
    assert!(array_of(&admin.state, "bans").is_empty(), "{:?}", admin.state);
}

#[test]
fn an_oversized_admin_message_closes_1009() {
    let m = Moderated::start(&["--max-message", "1024"]);
    let mut admin = Admin::sign_in(m.addr());
    let big = format!(r#"{{"type":"blocklist","add":["{}"]}}"#, "a".repeat(1100));
    admin.ws.send_text(&big);
    assert_eq!(admin.ws.recv_close(), Some(1009));
    let mut ws = Ws::connect(m.addr(), "/admin/ws");
    ws.send_text(&format!(r#"{{"type":"auth","token":"{TOKEN}","pad":"{}"}}"#, "p".repeat(1100)));
    assert_eq!(ws.recv_close(), Some(1009), "before auth too");
}

#[test]
fn state_after_auth_lists_rooms_blocklist_and_bans() {
    let dir = TempDir::new("state");
    let blocklist = dir.join("blocklist.txt");
    std::fs::write(&blocklist, "spam\nbuy now\n").unwrap();
    let m = Moderated::start(&["--blocklist", blocklist.to_str().unwrap()]);
    let addr = m.addr();
    let (mut poster, _) = Ws::join(addr, "lobby");
    let (_wall, _) = Ws::join(addr, "lobby");
    for msg in ["one", "two"] {
        poster.post(msg, None);
        poster.recv_text();
    }
    let mut first = Admin::sign_in(addr);
    let rooms = array_of(&first.state, "rooms");
    assert_eq!(rooms.len(), 1, "{:?}", first.state);
    let r = &rooms[0];
    assert_eq!(str_of(r, "room"), "lobby");
    assert_eq!((num_of(r, "members"), num_of(r, "last"), num_of(r, "slow")), (2.0, 2.0, 0.0), "{r:?}");
    assert_eq!((r.get("hold"), r.get("lock")), (Some(&Value::Bool(false)), Some(&Value::Bool(false))), "{r:?}");
    let words: Vec<&str> = array_of(&first.state, "blocklist").iter().filter_map(Value::as_str).collect();
    assert_eq!(words, ["spam", "buy now"]);
    assert!(array_of(&first.state, "bans").is_empty());
    first.ok(r#"{"type":"ban","address":"192.0.2.9","seconds":120}"#);
    first.ok(r#"{"type":"hold","room":"lobby","on":true}"#);
    first.ok(r#"{"type":"slow","room":"lobby","seconds":7}"#);
    let second = Admin::sign_in(addr);
    let bans = array_of(&second.state, "bans");
    assert_eq!(bans.len(), 1, "{:?}", second.state);
    assert_eq!(str_of(&bans[0], "address"), "192.0.2.9");
    let until = num_of(&bans[0], "until");
    let expected = (common::unix_ms() + 120_000) as f64;
    assert!((until - expected).abs() < 5_000.0, "until {until}, expected about {expected}");
    let r = &array_of(&second.state, "rooms")[0];
    assert_eq!((r.get("hold"), num_of(r, "slow")), (Some(&Value::Bool(true)), 7.0), "{r:?}");
    // The first admin hears of the change as a `room` update.
    let update = first.next("room");
    assert_eq!(str_of(&update, "room"), "lobby");
    // Malformed and unknown requests get an error, one reply each, in order.
    for bad in [
        r#"{"type":"ban","address":"nope","seconds":5}"#,
        r#"{"type":"approve","room":"lobby","key":"no-such-key"}"#,
        r#"{"type":"frobnicate"}"#,
        r#"{"type":"hold","room":"lobby","on":"yes"}"#,
        r#"{"type":"delete","room":"bad room","id":1}"#,
        r#"not json"#,
        r#"{"type":"auth","token":"whatever"}"#,
    ] {
        first.error(bad);
    }
}

// ---------------------------------------------------------------------------------------------
// delete and clear
// ---------------------------------------------------------------------------------------------

#[test]
fn delete_reaches_walls_and_is_replayed_as_an_event_not_as_the_danmaku() {
    let m = Moderated::start(&[]);
    let addr = m.addr();
    let (mut wall, hello) = Ws::join(addr, "del");
    for (n, msg) in ["one", "two", "three"].iter().enumerate() {
        wall.post(msg, None);
        assert_danmaku(&parse(&wall.recv_text()), n as u64 + 1, msg);
    }
    let mut admin = Admin::sign_in(addr);
    admin.ok(r#"{"type":"delete","room":"del","id":2}"#);
    let got = texts_until_quiet(&mut wall, Duration::from_millis(300));
    assert_eq!(got, vec![parse(r#"{"type":"delete","id":2}"#)]);
    // Resumes: the deleted danmaku never again, the delete event after the then-latest (3).
    let resume = |query: &str| {
        let mut ws = Ws::connect(addr, &format!("/ws?room=del&{query}"));
        assert_eq!(ws.hello.as_ref().unwrap().recovered, Some(true), "{query}");
        texts_until_quiet(&mut ws, Duration::from_millis(300))
    };
    let since1 = resume(&format!("since=1&epoch={}", hello.epoch));
    assert_eq!(since1.len(), 2, "{since1:?}");
    assert_danmaku(&since1[0], 3, "three");
    assert_eq!(since1[1], parse(r#"{"type":"delete","id":2}"#));
    assert_eq!(resume("since=3"), vec![parse(r#"{"type":"delete","id":2}"#)], "the wall missed only the delete");
    let all = resume("since=0");
    let ids: Vec<u64> = all.iter().filter(|v| str_of(v, "type") == "danmaku").map(|v| num_of(v, "id") as u64).collect();
    assert_eq!(ids, [1, 3]);
    // Idempotent: an unknown id, a room without members.
    admin.ok(r#"{"type":"delete","room":"del","id":999}"#);
    admin.ok(r#"{"type":"delete","room":"empty-room","id":1}"#);
    assert!(m.server.wait_for_log("admin 127.0.0.1: delete del #2", Duration::from_secs(2)), "{:?}", m.server.logs());
}

#[test]
fn clear_reaches_walls_and_nothing_before_it_is_replayed() {
    let m = Moderated::start(&[]);
    let addr = m.addr();
    let (mut wall, _) = Ws::join(addr, "clr");
    for n in 1..=3 {
        wall.post(&format!("m{n}"), None);
        wall.recv_text();
    }
    let mut admin = Admin::sign_in(addr);
    admin.ok(r#"{"type":"clear","room":"clr"}"#);
    assert_eq!(texts_until_quiet(&mut wall, Duration::from_millis(300)), vec![parse(r#"{"type":"clear"}"#)]);
    wall.post("after", None);
    assert_danmaku(&parse(&wall.recv_text()), 4, "after");
    let mut ws = Ws::connect(addr, "/ws?room=clr&since=0");
    let replay = texts_until_quiet(&mut ws, Duration::from_millis(300));
    let danmaku: Vec<&Value> = replay.iter().filter(|v| str_of(v, "type") == "danmaku").collect();
    assert_eq!(danmaku.len(), 1, "{replay:?}");
    assert_danmaku(danmaku[0], 4, "after");
    let mut ws = Ws::connect(addr, "/ws?room=clr&since=2");
    let replay = texts_until_quiet(&mut ws, Duration::from_millis(300));
    assert_eq!(replay.len(), 2, "{replay:?}");
    assert_eq!(replay[0], parse(r#"{"type":"clear"}"#), "the clear it missed, then what followed");
    assert_danmaku(&replay[1], 4, "after");
    admin.ok(r#"{"type":"clear","room":"nobody-here"}"#);
}

// ---------------------------------------------------------------------------------------------
// ban, slow, lock
// ---------------------------------------------------------------------------------------------

#[test]
fn ban_mutes_an_address_until_lifted_or_expired() {
    let m = Moderated::start(&[]);
    let addr = m.addr();
    let (mut poster, _) = Ws::join(addr, "bans");
    let (mut wall, _) = Ws::join(addr, "bans");
    let mut admin = Admin::sign_in(addr);
    admin.ok(r#"{"type":"ban","address":"127.0.0.1","seconds":600}"#);
    let reason = assert_rejected(&post_reply(&mut poster, "hello?", Some("b1")), "muted");
    assert!(reason.contains("600") || reason.contains("599"), "{reason}");
    assert_eq!(str_of(&post_reply(&mut poster, "again", Some("b2")), "ref"), "b2", "the error carries the ref");
    assert_silent(&mut wall, "a muted post is not broadcast");
    admin.ok(r#"{"type":"ban","address":"127.0.0.1","seconds":0}"#);
    assert_danmaku(&post_reply(&mut poster, "free", None), 1, "free");
    // A short ban runs out by itself.
    admin.ok(r#"{"type":"ban","address":"::ffff:127.0.0.1","seconds":1}"#);
    assert_rejected(&post_reply(&mut poster, "muted?", None), "muted");
    thread::sleep(Duration::from_millis(1200));
    assert_danmaku(&post_reply(&mut poster, "back", None), 2, "back");
    // Another address's ban does not touch this one.
    admin.ok(r#"{"type":"ban","address":"2001:db8::1","seconds":60}"#);
    assert_danmaku(&post_reply(&mut poster, "still", None), 3, "still");
    assert!(
        m.server.wait_for_log("admin 127.0.0.1: ban 127.0.0.1 for 600 s", Duration::from_secs(2)),
        "{:?}",
        m.server.logs()
    );
}

#[test]
fn slow_mode_allows_one_post_per_interval_and_says_how_long() {
    let m = Moderated::start(&[]);
    let addr = m.addr();
    let (mut poster, _) = Ws::join(addr, "slow");
    let mut admin = Admin::sign_in(addr);
    admin.ok(r#"{"type":"slow","room":"slow","seconds":30}"#);
    assert_danmaku(&post_reply(&mut poster, "first", None), 1, "first");
    let reason = assert_rejected(&post_reply(&mut poster, "second", None), "second");
    let left: Vec<u64> = reason.split(|c: char| !c.is_ascii_digit()).filter_map(|w| w.parse().ok()).collect();
    assert!(left.iter().any(|&s| (28..=30).contains(&s)), "seconds left in {reason:?}");
    // Another connection from the same address is the same poster.
    let (mut other, _) = Ws::join(addr, "slow");
    assert_rejected(&post_reply(&mut other, "sneaky", None), "seconds");
    // Another room is not slowed.
    let (mut elsewhere, _) = Ws::join(addr, "fast");
    assert_danmaku(&post_reply(&mut elsewhere, "quick", None), 1, "quick");
    admin.ok(r#"{"type":"slow","room":"slow","seconds":0}"#);
    assert_danmaku(&post_reply(&mut poster, "now", None), 2, "now");
}

#[test]
fn a_short_slow_interval_runs_out() {
    let m = Moderated::start(&[]);
    let addr = m.addr();
    let (mut poster, _) = Ws::join(addr, "slow1");
    let mut admin = Admin::sign_in(addr);
    admin.ok(r#"{"type":"slow","room":"slow1","seconds":1}"#);
    assert_danmaku(&post_reply(&mut poster, "a", None), 1, "a");
    assert_rejected(&post_reply(&mut poster, "b", None), "1 seconds");
    thread::sleep(Duration::from_millis(1100));
    assert_danmaku(&post_reply(&mut poster, "c", None), 2, "c");
}

#[test]
fn lock_pauses_a_room() {
    let m = Moderated::start(&[]);
    let addr = m.addr();
    let (mut poster, _) = Ws::join(addr, "locked");
    let (mut wall, _) = Ws::join(addr, "locked");
    let mut admin = Admin::sign_in(addr);
    admin.ok(r#"{"type":"lock","room":"locked","on":true}"#);
    admin.ok(r#"{"type":"lock","room":"locked","on":true}"#);
    assert_rejected(&post_reply(&mut poster, "hello", Some("l1")), "paused");
    assert_silent(&mut wall, "nothing while locked");
    let (mut other, _) = Ws::join(addr, "open");
    assert_danmaku(&post_reply(&mut other, "elsewhere", None), 1, "elsewhere");
    admin.ok(r#"{"type":"lock","room":"locked","on":false}"#);
    assert_danmaku(&post_reply(&mut poster, "unlocked", None), 1, "unlocked");
    assert_danmaku(&parse(&wall.recv_text()), 1, "unlocked");
}

// ---------------------------------------------------------------------------------------------
// hold, approve, reject
// ---------------------------------------------------------------------------------------------

#[test]
fn held_posts_wait_for_approval_or_rejection() {
    let m = Moderated::start(&[]);
    let addr = m.addr();
    let (mut poster, _) = Ws::join(addr, "held");
    let (mut wall, _) = Ws::join(addr, "held");
    poster.post("before", None);
    assert_danmaku(&parse(&poster.recv_text()), 1, "before");
    assert_danmaku(&parse(&wall.recv_text()), 1, "before");
    let mut admin = Admin::sign_in(addr);
    admin.ok(r#"{"type":"hold","room":"held","on":true}"#);
    let reply = post_reply(&mut poster, "please", Some("h1"));
    assert_eq!(reply, parse(r#"{"type":"held","ref":"h1"}"#));
    let pending = admin.next("pending");
    assert_eq!((str_of(&pending, "room"), str_of(&pending, "msg")), ("held", "please"), "{pending:?}");
    assert_eq!(str_of(&pending, "from"), "127.0.0.1");
    assert_eq!(str_of(&pending, "color"), "#ffffff");
    let key = str_of(&pending, "key").to_string();
    post_reply(&mut poster, "spam", Some("h2"));
    let rejected_key = str_of(&admin.next("pending"), "key").to_string();
    assert_ne!(key, rejected_key);
    assert_silent(&mut wall, "held posts are not broadcast");
    admin.ok(&format!(r#"{{"type":"reject","room":"held","key":"{rejected_key}"}}"#));
    admin.ok(&format!(r#"{{"type":"approve","room":"held","key":"{key}"}}"#));
    assert_danmaku(&parse(&wall.recv_text()), 2, "please");
    assert_silent(&mut wall, "the rejected post is never broadcast");
    let mut got = [parse(&poster.recv_text()), parse(&poster.recv_text())];
    got.sort_by_key(|v| str_of(v, "type") != "ack");
    assert_eq!(got[0], parse(r#"{"type":"ack","ref":"h1","id":2}"#));
    assert_danmaku(&got[1], 2, "please");
    let post = admin.next("post");
    assert_eq!((str_of(&post, "msg"), num_of(&post, "id"), str_of(&post, "from")), ("please", 2.0, "127.0.0.1"));
    // Decided keys are gone.
    admin.error(&format!(r#"{{"type":"approve","room":"held","key":"{key}"}}"#));
    admin.error(&format!(r#"{{"type":"approve","room":"held","key":"{rejected_key}"}}"#));
    admin.error(&format!(r#"{{"type":"reject","room":"held","key":"{rejected_key}"}}"#));
}

#[test]
fn two_admins_approving_the_same_key_broadcast_it_once() {
    let m = Moderated::start(&[]);
    let addr = m.addr();
    let (mut poster, _) = Ws::join(addr, "race");
    let (mut wall, _) = Ws::join(addr, "race");
    let mut a = Admin::sign_in(addr);
    let mut b = Admin::sign_in(addr);
    a.ok(r#"{"type":"hold","room":"race","on":true}"#);
    post_reply(&mut poster, "once", None);
    let key = str_of(&a.next("pending"), "key").to_string();
    assert_eq!(str_of(&b.next("pending"), "key"), key, "every admin sees the pending post");
    let approve = format!(r#"{{"type":"approve","room":"race","key":"{key}"}}"#);
    a.ws.send_text(&approve);
    b.ws.send_text(&approve);
    let mut verdicts = [str_of(&a.reply(), "type").to_string(), str_of(&b.reply(), "type").to_string()];
    verdicts.sort();
    assert_eq!(verdicts, ["error", "ok"], "exactly one approve succeeds");
    let frames = texts_until_quiet(&mut wall, Duration::from_millis(400));
    assert_eq!(frames.len(), 1, "exactly one broadcast: {frames:?}");
    assert_danmaku(&frames[0], 1, "once");
}

#[test]
fn turning_hold_off_leaves_pending_posts_approvable() {
    let m = Moderated::start(&[]);
    let addr = m.addr();
    let (mut poster, _) = Ws::join(addr, "toggle");
    let (mut wall, _) = Ws::join(addr, "toggle");
    let mut admin = Admin::sign_in(addr);
    admin.ok(r#"{"type":"hold","room":"toggle","on":true}"#);
    assert_eq!(str_of(&post_reply(&mut poster, "waiting", None), "type"), "held");
    let key = str_of(&admin.next("pending"), "key").to_string();
    admin.ok(r#"{"type":"hold","room":"toggle","on":false}"#);
    assert_danmaku(&post_reply(&mut poster, "straight", None), 1, "straight");
    assert_danmaku(&parse(&wall.recv_text()), 1, "straight");
    admin.ok(&format!(r#"{{"type":"approve","room":"toggle","key":"{key}"}}"#));
    assert_danmaku(&parse(&wall.recv_text()), 2, "waiting");
}

#[test]
fn a_held_post_survives_its_room_emptying_and_is_approved_later() {
    let m = Moderated::start(&["--history", "0"]);
    let addr = m.addr();
    let mut admin = Admin::sign_in(addr);
    admin.ok(r#"{"type":"hold","room":"gone","on":true}"#);
    let (mut poster, first) = Ws::join(addr, "gone");
    post_reply(&mut poster, "late", Some("g1"));
    let key = str_of(&admin.next("pending"), "key").to_string();
    drop(poster);
    thread::sleep(Duration::from_millis(300));
    let (mut wall, hello) = Ws::join(addr, "gone");
    assert_eq!(hello.epoch, first.epoch, "a room with a hold and a pending post is not forgotten");
    admin.ok(&format!(r#"{{"type":"approve","room":"gone","key":"{key}"}}"#));
    assert_danmaku(&parse(&wall.recv_text()), 1, "late");
}

// ---------------------------------------------------------------------------------------------
// The blocklist
// ---------------------------------------------------------------------------------------------

fn words_of(path: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(path).unwrap();
    text.lines().filter(|l| !l.trim().is_empty() && !l.starts_with('#')).map(str::to_string).collect()
}

#[test]
fn blocklist_edits_apply_live_persist_and_survive_a_restart() {
    let dir = TempDir::new("blocklist");
    let file = dir.join("blocked.txt");
    std::fs::write(&file, "alpha\n").unwrap();
    let flags = ["--blocklist", file.to_str().unwrap()];
    {
        let m = Moderated::start(&flags);
        let addr = m.addr();
        let (mut poster, _) = Ws::join(addr, "words");
        assert_rejected(&post_reply(&mut poster, "say ALPHA", None), "blocked");
        let mut admin = Admin::sign_in(addr);
        admin.ok(r#"{"type":"blocklist","add":["Beta Gamma"],"remove":["alpha"]}"#);
        assert_danmaku(&post_reply(&mut poster, "say alpha", None), 1, "say alpha");
        assert_rejected(&post_reply(&mut poster, "x beta gamma y", None), "blocked");
        assert_danmaku(&post_reply(&mut poster, "beta alone", None), 2, "beta alone");
        assert!(m.server.wait_for_log("blocklist saved", Duration::from_secs(2)), "{:?}", m.server.logs());
        let words: Vec<String> = words_of(&file).iter().map(|w| w.to_lowercase()).collect();
        assert_eq!(words, ["beta gamma"], "the file after the edit");
        let leftovers: Vec<_> = std::fs::read_dir(&dir.path).unwrap().filter_map(Result::ok).collect();
        assert_eq!(leftovers.len(), 1, "no temporary file left: {leftovers:?}");
        let again = Admin::sign_in(addr);
        let listed: Vec<String> =
            array_of(&again.state, "blocklist").iter().filter_map(Value::as_str).map(str::to_lowercase).collect();
        assert_eq!(listed, ["beta gamma"]);
    }
    let m = Moderated::start(&flags);
    let (mut poster, _) = Ws::join(m.addr(), "words");
    assert_rejected(&post_reply(&mut poster, "BETA GAMMA", None), "blocked");
    assert_danmaku(&post_reply(&mut poster, "alpha", None), 1, "alpha");
    let admin = Admin::sign_in(m.addr());
    let listed: Vec<String> =
        array_of(&admin.state, "blocklist").iter().filter_map(Value::as_str).map(str::to_lowercase).collect();
    assert_eq!(listed, ["beta gamma"], "the comment lines the server wrote are not phrases");
}

#[test]
fn blocklist_edits_without_a_file_apply_live_only() {
    let m = Moderated::start(&[]);
    let addr = m.addr();
    let (mut poster, _) = Ws::join(addr, "nofile");
    let mut admin = Admin::sign_in(addr);
    admin.ok(r#"{"type":"blocklist","add":["forbidden"]}"#);
    assert_rejected(&post_reply(&mut poster, "forbidden fruit", None), "blocked");
    admin.ok(r#"{"type":"blocklist","remove":["forbidden"]}"#);
    assert_danmaku(&post_reply(&mut poster, "forbidden fruit", None), 1, "forbidden fruit");
    assert!(!m.server.log_contains("blocklist saved"));
}

// ---------------------------------------------------------------------------------------------
// The audit log
// ---------------------------------------------------------------------------------------------

#[test]
fn every_admin_action_is_logged_with_the_address_and_never_the_token() {
    let dir = TempDir::new("audit");
    let file = dir.join("blocked.txt");
    std::fs::write(&file, "").unwrap();
    let m = Moderated::start(&["--blocklist", file.to_str().unwrap(), "--log", "debug"]);
    let addr = m.addr();
    let (mut poster, _) = Ws::join(addr, "audit");
    poster.post("x", None);
    poster.recv_text();
    // A failed attempt that carries the real token as a prefix must not log it either.
    let mut ws = Ws::connect(addr, "/admin/ws");
    ws.send_text(&format!(r#"{{"type":"auth","token":"{TOKEN}-wrong"}}"#));
    assert_closed_with(&mut ws, 1008, "wrong token");
    let mut admin = Admin::sign_in(addr);
    admin.ok(r#"{"type":"hold","room":"audit","on":true}"#);
    post_reply(&mut poster, "held one", None);
    let key = str_of(&admin.next("pending"), "key").to_string();
    post_reply(&mut poster, "held two", None);
    let key2 = str_of(&admin.next("pending"), "key").to_string();
    for request in [
        format!(r#"{{"type":"approve","room":"audit","key":"{key}"}}"#),
        format!(r#"{{"type":"reject","room":"audit","key":"{key2}"}}"#),
        r#"{"type":"hold","room":"audit","on":false}"#.to_string(),
        r#"{"type":"delete","room":"audit","id":1}"#.to_string(),
        r#"{"type":"clear","room":"audit"}"#.to_string(),
        r#"{"type":"ban","address":"198.51.100.4","seconds":30}"#.to_string(),
        r#"{"type":"slow","room":"audit","seconds":5}"#.to_string(),
        r#"{"type":"lock","room":"audit","on":true}"#.to_string(),
        r#"{"type":"blocklist","add":["zzz"]}"#.to_string(),
    ] {
        admin.ok(&request);
    }
    thread::sleep(Duration::from_millis(200));
    let logs = m.server.logs();
    assert!(logs.iter().any(|l| l.contains("INFO") && l.contains("admin 127.0.0.1 signed in")), "{logs:?}");
    for what in ["hold", "approve", "reject", "delete", "clear", "ban", "slow", "lock", "blocklist"] {
        let prefix = format!("admin 127.0.0.1: {what} ");
        assert!(logs.iter().any(|l| l.contains("INFO") && l.contains(&prefix)), "no {prefix:?} line: {logs:?}");
    }
    assert_token_never_logged(&logs);
}

#[test]
fn admins_hear_of_rooms_appearing_and_changing() {
    let m = Moderated::start(&[]);
    let addr = m.addr();
    let mut admin = Admin::sign_in(addr);
    assert!(array_of(&admin.state, "rooms").is_empty(), "{:?}", admin.state);
    let started = Instant::now();
    let (mut ws, _) = Ws::join(addr, "fresh");
    let update = admin.next("room");
    assert!(started.elapsed() < Duration::from_millis(1500), "the update came after {:?}", started.elapsed());
    assert_eq!((str_of(&update, "room"), num_of(&update, "members"), num_of(&update, "last")), ("fresh", 1.0, 0.0));
    ws.post("one", None);
    ws.recv_text();
    let post = admin.next("post");
    assert_eq!((str_of(&post, "room"), num_of(&post, "id"), str_of(&post, "from")), ("fresh", 1.0, "127.0.0.1"));
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        let update = admin.next("room");
        if num_of(&update, "last") == 1.0 {
            break;
        }
        assert!(Instant::now() < deadline, "no room update with last 1");
    }
    drop(ws);
    loop {
        let update = admin.next("room");
        if num_of(&update, "members") == 0.0 {
            break;
        }
        assert!(Instant::now() < deadline, "no room update with 0 members");
    }
}
