//! What every admin sees (INTERFACE.md, "Moderation" and "Cluster"), against the real binary:
//! the posts still waiting for review reach an admin who signs in late, a post decided by one
//! admin leaves every other admin's list (`decided`), and in a cluster the `room` entries follow
//! the danmaku Redis numbers, keys nobody holds are refused, and nodes on other databases share
//! nothing. Redis is a private `redis-server` on a free port (tests/common/redis.rs).

mod common;
#[path = "common/redis.rs"]
#[allow(dead_code)] // each test target uses a part of it
mod redis;

use std::net::SocketAddr;
use std::thread;
use std::time::{Duration, Instant};

use common::{Recv, Server, TempDir, Ws, get};
use danmaku_wall::wire::json::{self, Value};
use redis::Redis;

const TOKEN: &str = "admin-views-token-0123";
const WAIT: Duration = Duration::from_secs(5);

/// A token file for `--admin-token-file`.
fn token_dir() -> TempDir {
    let dir = TempDir::new("admin-views");
    std::fs::write(dir.join("token"), TOKEN).unwrap();
    dir
}

fn start(dir: &TempDir, extra: &[&str]) -> Server {
    let token = dir.join("token");
    let mut flags = vec!["--admin-token-file", token.to_str().unwrap(), "--rate", "0"];
    flags.extend_from_slice(extra);
    let server = Server::start(&flags);
    let deadline = Instant::now() + Duration::from_secs(10);
    while get(server.addr(), "/healthz").status != 200 {
        assert!(Instant::now() < deadline, "/healthz never said 200");
        thread::sleep(Duration::from_millis(50));
    }
    server
}

fn parse(text: &str) -> Value {
    json::parse(text, 16).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

fn field<'v>(v: &'v Value, key: &str) -> &'v str {
    v.get(key).and_then(Value::as_str).unwrap_or_else(|| panic!("no string {key} in {v:?}"))
}

/// The next text message that `want` accepts, skipping others; panics after `within`.
fn wait_for(ws: &mut Ws, within: Duration, want: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + within;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match ws.recv_within(left) {
            Recv::Frame(f) if f.opcode == common::TEXT => {
                let v = parse(f.text());
                if want(&v) {
                    return v;
                }
            }
            Recv::Frame(_) => {}
            other => panic!("waited {within:?} for a message: {other:?}"),
        }
    }
}

/// Every text message of type `kind` that arrives within `quiet`.
fn collect(ws: &mut Ws, kind: &str, quiet: Duration) -> Vec<Value> {
    let deadline = Instant::now() + quiet;
    let mut seen = Vec::new();
    while let Recv::Frame(f) = ws.recv_within(deadline.saturating_duration_since(Instant::now())) {
        if f.opcode == common::TEXT && f.text().contains(&format!(r#""type":"{kind}""#)) {
            seen.push(parse(f.text()));
        }
    }
    seen
}

fn is(kind: &'static str) -> impl Fn(&Value) -> bool {
    move |v| v.get("type").and_then(Value::as_str) == Some(kind)
}

/// A signed-in admin on `addr`, its `state` read.
fn admin(addr: SocketAddr) -> Ws {
    let mut ws = Ws::connect(addr, "/admin/ws");
    ws.send_text(&format!(r#"{{"type":"auth","token":"{TOKEN}"}}"#));
    wait_for(&mut ws, WAIT, is("state"));
    ws
}

/// Sends `request`; its one reply (`ok` or `error`).
fn request(ws: &mut Ws, request: &str) -> Value {
    ws.send_text(request);
    wait_for(ws, WAIT, |v| is("ok")(v) || is("error")(v))
}

fn request_ok(ws: &mut Ws, text: &str) {
    let reply = request(ws, text);
    assert!(is("ok")(&reply), "{text} -> {reply:?}");
}

/// Posts `msg` (with a `ref`) and returns the answer (`held`, `ack` or `error`).
fn post(ws: &mut Ws, msg: &str) -> Value {
    ws.post(msg, Some(msg));
    wait_for(ws, WAIT, |v| ["held", "ack", "error"].iter().any(|k| is(k)(v)))
}

fn keys_of(pending: &[Value]) -> Vec<String> {
    pending.iter().map(|v| field(v, "key").to_string()).collect()
}

#[test]
fn a_late_admin_sees_what_waits_and_every_admin_hears_what_was_decided() {
    let dir = token_dir();
    let server = start(&dir, &[]);
    let mut first = admin(server.addr());
    request_ok(&mut first, r#"{"type":"hold","room":"r","on":true}"#);
    let (mut poster, _) = Ws::join(server.addr(), "r");
    for msg in ["one", "two"] {
        assert!(is("held")(&post(&mut poster, msg)));
    }
    let keys = keys_of(&collect(&mut first, "pending", Duration::from_millis(300)));
    assert_eq!(keys.len(), 2, "the first admin saw both as they were held");
    // An admin who signs in now gets both right after its state.
    let mut late = admin(server.addr());
    let waiting = collect(&mut late, "pending", Duration::from_millis(500));
    assert_eq!(keys_of(&waiting), keys);
    assert_eq!(field(&waiting[0], "msg"), "one");
    // One decides, the other hears of it; the one who decided gets its ok and no `decided`.
    request_ok(&mut first, &format!(r#"{{"type":"approve","room":"r","key":"{}"}}"#, keys[0]));
    let decided = wait_for(&mut late, WAIT, is("decided"));
    assert_eq!((field(&decided, "room"), field(&decided, "key")), ("r", keys[0].as_str()));
    assert_eq!(decided.get("approved"), Some(&Value::Bool(true)));
    request_ok(&mut late, &format!(r#"{{"type":"reject","room":"r","key":"{}"}}"#, keys[1]));
    let decided = wait_for(&mut first, WAIT, is("decided"));
    assert_eq!((field(&decided, "key"), decided.get("approved")), (keys[1].as_str(), Some(&Value::Bool(false))));
    assert!(collect(&mut first, "decided", Duration::from_millis(300)).is_empty(), "not its own decision");
    assert!(collect(&mut late, "decided", Duration::from_millis(100)).is_empty(), "not its own decision");
    // Nothing waits any more: a new sign-in gets no pending entry.
    let mut again = admin(server.addr());
    assert!(collect(&mut again, "pending", Duration::from_millis(300)).is_empty());
}

/// A setting on a room without members keeps the room; turning it off forgets the room at once,
/// and the other admins still hear that it is off (its last `room` entry).
#[test]
fn turning_a_setting_off_on_an_empty_room_reaches_the_other_admins() {
    let dir = token_dir();
    let server = start(&dir, &[]);
    let (mut one, mut other) = (admin(server.addr()), admin(server.addr()));
    for on in [true, false] {
        request_ok(&mut one, &format!(r#"{{"type":"lock","room":"empty","on":{on}}}"#));
        let entry = wait_for(&mut other, WAIT, |v| is("room")(v) && field(v, "room") == "empty");
        assert_eq!(entry.get("lock"), Some(&Value::Bool(on)), "{entry:?}");
    }
}

fn node(redis: &str, dir: &TempDir) -> Server {
    start(dir, &["--redis", redis])
}

#[test]
fn nodes_on_other_databases_share_nothing() {
    let redis = Redis::start(&[]);
    let dir = token_dir();
    let (zero, one) = (node(&format!("{}/0", redis.url()), &dir), node(&format!("{}/1", redis.url()), &dir));
    let mut admin_zero = admin(zero.addr());
    let (mut wall_zero, _) = Ws::join(zero.addr(), "m");
    let (mut poster_one, _) = Ws::join(one.addr(), "m");
    let mut admin_one = admin(one.addr());
    assert!(is("ack")(&post(&mut poster_one, "db1")), "database 1 numbers its own post");
    // A lock on database 1's room `m` leaves database 0's room `m` open.
    request_ok(&mut admin_one, r#"{"type":"lock","room":"m","on":true}"#);
    let locked = post(&mut poster_one, "locked");
    assert!(is("error")(&locked) && field(&locked, "error").contains("paused"), "{locked:?}");
    thread::sleep(Duration::from_millis(300));
    let (mut poster_zero, _) = Ws::join(zero.addr(), "m");
    let answer = post(&mut poster_zero, "db0");
    assert!(is("ack")(&answer), "database 0's room is not locked: {answer:?}");
    let ids: Vec<String> = collect(&mut wall_zero, "danmaku", Duration::from_millis(800))
        .iter()
        .map(|v| field(v, "msg").to_string())
        .collect();
    assert_eq!(ids, ["db0"], "the wall on database 0 sees only database 0's danmaku");
    let feed = collect(&mut admin_zero, "post", Duration::from_millis(300));
    assert!(feed.iter().all(|v| field(v, "msg") == "db0"), "admin on database 0 saw {feed:?}");
}

#[test]
fn cluster_admins_see_last_ids_and_waiting_posts_and_unknown_keys_fail() {
    let redis = Redis::start(&[]);
    let dir = token_dir();
    let (a, b) = (node(&redis.url(), &dir), node(&redis.url(), &dir));
    let mut admin_a = admin(a.addr());
    let (_wall_a, _) = Ws::join(a.addr(), "m");
    let (mut poster_b, _) = Ws::join(b.addr(), "m");
    // A danmaku posted on B, numbered by Redis: node A's admin gets a `room` entry with it.
    assert!(is("ack")(&post(&mut poster_b, "first")));
    let room = wait_for(&mut admin_a, WAIT, |v| is("room")(v) && v.get("last").and_then(Value::as_f64) == Some(1.0));
    assert_eq!(field(&room, "room"), "m");
    for key in ["nonsense", "p1", "zz-p1"] {
        let reply = request(&mut admin_a, &format!(r#"{{"type":"approve","room":"m","key":"{key}"}}"#));
        assert!(is("error")(&reply), "approve {key} -> {reply:?}");
    }
    // A post held on B: an admin signing in on A later sees it, and A may approve it.
    request_ok(&mut admin_a, r#"{"type":"hold","room":"m","on":true}"#);
    let held = (0..40).find_map(|k| {
        thread::sleep(Duration::from_millis(50));
        is("held")(&post(&mut poster_b, &format!("h{k}"))).then_some(format!("h{k}"))
    });
    let msg = held.expect("the hold reached node B");
    let key = field(&wait_for(&mut admin_a, WAIT, is("pending")), "key").to_string();
    let mut late_a = admin(a.addr());
    assert_eq!(keys_of(&collect(&mut late_a, "pending", Duration::from_millis(500))), std::slice::from_ref(&key));
    let mut admin_b = admin(b.addr());
    assert_eq!(keys_of(&collect(&mut admin_b, "pending", Duration::from_millis(500))), std::slice::from_ref(&key));
    request_ok(&mut admin_a, &format!(r#"{{"type":"approve","room":"m","key":"{key}"}}"#));
    for other in [&mut late_a, &mut admin_b] {
        let decided = wait_for(other, WAIT, is("decided"));
        assert_eq!(field(&decided, "key"), key);
    }
    let posted = wait_for(&mut admin_b, WAIT, |v| is("post")(v) && field(v, "msg") == msg);
    assert!(posted.get("id").is_some());
    let again = request(&mut admin_a, &format!(r#"{{"type":"approve","room":"m","key":"{key}"}}"#));
    assert!(is("error")(&again), "a key is decided once: {again:?}");
}

/// Pub/sub keeps nothing for a node that was not listening: a node started after a post was
/// held elsewhere learns of it by asking (`sync`), so its admins see it and may approve it.
#[test]
fn a_node_started_later_learns_what_the_others_hold() {
    let redis = Redis::start(&[]);
    let dir = token_dir();
    let a = node(&redis.url(), &dir);
    let mut admin_a = admin(a.addr());
    request_ok(&mut admin_a, r#"{"type":"hold","room":"late","on":true}"#);
    let (mut poster_a, _) = Ws::join(a.addr(), "late");
    assert!(is("held")(&post(&mut poster_a, "early bird")));
    let key = field(&wait_for(&mut admin_a, WAIT, is("pending")), "key").to_string();
    let b = node(&redis.url(), &dir);
    let deadline = Instant::now() + WAIT;
    let seen = loop {
        let mut admin_b = admin(b.addr());
        let keys = keys_of(&collect(&mut admin_b, "pending", Duration::from_millis(300)));
        if !keys.is_empty() || Instant::now() > deadline {
            break (keys, admin_b);
        }
    };
    let (keys, mut admin_b) = seen;
    assert_eq!(keys, std::slice::from_ref(&key), "node B asked node A what it holds");
    request_ok(&mut admin_b, &format!(r#"{{"type":"approve","room":"late","key":"{key}"}}"#));
    let ack = wait_for(&mut poster_a, WAIT, is("ack"));
    assert_eq!(field(&ack, "ref"), "early bird");
}

/// A decision about a post held on another node cannot reach it while Redis is away: the
/// admin is told so (and may decide again later), rather than `ok` for a decision lost.
#[test]
fn deciding_another_nodes_post_while_redis_is_away_is_an_error() {
    let mut redis = Redis::start(&[]);
    let dir = token_dir();
    let (a, b) = (node(&redis.url(), &dir), node(&redis.url(), &dir));
    let mut admin_a = admin(a.addr());
    request_ok(&mut admin_a, r#"{"type":"hold","room":"away","on":true}"#);
    let (mut poster_b, _) = Ws::join(b.addr(), "away");
    let held = (0..40).any(|k| {
        thread::sleep(Duration::from_millis(50));
        is("held")(&post(&mut poster_b, &format!("h{k}")))
    });
    assert!(held, "the hold reached node B");
    let key = field(&wait_for(&mut admin_a, WAIT, is("pending")), "key").to_string();
    redis.kill();
    let deadline = Instant::now() + WAIT;
    while get(a.addr(), "/healthz").status != 503 {
        assert!(Instant::now() < deadline, "node A never noticed Redis going away");
        thread::sleep(Duration::from_millis(50));
    }
    let reply = request(&mut admin_a, &format!(r#"{{"type":"approve","room":"away","key":"{key}"}}"#));
    assert!(is("error")(&reply) && field(&reply, "error").contains("unavailable"), "{reply:?}");
}
