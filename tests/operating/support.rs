//! The admin side of the operating tests: the token, signing in, and reading the admin
//! socket's JSON messages (INTERFACE.md, "Moderation").

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use danmaku_wall::wire::json::{self, Value};

use crate::common::{TempDir, Ws};

pub const TOKEN: &str = "operating-token-0123456789";

/// `text` as JSON (at most 16 levels deep); panics with the text if it is not.
pub fn parse(text: &str) -> Value {
    json::parse(text, 16).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

/// The string member `key` of `v`; panics if there is none.
pub fn str_of<'v>(v: &'v Value, key: &str) -> &'v str {
    v.get(key).and_then(Value::as_str).unwrap_or_else(|| panic!("no string {key} in {v:?}"))
}

/// A token file in `dir`; returns its path as a flag value.
pub fn token_file(dir: &TempDir) -> String {
    let path = dir.join("token");
    std::fs::write(&path, TOKEN).unwrap();
    path.to_str().unwrap().to_string()
}

/// An admin socket, signed in with [`TOKEN`] (its `state` read).
pub fn sign_in(addr: SocketAddr) -> Ws {
    let mut ws = Ws::connect(addr, "/admin/ws");
    ws.send_text(&format!(r#"{{"type":"auth","token":"{TOKEN}"}}"#));
    assert_eq!(str_of(&parse(&ws.recv_text()), "type"), "state");
    ws
}

/// The next message of type `kind` on an admin socket.
pub fn next_of(ws: &mut Ws, kind: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        assert!(Instant::now() < deadline, "no {kind} within 5 s");
        let v = parse(&ws.recv_text());
        if str_of(&v, "type") == kind {
            return v;
        }
    }
}
