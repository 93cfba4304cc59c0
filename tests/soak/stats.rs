//! What every soak thread shares: the figures it adds to, the check of each danmaku it
//! receives (its room's, ids consecutive), and a non-blocking read into a frame parser.

use std::io::{self, Read};
use std::net::TcpStream;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

use crate::common::{FrameParser, danmaku_id};

/// Figures every thread adds to.
#[derive(Default)]
pub struct Stats {
    pub connections: AtomicUsize,
    pub deliveries: AtomicU64,
    pub losses: AtomicU64,
    /// The posters are posting (set a little after they start, cleared before they stop).
    pub posting: AtomicBool,
    pub problems: Mutex<Vec<String>>,
}

impl Stats {
    /// Notes a problem (the first 50 are kept).
    pub fn problem(&self, what: String) {
        let mut p = self.problems.lock().unwrap();
        if p.len() < 50 {
            p.push(what);
        }
    }
}

/// Checks one danmaku frame of `room` against the last id seen; returns the new last id.
pub fn check_danmaku(payload: &[u8], room: usize, last: Option<u64>, who: &str, stats: &Stats) -> Option<u64> {
    let Some(id) = danmaku_id(payload) else {
        stats.problem(format!("{who}: not a danmaku: {}", String::from_utf8_lossy(payload)));
        return last;
    };
    let tag = format!("\"msg\":\"r{room} #");
    if !payload.windows(tag.len()).any(|w| w == tag.as_bytes()) {
        stats.problem(format!("{who}: a danmaku of another room: {}", String::from_utf8_lossy(payload)));
    }
    stats.deliveries.fetch_add(1, Ordering::Relaxed);
    if let Some(last) = last
        && id != last + 1
    {
        stats.losses.fetch_add(id.saturating_sub(last + 1).max(1), Ordering::Relaxed);
        stats.problem(format!("{who}: id {id} after {last}"));
    }
    Some(id)
}

/// Reads what is there (non-blocking): frames into `parser`; `Ok(false)` on EOF.
pub fn pump(stream: &mut TcpStream, parser: &mut FrameParser, buf: &mut [u8]) -> io::Result<bool> {
    loop {
        match stream.read(buf) {
            Ok(0) => return Ok(false),
            Ok(n) => parser.push(&buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(true),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}
