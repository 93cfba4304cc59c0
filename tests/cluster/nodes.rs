//! The cluster's nodes: the binary with `--redis` (INTERFACE.md, "Cluster"), its health, a
//! wall joining through it, and a signal to the private redis-server.

use std::net::SocketAddr;
use std::thread;
use std::time::{Duration, Instant};

use crate::common::{Hello, Server, Ws, get};

/// A node on the Redis at `url`, posting without a rate limit, with `extra` flags.
pub fn node(url: &str, extra: &[&str]) -> Server {
    let mut flags = vec!["--redis", url, "--rate", "0"];
    flags.extend_from_slice(extra);
    Server::start(&flags)
}

/// Waits until `/healthz` answers `status`.
pub fn wait_health(addr: SocketAddr, status: u16, within: Duration) {
    let deadline = Instant::now() + within;
    loop {
        let got = get(addr, "/healthz").status;
        if got == status {
            return;
        }
        assert!(Instant::now() < deadline, "/healthz on {addr} still {got}, wanted {status} after {within:?}");
        thread::sleep(Duration::from_millis(50));
    }
}

/// A wall (or poster) joining through `target`, and its hello.
pub fn join(addr: SocketAddr, target: &str) -> (Ws, Hello) {
    let ws = Ws::connect(addr, target);
    let hello = ws.hello.clone().expect("a hello first");
    (ws, hello)
}

/// Sends `sig` to process `pid` (the private redis-server, stopped and continued).
pub fn unsafe_signal(pid: i32, sig: libc::c_int) {
    // SAFETY: kill(2) on a child process of this test.
    assert_eq!(unsafe { libc::kill(pid, sig) }, 0);
}
