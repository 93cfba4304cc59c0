//! The danmaku wall over `/ws`: broadcasts to the room (sender included), per-room ids,
//! validation errors to the sender only, the rate limit, the blocklist and bursts (a reader
//! that never reads is closed with 1008: tests/floods/).

mod common;

use std::thread;
use std::time::Duration;

use common::{Recv, Server, TEXT, TempDir, Ws};
use danmaku_wall::wire::json::{self, Value};

fn recv_json(ws: &mut Ws) -> Value {
    let text = ws.recv_text();
    json::parse(&text, 16).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

fn str_field<'v>(v: &'v Value, key: &str) -> &'v str {
    v.get(key).and_then(Value::as_str).unwrap_or_else(|| panic!("no string {key} in {v:?}"))
}

fn num_field(v: &Value, key: &str) -> f64 {
    v.get(key).and_then(Value::as_f64).unwrap_or_else(|| panic!("no number {key} in {v:?}"))
}

/// A danmaku broadcast with these fields; `time` within a minute of now.
fn assert_danmaku(v: &Value, id: u64, msg: &str, color: &str, size: &str, mode: &str) {
    assert_eq!(str_field(v, "type"), "danmaku", "{v:?}");
    assert_eq!(num_field(v, "id"), id as f64, "{v:?}");
    assert_eq!(str_field(v, "msg"), msg, "{v:?}");
    assert_eq!(str_field(v, "color"), color, "{v:?}");
    assert_eq!(str_field(v, "size"), size, "{v:?}");
    assert_eq!(str_field(v, "mode"), mode, "{v:?}");
    let time = num_field(v, "time");
    let now = common::unix_ms() as f64;
    assert!(time.fract() == 0.0 && (now - time).abs() < 60_000.0, "time {time} is not now ({now})");
}

/// An error answer with a non-empty reason; returns the reason.
fn assert_error(v: &Value) -> String {
    assert_eq!(str_field(v, "type"), "error", "{v:?}");
    let reason = str_field(v, "error");
    assert!(!reason.trim().is_empty(), "empty reason");
    reason.to_string()
}

fn assert_silent(ws: &mut Ws, for_: Duration, what: &str) {
    match ws.recv_within(for_) {
        Recv::Timeout => {}
        other => panic!("{what}: expected nothing, got {other:?}"),
    }
}

#[test]
fn a_post_reaches_the_whole_room_and_only_it() {
    let server = Server::start(&[]);
    let addr = server.addr();
    let mut a = Ws::connect(addr, "/ws?room=r1");
    let mut b = Ws::connect(addr, "/ws?room=r1");
    let mut other = Ws::connect(addr, "/ws?room=r2");
    a.send_text(r##"{"msg":"hi","color":"#FF0000"}"##);
    for ws in [&mut a, &mut b] {
        let text = ws.recv_text();
        assert!(
            text.starts_with(
                r##"{"type":"danmaku","id":1,"msg":"hi","color":"#ff0000","size":"medium","mode":"scroll","time":"##
            ),
            "{text}"
        );
        let v = json::parse(&text, 16).unwrap();
        assert_danmaku(&v, 1, "hi", "#ff0000", "medium", "scroll");
    }
    // Ids count up per room, whoever posts; all fields are carried.
    b.send_text(r##"{"msg":"  two  ","size":"large","mode":"top","unknown":[1,{"x":null}]}"##);
    for ws in [&mut a, &mut b] {
        assert_danmaku(&recv_json(ws), 2, "two", "#ffffff", "large", "top");
    }
    a.send_text(r##"{"msg":"three <b>&amp;</b> \"q\" 弹幕","color":"#aBcDeF","size":"small","mode":"bottom"}"##);
    for ws in [&mut a, &mut b] {
        assert_danmaku(&recv_json(ws), 3, "three <b>&amp;</b> \"q\" 弹幕", "#abcdef", "small", "bottom");
    }
    assert_silent(&mut other, Duration::from_millis(300), "room r2");
    // Room r2 has its own count.
    other.send_text(r#"{"msg":"elsewhere"}"#);
    assert_danmaku(&recv_json(&mut other), 1, "elsewhere", "#ffffff", "medium", "scroll");
    assert_silent(&mut a, Duration::from_millis(200), "room r1 after a post in r2");
    // The default room is `main`.
    let mut m1 = Ws::connect(addr, "/ws");
    let mut m2 = Ws::connect(addr, "/ws?room=main");
    m1.send_text(r#"{"msg":"main"}"#);
    assert_danmaku(&recv_json(&mut m1), 1, "main", "#ffffff", "medium", "scroll");
    assert_danmaku(&recv_json(&mut m2), 1, "main", "#ffffff", "medium", "scroll");
}

#[test]
fn a_member_that_leaves_does_not_break_the_room() {
    let server = Server::start(&[]);
    let addr = server.addr();
    let mut a = Ws::connect(addr, "/ws?room=churn");
    let b = Ws::connect(addr, "/ws?room=churn");
    let mut c = Ws::connect(addr, "/ws?room=churn");
    drop(b);
    thread::sleep(Duration::from_millis(100));
    a.send_text(r#"{"msg":"still here"}"#);
    assert_danmaku(&recv_json(&mut a), 1, "still here", "#ffffff", "medium", "scroll");
    assert_danmaku(&recv_json(&mut c), 1, "still here", "#ffffff", "medium", "scroll");
    let mut d = Ws::connect(addr, "/ws?room=churn");
    c.send_text(r#"{"msg":"again"}"#);
    for ws in [&mut a, &mut c, &mut d] {
        assert_danmaku(&recv_json(ws), 2, "again", "#ffffff", "medium", "scroll");
    }
}

#[test]
fn invalid_posts_get_an_error_to_the_sender_only() {
    let server = Server::start(&["--rate", "0"]);
    let addr = server.addr();
    let mut sender = Ws::connect(addr, "/ws?room=v");
    let mut watcher = Ws::connect(addr, "/ws?room=v");
    let long = format!(r#"{{"msg":"{}"}}"#, "x".repeat(101));
    let long_wide = format!(r#"{{"msg":"{}"}}"#, "弹".repeat(101));
    let invalid = [
        r#"{"msg":""}"#,
        r#"{"msg":"   "}"#,
        r#"{}"#,
        r#"{"msg":5}"#,
        r#"{"msg":null}"#,
        r#"{"msg":"x","color":"red"}"#,
        r##"{"msg":"x","color":"#12345"}"##,
        r##"{"msg":"x","color":"#1234567"}"##,
        r##"{"msg":"x","color":"#gggggg"}"##,
        r#"{"msg":"x","color":123}"#,
        r#"{"msg":"x","size":"huge"}"#,
        r#"{"msg":"x","size":"Large"}"#,
        r#"{"msg":"x","mode":"Scroll"}"#,
        r#"{"msg":"x","mode":1}"#,
        r#"{"msg":"a\u0007b"}"#,
        r#"{"msg":"a\nb"}"#,
        long.as_str(),
        long_wide.as_str(),
        "hello",
        "[1,2]",
        r#""msg""#,
        r#"{"msg":"x""#,
        r#"{"msg":"x",}"#,
        "",
    ];
    for post in invalid {
        sender.send_text(post);
        let v = recv_json(&mut sender);
        assert_error(&v);
    }
    assert_silent(&mut watcher, Duration::from_millis(200), "the other member");
    // The connection stays open and rejected posts used no ids.
    let ok100 = "x".repeat(100);
    let ok100_wide = "弹".repeat(100);
    sender.send_text(&format!(r#"{{"msg":"{ok100}"}}"#));
    assert_danmaku(&recv_json(&mut sender), 1, &ok100, "#ffffff", "medium", "scroll");
    assert_danmaku(&recv_json(&mut watcher), 1, &ok100, "#ffffff", "medium", "scroll");
    sender.send_text(&format!(r#"{{"msg":"  {ok100_wide}  "}}"#));
    assert_danmaku(&recv_json(&mut sender), 2, &ok100_wide, "#ffffff", "medium", "scroll");
    assert_danmaku(&recv_json(&mut watcher), 2, &ok100_wide, "#ffffff", "medium", "scroll");
}

#[test]
fn rate_limit_two_then_one_per_second() {
    let server = Server::start(&["--rate", "1"]);
    let mut ws = Ws::connect(server.addr(), "/ws?room=rate");
    for (i, msg) in ["one", "two"].iter().enumerate() {
        ws.send_text(&format!(r#"{{"msg":"{msg}"}}"#));
        assert_danmaku(&recv_json(&mut ws), i as u64 + 1, msg, "#ffffff", "medium", "scroll");
    }
    ws.send_text(r#"{"msg":"three"}"#);
    assert_error(&recv_json(&mut ws));
    thread::sleep(Duration::from_millis(1100));
    ws.send_text(r#"{"msg":"four"}"#);
    assert_danmaku(&recv_json(&mut ws), 3, "four", "#ffffff", "medium", "scroll");
    // One token came back, not more.
    ws.send_text(r#"{"msg":"five"}"#);
    assert_error(&recv_json(&mut ws));
    // The limit is per connection.
    let mut other = Ws::connect(server.addr(), "/ws?room=rate");
    other.send_text(r#"{"msg":"six"}"#);
    assert_danmaku(&recv_json(&mut other), 4, "six", "#ffffff", "medium", "scroll");
}

#[test]
fn blocklisted_words_are_rejected_in_any_case() {
    let dir = TempDir::new("blocklist");
    let file = dir.join("blocklist.txt");
    std::fs::write(&file, "badword\nTwo Words\n").unwrap();
    let server = Server::start(&["--blocklist", file.to_str().unwrap(), "--rate", "0"]);
    let mut ws = Ws::connect(server.addr(), "/ws?room=bl");
    for post in [r#"{"msg":"this is BadWord here"}"#, r#"{"msg":"BADWORD"}"#, r#"{"msg":"say two words now"}"#] {
        ws.send_text(post);
        assert_error(&recv_json(&mut ws));
    }
    ws.send_text(r#"{"msg":"a fine message"}"#);
    assert_danmaku(&recv_json(&mut ws), 1, "a fine message", "#ffffff", "medium", "scroll");
}

/// The ids of the danmaku frames in `frames`, up to the first non-danmaku frame.
fn danmaku_ids(texts: &[String]) -> Vec<u64> {
    texts
        .iter()
        .map(|t| {
            let v = json::parse(t, 16).unwrap();
            assert_eq!(str_field(&v, "type"), "danmaku", "{t}");
            num_field(&v, "id") as u64
        })
        .collect()
}

fn assert_consecutive(ids: &[u64], what: &str) {
    for (i, id) in ids.iter().enumerate() {
        assert_eq!(*id, i as u64 + 1, "{what}: ids not consecutive from 1 at index {i}");
    }
}

/// `--max-backlog` is about readers that fall behind, not about how many danmaku one turn of
/// the server produces: readers with room in their sockets take a burst bigger than the limit.
#[test]
fn a_burst_does_not_close_readers_that_keep_up() {
    let server = Server::start(&["--max-backlog", "4096", "--rate", "0"]);
    let addr = server.addr();
    let mut poster = Ws::connect(addr, "/ws?room=burst");
    let mut reader = Ws::connect(addr, "/ws?room=burst");
    // Ten ~520-byte danmaku (5 KiB together) in one write: one read for the server.
    let big = format!(r#"{{"msg":"{}"}}"#, "😀".repeat(100));
    let mut burst = Vec::new();
    for _ in 0..10 {
        burst.extend(poster.frame(true, TEXT, big.as_bytes()));
    }
    poster.send_raw(&burst);
    for ws in [&mut poster, &mut reader] {
        let mut texts = Vec::new();
        for _ in 0..10 {
            let f = ws.recv();
            assert_eq!(
                f.opcode,
                TEXT,
                "closed although reading: {:?} (log: {:?})",
                String::from_utf8_lossy(&f.payload),
                server.logs()
            );
            texts.push(f.text().to_string());
        }
        assert_consecutive(&danmaku_ids(&texts), "burst");
    }
    poster.assert_alive();
    reader.assert_alive();
}

#[test]
fn every_upgrade_starts_with_hello_naming_the_room_and_its_last_id() {
    let server = Server::start(&["--rate", "0"]);
    let addr = server.addr();
    let (mut first, hello) = Ws::join(addr, "hello-room");
    assert_eq!((hello.room.as_str(), hello.last), ("hello-room", 0), "{hello:?}");
    assert!(!hello.epoch.is_empty() && hello.epoch.len() <= 32, "{hello:?}");
    assert_eq!(hello.recovered, None, "no since, no recovered: {hello:?}");
    first.post("one", None);
    assert_eq!(common::danmaku_id(first.recv_text().as_bytes()), Some(1));
    // A later member hears the same epoch and the latest id; the danmaku come after it.
    let (mut second, later) = Ws::join(addr, "hello-room");
    assert_eq!((later.epoch.as_str(), later.last), (hello.epoch.as_str(), 1), "{later:?}");
    first.post("two", None);
    for ws in [&mut first, &mut second] {
        assert_eq!(common::danmaku_id(ws.recv_text().as_bytes()), Some(2));
    }
    // The default room is `main`.
    assert_eq!(Ws::connect(addr, "/ws").hello.expect("hello on /ws").room, "main");
}

#[test]
fn a_post_with_ref_is_acked_to_its_sender_only() {
    let server = Server::start(&["--rate", "0"]);
    let addr = server.addr();
    let (mut sender, _) = Ws::join(addr, "acks");
    let (mut other, _) = Ws::join(addr, "acks");
    sender.post("with a ref", Some("r-1"));
    let mut texts = [sender.recv_text(), sender.recv_text()];
    texts.sort_by_key(|t| !t.contains("\"ack\""));
    let ack = common::Ack::parse(texts[0].as_bytes()).unwrap_or_else(|e| panic!("{e}: {texts:?}"));
    assert_eq!((ack.reference.as_str(), ack.id), ("r-1", 1));
    assert_eq!(common::danmaku_id(texts[1].as_bytes()), Some(1), "{texts:?}");
    assert!(!texts[1].contains("\"ref\""), "the broadcast carries the ref: {}", texts[1]);
    let broadcast = other.recv_text();
    assert_eq!(common::danmaku_id(broadcast.as_bytes()), Some(1));
    assert!(!broadcast.contains("\"ref\""), "{broadcast}");
    assert_silent(&mut other, Duration::from_millis(200), "no ack to the others");
    // Without a ref, no ack.
    sender.post("no ref", None);
    assert_eq!(common::danmaku_id(sender.recv_text().as_bytes()), Some(2));
    assert_silent(&mut sender, Duration::from_millis(200), "no ack without a ref");
}
