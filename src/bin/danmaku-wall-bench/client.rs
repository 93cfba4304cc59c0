//! The client side of the protocol on one mio event loop: many connections, each
//! `Waiting → Connecting → Handshaking → Open(WsConn)`, read into one shared scratch buffer.
//!
//! [`Net::turn`] polls once and hands complete messages to a [`Handler`]; the mode decides
//! what to send between turns. The receive path allocates nothing beyond what
//! [`WsConn::feed`] does.
//!
//! - [`attempt`]: connection attempts (TCP connect, the upgrade, retries, deadlines).
//! - [`transfer`]: bytes on open connections (reads, writes, what `feed` produced).

mod attempt;
mod transfer;

use std::collections::VecDeque;
use std::io;
use std::net::SocketAddr;
use std::time::Instant;

use danmaku_wall::kit::sock::set_abortive_close;
use danmaku_wall::protocol::ws_conn::{WsConn, WsEvent};
use mio::net::TcpStream;
use mio::{Events, Poll};

use crate::sock::Sources;

/// The shared read buffer.
const SCRATCH: usize = 256 * 1024;

/// A server to connect to.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    pub addr: SocketAddr,
    /// The `Host` header.
    pub host: String,
}

impl Target {
    /// The `Host` headers of `targets`, for a report: `a:1`, or `{a:1,b:2}` for several.
    pub fn hosts(targets: &[Target]) -> String {
        let hosts = targets.iter().map(|t| t.host.as_str()).collect::<Vec<_>>().join(",");
        if targets.len() > 1 { format!("{{{hosts}}}") } else { hosts }
    }
}

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
    /// Where connection `token` goes: `targets[token % targets.len()]`.
    targets: Vec<Target>,
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
    /// Connections spread round-robin over `targets` (at least one).
    pub fn new(targets: &[Target], path: &str, max_in_flight: usize) -> io::Result<Net> {
        assert!(!targets.is_empty(), "a Net needs a target");
        Ok(Net {
            poll: Poll::new()?,
            events: Events::with_capacity(4096),
            conns: Vec::new(),
            scratch: vec![0; SCRATCH].into_boxed_slice(),
            ws_events: Vec::new(),
            reply: Vec::with_capacity(256),
            targets: targets.to_vec(),
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
        self.expire_attempts(now, h);
        self.start_attempts(now, h);
        Ok(())
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
