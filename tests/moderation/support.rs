//! What the moderation tests read and check on the walls' side: the JSON accessors, the
//! replies to posts, silence, refused upgrades and close frames.

use std::net::SocketAddr;
use std::time::Duration;

use danmaku_wall::wire::json::{self, Value};

use crate::common::{self, CLOSE, Recv, TEXT, UpgradeRequest, Ws};

/// `text` as JSON (at most 16 levels deep); panics with the text if it is not.
pub fn parse(text: &str) -> Value {
    json::parse(text, 16).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

/// The string member `key` of `v`; panics if there is none.
pub fn str_of<'v>(v: &'v Value, key: &str) -> &'v str {
    v.get(key).and_then(Value::as_str).unwrap_or_else(|| panic!("no string {key} in {v:?}"))
}

/// The number member `key` of `v`; panics if there is none.
pub fn num_of(v: &Value, key: &str) -> f64 {
    v.get(key).and_then(Value::as_f64).unwrap_or_else(|| panic!("no number {key} in {v:?}"))
}

/// The array member `key` of `v`; panics if there is none.
pub fn array_of<'v>(v: &'v Value, key: &str) -> &'v [Value] {
    match v.get(key) {
        Some(Value::Array(items)) => items,
        _ => panic!("no array {key} in {v:?}"),
    }
}

/// Text frames until `quiet` passes without one.
pub fn texts_until_quiet(ws: &mut Ws, quiet: Duration) -> Vec<Value> {
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

/// Nothing comes on `ws` for 300 ms.
pub fn assert_silent(ws: &mut Ws, what: &str) {
    let got = texts_until_quiet(ws, Duration::from_millis(300));
    assert!(got.is_empty(), "{what}: expected nothing, got {got:?}");
}

/// Posts `msg` and returns the next message the sender gets (its reply, or its broadcast).
pub fn post_reply(ws: &mut Ws, msg: &str, reference: Option<&str>) -> Value {
    ws.post(msg, reference);
    parse(&ws.recv_text())
}

/// `reply` is an error whose reason contains `word`; returns the reason.
pub fn assert_rejected(reply: &Value, word: &str) -> String {
    assert_eq!(str_of(reply, "type"), "error", "{reply:?}");
    let reason = str_of(reply, "error");
    assert!(reason.contains(word), "reason {reason:?} lacks {word:?}");
    reason.to_string()
}

/// `v` is danmaku `id` saying `msg`.
pub fn assert_danmaku(v: &Value, id: u64, msg: &str) {
    assert_eq!(str_of(v, "type"), "danmaku", "{v:?}");
    assert_eq!((num_of(v, "id") as u64, str_of(v, "msg")), (id, msg), "{v:?}");
}

/// The status answering a WebSocket upgrade to `target` with `extra` header lines.
pub fn upgrade_status(addr: SocketAddr, target: &str, extra: &[&str]) -> u16 {
    let mut req = UpgradeRequest::new(&addr.to_string(), target, &common::new_key());
    for line in extra {
        req = req.with(line);
    }
    common::http(addr, &req.bytes()).status
}

/// The first frame the server sends is a close with `code` (no admin data before it); the
/// closing handshake is completed and the server then closes TCP.
pub fn assert_closed_with(ws: &mut Ws, code: u16, what: &str) {
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
