//! The admin actions on rooms and addresses: the `state` after signing in, delete, clear,
//! ban, slow mode and lock, and what walls and posters see of each.

use std::thread;
use std::time::Duration;

use danmaku_wall::wire::json::Value;

use crate::admin::{Admin, Moderated};
use crate::common::{self, TempDir, Ws};
use crate::support::{
    array_of, assert_danmaku, assert_rejected, assert_silent, num_of, parse, post_reply, str_of, texts_until_quiet,
};

pub fn state_after_auth_lists_rooms_blocklist_and_bans() {
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

pub fn delete_reaches_walls_and_is_replayed_as_an_event_not_as_the_danmaku() {
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

pub fn clear_reaches_walls_and_nothing_before_it_is_replayed() {
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

pub fn ban_mutes_an_address_until_lifted_or_expired() {
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

pub fn slow_mode_allows_one_post_per_interval_and_says_how_long() {
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

pub fn a_short_slow_interval_runs_out() {
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

pub fn lock_pauses_a_room() {
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
