//! Holding posts for approval: held, approved or rejected, by one admin or two, after the
//! hold is lifted or the room has emptied.

use std::thread;
use std::time::Duration;

use crate::common::Ws;

use crate::admin::{Admin, Moderated};
use crate::support::{assert_danmaku, assert_silent, num_of, parse, post_reply, str_of, texts_until_quiet};

pub fn held_posts_wait_for_approval_or_rejection() {
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

pub fn two_admins_approving_the_same_key_broadcast_it_once() {
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

pub fn turning_hold_off_leaves_pending_posts_approvable() {
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

pub fn a_held_post_survives_its_room_emptying_and_is_approved_later() {
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
