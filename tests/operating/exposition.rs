//! `/metrics` (INTERFACE.md, "Operating it"; the Prometheus text exposition format 0.0.4):
//! fetching it, checking it with the reference parser, reading one sample, and the traffic
//! that makes its counters move.

use std::net::SocketAddr;
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use crate::common::{TempDir, Ws};
use crate::support::{next_of, parse, str_of};

/// The families every exposition has.
pub const REQUIRED: [&str; 7] = [
    "danmaku_connections",
    "danmaku_rooms",
    "danmaku_posts_total",
    "danmaku_deliveries_total",
    "danmaku_socket_writes_total",
    "danmaku_flush_pass_seconds",
    "danmaku_closed_total",
];

pub const SOCKET_WRITES: &str = "danmaku_socket_writes_total";

pub const FLUSH_PASS: &str = "danmaku_flush_pass_seconds";

/// Runs the reference parser on `text` (tests/tools/check_metrics.sh installs it if needed);
/// fails with what it said.
pub fn check_with_parser(text: &str, require: &[&str]) {
    let dir = TempDir::new("metrics");
    let file = dir.join("metrics.txt");
    std::fs::write(&file, text).unwrap();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/tools/check_metrics.sh");
    let mut command = Command::new("bash");
    command.arg(script).arg(&file);
    for name in require {
        command.args(["--require", name]);
    }
    let out = command.output().unwrap_or_else(|e| panic!("cannot run bash {script}: {e}"));
    let said = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(
        out.status.success(),
        "the Prometheus parser (tests/tools/check_metrics.sh; run it with --install if missing) refused \
         /metrics:\n{said}\n--- text ---\n{text}"
    );
    assert!(said.contains("metrics ok"), "{said}");
}

/// The value of the sample written exactly `series` (e.g. `danmaku_rooms` or
/// `danmaku_posts_total{result="held"}`); absent counts as 0, as the contract allows.
pub fn sample(text: &str, series: &str) -> f64 {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .map_or(0.0, |v| v.trim().parse().unwrap_or_else(|_| panic!("{series}: not a number: {v}")))
}

/// `GET /metrics`: a 200 in `text/plain; version=0.0.4`; returns the text.
pub fn metrics(addr: SocketAddr) -> String {
    let resp = crate::common::get(addr, "/metrics");
    assert_eq!(resp.status, 200);
    let ct = resp.header("content-type").unwrap_or("");
    assert!(ct.starts_with("text/plain") && ct.contains("version=0.0.4"), "Content-Type {ct}");
    resp.body_str()
}

/// `/metrics` once the WebSocket and admin gauges and the room count are back to zero
/// (within 5 s).
pub fn metrics_once_gauges_are_zero(addr: SocketAddr) -> String {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let text = metrics(addr);
        let zero = ["danmaku_connections{kind=\"ws\"}", "danmaku_connections{kind=\"admin\"}", "danmaku_rooms"]
            .iter()
            .all(|s| sample(&text, s) == 0.0);
        if zero {
            return text;
        }
        assert!(Instant::now() < deadline, "gauges did not return to zero:\n{text}");
        thread::sleep(Duration::from_millis(100));
    }
}

/// The walls of the traffic that moves the counters: in room m1 a poster, a wall and a wall
/// resuming from 0; in m2 one more wall.
pub struct Traffic {
    poster: Ws,
    wall: Ws,
    other: Ws,
    resumed: Ws,
}

impl Traffic {
    /// 3 accepted posts, 2 rejected (not JSON, empty) and 1 held (m1 put on hold by `admin`),
    /// then a replay of the 3 to a resuming wall: 3 × 2 + 3 deliveries.
    pub fn make(addr: SocketAddr, admin: &mut Ws) -> Traffic {
        let (mut poster, _) = Ws::join(addr, "m1");
        let (mut wall, _) = Ws::join(addr, "m1");
        let (other, _) = Ws::join(addr, "m2");
        for n in 0..3 {
            poster.post(&format!("ok {n}"), None);
            poster.recv_text();
            wall.recv_text();
        }
        poster.send_text("not json");
        poster.recv_text();
        poster.post("", None);
        poster.recv_text();
        admin.send_text(r#"{"type":"hold","room":"m1","on":true}"#);
        assert_eq!(str_of(&next_of(admin, "ok"), "request"), "hold");
        poster.post("held", None);
        assert_eq!(str_of(&parse(&poster.recv_text()), "type"), "held");
        // A replay counts as deliveries too: 3 danmaku to a resuming wall.
        let mut resumed = Ws::connect(addr, "/ws?room=m1&since=0");
        for _ in 0..3 {
            resumed.recv_text();
        }
        Traffic { poster, wall, other, resumed }
    }

    /// Everyone leaves: `admin` lifts the hold and rejects the held post, so nothing keeps
    /// m1; the m1 walls and the admin close with 1000, the m2 wall just goes.
    pub fn leave(self, mut admin: Ws) {
        admin.send_text(r#"{"type":"hold","room":"m1","on":false}"#);
        let pending = next_of(&mut admin, "pending");
        let key = str_of(&pending, "key").to_string();
        admin.send_text(&format!(r#"{{"type":"reject","room":"m1","key":"{key}"}}"#));
        next_of(&mut admin, "ok");
        next_of(&mut admin, "ok");
        let Traffic { poster, wall, other, resumed } = self;
        for mut ws in [poster, wall, resumed, admin] {
            ws.close(1000, "bye");
            let _ = ws.drain_to_eof();
        }
        drop(other);
    }
}
