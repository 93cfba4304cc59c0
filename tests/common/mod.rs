//! Shared helpers for the end-to-end tests: the real binary on a free port, raw HTTP, and the
//! kit's WebSocket client ([`danmaku_wall::kit`], shared with the load generator). Every
//! blocking read has a timeout (at most 5 s), so no test can hang.
//!
//! Each test target compiles this module on its own and uses a part of it, hence the
//! `allow(dead_code)`. The helpers are grouped by concept: [`tcp`] (raw connections),
//! [`http_client`] (HTTP exchanges), [`temp_dir`], [`rng`] (hostile input) and [`process`]
//! (`/proc` figures); all are re-exported here.
#![allow(dead_code, unused_imports)]

mod http_client;
mod process;
mod rng;
mod tcp;
mod temp_dir;

use std::net::SocketAddr;
use std::process::{Command, ExitStatus};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use danmaku_wall::kit::spawn::{ServerProcess, SpawnOptions};

pub use danmaku_wall::kit::client::{READ_TIMEOUT, Recv, Ws, is_read_timeout};
pub use danmaku_wall::kit::frames::{
    BINARY, CLOSE, CONTINUATION, Frame, FrameReader as FrameParser, PING, PONG, TEXT, client_frame, client_header,
    unmasked_frame,
};
pub use danmaku_wall::kit::messages::{Ack, Hello, danmaku_id};
pub use danmaku_wall::kit::upgrade::{UpgradeRequest, fresh_key as new_key};
pub use http_client::{HttpClient, Response, get, http};
pub use process::{cpu_seconds, fd_count, proc_status_kib, rss_kib};
pub use rng::Rng;
pub use tcp::{abort_with_rst, connect, connect_with_rcvbuf, upgrade_request};
pub use temp_dir::TempDir;

/// A running `danmaku-wall` child process, killed on drop.
pub struct Server {
    process: ServerProcess,
}

impl Server {
    /// Starts the binary with `--bind 127.0.0.1:0` and `flags`, and waits (at most 10 s) for
    /// its `listening on http://…` line.
    pub fn start(flags: &[&str]) -> Server {
        let mut command = Command::new(env!("CARGO_BIN_EXE_danmaku-wall"));
        command.args(["--bind", "127.0.0.1:0"]).args(flags);
        Server::spawn(command, &format!("flags {flags:?}"))
    }

    /// Starts the binary with `--bind 127.0.0.1:0` and `flags` under `ulimit -n nofile` (soft
    /// and hard: the server cannot raise it), through `bash -c … exec`, so the pid is the
    /// server's own.
    pub fn start_with_fd_limit(nofile: u32, flags: &[&str]) -> Server {
        let mut command = Command::new("bash");
        command
            .arg("-c")
            .arg(format!("ulimit -n {nofile} && exec \"$0\" \"$@\""))
            .arg(env!("CARGO_BIN_EXE_danmaku-wall"))
            .args(["--bind", "127.0.0.1:0"])
            .args(flags);
        Server::spawn(command, &format!("ulimit -n {nofile}, flags {flags:?}"))
    }

    fn spawn(command: Command, what: &str) -> Server {
        match ServerProcess::start(command, &SpawnOptions::default()) {
            Ok(process) => Server { process },
            Err(e) => panic!("{what}: {e}"),
        }
    }

    pub fn addr(&self) -> SocketAddr {
        self.process.addr()
    }

    /// `127.0.0.1:PORT`, as a `Host` header would carry it.
    pub fn host(&self) -> String {
        self.addr().to_string()
    }

    pub fn port(&self) -> u16 {
        self.addr().port()
    }

    pub fn logs(&self) -> Vec<String> {
        self.process.logs()
    }

    pub fn log_contains(&self, s: &str) -> bool {
        self.process.log_contains(s)
    }

    /// Waits until a log line contains `s`.
    pub fn wait_for_log(&self, s: &str, timeout: Duration) -> bool {
        self.process.wait_for_log(s, timeout)
    }

    pub fn pid(&self) -> i32 {
        self.process.pid()
    }

    pub fn signal(&self, sig: libc::c_int) {
        if let Err(e) = self.process.signal(sig) {
            panic!("kill({}, {sig}) failed: {e}", self.pid());
        }
    }

    /// Waits for the process to exit, at most `timeout`.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        self.process.wait_exit(timeout)
    }

    /// The process has not exited (a crash would have ended it).
    pub fn is_running(&mut self) -> bool {
        self.process.exit_status().is_none()
    }

    /// Log lines at level ERROR or WARN, and anything written to stderr (a panic message).
    pub fn error_or_warn_lines(&self) -> Vec<String> {
        self.logs()
            .into_iter()
            .filter(|l| l.contains("ERROR") || l.contains("WARN") || l.starts_with("stderr:") || l.contains("panicked"))
            .collect()
    }

    /// Log lines that mean something went wrong: an ERROR, anything on stderr, a panic.
    pub fn log_problems(&self) -> Vec<String> {
        self.error_or_warn_lines()
            .into_iter()
            .filter(|l| l.contains("ERROR") || l.starts_with("stderr:") || l.contains("panicked"))
            .collect()
    }
}

/// Milliseconds since the Unix epoch, now.
pub fn unix_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as u64
}
