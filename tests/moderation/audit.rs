//! The audit log (every admin action, with the admin's address and never the token) and
//! the admins' feed of rooms appearing and changing.

use std::thread;
use std::time::{Duration, Instant};

use crate::admin::{Admin, Moderated, TOKEN, assert_token_never_logged};
use crate::common::{TempDir, Ws};
use crate::support::{array_of, assert_closed_with, num_of, post_reply, str_of};

pub fn every_admin_action_is_logged_with_the_address_and_never_the_token() {
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

pub fn admins_hear_of_rooms_appearing_and_changing() {
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
