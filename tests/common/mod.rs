//! Shared helpers for the end-to-end tests: the real binary on a free port, raw HTTP, and the
//! kit's WebSocket client ([`danmaku_wall::kit`], shared with the load generator). Every
//! blocking read has a timeout (at most 5 s), so no test can hang.
#![allow(dead_code, unused_imports)]

use std::io::Write;
use std::net::{SocketAddr, TcpStream};
use std::process::{Command, ExitStatus};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use danmaku_wall::kit::client::read_some;
use danmaku_wall::kit::spawn::{ServerProcess, SpawnOptions};
use danmaku_wall::kit::{procfs, sock, upgrade};

pub use danmaku_wall::kit::client::{READ_TIMEOUT, Recv, Ws, is_read_timeout};
pub use danmaku_wall::kit::frames::{
    BINARY, CLOSE, CONTINUATION, Frame, FrameReader as FrameParser, PING, PONG, TEXT, client_frame, client_header,
    unmasked_frame,
};
pub use danmaku_wall::kit::messages::{Ack, Hello, danmaku_id};
pub use danmaku_wall::kit::upgrade::{UpgradeRequest, fresh_key as new_key};

// ---------------------------------------------------------------------------------------------
// The server process
// ---------------------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------------------
// Raw TCP and HTTP
// ---------------------------------------------------------------------------------------------

/// A TCP connection with the test timeouts set.
pub fn connect(addr: SocketAddr) -> TcpStream {
    danmaku_wall::kit::client::connect(addr).unwrap_or_else(|e| panic!("connect to {addr}: {e}"))
}

/// A client request upgrading to WebSocket on `path`, with a fresh key.
pub fn upgrade_request(addr: SocketAddr, path: &str) -> Vec<u8> {
    upgrade::upgrade_request(&addr.to_string(), path, &upgrade::fresh_key())
}

/// An HTTP response as read off the wire.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub reason: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// `http()` only: bytes that followed the response before the server closed (should be
    /// none), when the response said `Connection: close`.
    pub extra: Vec<u8>,
    /// `http()` only: the server closed the connection after the response.
    pub closed: bool,
}

impl Response {
    /// The first header named `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    pub fn body_str(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn content_length(&self) -> Option<usize> {
        self.header("content-length").map(|v| v.trim().parse().expect("numeric Content-Length"))
    }

    pub fn says_close(&self) -> bool {
        self.header("connection").is_some_and(|v| v.to_ascii_lowercase().contains("close"))
    }
}

/// A client connection for one or more HTTP exchanges.
pub struct HttpClient {
    pub stream: TcpStream,
    buf: Vec<u8>,
}

impl HttpClient {
    /// The connection as a WebSocket, once a 101 has been read: bytes already read after it
    /// are kept.
    pub fn into_ws(self) -> Ws {
        Ws::from_parts(self.stream, self.buf)
    }

    pub fn connect(addr: SocketAddr) -> HttpClient {
        HttpClient { stream: connect(addr), buf: Vec::new() }
    }

    pub fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).expect("write request");
    }

    /// Reads one response; `head_only` for the answer to a HEAD request. Panics on timeout or
    /// on EOF before the response is complete.
    pub fn read_response(&mut self, head_only: bool) -> Response {
        match self.try_read_response(head_only, READ_TIMEOUT) {
            Ok(r) => r,
            Err(e) => panic!("{e}"),
        }
    }

    pub fn try_read_response(&mut self, head_only: bool, timeout: Duration) -> Result<Response, String> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(resp) = self.parse_buffered(head_only, false)? {
                return Ok(resp);
            }
            match read_some(&mut self.stream, &mut self.buf, deadline) {
                Some(0) => {
                    // EOF: a response without Content-Length ends here.
                    return match self.parse_buffered(head_only, true)? {
                        Some(resp) => Ok(resp),
                        None => {
                            Err(format!("EOF before a complete response; got {:?}", String::from_utf8_lossy(&self.buf)))
                        }
                    };
                }
                Some(_) => {}
                None => {
                    return Err(format!(
                        "timed out waiting for a response; got {:?}",
                        String::from_utf8_lossy(&self.buf)
                    ));
                }
            }
        }
    }

    fn parse_buffered(&mut self, head_only: bool, at_eof: bool) -> Result<Option<Response>, String> {
        let mut slots = [httparse::EMPTY_HEADER; 64];
        let mut resp = httparse::Response::new(&mut slots);
        let head_len = match resp.parse(&self.buf) {
            Ok(httparse::Status::Complete(len)) => len,
            Ok(httparse::Status::Partial) => return Ok(None),
            Err(e) => return Err(format!("malformed response ({e}): {:?}", String::from_utf8_lossy(&self.buf))),
        };
        let status = resp.code.unwrap();
        let reason = resp.reason.unwrap_or("").to_string();
        let headers: Vec<(String, String)> =
            resp.headers.iter().map(|h| (h.name.to_string(), String::from_utf8_lossy(h.value).into_owned())).collect();
        let mut r = Response { status, reason, headers, body: Vec::new(), extra: Vec::new(), closed: false };
        let body_len = if head_only || status < 200 || status == 204 || status == 304 {
            0
        } else if let Some(n) = r.content_length() {
            n
        } else if at_eof {
            self.buf.len() - head_len
        } else {
            return Ok(None); // read until close
        };
        if self.buf.len() < head_len + body_len {
            return Ok(None);
        }
        r.body = self.buf[head_len..head_len + body_len].to_vec();
        self.buf.drain(..head_len + body_len);
        Ok(Some(r))
    }

    /// Everything until the server closes (buffered bytes included). Panics after 5 s.
    pub fn read_to_eof(&mut self) -> Vec<u8> {
        match self.eof_within(READ_TIMEOUT) {
            Some(bytes) => bytes,
            None => panic!(
                "server did not close the connection within {READ_TIMEOUT:?}; got {:?}",
                String::from_utf8_lossy(&self.buf)
            ),
        }
    }

    /// Everything until the server closes, or `None` if it has not closed within `timeout`.
    pub fn eof_within(&mut self, timeout: Duration) -> Option<Vec<u8>> {
        let deadline = Instant::now() + timeout;
        loop {
            match read_some(&mut self.stream, &mut self.buf, deadline) {
                Some(0) => return Some(std::mem::take(&mut self.buf)),
                Some(_) => {}
                None => return None,
            }
        }
    }
}

/// Sends `raw` on a fresh connection and reads one response (a request starting with `HEAD `
/// gets no body). If the response says `Connection: close`, also reads until the server
/// closes: `closed` and `extra` say what happened.
pub fn http(addr: SocketAddr, raw: &[u8]) -> Response {
    let mut client = HttpClient::connect(addr);
    client.send(raw);
    let mut resp = client.read_response(raw.starts_with(b"HEAD "));
    if resp.says_close() {
        resp.extra = client.read_to_eof();
        resp.closed = true;
    }
    resp
}

/// `GET path` with `Connection: close`.
pub fn get(addr: SocketAddr, path: &str) -> Response {
    http(addr, format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").as_bytes())
}

// ---------------------------------------------------------------------------------------------
// Temporary folders
// ---------------------------------------------------------------------------------------------

/// A temporary folder, removed on drop.
pub struct TempDir {
    pub path: std::path::PathBuf,
}

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        static N: AtomicU32 = AtomicU32::new(0);
        let nanos = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().subsec_nanos();
        let path = std::env::temp_dir().join(format!(
            "danmaku-test-{tag}-{}-{}-{nanos}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&path).expect("create temp dir");
        TempDir { path }
    }

    pub fn join(&self, rel: &str) -> std::path::PathBuf {
        self.path.join(rel)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}

/// Milliseconds since the Unix epoch, now.
pub fn unix_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as u64
}

// ---------------------------------------------------------------------------------------------
// Hostile clients and process inspection (tests/hostile.rs, floods.rs, soak.rs)
// ---------------------------------------------------------------------------------------------

/// A seeded xorshift64 generator: hostile input that is the same on every run, so a failure
/// names its seed and can be replayed.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        // splitmix64 of the seed, so that nearby seeds give unrelated streams (never zero).
        let mut z = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        Rng((z ^ (z >> 31)) | 1)
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    /// Uniform in `0..n` (`n > 0`).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    /// Uniform in `lo..=hi`.
    pub fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + self.below(hi - lo + 1)
    }

    /// True with probability `percent`/100.
    pub fn percent(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }

    pub fn byte(&mut self) -> u8 {
        self.next_u64() as u8
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// Open file descriptors of process `pid` (entries of `/proc/PID/fd`).
pub fn fd_count(pid: i32) -> usize {
    procfs::fd_count(pid).unwrap_or_else(|| panic!("cannot read /proc/{pid}/fd"))
}

/// Resident set size of process `pid` in KiB (`VmRSS` of `/proc/PID/status`).
pub fn rss_kib(pid: i32) -> u64 {
    proc_status_kib(pid, "VmRSS")
}

/// A `kB` field of `/proc/PID/status` (`VmRSS`, `VmData`, `VmHWM`, …) of process `pid`.
pub fn proc_status_kib(pid: i32, field: &str) -> u64 {
    procfs::status_kib(pid, field).unwrap_or_else(|| panic!("no {field} in /proc/{pid}/status"))
}

/// CPU time (user + system) process `pid` has used, in seconds (`/proc/PID/stat`).
pub fn cpu_seconds(pid: i32) -> f64 {
    procfs::cpu_seconds(pid).unwrap_or_else(|| panic!("cannot read /proc/{pid}/stat"))
}

/// Closes `stream` with a TCP reset instead of a FIN (SO_LINGER on, zero seconds).
pub fn abort_with_rst(stream: TcpStream) {
    sock::set_abortive_close(&stream).unwrap_or_else(|e| panic!("SO_LINGER: {e}"));
    drop(stream);
}

/// A TCP connection (test timeouts set) whose receive buffer is `rcvbuf` bytes (see
/// [`sock::connect_with_rcvbuf`]).
pub fn connect_with_rcvbuf(addr: SocketAddr, rcvbuf: usize) -> TcpStream {
    let stream = sock::connect_with_rcvbuf(addr, rcvbuf).unwrap_or_else(|e| panic!("connect to {addr}: {e}"));
    stream.set_read_timeout(Some(READ_TIMEOUT)).unwrap();
    stream.set_write_timeout(Some(READ_TIMEOUT)).unwrap();
    stream.set_nodelay(true).unwrap();
    stream
}
