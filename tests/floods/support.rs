//! What every flood test shares: one test at a time, waiting for a condition, the "still
//! served" probe, and the server's own health and figures.

use std::net::SocketAddr;
use std::sync::{Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant};

use crate::common::{HttpClient, Server, fd_count};

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// The lock that makes the flood tests run one at a time (most assert timings or resource
/// figures that a neighbour hammering the same two cores would blur).
pub fn exclusive() -> MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner())
}

/// Polls `cond` every 20 ms until it holds (true) or `timeout` passes (false).
pub fn wait_until(timeout: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if cond() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        thread::sleep(Duration::from_millis(20));
    }
}

/// `GET /` on a fresh connection answered 200 within `within`; returns how long it took.
pub fn served_within(addr: SocketAddr, within: Duration) -> Result<Duration, String> {
    let start = Instant::now();
    let mut c = HttpClient::connect(addr);
    c.send(format!("GET / HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").as_bytes());
    let r = c.try_read_response(false, within)?;
    if r.status != 200 || r.body.is_empty() {
        return Err(format!("status {} with {} bytes", r.status, r.body.len()));
    }
    Ok(start.elapsed())
}

/// An idle keep-alive HTTP connection, after one request.
pub fn keep_alive(addr: SocketAddr) -> HttpClient {
    let mut c = HttpClient::connect(addr);
    c.send(format!("GET / HTTP/1.1\r\nHost: {addr}\r\n\r\n").as_bytes());
    let r = c.read_response(false);
    assert_eq!(r.status, 200);
    assert!(!r.says_close());
    c
}

/// The server is still running and its log has no ERROR, stderr output or panic.
pub fn assert_clean_log(server: &mut Server, what: &str) {
    assert!(server.is_running(), "{what}: the server exited");
    let bad = server.log_problems();
    assert!(bad.is_empty(), "{what}: errors in the log:\n{}", bad.join("\n"));
}

/// KiB as MiB, for the printed figures.
pub fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

/// Waits for the fd count to settle (the log thread, lazily opened files) and returns it.
pub fn settled_fd_count(pid: i32) -> usize {
    thread::sleep(Duration::from_millis(100));
    fd_count(pid)
}
