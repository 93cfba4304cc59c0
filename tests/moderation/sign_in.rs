//! Turning moderation on and signing in: a token is required and must be long enough; every
//! way of being refused (wrong token, another first message, the query string, too many
//! failures, no auth in time, another origin, too big a message).

use std::time::{Duration, Instant};

use danmaku_wall::kit::spawn::{ServerProcess, SpawnOptions};

use crate::admin::{Admin, Moderated, TOKEN, binary};
use crate::common::{self, CLOSE, Recv, Server, TempDir, Ws};
use crate::support::{
    array_of, assert_closed_with, assert_danmaku, assert_silent, parse, str_of, texts_until_quiet, upgrade_status,
};

pub fn admin_is_404_without_a_token() {
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

pub fn a_short_or_missing_token_exits_2() {
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

pub fn wrong_token_or_another_first_message_closes_1008_without_admin_data() {
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

pub fn a_token_in_the_query_string_does_not_authenticate() {
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

pub fn five_failures_within_a_minute_earn_429() {
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

pub fn no_auth_within_10_seconds_closes_1008() {
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

pub fn cross_origin_admin_upgrades_get_403_even_with_allow_origin_star() {
    let m = Moderated::start(&["--allow-origin", "*"]);
    let addr = m.addr();
    let evil = "Origin: http://evil.example";
    assert_eq!(upgrade_status(addr, "/admin/ws", &[evil]), 403);
    assert_eq!(upgrade_status(addr, "/ws", &[evil]), 101, "--allow-origin * widens /ws");
    assert_eq!(upgrade_status(addr, "/admin/ws", &[&format!("Origin: http://{addr}")]), 101);
    assert_eq!(upgrade_status(addr, "/admin/ws", &[]), 101, "no Origin: not a browser");
}

pub fn admin_requests_on_ws_are_just_invalid_posts() {
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

pub fn an_oversized_admin_message_closes_1009() {
    let m = Moderated::start(&["--max-message", "1024"]);
    let mut admin = Admin::sign_in(m.addr());
    let big = format!(r#"{{"type":"blocklist","add":["{}"]}}"#, "a".repeat(1100));
    admin.ws.send_text(&big);
    assert_eq!(admin.ws.recv_close(), Some(1009));
    let mut ws = Ws::connect(m.addr(), "/admin/ws");
    ws.send_text(&format!(r#"{{"type":"auth","token":"{TOKEN}","pad":"{}"}}"#, "p".repeat(1100)));
    assert_eq!(ws.recv_close(), Some(1009), "before auth too");
}
