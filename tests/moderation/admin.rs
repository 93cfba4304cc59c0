//! The admin side: a server with moderation on, a signed-in admin socket and its requests
//! (INTERFACE.md, "Moderation (`/admin`)").

use std::net::SocketAddr;
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use danmaku_wall::wire::json::Value;

use crate::common::{Server, TempDir, Ws};
use crate::support::{parse, str_of};

pub const TOKEN: &str = "s3cret-Token-0123456789";

/// A server with moderation on (the token in a file) and the given extra flags.
pub struct Moderated {
    pub server: Server,
    _dir: TempDir,
}

impl Moderated {
    /// Starts it; the token file is removed with the server.
    pub fn start(flags: &[&str]) -> Moderated {
        let dir = TempDir::new("moderation");
        let token_file = dir.join("token");
        std::fs::write(&token_file, format!("{TOKEN}\r\nsecond line ignored\n")).unwrap();
        let mut all = vec!["--admin-token-file", token_file.to_str().unwrap(), "--rate", "0"];
        all.extend_from_slice(flags);
        Moderated { server: Server::start(&all), _dir: dir }
    }

    /// The server's address.
    pub fn addr(&self) -> SocketAddr {
        self.server.addr()
    }
}

impl Drop for Moderated {
    fn drop(&mut self) {
        if !thread::panicking() {
            assert_token_never_logged(&self.server.logs());
        }
    }
}

/// No line of `logs` contains the token.
pub fn assert_token_never_logged(logs: &[String]) {
    for line in logs {
        assert!(!line.contains(TOKEN), "the token was logged: {line}");
    }
}

/// A signed-in admin: its `state`, and feed messages read while waiting for replies.
pub struct Admin {
    pub ws: Ws,
    pub state: Value,
    pub feed: Vec<Value>,
}

impl Admin {
    /// Signs in with [`TOKEN`]; the `state` must come first.
    pub fn sign_in(addr: SocketAddr) -> Admin {
        let mut ws = Ws::connect(addr, "/admin/ws");
        ws.send_text(&format!(r#"{{"type":"auth","token":"{TOKEN}"}}"#));
        let state = parse(&ws.recv_text());
        assert_eq!(str_of(&state, "type"), "state", "{state:?}");
        Admin { ws, state, feed: Vec::new() }
    }

    /// Sends `request` and returns its reply (`ok` or `error`), keeping feed messages.
    pub fn request(&mut self, request: &str) -> Value {
        self.ws.send_text(request);
        self.reply()
    }

    /// The next reply (`ok` or `error`), keeping feed messages.
    pub fn reply(&mut self) -> Value {
        loop {
            let v = parse(&self.ws.recv_text());
            match str_of(&v, "type") {
                "ok" | "error" => return v,
                _ => self.feed.push(v),
            }
        }
    }

    /// `request` must be answered `ok`.
    pub fn ok(&mut self, request: &str) {
        let reply = self.request(request);
        assert_eq!(str_of(&reply, "type"), "ok", "{request} -> {reply:?}");
        let kind = str_of(&parse(request), "type").to_string();
        assert_eq!(str_of(&reply, "request"), kind, "{reply:?}");
    }

    /// `request` must be answered `error`; returns the reason.
    pub fn error(&mut self, request: &str) -> String {
        let reply = self.request(request);
        assert_eq!(str_of(&reply, "type"), "error", "{request} -> {reply:?}");
        str_of(&reply, "error").to_string()
    }

    /// The next feed message of type `kind` (earlier ones of other types are dropped).
    pub fn next(&mut self, kind: &str) -> Value {
        if let Some(i) = self.feed.iter().position(|v| str_of(v, "type") == kind) {
            return self.feed.remove(i);
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            assert!(Instant::now() < deadline, "no {kind} message within 5 s");
            let v = parse(&self.ws.recv_text());
            if str_of(&v, "type") == kind {
                return v;
            }
        }
    }
}

/// The binary on a free port, without a token in its environment (to run it to its exit).
pub fn binary() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_danmaku-wall"));
    c.env_remove("DANMAKU_ADMIN_TOKEN").args(["--bind", "127.0.0.1:0"]);
    c
}
