//! The opening handshake (RFC 6455 §4) against the real binary: the 101 and its accept key,
//! every refusal and its status, room names, the origin rule and `/echo`.

mod common;

use common::{Response, Server, UpgradeRequest, Ws, http};

use danmaku_wall::kit::upgrade::{RFC_ACCEPT, RFC_KEY};

/// An upgrade request for `target`: the standard header lines, minus those whose name is in
/// `drop`, plus `extra` lines.
fn upgrade(server: &Server, target: &str, drop: &[&str], extra: &[&str]) -> Response {
    upgrade_version(server, target, "HTTP/1.1", drop, extra)
}

fn upgrade_version(server: &Server, target: &str, version: &str, drop: &[&str], extra: &[&str]) -> Response {
    let mut req = UpgradeRequest::new(&server.host(), target, RFC_KEY).version(version);
    for name in drop {
        req = req.without(name);
    }
    for line in extra {
        req = req.with(line);
    }
    http(server.addr(), &req.bytes())
}

fn assert_101(r: &Response, what: &str) {
    assert_eq!(r.status, 101, "{what}: {r:?}");
    assert_eq!(r.header("sec-websocket-accept"), Some(RFC_ACCEPT), "{what}");
    assert!(r.header("upgrade").is_some_and(|v| v.eq_ignore_ascii_case("websocket")), "{what}: Upgrade header");
    assert!(
        r.header("connection").is_some_and(|v| v.to_ascii_lowercase().contains("upgrade")),
        "{what}: Connection header"
    );
    assert!(r.body.is_empty());
}

#[test]
fn good_upgrade_gets_101_with_the_rfc_accept_key() {
    let server = Server::start(&[]);
    assert_101(&upgrade(&server, "/ws", &[], &[]), "/ws");
    assert_101(&upgrade(&server, "/ws?room=lobby", &[], &[]), "/ws?room=lobby");
    // Tokens are case-insensitive and may sit in lists.
    let r =
        upgrade(&server, "/ws", &["Upgrade", "Connection"], &["upgrade: WebSocket", "connection: keep-alive, UPGRADE"]);
    assert_101(&r, "mixed-case tokens");
    // The client of the crate agrees (random key, full check of the answer).
    let mut ws = Ws::connect(server.addr(), "/ws?room=x");
    ws.assert_alive();
}

#[test]
fn bad_upgrades_are_400() {
    let server = Server::start(&[]);
    let cases: [(&str, &[&str], &[&str]); 6] = [
        ("missing key", &["Sec-WebSocket-Key"], &[]),
        ("malformed key", &["Sec-WebSocket-Key"], &["Sec-WebSocket-Key: not-base64!"]),
        ("key of 15 bytes", &["Sec-WebSocket-Key"], &["Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAA"]),
        ("key of 17 bytes", &["Sec-WebSocket-Key"], &["Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAAA="]),
        ("no Connection: upgrade", &["Connection"], &["Connection: keep-alive"]),
        ("missing version", &["Sec-WebSocket-Version"], &[]),
    ];
    for (what, drop, extra) in cases {
        let r = upgrade(&server, "/ws", drop, extra);
        assert_eq!(r.status, 400, "{what}: {r:?}");
        assert!(r.header("sec-websocket-accept").is_none(), "{what}");
    }
    let r = upgrade(&server, "/ws", &["Connection"], &[]);
    assert_eq!(r.status, 400, "no Connection header at all");
    let r = upgrade_version(&server, "/ws", "HTTP/1.0", &[], &[]);
    assert_eq!(r.status, 400, "HTTP/1.0: {r:?}");
}

#[test]
fn other_versions_get_426_with_version_13() {
    let server = Server::start(&[]);
    for version in ["8", "12", "14", "abc"] {
        let line = format!("Sec-WebSocket-Version: {version}");
        let r = upgrade(&server, "/ws", &["Sec-WebSocket-Version"], &[&line]);
        assert_eq!(r.status, 426, "version {version}");
        assert_eq!(r.header("sec-websocket-version"), Some("13"), "version {version}");
    }
}

#[test]
fn plain_get_on_ws_is_426() {
    let server = Server::start(&[]);
    let r = http(
        server.addr(),
        format!("GET /ws HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n", server.host()).as_bytes(),
    );
    assert_eq!(r.status, 426);
    assert!(r.header("upgrade").is_some_and(|v| v.eq_ignore_ascii_case("websocket")), "426 names the protocol: {r:?}");
}

#[test]
fn invalid_room_names_are_400() {
    let server = Server::start(&[]);
    let long_ok = "a".repeat(32);
    let too_long = "a".repeat(33);
    for room in ["a%20b", "", "ab!", "a.b", "\u{e9}t\u{e9}", too_long.as_str()] {
        let target = format!("/ws?room={room}");
        assert_eq!(upgrade(&server, &target, &[], &[]).status, 400, "{target}");
    }
    // A raw space cannot even be a request line.
    assert_eq!(upgrade(&server, "/ws?room=a b", &[], &[]).status, 400);
    for target in [
        format!("/ws?room={long_ok}"),
        "/ws?room=Az09-_".to_string(),
        "/ws?x=1&room=ok".to_string(),
        "/ws?room=ok&room=bad!".to_string(),
    ] {
        assert_101(&upgrade(&server, &target, &[], &[]), &target);
    }
}

#[test]
fn cross_origin_is_403_and_same_origin_is_allowed() {
    let server = Server::start(&[]);
    let evil = upgrade(&server, "/ws", &[], &["Origin: http://evil.example"]);
    assert_eq!(evil.status, 403);
    assert!(evil.header("sec-websocket-accept").is_none());
    let other_port = format!("Origin: http://127.0.0.1:{}", server.port().wrapping_add(1).max(1));
    assert_eq!(upgrade(&server, "/ws", &[], &[&other_port]).status, 403, "another port is another origin");
    assert_eq!(upgrade(&server, "/ws", &[], &["Origin: null"]).status, 403);
    let same = format!("Origin: http://{}", server.host());
    assert_101(&upgrade(&server, "/ws", &[], &[&same]), "same origin");
    assert_101(&upgrade(&server, "/ws", &[], &[]), "no Origin");
}

#[test]
fn allow_origin_widens_the_rule() {
    let server = Server::start(&["--allow-origin", "http://evil.example"]);
    assert_101(&upgrade(&server, "/ws", &[], &["Origin: http://evil.example"]), "allowed origin");
    assert_eq!(upgrade(&server, "/ws", &[], &["Origin: http://other.example"]).status, 403);
    let same = format!("Origin: http://{}", server.host());
    assert_101(&upgrade(&server, "/ws", &[], &[&same]), "same origin still allowed");

    let any = Server::start(&["--allow-origin", "*"]);
    assert_101(&upgrade(&any, "/ws", &[], &["Origin: http://evil.example"]), "* allows any");
    assert_101(&upgrade(&any, "/ws", &[], &["Origin: https://whatever.example:8443"]), "* allows any");
}

#[test]
fn echo_is_404_unless_enabled() {
    let off = Server::start(&[]);
    assert_eq!(upgrade(&off, "/echo", &[], &[]).status, 404);
    let on = Server::start(&["--echo"]);
    assert_101(&upgrade(&on, "/echo", &[], &[]), "/echo with --echo");
    let mut ws = Ws::connect(on.addr(), "/echo");
    ws.send_text("hello");
    assert_eq!(ws.recv_text(), "hello");
}

#[test]
fn a_dribbled_handshake_works() {
    let server = Server::start(&[]);
    let mut ws = Ws::connect_dribbled(server.addr(), "/ws?room=slow").expect("dribbled handshake");
    ws.assert_alive();
}

#[test]
fn frames_sent_with_the_handshake_are_not_lost() {
    let server = Server::start(&["--echo"]);
    let addr = server.addr();
    let mut raw = common::upgrade_request(addr, "/echo");
    raw.extend(common::client_frame(true, common::TEXT, b"early", [1, 2, 3, 4]));
    let mut c = common::HttpClient::connect(addr);
    c.send(&raw);
    let r = c.read_response(false);
    assert_eq!(r.status, 101);
    let mut ws = c.into_ws();
    assert_eq!(ws.recv_text(), "early");
}
