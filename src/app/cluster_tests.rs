use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use super::*;
use crate::protocol::redis_session::SessionRole;
use crate::wall::Wall;
use crate::wall::blocklist::Blocklist;
use crate::wall::danmaku::parse_post;
use crate::wall::history::HistoryLimits;
use crate::wall::room::Rooms;

const CHANNEL: &str = "danmaku:{r}:live:0";

fn bulk(s: &str) -> String {
    format!("${}\r\n{s}\r\n", s.len())
}

fn cluster() -> Cluster {
    let url = RedisUrl::parse("redis://127.0.0.1:6379").unwrap();
    let policy = HistoryPolicy { size: 100, age_ms: 60_000, key_ttl_secs: KEY_TTL_SECS };
    Cluster::new(&url, "danmaku:".into(), policy, 1 << 20, 42)
}

fn at(now: Instant) -> Time {
    Time { now, unix_ms: 1_700_000_000_000 }
}

/// The handshake's answers: three SCRIPT LOADs, then PONG.
fn handshake(c: &mut Cluster, role: SessionRole, now: Instant) {
    c.start_session(role, now);
    let sha = bulk(&"0".repeat(40));
    let replies = format!("{sha}{sha}{sha}+PONG\r\n");
    c.feed(role, replies.as_bytes(), at(now), &mut Vec::new());
}

fn member() -> Member {
    let limits = HistoryLimits { max_len: 10, ttl: Duration::from_secs(60) };
    let mut wall = Wall::new(Rooms::new(10, limits, 0), 0, Blocklist::default());
    wall.join("r", 1, IpAddr::V4(Ipv4Addr::LOCALHOST), Instant::now()).unwrap()
}

fn read_reply(epoch: &str, top: u64, entries: &[(&str, &str)]) -> String {
    let mut out = format!("*5\r\n{}:{top}\r\n:0\r\n:0\r\n*{}\r\n", bulk(epoch), entries.len() * 2);
    for (id, json) in entries {
        out += &bulk(id);
        out += &bulk(json);
    }
    out
}

fn live(epoch: &str, pos: &str, id: u64) -> String {
    let payload = format!("{epoch}|{pos}|{{\"type\":\"danmaku\",\"id\":{id}}}");
    format!("*3\r\n{}{}{}", bulk("message"), bulk(CHANNEL), bulk(&payload))
}

fn texts(actions: &[Action]) -> Vec<String> {
    actions
        .iter()
        .map(|a| match a {
            Action::Send { to, frame: Frame::Owned(b) } => format!("send {to} {}", String::from_utf8_lossy(&b[2..])),
            Action::Send { to, frame: Frame::Shared(b) } => format!("send {to} {}", String::from_utf8_lossy(&b[2..])),
            Action::Broadcast { frame, .. } => format!("all {}", String::from_utf8_lossy(&frame[2..])),
            Action::Admit { to } => format!("admit {to}"),
            other => format!("{other:?}"),
        })
        .collect()
}

#[test]
fn posts_are_refused_while_redis_is_away() {
    let mut c = cluster();
    let now = Instant::now();
    c.join(3, &member(), "r", (None, None), now);
    let post = parse_post(r#"{"msg":"hi","ref":"a"}"#).unwrap();
    let accepted = Accepted { room: 0, danmaku: post.danmaku, reference: post.reference, from: member().client };
    let mut actions = Vec::new();
    c.publish(Some(3), &"r".into(), accepted, at(now), &mut actions);
    assert!(!c.is_up());
    assert_eq!(texts(&actions), vec![format!(r#"send 3 {{"type":"error","error":"{UNAVAILABLE}","ref":"a"}}"#)]);
    assert_eq!(c.posts_refused, 1, "counted as rejected in /metrics");
}

#[test]
fn a_wall_is_greeted_then_gets_live_danmaku_in_order_and_gaps_read() {
    let mut c = cluster();
    let now = Instant::now();
    handshake(&mut c, SessionRole::Commands, now);
    handshake(&mut c, SessionRole::Subscriber, now);
    assert!(c.is_up());
    c.join(1, &member(), "r", (None, None), now);
    assert!(!c.delivers_to(1), "not before its hello");
    assert!(String::from_utf8_lossy(&c.take_output(SessionRole::Subscriber)).contains(CHANNEL));
    let confirm = format!("*3\r\n{}{}:1\r\n", bulk("subscribe"), bulk(CHANNEL));
    let mut actions = Vec::new();
    c.feed(SessionRole::Subscriber, confirm.as_bytes(), at(now), &mut actions);
    assert!(String::from_utf8_lossy(&c.take_output(SessionRole::Commands)).contains("EVALSHA"), "the sync read");
    // Live danmaku 1 arrives before the read's reply (which says top 0): kept, then delivered.
    c.feed(SessionRole::Subscriber, live("E", "1-0", 1).as_bytes(), at(now), &mut actions);
    assert!(actions.is_empty());
    c.feed(SessionRole::Commands, read_reply("E", 0, &[]).as_bytes(), at(now), &mut actions);
    assert_eq!(
        texts(&actions),
        vec![
            r#"send 1 {"type":"hello","room":"r","epoch":"E","last":0}"#,
            "admit 1",
            r#"all {"type":"danmaku","id":1}"#
        ]
    );
    c.admit(1);
    assert!(c.delivers_to(1));
    // A jump from 1 to 4: read 2 and 3 first, then 4, in order.
    actions.clear();
    c.feed(SessionRole::Subscriber, live("E", "4-0", 4).as_bytes(), at(now), &mut actions);
    assert!(actions.is_empty(), "nothing out of order");
    assert!(String::from_utf8_lossy(&c.take_output(SessionRole::Commands)).contains("1-1"), "read after 1");
    let entries = [("2-0", r#"{"type":"danmaku","id":2}"#), ("3-0", r#"{"type":"danmaku","id":3}"#)];
    c.feed(SessionRole::Commands, read_reply("E", 3, &entries).as_bytes(), at(now), &mut actions);
    let ids: Vec<String> = texts(&actions);
    assert_eq!(
        ids,
        vec![
            r#"all {"type":"danmaku","id":2}"#,
            r#"all {"type":"danmaku","id":3}"#,
            r#"all {"type":"danmaku","id":4}"#
        ]
    );
    // A repeat is dropped.
    actions.clear();
    c.feed(SessionRole::Subscriber, live("E", "4-0", 4).as_bytes(), at(now), &mut actions);
    assert!(actions.is_empty());
}

#[test]
fn losing_the_subscriber_takes_the_node_down() {
    let mut c = cluster();
    let now = Instant::now();
    handshake(&mut c, SessionRole::Commands, now);
    handshake(&mut c, SessionRole::Subscriber, now);
    assert!(c.is_up());
    let mut actions = Vec::new();
    // No byte for PING_INTERVAL: a probe; no answer within REPLY_TIMEOUT: down.
    c.on_timer(at(now + PING_INTERVAL), &mut actions);
    assert!(c.is_up());
    c.on_timer(at(now + PING_INTERVAL + REPLY_TIMEOUT + Duration::from_millis(1)), &mut actions);
    assert!(!c.is_up() && c.session_failed(SessionRole::Subscriber));
}

/// A node up with wall 1 greeted in room `r` (epoch `E`, nothing posted yet).
fn synced(now: Instant) -> Cluster {
    let mut c = cluster();
    handshake(&mut c, SessionRole::Commands, now);
    handshake(&mut c, SessionRole::Subscriber, now);
    c.join(1, &member(), "r", (None, None), now);
    let confirm = format!("*3\r\n{}{}:1\r\n", bulk("subscribe"), bulk(CHANNEL));
    c.feed(SessionRole::Subscriber, confirm.as_bytes(), at(now), &mut Vec::new());
    c.feed(SessionRole::Commands, read_reply("E", 0, &[]).as_bytes(), at(now), &mut Vec::new());
    c.admit(1);
    c.take_output(SessionRole::Commands);
    c
}

/// Wall 1 posts with `ref`; the script's reply (`*2 $E :id`) and the channel message come in
/// the order given; returns what the node did, in order.
fn post_and_answer(c: &mut Cluster, reply_first: bool, now: Instant) -> Vec<String> {
    let post = parse_post(r#"{"msg":"hi","ref":"a"}"#).unwrap();
    let accepted = Accepted { room: 0, danmaku: post.danmaku, reference: post.reference, from: member().client };
    let mut actions = Vec::new();
    c.publish(Some(1), &"r".into(), accepted, at(now), &mut actions);
    let reply = format!("*2\r\n{}:1\r\n", bulk("E"));
    let mut steps = [(SessionRole::Commands, reply), (SessionRole::Subscriber, live("E", "1-0", 1))];
    if !reply_first {
        steps.reverse();
    }
    for (role, bytes) in steps {
        c.feed(role, bytes.as_bytes(), at(now), &mut actions);
    }
    texts(&actions).into_iter().filter(|t| !t.starts_with("ToAdmins")).collect()
}

/// The contract: the sender's `ack` comes once its post is broadcast. In a cluster the
/// script's reply may come before the channel message: the ack waits for the delivery.
#[test]
fn an_ack_never_goes_out_before_its_danmaku() {
    let now = Instant::now();
    for reply_first in [true, false] {
        let mut c = synced(now);
        let done = post_and_answer(&mut c, reply_first, now);
        assert_eq!(
            done,
            vec![
                r#"all {"type":"danmaku","id":1}"#.to_string(),
                r#"send 1 {"type":"ack","ref":"a","id":1}"#.to_string()
            ],
            "reply first: {reply_first}"
        );
    }
}

/// Redis goes away after numbering a post but before its channel message: the poster gets its
/// ack now (Redis took the post), not after the outage.
#[test]
fn losing_redis_releases_the_acks_that_wait() {
    let now = Instant::now();
    let mut c = synced(now);
    let post = parse_post(r#"{"msg":"hi","ref":"a"}"#).unwrap();
    let accepted = Accepted { room: 0, danmaku: post.danmaku, reference: post.reference, from: member().client };
    let mut actions = Vec::new();
    c.publish(Some(1), &"r".into(), accepted, at(now), &mut actions);
    let reply = format!("*2\r\n{}:1\r\n", bulk("E"));
    c.feed(SessionRole::Commands, reply.as_bytes(), at(now), &mut actions);
    let acks = |actions: &[Action]| texts(actions).into_iter().filter(|t| t.contains("ack")).count();
    assert_eq!(acks(&actions), 0, "waiting for the danmaku");
    c.closed(SessionRole::Subscriber, at(now), &mut actions);
    assert!(!c.is_up());
    assert_eq!(texts(&actions).last().map(String::as_str), Some(r#"send 1 {"type":"ack","ref":"a","id":1}"#));
}

/// Once up and on the admin bus, a node asks the others what they hold, once; again after it
/// lost the subscriber and came back. Their answers and requests reach the app.
#[test]
fn a_node_on_the_admin_bus_asks_what_the_others_hold() {
    let now = Instant::now();
    let mut c = synced(now);
    let admin = format!("*3\r\n{}{}:2\r\n", bulk("subscribe"), bulk("danmaku:admin:0"));
    let asks = |c: &mut Cluster, bytes: &str| {
        let mut actions = Vec::new();
        c.feed(SessionRole::Subscriber, bytes.as_bytes(), at(now), &mut actions);
        actions.iter().filter(|a| matches!(a, Action::AskHolds)).count()
    };
    assert_eq!(asks(&mut c, &admin), 1);
    assert_eq!(asks(&mut c, &admin), 0, "once");
    c.closed(SessionRole::Subscriber, at(now), &mut Vec::new());
    handshake(&mut c, SessionRole::Subscriber, now);
    c.take_output(SessionRole::Subscriber);
    assert_eq!(asks(&mut c, &admin), 1, "again once back");
    let mut actions = Vec::new();
    c.on_bus(b"other|sync|", &mut actions);
    c.on_bus(br#"other|held|{"type":"pending","room":"r","key":"other-p1"}"#, &mut actions);
    c.on_bus(&format!("{}|sync|", c.node).into_bytes(), &mut actions);
    assert_eq!(
        texts(&actions),
        [r#"HoldsWanted"#, r#"HeldElsewhere("{\"type\":\"pending\",\"room\":\"r\",\"key\":\"other-p1\"}")"#]
    );
}

/// Redis answers a room's read with an error (out of memory, say): the read is tried again
/// after READ_RETRY, not never (the joining wall would wait for its hello forever) and not at
/// once (a loop); then the wall is greeted.
#[test]
fn a_refused_read_is_tried_again_shortly() {
    let now = Instant::now();
    let mut c = synced(now);
    c.join(2, &member(), "r", (Some(0), None), now);
    assert!(String::from_utf8_lossy(&c.take_output(SessionRole::Commands)).contains("EVALSHA"), "the read");
    let mut actions = Vec::new();
    c.feed(SessionRole::Commands, b"-OOM command not allowed\r\n", at(now), &mut actions);
    assert!(actions.is_empty() && c.take_output(SessionRole::Commands).is_empty(), "no hello, no loop");
    assert_eq!(c.next_wake().map(|w| w <= now + READ_RETRY), Some(true));
    c.on_timer(at(now + READ_RETRY), &mut actions);
    assert!(String::from_utf8_lossy(&c.take_output(SessionRole::Commands)).contains("EVALSHA"), "read again");
    c.feed(SessionRole::Commands, read_reply("E", 0, &[]).as_bytes(), at(now), &mut actions);
    assert!(texts(&actions).iter().any(|t| t.starts_with(r#"send 2 {"type":"hello""#)), "{:?}", texts(&actions));
}
