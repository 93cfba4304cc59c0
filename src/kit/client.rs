//! A blocking WebSocket client for tests (RFC 6455 client side: masked frames out, unmasked
//! frames in), on a std `TcpStream` whose every read has a timeout, so no test can hang.
//!
//! It is a test client: methods without `try_` panic when the server misbehaves (that is the
//! assertion); the `try_` ones return why instead. Frames are parsed by the kit's one
//! [`FrameReader`].

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::atomic::{AtomicU32, Ordering};

use std::thread;
use std::time::{Duration, Instant};

use super::frames::{BINARY, CLOSE, Frame, FrameReader, Masker, PING, PONG, TEXT, client_frame};
use super::messages::{Ack, Hello, post};
use super::upgrade::{fresh_key, upgrade_request};
use crate::wire::handshake::check_server_response;

/// The longest any single blocking read may wait.
pub const READ_TIMEOUT: Duration = Duration::from_secs(5);

/// A TCP connection with the test timeouts set and Nagle off.
pub fn connect(addr: SocketAddr) -> io::Result<TcpStream> {
    let stream = TcpStream::connect_timeout(&addr, READ_TIMEOUT)?;
    stream.set_read_timeout(Some(READ_TIMEOUT))?;
    stream.set_write_timeout(Some(READ_TIMEOUT))?;
    stream.set_nodelay(true)?;
    Ok(stream)
}

/// A read that ran into its timeout (or a signal) rather than failing.
pub fn is_read_timeout(e: &io::Error) -> bool {
    matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut | io::ErrorKind::Interrupted)
}

fn is_reset(e: &io::Error) -> bool {
    matches!(e.kind(), io::ErrorKind::ConnectionReset | io::ErrorKind::ConnectionAborted | io::ErrorKind::BrokenPipe)
}

/// One read appended to `buf`, waiting at most until `deadline`. `Ok(0)` is EOF (a reset
/// counts as EOF too); `None` is a timeout. Panics on any other read error.
pub fn read_some(stream: &mut TcpStream, buf: &mut Vec<u8>, deadline: Instant) -> Option<usize> {
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        return None;
    }
    stream.set_read_timeout(Some(left.min(READ_TIMEOUT).max(Duration::from_millis(1)))).expect("set_read_timeout");
    let mut tmp = [0u8; 65536];
    loop {
        match stream.read(&mut tmp) {
            Ok(n) => {
                buf.extend_from_slice(&tmp[..n]);
                return Some(n);
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) if is_read_timeout(&e) => return None,
            Err(e) if is_reset(&e) => return Some(0),
            Err(e) => panic!("read failed: {e}"),
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

/// Whether `target` is the danmaku endpoint, whose first frame is `hello`.
fn is_wall_target(target: &str) -> bool {
    target == "/ws" || target.starts_with("/ws?")
}

/// A WebSocket client connection.
pub struct Ws {
    pub stream: TcpStream,
    reader: FrameReader,
    masker: Masker,
    /// The `hello` read right after the upgrade, on `/ws`.
    pub hello: Option<Hello>,
}

impl Ws {
    /// Connects and completes the opening handshake on `target` (e.g. `/ws?room=x`); on `/ws`
    /// also reads the `hello`. Panics if the server does not answer with a correct 101.
    pub fn connect(addr: SocketAddr, target: &str) -> Ws {
        Ws::try_connect(addr, target).unwrap_or_else(|e| panic!("WebSocket handshake on {target} failed: {e}"))
    }

    /// A wall or poster in `room`: connected on `/ws?room=ROOM`, with the room's `hello`.
    pub fn join(addr: SocketAddr, room: &str) -> (Ws, Hello) {
        let ws = Ws::connect(addr, &format!("/ws?room={room}"));
        let hello = ws.hello.clone().expect("connect on /ws reads the hello");
        assert_eq!(hello.room, room, "hello names another room: {hello:?}");
        (ws, hello)
    }

    pub fn try_connect(addr: SocketAddr, target: &str) -> Result<Ws, String> {
        let stream = connect(addr).map_err(|e| format!("connect: {e}"))?;
        Ws::connect_on(stream, target)
    }

    /// The opening handshake on `target` over a connection the caller made (e.g. with
    /// [`super::sock::connect_with_rcvbuf`]).
    pub fn connect_on(stream: TcpStream, target: &str) -> Result<Ws, String> {
        Ws::handshake(stream, target, false)
    }

    /// The handshake with the request written one byte per write.
    pub fn connect_dribbled(addr: SocketAddr, target: &str) -> Result<Ws, String> {
        Ws::handshake(connect(addr).map_err(|e| format!("connect: {e}"))?, target, true)
    }

    /// A connection whose 101 the caller has read: `already` holds the bytes read after it.
    pub fn from_parts(stream: TcpStream, already: Vec<u8>) -> Ws {
        static SEED: AtomicU32 = AtomicU32::new(1);
        let seed = SEED.fetch_add(1, Ordering::Relaxed).wrapping_mul(0x9E37_79B9);
        Ws { stream, reader: FrameReader::new(already), masker: Masker::new(seed), hello: None }
    }

    fn handshake(mut stream: TcpStream, target: &str, dribble: bool) -> Result<Ws, String> {
        let addr = stream.peer_addr().map_err(|e| e.to_string())?;
        let key = fresh_key();
        let req = upgrade_request(&addr.to_string(), target, &key);
        let chunk = if dribble { 1 } else { req.len() };
        for piece in req.chunks(chunk) {
            stream.write_all(piece).map_err(|e| e.to_string())?;
            if dribble {
                thread::sleep(Duration::from_micros(300));
            }
        }
        let mut buf = Vec::new();
        let deadline = Instant::now() + READ_TIMEOUT;
        loop {
            match check_server_response(&buf, &key) {
                Ok(Some(len)) => {
                    let mut ws = Ws::from_parts(stream, buf.split_off(len));
                    if is_wall_target(target) {
                        ws.hello = Some(ws.read_hello()?);
                    }
                    return Ok(ws);
                }
                Ok(None) => {}
                Err(e) => return Err(format!("{e}: {:?}", String::from_utf8_lossy(&buf))),
            }
            let what = match read_some(&mut stream, &mut buf, deadline) {
                Some(0) => "EOF",
                Some(_) => continue,
                None => "timeout",
            };
            return Err(format!("{what} during handshake: {:?}", String::from_utf8_lossy(&buf)));
        }
    }

    /// Reads the next frame, which must be the `hello` (INTERFACE.md, "Rooms over time").
    pub fn read_hello(&mut self) -> Result<Hello, String> {
        match self.recv_within(READ_TIMEOUT) {
            Recv::Frame(f) if f.opcode == TEXT => Hello::parse(&f.payload),
            other => Err(format!("expected a hello frame, got {other:?}")),
        }
    }

    pub fn next_mask(&mut self) -> [u8; 4] {
        self.masker.next_mask()
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

    /// Posts `{"msg":MSG}`, with `"ref":R` when given (INTERFACE.md, "Post acknowledgements").
    pub fn post(&mut self, msg: &str, reference: Option<&str>) {
        self.send_text(&post(msg, reference));
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

    /// The next frame from the server, waiting at most `timeout`. Panics on bytes that are not
    /// a valid server frame.
    pub fn recv_within(&mut self, timeout: Duration) -> Recv {
        let deadline = Instant::now() + timeout;
        let mut buf = Vec::new();
        loop {
            match self.reader.next_frame() {
                Ok(Some(frame)) => return Recv::Frame(frame),
                Ok(None) => {}
                Err(e) => panic!("{e}"),
            }
            buf.clear();
            match read_some(&mut self.stream, &mut buf, deadline) {
                Some(0) => return Recv::Eof,
                Some(_) => self.reader.push(&buf),
                None => return Recv::Timeout,
            }
        }
    }

    /// The next frame; panics on EOF or after 5 s.
    pub fn recv(&mut self) -> Frame {
        match self.recv_within(READ_TIMEOUT) {
            Recv::Frame(f) => f,
            other => panic!("expected a frame, got {other:?}"),
        }
    }

    /// The next frame, which must be a whole text frame; its text.
    pub fn recv_text(&mut self) -> String {
        let f = self.recv();
        assert_eq!((f.opcode, f.fin), (TEXT, true), "expected a whole text frame, got {f:?}");
        f.text().to_string()
    }

    /// The next frame, which must be an `ack`.
    pub fn recv_ack(&mut self) -> Ack {
        let text = self.recv_text();
        Ack::parse(text.as_bytes()).unwrap_or_else(|e| panic!("{e}"))
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
                    assert_eq!(self.reader.partial(), 0, "EOF inside a frame");
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

    /// The socket and the bytes already read past the handshake (and the `hello`), for tests
    /// that read frames themselves.
    pub fn into_parts(mut self) -> (TcpStream, Vec<u8>) {
        let rest = self.reader.take_rest();
        (self.stream, rest)
    }
}
