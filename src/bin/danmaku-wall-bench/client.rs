//! The client side of the protocol on one mio event loop: many connections, each
//! `Waiting → Connecting → Handshaking → Open(WsConn)`, read into one shared scratch buffer.
//!
//! [`Net::turn`] polls once and hands complete messages to a [`Handler`]; the mode decides
//! what to send between turns. The receive path allocates nothing beyond what
//! [`WsConn::feed`] does.

use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use danmaku_wall::kit::messages::is_hello;
use danmaku_wall::kit::sock::set_abortive_close;
use danmaku_wall::kit::upgrade::{key_from_nonce, upgrade_request};
use danmaku_wall::protocol::ws_conn::{Role, WsConn, WsEvent, WsLimits};
use danmaku_wall::wire::frame::Opcode;
use danmaku_wall::wire::handshake::check_server_response;
use mio::net::TcpStream;
use mio::{Events, Interest, Poll, Token};

use crate::sock::{self, Sources};

/// The shared read buffer.
const SCRATCH: usize = 256 * 1024;
/// A connection attempt (TCP connect plus handshake) that takes longer than this failed.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(15);
/// Tries per connection before it counts as a connect failure (transport errors only: an
/// HTTP answer other than 101 is final).
const ATTEMPTS: u32 = 5;
/// Wait before trying again after a transient failure (EAGAIN, no free port, reset).
const RETRY_AFTER: Duration = Duration::from_millis(50);
/// Longest accepted message (the server's are ~150 bytes; errors are short too).
const MAX_MESSAGE: usize = 1 << 20;

/// What the mode does with what arrives.
pub trait Handler {
    /// The handshake of connection `token` completed.
    fn on_open(&mut self, token: usize, now: Instant);
    /// The server's `hello` (the first frame after a `/ws` upgrade): not a delivery.
    fn on_hello(&mut self, _token: usize, _data: &[u8]) {}
    /// A complete text or binary message other than `hello`. `now` was read once for the
    /// read it came in.
    fn on_message(&mut self, token: usize, data: &[u8], now: Instant);
    /// Called right after each [`on_message`](Self::on_message): a handler that wants to
    /// answer at once (a sliding window) writes the text into `out` and returns true.
    fn reply(&mut self, _token: usize, _out: &mut Vec<u8>) -> bool {
        false
    }
    /// An open connection ended (`was_open`), or an attempt finally failed.
    fn on_close(&mut self, token: usize, was_open: bool, why: &str);
}

enum State {
    /// Not started yet (waiting for a handshake slot) or waiting to retry.
    Waiting,
    Connecting,
    Handshaking(Vec<u8>),
    Open(Box<WsConn>),
    Done,
}

struct Conn {
    stream: Option<TcpStream>,
    state: State,
    /// `Sec-WebSocket-Key` of the attempt in progress.
    key: String,
    attempt: u32,
    /// Bytes a short write left over (rare).
    out: Vec<u8>,
}

/// Connection counts.
#[derive(Debug, Default, Clone, Copy)]
pub struct NetStats {
    pub open: usize,
    pub opened: usize,
    pub connect_failures: usize,
    /// Open connections that ended before we closed them.
    pub disconnects: usize,
    pub retries: usize,
}

pub struct Net {
    poll: Poll,
    events: Events,
    conns: Vec<Conn>,
    scratch: Box<[u8]>,
    ws_events: Vec<WsEvent>,
    /// Storage for [`Handler::reply`].
    reply: Vec<u8>,
    addr: SocketAddr,
    host: String,
    path: String,
    /// Connections waiting for a handshake slot, in order.
    queue: VecDeque<usize>,
    /// Transient failures waiting to retry: (when, token). Fixed delay, so in time order.
    retry: VecDeque<(Instant, usize)>,
    /// Attempts in progress: (deadline, token, attempt). Fixed timeout, so in time order.
    deadlines: VecDeque<(Instant, usize, u32)>,
    in_flight: usize,
    max_in_flight: usize,
    rng: u64,
    sources: Sources,
    pub stats: NetStats,
    /// The first reason an attempt failed, for the report.
    pub first_failure: Option<String>,
}

impl Net {
    pub fn new(addr: SocketAddr, host: &str, path: &str, max_in_flight: usize) -> io::Result<Net> {
        Ok(Net {
            poll: Poll::new()?,
            events: Events::with_capacity(4096),
            conns: Vec::new(),
            scratch: vec![0; SCRATCH].into_boxed_slice(),
            ws_events: Vec::new(),
            reply: Vec::with_capacity(256),
            addr,
            host: host.to_string(),
            path: path.to_string(),
            queue: VecDeque::new(),
            retry: VecDeque::new(),
            deadlines: VecDeque::new(),
            in_flight: 0,
            max_in_flight,
            rng: 0x2545_F491_4F6C_DD1D ^ u64::from(std::process::id()),
            sources: Sources::default(),
            stats: NetStats::default(),
            first_failure: None,
        })
    }

    /// Queues `n` new connections; returns the first token (they are consecutive).
    pub fn add(&mut self, n: usize) -> usize {
        let first = self.conns.len();
        for token in first..first + n {
            self.conns.push(Conn {
                stream: None,
                state: State::Waiting,
                key: String::new(),
                attempt: 0,
                out: Vec::new(),
            });
            self.queue.push_back(token);
        }
        first
    }

    /// Connections neither open nor finally failed (or closed).
    pub fn pending(&self) -> usize {
        self.queue.len() + self.retry.len() + self.in_flight
    }

    pub fn is_open(&self, token: usize) -> bool {
        matches!(self.conns.get(token), Some(Conn { state: State::Open(_), .. }))
    }

    fn next_random(&mut self) -> u64 {
        // xorshift64*
        let mut x = self.rng;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.rng = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Starts queued and due connection attempts while handshake slots are free.
    fn start_attempts(&mut self, now: Instant, h: &mut impl Handler) {
        while self.in_flight < self.max_in_flight {
            let token = match self.retry.front() {
                Some(&(at, token)) if at <= now => {
                    self.retry.pop_front();
                    token
                }
                _ => match self.queue.pop_front() {
                    Some(token) => token,
                    None => break,
                },
            };
            self.start(token, now, h);
        }
    }

    fn start(&mut self, token: usize, now: Instant, h: &mut impl Handler) {
        let mut nonce = [0u8; 16];
        nonce[..8].copy_from_slice(&self.next_random().to_le_bytes());
        nonce[8..].copy_from_slice(&self.next_random().to_le_bytes());
        let conn = &mut self.conns[token];
        conn.key = key_from_nonce(nonce);
        conn.attempt += 1;
        conn.out.clear();
        match sock::connect(self.addr, &mut self.sources) {
            Ok(mut stream) => {
                if let Err(e) =
                    self.poll.registry().register(&mut stream, Token(token), Interest::READABLE | Interest::WRITABLE)
                {
                    return self.fail_attempt(token, false, &format!("register: {e}"), now, h);
                }
                let _ = stream.set_nodelay(true);
                conn.stream = Some(stream);
                conn.state = State::Connecting;
                self.in_flight += 1;
                self.deadlines.push_back((now + HANDSHAKE_TIMEOUT, token, conn.attempt));
            }
            Err(e) => {
                // EAGAIN / EADDRNOTAVAIL: out of local ports or SYN queue space for now.
                let transient = e.kind() == io::ErrorKind::WouldBlock
                    || matches!(e.raw_os_error(), Some(libc::EADDRNOTAVAIL | libc::EAGAIN | libc::EINTR));
                if transient && conn.attempt < ATTEMPTS * 20 {
                    conn.state = State::Waiting;
                    self.stats.retries += 1;
                    self.retry.push_back((now + RETRY_AFTER, token));
                } else {
                    conn.state = State::Done;
                    self.note_failure(format!("connect: {e}"));
                    self.stats.connect_failures += 1;
                    h.on_close(token, false, "connect failed");
                }
            }
        }
    }

    fn note_failure(&mut self, why: String) {
        if self.first_failure.is_none() {
            self.first_failure = Some(why);
        }
    }

    /// An attempt in flight failed. Transport trouble is retried; an HTTP refusal is final.
    fn fail_attempt(&mut self, token: usize, retryable: bool, why: &str, now: Instant, h: &mut impl Handler) {
        let conn = &mut self.conns[token];
        if matches!(conn.state, State::Connecting | State::Handshaking(_)) {
            self.in_flight -= 1;
        }
        if let Some(mut stream) = conn.stream.take() {
            let _ = self.poll.registry().deregister(&mut stream);
        }
        if retryable && conn.attempt < ATTEMPTS {
            conn.state = State::Waiting;
            self.stats.retries += 1;
            self.retry.push_back((now + RETRY_AFTER, token));
        } else {
            conn.state = State::Done;
            self.stats.connect_failures += 1;
            self.note_failure(why.to_string());
            h.on_close(token, false, why);
        }
    }

    /// Ends an open connection (no close handshake: the bench is done with it or it broke).
    fn drop_open(&mut self, token: usize, why: &str, h: &mut impl Handler) {
        let conn = &mut self.conns[token];
        if !matches!(conn.state, State::Open(_)) {
            return;
        }
        conn.state = State::Done;
        if let Some(mut stream) = conn.stream.take() {
            let _ = self.poll.registry().deregister(&mut stream);
        }
        self.stats.open -= 1;
        self.stats.disconnects += 1;
        h.on_close(token, true, why);
    }

    /// When [`turn`](Self::turn) has timed work of its own (retries, handshake deadlines).
    pub fn next_wake(&self) -> Option<Instant> {
        let retry = self.retry.front().map(|&(at, _)| at);
        let deadline = self.deadlines.front().map(|&(at, _, _)| at);
        match (retry, deadline) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// One poll (at most until `until`, and never past our own timers) and everything it
    /// brings.
    pub fn turn(&mut self, until: Option<Instant>, h: &mut impl Handler) -> io::Result<()> {
        let now = Instant::now();
        self.start_attempts(now, h);
        let wake = match (until, self.next_wake()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        let timeout = wake.map(|at| at.saturating_duration_since(now));
        if let Err(e) = self.poll.poll(&mut self.events, timeout)
            && e.kind() != io::ErrorKind::Interrupted
        {
            return Err(e);
        }
        let events = std::mem::replace(&mut self.events, Events::with_capacity(0));
        for event in events.iter() {
            let token = event.token().0;
            if event.is_writable() {
                self.on_writable(token, h);
            }
            if event.is_readable() || event.is_read_closed() || event.is_error() {
                self.on_readable(token, h);
            }
        }
        self.events = events;
        let now = Instant::now();
        while let Some(&(at, token, attempt)) = self.deadlines.front() {
            if at > now {
                break;
            }
            self.deadlines.pop_front();
            let conn = &self.conns[token];
            if conn.attempt == attempt && matches!(conn.state, State::Connecting | State::Handshaking(_)) {
                self.fail_attempt(token, true, "handshake timed out", now, h);
            }
        }
        self.start_attempts(now, h);
        Ok(())
    }

    fn on_writable(&mut self, token: usize, h: &mut impl Handler) {
        let Some(conn) = self.conns.get_mut(token) else { return };
        let Some(stream) = conn.stream.as_mut() else { return };
        match conn.state {
            State::Connecting => {
                // mio: a writable event on a connecting socket means the attempt is over;
                // SO_ERROR says how, peer_addr whether it is really connected.
                let error = match stream.take_error() {
                    Ok(Some(e)) | Err(e) => Some(e),
                    Ok(None) => None,
                };
                if let Some(e) = error {
                    return self.fail_attempt(token, true, &format!("connect: {e}"), Instant::now(), h);
                }
                match stream.peer_addr() {
                    Ok(_) => {}
                    Err(e) if e.kind() == io::ErrorKind::NotConnected => return,
                    Err(e) => return self.fail_attempt(token, true, &format!("connect: {e}"), Instant::now(), h),
                }
                conn.state = State::Handshaking(Vec::new());
                conn.out = upgrade_request(&self.host, &self.path, &conn.key);
                self.flush(token, h);
            }
            _ => {
                if !conn.out.is_empty() {
                    self.flush(token, h);
                }
            }
        }
    }

    /// Writes what is left in the connection's out buffer.
    fn flush(&mut self, token: usize, h: &mut impl Handler) {
        let conn = &mut self.conns[token];
        let Some(stream) = conn.stream.as_mut() else { return };
        while !conn.out.is_empty() {
            match stream.write(&conn.out) {
                Ok(n) => {
                    conn.out.drain(..n);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return self.on_transport_error(token, &format!("write: {e}"), h),
            }
        }
    }

    fn on_transport_error(&mut self, token: usize, why: &str, h: &mut impl Handler) {
        match self.conns[token].state {
            State::Open(_) => self.drop_open(token, why, h),
            State::Connecting | State::Handshaking(_) => self.fail_attempt(token, true, why, Instant::now(), h),
            _ => {}
        }
    }

    /// Sends one text message (masked, as a client must) on an open connection. Returns
    /// false when the connection is not open.
    pub fn send_text(&mut self, token: usize, payload: &[u8], h: &mut impl Handler) -> bool {
        let Some(conn) = self.conns.get_mut(token) else { return false };
        let State::Open(ws) = &mut conn.state else { return false };
        let frame = ws.frame_bytes(Opcode::Text, payload);
        self.send_raw(token, frame, h);
        true
    }

    fn send_raw(&mut self, token: usize, bytes: Vec<u8>, h: &mut impl Handler) {
        let conn = &mut self.conns[token];
        if !conn.out.is_empty() {
            conn.out.extend_from_slice(&bytes);
            return;
        }
        let Some(stream) = conn.stream.as_mut() else { return };
        loop {
            match stream.write(&bytes) {
                Ok(n) if n == bytes.len() => return,
                Ok(n) => {
                    conn.out.extend_from_slice(&bytes[n..]);
                    return;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    conn.out = bytes;
                    return;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return self.on_transport_error(token, &format!("write: {e}"), h),
            }
        }
    }

    fn on_readable(&mut self, token: usize, h: &mut impl Handler) {
        loop {
            let Some(conn) = self.conns.get_mut(token) else { return };
            let Some(stream) = conn.stream.as_mut() else { return };
            let n = match stream.read(&mut self.scratch) {
                Ok(0) => {
                    let why = "closed by the server";
                    return match conn.state {
                        State::Open(_) => self.drop_open(token, why, h),
                        _ => self.fail_attempt(token, true, why, Instant::now(), h),
                    };
                }
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return self.on_transport_error(token, &format!("read: {e}"), h),
            };
            let now = Instant::now();
            match &mut conn.state {
                State::Open(ws) => {
                    ws.feed(&mut self.scratch[..n], &mut self.ws_events);
                    self.dispatch(token, now, h);
                }
                State::Handshaking(buf) => {
                    buf.extend_from_slice(&self.scratch[..n]);
                    match check_server_response(buf, &conn.key) {
                        Ok(None) => {}
                        Ok(Some(len)) => {
                            let mut leftover = buf.split_off(len);
                            let limits = WsLimits {
                                max_message: MAX_MESSAGE,
                                ping_interval: None,
                                ping_timeout: Duration::from_secs(3600),
                                close_timeout: Duration::from_secs(1),
                            };
                            let seed = self.rng as u32 ^ token as u32;
                            let ws = WsConn::new(Role::Client, limits, now).with_mask_seed(seed);
                            conn.state = State::Open(Box::new(ws));
                            self.in_flight -= 1;
                            self.stats.open += 1;
                            self.stats.opened += 1;
                            h.on_open(token, now);
                            if !leftover.is_empty()
                                && let State::Open(ws) = &mut self.conns[token].state
                            {
                                ws.feed(&mut leftover, &mut self.ws_events);
                                self.dispatch(token, now, h);
                            }
                        }
                        Err(e) => {
                            let status =
                                String::from_utf8_lossy(buf.split(|&b| b == b'\r').next().unwrap_or(b"")).into_owned();
                            return self.fail_attempt(token, false, &format!("handshake: {e} ({status})"), now, h);
                        }
                    }
                }
                _ => return,
            }
            if n < self.scratch.len() {
                // Edge-triggered epoll reports any byte that arrives after this short read;
                // skip the read that would only say EAGAIN.
                return;
            }
        }
    }

    /// Acts on what the connection's `feed` produced.
    fn dispatch(&mut self, token: usize, now: Instant, h: &mut impl Handler) {
        let mut events = std::mem::take(&mut self.ws_events);
        for event in events.drain(..) {
            match event {
                WsEvent::Message(m) if is_hello(&m.data) => h.on_hello(token, &m.data),
                WsEvent::Message(m) => {
                    h.on_message(token, &m.data, now);
                    let mut out = std::mem::take(&mut self.reply);
                    out.clear();
                    if h.reply(token, &mut out) {
                        self.send_text(token, &out, h);
                    }
                    self.reply = out;
                }
                WsEvent::Send(bytes) => self.send_raw(token, bytes, h),
                WsEvent::Finish => {
                    self.flush(token, h);
                    self.drop_open(token, "closed by the server (close frame)", h);
                }
                WsEvent::Abort(why) => self.drop_open(token, why, h),
            }
        }
        self.ws_events = events;
    }

    /// Closes every connection abortively (RST: the server drops it at once, and no
    /// TIME_WAIT holds our ports afterwards) and forgets them.
    pub fn close_all(&mut self) {
        for conn in &mut self.conns {
            if let Some(mut stream) = conn.stream.take() {
                let _ = set_abortive_close(&stream);
                let _ = self.poll.registry().deregister(&mut stream);
            }
            conn.state = State::Done;
        }
        self.stats.open = 0;
        self.queue.clear();
        self.retry.clear();
        self.deadlines.clear();
        self.in_flight = 0;
    }
}
