//! What the resume tests read and post: the JSON accessors, the danmaku among the texts a
//! wall got, acked posts, and a resume with what it replays.

use std::net::SocketAddr;
use std::time::Duration;

use crate::common::{self, Hello, Recv, TEXT, Ws};
use danmaku_wall::wire::json::{self, Value};

/// `text` as JSON (at most 16 levels deep); panics with the text if it is not.
pub fn parse(text: &str) -> Value {
    json::parse(text, 16).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

/// The string member `key` of `v`; panics if there is none.
pub fn str_of<'v>(v: &'v Value, key: &str) -> &'v str {
    v.get(key).and_then(Value::as_str).unwrap_or_else(|| panic!("no string {key} in {v:?}"))
}

/// The `id` of a message; panics if it has none.
pub fn id_of(v: &Value) -> u64 {
    v.get("id").and_then(Value::as_f64).unwrap_or_else(|| panic!("no id in {v:?}")) as u64
}

/// Text frames until `quiet` passes without one (pings and pongs skipped).
pub fn texts_until_quiet(ws: &mut Ws, quiet: Duration) -> Vec<String> {
    let mut out = Vec::new();
    loop {
        match ws.recv_within(quiet) {
            Recv::Frame(f) if f.opcode == TEXT => out.push(f.text().to_string()),
            Recv::Frame(f) if f.opcode == common::CLOSE => panic!("closed ({:?}) after {out:?}", f.close_code()),
            Recv::Frame(_) => {}
            Recv::Timeout => return out,
            Recv::Eof => panic!("EOF after {out:?}"),
        }
    }
}

/// The danmaku among `texts`, as (id, msg); any other message type fails.
pub fn danmaku(texts: &[String]) -> Vec<(u64, String)> {
    texts
        .iter()
        .map(|t| {
            let v = parse(t);
            assert_eq!(str_of(&v, "type"), "danmaku", "{t}");
            (id_of(&v), str_of(&v, "msg").to_string())
        })
        .collect()
}

/// The ids of the danmaku among `texts`.
pub fn ids(texts: &[String]) -> Vec<u64> {
    danmaku(texts).into_iter().map(|(id, _)| id).collect()
}

/// Posts `msg` with a ref and reads until its ack; returns the danmaku's id.
pub fn post_acked(ws: &mut Ws, msg: &str) -> u64 {
    let reference = format!("r-{msg}");
    ws.post(msg, Some(&reference));
    loop {
        let text = ws.recv_text();
        let v = parse(&text);
        match str_of(&v, "type") {
            "ack" => {
                assert_eq!(str_of(&v, "ref"), reference, "{text}");
                return id_of(&v);
            }
            "danmaku" => {}
            other => panic!("posting {msg:?}: unexpected {other}: {text}"),
        }
    }
}

/// `count` posts named `m1`, `m2`, ... from a fresh member of `room`, acked one by one; the
/// member stays (so the room is not forgotten).
pub fn poster_with(addr: SocketAddr, room: &str, count: u64) -> (Ws, Hello) {
    let (mut ws, hello) = Ws::join(addr, room);
    for n in 1..=count {
        assert_eq!(post_acked(&mut ws, &format!("m{n}")), hello.last + n);
    }
    (ws, hello)
}

/// A resume: `hello` and what follows within 300 ms of quiet.
pub fn resume(addr: SocketAddr, query: &str) -> (Ws, Hello, Vec<String>) {
    let mut ws = Ws::connect(addr, &format!("/ws?{query}"));
    let hello = ws.hello.clone().expect("hello");
    let texts = texts_until_quiet(&mut ws, Duration::from_millis(300));
    (ws, hello, texts)
}

/// The status of an upgrade request on `target`.
pub fn upgrade_status(addr: SocketAddr, target: &str) -> u16 {
    common::http(addr, &common::upgrade_request(addr, target)).status
}
