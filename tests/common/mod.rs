//! Shared helpers for the end-to-end tests: start the real binary on a free port, talk raw
//! HTTP to it, and drive it with a small WebSocket client (RFC 6455 client side: masked frames
//! out, unmasked frames in). Every blocking read has a timeout (at most 5 s), so no test can hang.
#![allow(dead_code)]

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use danmaku_wall::wire::frame::{FrameHeader, Opcode, encode_frame};
use danmaku_wall::wire::handshake::{check_server_response, write_client_request};

/// The longest any single blocking read may wait.
pub const READ_TIMEOUT: Duration = Duration::from_secs(5);

// ---------------------------------------------------------------------------------------------
// The server process
// ---------------------------------------------------------------------------------------------

/// A running `danmaku-wall` child process, killed on drop.
pub struct Server {
    child: Child,
    addr: SocketAddr,
    logs: Arc<Mutex<Vec<String>>>,
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

    /// Spawns `command` (the server, with its output piped here) and waits (at most 10 s)
    /// for its `listening on http://…` line. `what` describes it in a failure message.
    fn spawn(mut command: Command, what: &str) -> Server {
        let mut child = command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn danmaku-wall");
        let logs = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = mpsc::channel::<SocketAddr>();

        let stdout = child.stdout.take().expect("stdout");
        let out_logs = Arc::clone(&logs);
        thread::spawn(move || {
            let mut sent = false;
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if !sent && let Some(addr) = parse_listening(&line) {
                    let _ = tx.send(addr);
                    sent = true;
                }
                out_logs.lock().unwrap().push(line);
            }
        });
        let stderr = child.stderr.take().expect("stderr");
        let err_logs = Arc::clone(&logs);
        thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                err_logs.lock().unwrap().push(format!("stderr: {line}"));
            }
        });

        match rx.recv_timeout(Duration::from_secs(10)) {
            Ok(addr) => Server { child, addr, logs },
            Err(e) => {
                let _ = child.kill();
                let status = child.wait();
                thread::sleep(Duration::from_millis(50));
                panic!(
                    "server did not report its address ({e}); {what}; exit {status:?}; log:\n{}",
                    logs.lock().unwrap().join("\n")
                );
            }
        }
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `127.0.0.1:PORT`, as a `Host` header would carry it.
    pub fn host(&self) -> String {
        self.addr.to_string()
    }

    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    pub fn logs(&self) -> Vec<String> {
        self.logs.lock().unwrap().clone()
    }

    pub fn log_contains(&self, s: &str) -> bool {
        self.logs.lock().unwrap().iter().any(|l| l.contains(s))
    }

    /// Waits until a log line contains `s`.
    pub fn wait_for_log(&self, s: &str, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            if self.log_contains(s) {
                return true;
            }
            if Instant::now() >= deadline {
                return false;
            }
            thread::sleep(Duration::from_millis(10));
        }
    }

    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    pub fn signal(&self, sig: libc::c_int) {
        // SAFETY: kill(2) on our own child's pid; the child is not reaped before drop.
        let rc = unsafe { libc::kill(self.pid(), sig) };
        assert_eq!(rc, 0, "kill({}, {sig}) failed: {}", self.pid(), io::Error::last_os_error());
    }

    /// Waits for the process to exit, at most `timeout`.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            thread::sleep(Duration::from_millis(5));
        }
    }
}

impl Server {
    /// The process has not exited (a crash would have ended it).
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
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

/// A read that ran into its timeout (or a signal) rather than failing.
pub fn is_read_timeout(e: &std::io::Error) -> bool {
    matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut | std::io::ErrorKind::Interrupted)
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn parse_listening(line: &str) -> Option<SocketAddr> {
    let rest = &line[line.find("listening on http://")? + "listening on http://".len()..];
    rest.split_whitespace().next()?.trim_end_matches('/').parse().ok()
}

// ---------------------------------------------------------------------------------------------
// Raw TCP and HTTP
// ---------------------------------------------------------------------------------------------

/// A TCP connection with the test timeouts set.
pub fn connect(addr: SocketAddr) -> TcpStream {
    let stream = TcpStream::connect_timeout(&addr, READ_TIMEOUT).expect("connect");
    stream.set_read_timeout(Some(READ_TIMEOUT)).unwrap();
    stream.set_write_timeout(Some(READ_TIMEOUT)).unwrap();
    stream.set_nodelay(true).unwrap();
    stream
}

fn is_timeout(e: &io::Error) -> bool {
    matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut)
}

fn is_reset(e: &io::Error) -> bool {
    matches!(e.kind(), io::ErrorKind::ConnectionReset | io::ErrorKind::ConnectionAborted | io::ErrorKind::BrokenPipe)
}

/// One read into `buf`, waiting at most until `deadline`. `Ok(0)` is EOF (a reset counts as
/// EOF too); `Err` is a timeout.
fn read_some(stream: &mut TcpStream, buf: &mut Vec<u8>, deadline: Instant) -> Result<usize, ()> {
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        return Err(());
    }
    stream.set_read_timeout(Some(left.min(READ_TIMEOUT).max(Duration::from_millis(1)))).unwrap();
    let mut tmp = [0u8; 65536];
    loop {
        match stream.read(&mut tmp) {
            Ok(n) => {
                buf.extend_from_slice(&tmp[..n]);
                return Ok(n);
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) if is_timeout(&e) => return Err(()),
            Err(e) if is_reset(&e) => return Ok(0),
            Err(e) => panic!("read failed: {e}"),
        }
    }
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
                Ok(0) => {
                    // EOF: a response without Content-Length ends here.
                    return match self.parse_buffered(head_only, true)? {
                        Some(resp) => Ok(resp),
                        None => {
                            Err(format!("EOF before a complete response; got {:?}", String::from_utf8_lossy(&self.buf)))
                        }
                    };
                }
                Ok(_) => {}
                Err(()) => {
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
                Ok(0) => return Some(std::mem::take(&mut self.buf)),
                Ok(_) => {}
                Err(()) => return None,
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
// WebSocket client
// ---------------------------------------------------------------------------------------------

pub const CONTINUATION: u8 = 0x0;
pub const TEXT: u8 = 0x1;
pub const BINARY: u8 = 0x2;
pub const CLOSE: u8 = 0x8;
pub const PING: u8 = 0x9;
pub const PONG: u8 = 0xA;

/// A frame from the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    pub fin: bool,
    pub opcode: u8,
    pub payload: Vec<u8>,
}

impl Frame {
    pub fn text(&self) -> &str {
        std::str::from_utf8(&self.payload).expect("text frame is UTF-8")
    }

    /// A close frame's status code (`None` for an empty close payload).
    pub fn close_code(&self) -> Option<u16> {
        assert_eq!(self.opcode, CLOSE, "not a close frame: {self:?}");
        match self.payload.as_slice() {
            [] => None,
            [hi, lo, ..] => Some(u16::from_be_bytes([*hi, *lo])),
            [_] => panic!("close frame with a one-byte payload"),
        }
    }
}

/// What waiting for a frame gave.
#[derive(Debug)]
pub enum Recv {
    Frame(Frame),
    Timeout,
    Eof,
}

static KEY_COUNTER: AtomicU32 = AtomicU32::new(1);

/// A fresh `Sec-WebSocket-Key`: 16 bytes, base64.
pub fn new_key() -> String {
    let n = KEY_COUNTER.fetch_add(1, Ordering::Relaxed);
    let t = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos() as u64;
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&t.to_le_bytes());
    bytes[8..12].copy_from_slice(&n.to_le_bytes());
    bytes[12..].copy_from_slice(&std::process::id().to_le_bytes());
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// One masked client frame (RFC 6455 §5.2, §5.3). A reserved `opcode` is written as is.
pub fn client_frame(fin: bool, opcode: u8, payload: &[u8], mask: [u8; 4]) -> Vec<u8> {
    let mut out = Vec::new();
    match Opcode::from_bits(opcode) {
        Some(op) => encode_frame(&mut out, fin, op, payload, Some(mask)),
        None => {
            // A reserved opcode: encode as binary, then patch the opcode bits.
            encode_frame(&mut out, fin, Opcode::Binary, payload, Some(mask));
            out[0] = (out[0] & 0xF0) | (opcode & 0x0F);
        }
    }
    out
}

/// The same frame unmasked (what a client must never send).
pub fn unmasked_frame(fin: bool, opcode: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    encode_frame(&mut out, fin, Opcode::from_bits(opcode).expect("valid opcode"), payload, None);
    out
}

/// A WebSocket client connection.
pub struct Ws {
    pub stream: TcpStream,
    buf: Vec<u8>,
    mask_state: u32,
}

impl Ws {
    /// Connects and completes the opening handshake on `path` (e.g. `/ws?room=x`). Panics if
    /// the server does not answer with a correct 101.
    pub fn connect(addr: SocketAddr, path: &str) -> Ws {
        match Ws::try_connect(addr, path) {
            Ok(ws) => ws,
            Err(e) => panic!("WebSocket handshake on {path} failed: {e}"),
        }
    }

    pub fn try_connect(addr: SocketAddr, path: &str) -> Result<Ws, String> {
        let stream = connect(addr);
        let key = new_key();
        let mut req = Vec::new();
        write_client_request(&mut req, &addr.to_string(), path, &key);
        Ws::handshake(stream, &req, &key, false)
    }

    /// The opening handshake on `path` over a connection the caller made (e.g. with
    /// [`connect_with_rcvbuf`]).
    pub fn connect_on(stream: TcpStream, path: &str) -> Result<Ws, String> {
        let addr = stream.peer_addr().map_err(|e| e.to_string())?;
        let key = new_key();
        let mut req = Vec::new();
        write_client_request(&mut req, &addr.to_string(), path, &key);
        Ws::handshake(stream, &req, &key, false)
    }

    /// Handshake with the request written one byte per write.
    pub fn connect_dribbled(addr: SocketAddr, path: &str) -> Result<Ws, String> {
        let stream = connect(addr);
        let key = new_key();
        let mut req = Vec::new();
        write_client_request(&mut req, &addr.to_string(), path, &key);
        Ws::handshake(stream, &req, &key, true)
    }

    fn handshake(mut stream: TcpStream, req: &[u8], key: &str, dribble: bool) -> Result<Ws, String> {
        if dribble {
            for b in req {
                stream.write_all(std::slice::from_ref(b)).map_err(|e| e.to_string())?;
                thread::sleep(Duration::from_micros(300));
            }
        } else {
            stream.write_all(req).map_err(|e| e.to_string())?;
        }
        let mut buf = Vec::new();
        let deadline = Instant::now() + READ_TIMEOUT;
        loop {
            match check_server_response(&buf, key) {
                Ok(Some(len)) => {
                    buf.drain(..len);
                    let seed = KEY_COUNTER.fetch_add(1, Ordering::Relaxed).wrapping_mul(0x9E37_79B9) | 1;
                    return Ok(Ws { stream, buf, mask_state: seed });
                }
                Ok(None) => {}
                Err(e) => return Err(format!("{e}: {:?}", String::from_utf8_lossy(&buf))),
            }
            match read_some(&mut stream, &mut buf, deadline) {
                Ok(0) => return Err(format!("EOF during handshake: {:?}", String::from_utf8_lossy(&buf))),
                Ok(_) => {}
                Err(()) => return Err(format!("timeout during handshake: {:?}", String::from_utf8_lossy(&buf))),
            }
        }
    }

    /// A connection whose 101 was read with [`HttpClient`]: bytes already read after it are kept.
    pub fn from_http(client: HttpClient) -> Ws {
        let seed = KEY_COUNTER.fetch_add(1, Ordering::Relaxed).wrapping_mul(0x9E37_79B9) | 1;
        Ws { stream: client.stream, buf: client.buf, mask_state: seed }
    }

    pub fn next_mask(&mut self) -> [u8; 4] {
        let mut x = self.mask_state;
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        self.mask_state = x;
        x.to_le_bytes()
    }

    /// Bytes as they are. A write error (the server already closed) is ignored: the test
    /// finds out by reading.
    pub fn send_raw(&mut self, bytes: &[u8]) {
        let _ = self.stream.write_all(bytes);
    }

    /// Writes `bytes` one byte per write, with a short pause so each is its own segment.
    pub fn send_dribbled(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.stream.write_all(std::slice::from_ref(b)).expect("write");
            thread::sleep(Duration::from_micros(300));
        }
    }

    /// A masked frame with the given FIN bit and opcode (reserved opcodes allowed).
    pub fn frame(&mut self, fin: bool, opcode: u8, payload: &[u8]) -> Vec<u8> {
        let mask = self.next_mask();
        client_frame(fin, opcode, payload, mask)
    }

    pub fn send_frame(&mut self, fin: bool, opcode: u8, payload: &[u8]) {
        let bytes = self.frame(fin, opcode, payload);
        self.send_raw(&bytes);
    }

    pub fn send_text(&mut self, text: &str) {
        self.send_frame(true, TEXT, text.as_bytes());
    }

    pub fn send_binary(&mut self, data: &[u8]) {
        self.send_frame(true, BINARY, data);
    }

    pub fn ping(&mut self, payload: &[u8]) {
        self.send_frame(true, PING, payload);
    }

    pub fn pong(&mut self, payload: &[u8]) {
        self.send_frame(true, PONG, payload);
    }

    pub fn close(&mut self, code: u16, reason: &str) {
        let mut payload = code.to_be_bytes().to_vec();
        payload.extend_from_slice(reason.as_bytes());
        self.send_frame(true, CLOSE, &payload);
    }

    pub fn close_payload(&mut self, payload: &[u8]) {
        self.send_frame(true, CLOSE, payload);
    }

    /// The next frame from the server, waiting at most `timeout`.
    pub fn recv_within(&mut self, timeout: Duration) -> Recv {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(frame) = self.parse_buffered() {
                return Recv::Frame(frame);
            }
            match read_some(&mut self.stream, &mut self.buf, deadline) {
                Ok(0) => return Recv::Eof,
                Ok(_) => {}
                Err(()) => return Recv::Timeout,
            }
        }
    }

    fn parse_buffered(&mut self) -> Option<Frame> {
        let (header, header_len) = match FrameHeader::decode(&self.buf) {
            Ok(Some(h)) => h,
            Ok(None) => return None,
            Err(e) => panic!("server sent an invalid frame header ({e}): {:02x?}", &self.buf[..self.buf.len().min(16)]),
        };
        assert!(header.mask.is_none(), "server sent a masked frame");
        let end = header_len + usize::try_from(header.payload_len).unwrap();
        if self.buf.len() < end {
            return None;
        }
        let payload = self.buf[header_len..end].to_vec();
        self.buf.drain(..end);
        Some(Frame { fin: header.fin, opcode: header.opcode.bits(), payload })
    }

    /// The next frame; panics on EOF or after 5 s.
    pub fn recv(&mut self) -> Frame {
        match self.recv_within(READ_TIMEOUT) {
            Recv::Frame(f) => f,
            other => panic!("expected a frame, got {other:?}"),
        }
    }

    /// The next frame, which must be a text frame; its text.
    pub fn recv_text(&mut self) -> String {
        let f = self.recv();
        assert_eq!((f.opcode, f.fin), (TEXT, true), "expected a whole text frame, got {f:?}");
        f.text().to_string()
    }

    /// Reads until a close frame (skipping other frames) and returns its code. Panics on EOF
    /// or timeout before one.
    pub fn recv_close(&mut self) -> Option<u16> {
        let deadline = Instant::now() + READ_TIMEOUT;
        loop {
            match self.recv_within(deadline.saturating_duration_since(Instant::now())) {
                Recv::Frame(f) if f.opcode == CLOSE => return f.close_code(),
                Recv::Frame(_) => {}
                other => panic!("expected a close frame, got {other:?}"),
            }
        }
    }

    /// Frames received until the server closes TCP; panics if it does not within 5 s.
    pub fn drain_to_eof(&mut self) -> Vec<Frame> {
        self.drain_to_eof_within(READ_TIMEOUT)
            .unwrap_or_else(|frames| panic!("server did not close TCP within 5 s; frames: {frames:?}"))
    }

    /// Frames received until the server closes TCP, `Err(frames)` on timeout.
    pub fn drain_to_eof_within(&mut self, timeout: Duration) -> Result<Vec<Frame>, Vec<Frame>> {
        let deadline = Instant::now() + timeout;
        let mut frames = Vec::new();
        loop {
            match self.recv_within(deadline.saturating_duration_since(Instant::now())) {
                Recv::Frame(f) => frames.push(f),
                Recv::Eof => {
                    assert!(self.buf.is_empty(), "EOF inside a frame: {:02x?}", self.buf);
                    return Ok(frames);
                }
                Recv::Timeout => return Err(frames),
            }
        }
    }

    /// The server closes TCP (within 5 s) without sending anything more.
    pub fn expect_eof(&mut self) {
        let frames = self.drain_to_eof();
        assert!(frames.is_empty(), "frames after the end: {frames:?}");
    }

    /// A ping answered by a pong with the same payload: the connection is alive.
    pub fn assert_alive(&mut self) {
        let payload = b"alive?";
        self.ping(payload);
        loop {
            let f = self.recv();
            match f.opcode {
                PONG if f.payload == payload => return,
                PING | PONG => {}
                _ => panic!("expected a pong, got {f:?}"),
            }
        }
    }

    pub fn shutdown_write(&self) {
        let _ = self.stream.shutdown(Shutdown::Write);
    }

    /// The socket and the bytes already read past the handshake (frames that followed the
    /// 101 in the same segment), for tests that read frames themselves.
    pub fn into_parts(self) -> (TcpStream, Vec<u8>) {
        (self.stream, self.buf)
    }
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
    std::fs::read_dir(format!("/proc/{pid}/fd")).unwrap_or_else(|e| panic!("/proc/{pid}/fd: {e}")).count()
}

/// Resident set size of process `pid` in KiB (`VmRSS` of `/proc/PID/status`).
pub fn rss_kib(pid: i32) -> u64 {
    proc_status_kib(pid, "VmRSS")
}

/// A `kB` field of `/proc/PID/status` (`VmRSS`, `VmData`, `VmHWM`, …) of process `pid`.
pub fn proc_status_kib(pid: i32, field: &str) -> u64 {
    let status =
        std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_else(|e| panic!("/proc/{pid}/status: {e}"));
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no {field} in /proc/{pid}/status"))
}

/// CPU time (user + system) process `pid` has used, in seconds (`/proc/PID/stat`).
pub fn cpu_seconds(pid: i32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_else(|e| panic!("/proc/{pid}/stat: {e}"));
    // The command name is in parentheses and may hold spaces: count fields after the last ')'.
    let rest = &stat[stat.rfind(')').expect("stat has (comm)") + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // Fields 14 (utime) and 15 (stime) of proc(5), counting from 1 with pid and comm first.
    let ticks: u64 = fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap();
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1);
    ticks as f64 / hz as f64
}

/// Closes `stream` with a TCP reset instead of a FIN (SO_LINGER on, zero seconds).
pub fn abort_with_rst(stream: TcpStream) {
    use std::os::fd::AsRawFd;
    let linger = libc::linger { l_onoff: 1, l_linger: 0 };
    // SAFETY: setsockopt on a socket we own, with a pointer to a properly sized linger.
    let rc = unsafe {
        libc::setsockopt(
            stream.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            (&linger as *const libc::linger).cast(),
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        )
    };
    assert_eq!(rc, 0, "SO_LINGER: {}", io::Error::last_os_error());
    drop(stream);
}

/// A TCP connection (test timeouts set) whose receive buffer is `rcvbuf` bytes, set before
/// connecting so that the window it advertises stays small: a client that does not read fills
/// up after a few KiB instead of the megabytes Linux would otherwise buffer for it.
pub fn connect_with_rcvbuf(addr: SocketAddr, rcvbuf: usize) -> TcpStream {
    use std::os::fd::FromRawFd;
    let SocketAddr::V4(v4) = addr else { panic!("IPv4 only: {addr}") };
    // SAFETY: plain socket calls on a descriptor we create and then hand to TcpStream, which
    // owns (and closes) it from then on; the structs passed are properly sized.
    unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0);
        assert!(fd >= 0, "socket: {}", io::Error::last_os_error());
        let stream = TcpStream::from_raw_fd(fd);
        let size = rcvbuf as libc::c_int;
        let rc = libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_RCVBUF,
            (&size as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        );
        assert_eq!(rc, 0, "SO_RCVBUF: {}", io::Error::last_os_error());
        let mut sin: libc::sockaddr_in = std::mem::zeroed();
        sin.sin_family = libc::AF_INET as libc::sa_family_t;
        sin.sin_port = v4.port().to_be();
        sin.sin_addr = libc::in_addr { s_addr: u32::from(*v4.ip()).to_be() };
        let rc = libc::connect(
            fd,
            (&sin as *const libc::sockaddr_in).cast(),
            std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t,
        );
        assert_eq!(rc, 0, "connect: {}", io::Error::last_os_error());
        stream.set_read_timeout(Some(READ_TIMEOUT)).unwrap();
        stream.set_write_timeout(Some(READ_TIMEOUT)).unwrap();
        stream.set_nodelay(true).unwrap();
        stream
    }
}

/// A client request upgrading to WebSocket on `path`, with a fresh key.
pub fn upgrade_request(addr: SocketAddr, path: &str) -> Vec<u8> {
    let mut req = Vec::new();
    write_client_request(&mut req, &addr.to_string(), path, &new_key());
    req
}

/// Server frames parsed from a byte stream as it arrives, without copying per frame (for
/// tests that receive tens of thousands of frames).
#[derive(Debug, Default)]
pub struct FrameParser {
    buf: Vec<u8>,
    pos: usize,
}

impl FrameParser {
    pub fn new(already: Vec<u8>) -> FrameParser {
        FrameParser { buf: already, pos: 0 }
    }

    pub fn push(&mut self, bytes: &[u8]) {
        if self.pos > 0 && self.pos * 2 >= self.buf.len() {
            self.buf.drain(..self.pos);
            self.pos = 0;
        }
        self.buf.extend_from_slice(bytes);
    }

    /// The next whole frame, `Ok(None)` if it has not all arrived, `Err` if the bytes are not
    /// a valid unmasked server frame.
    pub fn next_frame(&mut self) -> Result<Option<Frame>, String> {
        let rest = &self.buf[self.pos..];
        let (header, header_len) = match FrameHeader::decode(rest) {
            Ok(Some(h)) => h,
            Ok(None) => return Ok(None),
            Err(e) => {
                return Err(format!(
                    "invalid frame header from the server ({e}): {:02x?}",
                    &rest[..rest.len().min(16)]
                ));
            }
        };
        if header.mask.is_some() {
            return Err("the server sent a masked frame".to_string());
        }
        let Some(end) = usize::try_from(header.payload_len).ok().and_then(|n| n.checked_add(header_len)) else {
            return Err(format!("absurd frame length {}", header.payload_len));
        };
        if rest.len() < end {
            return Ok(None);
        }
        let frame = Frame { fin: header.fin, opcode: header.opcode.bits(), payload: rest[header_len..end].to_vec() };
        self.pos += end;
        Ok(Some(frame))
    }

    /// Bytes of a frame that has not fully arrived.
    pub fn partial(&self) -> usize {
        self.buf.len() - self.pos
    }
}

/// The `id` of a danmaku broadcast, read without a JSON parser (hot path of the floods).
pub fn danmaku_id(text: &[u8]) -> Option<u64> {
    const KEY: &[u8] = b"\"id\":";
    let at = text.windows(KEY.len()).position(|w| w == KEY)? + KEY.len();
    let digits = text[at..].iter().take_while(|b| b.is_ascii_digit()).count();
    std::str::from_utf8(&text[at..at + digits]).ok()?.parse().ok()
}
