//! The event loop: poll, accept, read, dispatch, flush, timers. One thread, one `Poll`.
//!
//! One danmaku's path through this file, top to bottom:
//! `Server::read` takes the socket's bytes into the shared scratch buffer →
//! `Server::on_websocket_bytes` feeds them to the connection's [`WsConn`] →
//! `Server::on_message` hands the complete text to the [`Wall`] and frames its answer once →
//! `fan_out` queues a reference on every member →
//! `Server::flush` writes each connection's queue with one vectored write per loop turn.

use std::io::{self, Read};
use std::net::{Shutdown, SocketAddr};
use std::rc::Rc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token, Waker};

use crate::config::Config;
use crate::pages::{Body, Pages};
use crate::protocol::http_conn::{Endpoint, HttpConn, HttpContext, HttpEvent};
use crate::protocol::ws_conn::{Message, Role, WsConn, WsEvent, WsLimits};
use crate::server::connections::{App, Connection, Connections, Protocol};
use crate::server::output::{Chunk, Flushed, OutQueue};
use crate::server::system;
use crate::server::timers::Timers;
use crate::wall::blocklist::Blocklist;
use crate::wall::{Outcome, Wall};
use crate::wire::close::CloseCode;
use crate::wire::frame::{self, Opcode};

const LISTENER: Token = Token(usize::MAX - 1);
const WAKER: Token = Token(usize::MAX - 2);

/// The shared read buffer: every socket is read into it, one at a time.
const SCRATCH_SIZE: usize = 64 * 1024;

/// After running out of file descriptors, try accepting again this often even if no
/// connection of ours has closed (another process may have freed some).
const ACCEPT_RETRY: Duration = Duration::from_millis(250);

/// Binds, then serves until SIGINT/SIGTERM.
pub fn run(config: Config) -> io::Result<()> {
    let mut server = Server::bind(config)?;
    system::install_signal_handlers(server.waker()?)?;
    log::info!("listening on http://{}", server.local_addr());
    server.run()
}

pub struct Server {
    config: Config,
    poll: Poll,
    listener: Option<TcpListener>,
    local_addr: SocketAddr,
    conns: Connections,
    timers: Timers,
    wall: Wall,
    pages: Pages,
    scratch: Vec<u8>,
    /// Connections with output queued this turn, flushed once at its end.
    dirty: Vec<usize>,
    /// Connections whose reading was paused and may resume.
    resume: Vec<usize>,
    /// Out of file descriptors: accepting waits for a connection to close (or the retry).
    accept_retry: Option<Instant>,
    shutdown_deadline: Option<Instant>,
    /// With `--flush-delay`: when the output queued since the last flush goes out.
    flush_at: Option<Instant>,
}

impl Server {
    /// Binds the listening socket and loads the pages and blocklist.
    pub fn bind(config: Config) -> io::Result<Server> {
        let addr = config.bind;
        let pages = match &config.www {
            Some(dir) => {
                Pages::from_dir(dir).map_err(|e| io::Error::new(e.kind(), format!("--www {}: {e}", dir.display())))?
            }
            None => Pages::embedded(),
        };
        let blocklist = match &config.blocklist {
            Some(path) => Blocklist::load(path)
                .map_err(|e| io::Error::new(e.kind(), format!("--blocklist {}: {e}", path.display())))?,
            None => Blocklist::default(),
        };
        match system::raise_fd_limit() {
            Ok((soft, hard)) => log::info!("open-file limit {soft} (hard limit {hard})"),
            Err(e) => log::warn!("could not read the open-file limit: {e}"),
        }
        log::debug!("{} pages, {} blocked phrases", pages.len(), blocklist.len());
        let poll = Poll::new()?;
        let mut listener = TcpListener::bind(addr)?;
        system::set_listen_backlog(&listener, config.listen_backlog)?;
        poll.registry().register(&mut listener, LISTENER, Interest::READABLE)?;
        let local_addr = listener.local_addr()?;
        Ok(Server {
            wall: Wall::new(config.rate, blocklist),
            config,
            poll,
            listener: Some(listener),
            local_addr,
            conns: Connections::default(),
            timers: Timers::default(),
            pages,
            scratch: vec![0; SCRATCH_SIZE],
            dirty: Vec::new(),
            resume: Vec::new(),
            accept_retry: None,
            shutdown_deadline: None,
            flush_at: None,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// A waker for signal handlers and tests.
    pub fn waker(&self) -> io::Result<Waker> {
        Waker::new(self.poll.registry(), WAKER)
    }

    /// The loop. Returns after a shutdown has closed every connection (or run out of time).
    pub fn run(&mut self) -> io::Result<()> {
        let mut events = Events::with_capacity(1024);
        loop {
            let now = Instant::now();
            let wake = [self.timers.next(), self.accept_retry, self.shutdown_deadline, self.flush_at]
                .into_iter()
                .flatten()
                .min();
            // Round up so that we never wake a hair before a deadline and spin.
            let timeout = wake.map(|at| at.saturating_duration_since(now) + Duration::from_micros(500));
            if let Err(e) = self.poll.poll(&mut events, timeout)
                && e.kind() != io::ErrorKind::Interrupted
            {
                return Err(e);
            }
            let now = Instant::now();
            for event in events.iter() {
                match event.token() {
                    LISTENER => self.accept(now),
                    WAKER => {}
                    Token(token) => {
                        if event.is_writable() {
                            self.mark_dirty(token);
                        }
                        if event.is_readable() || event.is_read_closed() || event.is_error() {
                            self.read(token, now);
                        }
                    }
                }
            }
            if system::shutdown_requested() && self.shutdown_deadline.is_none() {
                self.begin_shutdown(now);
            }
            if self.accept_retry.is_some_and(|at| now >= at) {
                self.accept_retry = None;
                self.accept(now);
            }
            self.fire_timers(now);
            self.flush_if_due(now);
            self.conns.end_turn();
            if let Some(deadline) = self.shutdown_deadline
                && (self.conns.is_empty() || now >= deadline)
            {
                log::info!("shut down ({} connections left)", self.conns.len());
                return Ok(());
            }
        }
    }

    /// Accepts every pending connection.
    fn accept(&mut self, now: Instant) {
        while let Some(listener) = &self.listener {
            let (mut socket, peer) = match listener.accept() {
                Ok(accepted) => accepted,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if matches!(e.kind(), io::ErrorKind::Interrupted | io::ErrorKind::ConnectionAborted) => continue,
                Err(e) if matches!(e.raw_os_error(), Some(libc::EMFILE | libc::ENFILE)) => {
                    // Leave the rest in the kernel's backlog; never spin on EMFILE.
                    if self.accept_retry.is_none() {
                        log::warn!("out of file descriptors ({} open connections): accepting paused", self.conns.len());
                    }
                    self.accept_retry = Some(now + ACCEPT_RETRY);
                    return;
                }
                Err(e) => {
                    log::warn!("accept failed: {e}");
                    return;
                }
            };
            if self.conns.len() >= self.config.max_connections {
                reject_over_capacity(&mut socket);
                continue;
            }
            let _ = socket.set_nodelay(true);
            let http = HttpConn::new(now, self.config.request_timeout);
            let id = self.conns.insert_with(|id| Connection {
                socket,
                peer,
                id,
                protocol: Protocol::Http(http),
                out: OutQueue::default(),
                writable_interest: false,
                dirty: false,
                read_paused: false,
                closing: None,
                write_shut: false,
                scheduled: None,
            });
            let Some(conn) = self.conns.get_mut(id.token) else { continue };
            if let Err(e) = self.poll.registry().register(&mut conn.socket, Token(id.token), Interest::READABLE) {
                log::warn!("cannot register a connection: {e}");
                self.conns.remove(id.token);
                continue;
            }
            log::trace!("accepted {peer} as {}", id.token);
            self.reschedule(id.token);
        }
    }

    /// Reads until the kernel has nothing more (edge-triggered), feeding each piece on.
    fn read(&mut self, token: usize, now: Instant) {
        let mut scratch = std::mem::take(&mut self.scratch);
        while let Some(conn) = self.conns.get_mut(token) {
            if conn.read_paused {
                break;
            }
            match conn.socket.read(&mut scratch) {
                Ok(0) => {
                    self.on_eof(token, now);
                    break;
                }
                Ok(n) => self.on_bytes(token, &mut scratch[..n], now),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    self.drop_conn(token, &format!("read error: {e}"), now);
                    break;
                }
            }
        }
        self.scratch = scratch;
        self.reschedule(token);
    }

    fn on_eof(&mut self, token: usize, now: Instant) {
        let Some(conn) = self.conns.get_mut(token) else { return };
        if conn.out.is_empty() || conn.write_shut {
            self.drop_conn(token, "closed by peer", now);
        } else {
            // The peer shut its side after sending; answer what it asked, then close.
            conn.read_paused = true;
            self.start_closing(token, now);
        }
    }

    /// Bytes from a connection, to whichever protocol it speaks.
    fn on_bytes(&mut self, token: usize, data: &mut [u8], now: Instant) {
        let Some(conn) = self.conns.get_mut(token) else { return };
        if conn.closing.is_some() {
            return; // Closing: only waiting for the peer's FIN; the rest is discarded.
        }
        match &mut conn.protocol {
            Protocol::Http(http) => {
                let mut events = Vec::new();
                let mut ctx = HttpContext {
                    pages: &mut self.pages,
                    echo: self.config.echo,
                    allow_origins: &self.config.allow_origins,
                    limits: self.config.head_limits,
                    request_timeout: self.config.request_timeout,
                    keepalive_timeout: self.config.keepalive_timeout,
                };
                http.on_bytes(data, now, &mut ctx, &mut events);
                self.on_http_events(token, events, now);
            }
            Protocol::WebSocket(..) => self.on_websocket_bytes(token, data, now),
        }
    }

    fn on_http_events(&mut self, token: usize, events: Vec<HttpEvent>, now: Instant) {
        for event in events {
            match event {
                HttpEvent::Send(bytes) => self.queue(token, Chunk::Owned(bytes)),
                HttpEvent::SendBody(Body::Static(bytes)) => self.queue(token, Chunk::Static(bytes)),
                HttpEvent::SendBody(Body::Shared(bytes)) => self.queue(token, Chunk::Shared(bytes)),
                HttpEvent::Close => self.start_closing(token, now),
                HttpEvent::Upgrade { endpoint, mut leftover } => {
                    self.upgrade(token, endpoint, now);
                    if !leftover.is_empty() {
                        self.on_websocket_bytes(token, &mut leftover, now);
                    }
                }
            }
        }
        self.pause_if_backlogged(token);
    }

    /// The handshake is done: the connection becomes a WebSocket (and joins its room).
    fn upgrade(&mut self, token: usize, endpoint: Endpoint, now: Instant) {
        let limits = WsLimits {
            max_message: self.config.max_message,
            ping_interval: self.config.ping_interval,
            ping_timeout: self.config.ping_timeout,
            close_timeout: self.config.close_timeout,
        };
        let ws = WsConn::new(Role::Server, limits, now);
        let app = match &endpoint {
            Endpoint::Wall { room } => App::Wall(self.wall.join(room, token, now)),
            Endpoint::Echo => App::Echo,
        };
        if let Some(conn) = self.conns.get_mut(token) {
            log::debug!("{} opened WebSocket {endpoint:?}", conn.peer);
            conn.protocol = Protocol::WebSocket(ws, app);
        }
    }

    fn on_websocket_bytes(&mut self, token: usize, data: &mut [u8], now: Instant) {
        let Some(Connection { protocol: Protocol::WebSocket(ws, _), .. }) = self.conns.get_mut(token) else { return };
        let mut events = Vec::new();
        ws.feed(data, &mut events);
        self.on_websocket_events(token, events, now);
        self.pause_if_backlogged(token);
    }

    fn on_websocket_events(&mut self, token: usize, events: Vec<WsEvent>, now: Instant) {
        for event in events {
            match event {
                WsEvent::Message(message) => self.on_message(token, message, now),
                WsEvent::Send(frame) => {
                    log::trace!("frame {:#x} of {} bytes to {token}", frame[0], frame.len());
                    self.queue(token, Chunk::Owned(frame));
                }
                WsEvent::Finish => self.start_closing(token, now),
                WsEvent::Abort(why) => return self.drop_conn(token, why, now),
            }
        }
    }

    /// A complete message: echoed, or posted to the wall.
    fn on_message(&mut self, token: usize, message: Message, now: Instant) {
        let Some(Connection { protocol: Protocol::WebSocket(ws, app), .. }) = self.conns.get_mut(token) else { return };
        match app {
            App::Echo => {
                let mut head = [0u8; frame::MAX_HEADER_LEN];
                let header = frame::FrameHeader {
                    fin: true,
                    opcode: message.opcode,
                    mask: None,
                    payload_len: message.data.len() as u64,
                };
                let n = header.encode(&mut head);
                self.queue(token, Chunk::Owned(head[..n].to_vec()));
                self.queue(token, Chunk::Owned(message.data));
            }
            App::Wall(_) if message.opcode != Opcode::Text => {
                // The contract: a binary message on /ws is closed with 1003.
                let mut events = Vec::new();
                ws.close(CloseCode::UNSUPPORTED_DATA, "danmaku are JSON text messages", now, &mut events);
                self.on_websocket_events(token, events, now);
            }
            App::Wall(member) => {
                let text = String::from_utf8_lossy(&message.data); // Valid already: ws_conn checked it.
                let unix_ms = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64);
                match self.wall.post(member, &text, now, unix_ms) {
                    Outcome::Broadcast { json, members } => {
                        // Framed once; every member's queue gets a reference to these bytes.
                        let frame: Rc<[u8]> = frame::server_frame(Opcode::Text, json.as_bytes()).into();
                        let too_slow =
                            fan_out(&mut self.conns, &mut self.dirty, members, &frame, self.config.max_backlog);
                        for member in too_slow {
                            self.close_slow(member, now);
                        }
                    }
                    Outcome::Reject { json } => {
                        self.queue(token, Chunk::Owned(frame::server_frame(Opcode::Text, json.as_bytes())))
                    }
                }
            }
        }
    }

    /// A member whose backlog would pass `--max-backlog`: what it has not started receiving
    /// is dropped and it is closed with 1008; the others are not slowed.
    fn close_slow(&mut self, token: usize, now: Instant) {
        let Some(Connection { protocol: Protocol::WebSocket(ws, _), out, peer, .. }) = self.conns.get_mut(token) else {
            return;
        };
        log::info!("{peer} fell {} bytes behind: closing with 1008", out.pending());
        out.drop_unstarted();
        let mut events = Vec::new();
        ws.close(CloseCode::POLICY_VIOLATION, "too far behind: backlog over --max-backlog", now, &mut events);
        self.on_websocket_events(token, events, now);
        self.reschedule(token);
    }

    /// Queues bytes and marks the connection for this turn's flush.
    fn queue(&mut self, token: usize, chunk: Chunk) {
        if let Some(conn) = self.conns.get_mut(token) {
            conn.out.push(chunk);
        }
        self.mark_dirty(token);
    }

    fn mark_dirty(&mut self, token: usize) {
        if let Some(conn) = self.conns.get_mut(token)
            && !conn.dirty
        {
            conn.dirty = true;
            self.dirty.push(token);
        }
    }

    /// Own replies (responses, echoes) past `--max-backlog`: stop reading until they drain,
    /// so a client that sends without reading cannot grow our memory.
    fn pause_if_backlogged(&mut self, token: usize) {
        if let Some(conn) = self.conns.get_mut(token)
            && conn.out.pending() > self.config.max_backlog
        {
            conn.read_paused = true;
        }
    }

    /// Flushes at the end of the loop turn, or, with `--flush-delay`, once the oldest queued
    /// output has waited that long: a burst of posts then costs one write per wall.
    fn flush_if_due(&mut self, now: Instant) {
        let delay = self.config.flush_delay;
        if !delay.is_zero() && self.shutdown_deadline.is_none() {
            if self.dirty.is_empty() && self.resume.is_empty() {
                return;
            }
            let due = *self.flush_at.get_or_insert(now + delay);
            if now < due {
                return;
            }
        }
        self.flush_at = None;
        self.flush_dirty(now);
    }

    /// Writes every connection queued this turn; resumes paused readers that drained.
    fn flush_dirty(&mut self, now: Instant) {
        while !self.dirty.is_empty() || !self.resume.is_empty() {
            for token in std::mem::take(&mut self.dirty) {
                self.flush(token, now);
            }
            for token in std::mem::take(&mut self.resume) {
                self.read(token, now);
            }
        }
    }

    fn flush(&mut self, token: usize, now: Instant) {
        let Some(conn) = self.conns.get_mut(token) else { return };
        conn.dirty = false;
        let result = if conn.write_shut { Ok(Flushed::All) } else { conn.out.flush(&mut conn.socket) };
        let flushed = match result {
            Ok(flushed) => flushed,
            Err(e) => return self.drop_conn(token, &format!("write error: {e}"), now),
        };
        let want_writable = flushed == Flushed::Blocked;
        if want_writable != conn.writable_interest {
            let interest = if want_writable { Interest::READABLE | Interest::WRITABLE } else { Interest::READABLE };
            if let Err(e) = self.poll.registry().reregister(&mut conn.socket, Token(token), interest) {
                return self.drop_conn(token, &format!("reregister failed: {e}"), now);
            }
            conn.writable_interest = want_writable;
        }
        if conn.read_paused && conn.closing.is_none() && conn.out.pending() <= self.config.max_backlog / 2 {
            conn.read_paused = false;
            self.resume.push(token);
        }
        if flushed == Flushed::All && conn.closing.is_some() && !conn.write_shut {
            // Everything is out: send our FIN and wait for the peer's (RFC 6455 §7.1.1:
            // the server closes the TCP connection first).
            let _ = conn.socket.shutdown(Shutdown::Write);
            conn.write_shut = true;
            conn.read_paused = false;
            self.resume.push(token);
        }
    }

    /// Ends a connection gracefully: flush, FIN, then wait for the peer's FIN at most
    /// `--close-timeout`.
    fn start_closing(&mut self, token: usize, now: Instant) {
        if let Some(conn) = self.conns.get_mut(token)
            && conn.closing.is_none()
        {
            conn.closing = Some(now + self.config.close_timeout);
        }
        self.mark_dirty(token);
        self.reschedule(token);
    }

    fn drop_conn(&mut self, token: usize, why: &str, now: Instant) {
        let Some(conn) = self.conns.remove(token) else { return };
        if let Protocol::WebSocket(_, app) = &conn.protocol {
            log::debug!("{} WebSocket closed: {why}", conn.peer);
            if let App::Wall(member) = app
                && let Some((moved, slot)) = self.wall.leave(member)
                && let Some(Connection { protocol: Protocol::WebSocket(_, App::Wall(m)), .. }) =
                    self.conns.get_mut(moved)
            {
                m.seat.slot = slot;
            }
        } else {
            log::trace!("{} connection closed: {why}", conn.peer);
        }
        drop(conn);
        if self.accept_retry.is_some() {
            // A descriptor is free again.
            self.accept_retry = None;
            self.accept(now);
        }
    }

    /// Runs every timer that is due.
    fn fire_timers(&mut self, now: Instant) {
        while let Some((at, id)) = self.timers.pop_due(now) {
            let Some(conn) = self.conns.get_mut(id.token) else { continue };
            if conn.id != id || conn.scheduled != Some(at) {
                continue; // A stale entry: the connection is gone or was rescheduled.
            }
            conn.scheduled = None;
            if conn.closing.is_some_and(|deadline| now >= deadline) {
                self.drop_conn(id.token, "close timeout", now);
                continue;
            }
            match &mut conn.protocol {
                Protocol::Http(http) => {
                    let mut events = Vec::new();
                    http.on_timer(now, &mut events);
                    self.on_http_events(id.token, events, now);
                }
                Protocol::WebSocket(ws, _) => {
                    let mut events = Vec::new();
                    ws.on_timer(now, &mut events);
                    self.on_websocket_events(id.token, events, now);
                }
            }
            self.reschedule(id.token);
        }
    }

    fn reschedule(&mut self, token: usize) {
        if let Some(conn) = self.conns.get_mut(token) {
            self.timers.schedule(conn.id, conn.next_wake(), &mut conn.scheduled);
        }
    }

    /// SIGINT/SIGTERM: stop accepting, send 1001 to every WebSocket, close HTTP connections,
    /// and give close replies at most `shutdown_grace`.
    pub fn begin_shutdown(&mut self, now: Instant) {
        let tokens = self.conns.tokens();
        log::info!("shutting down: closing {} connections", tokens.len());
        if let Some(mut listener) = self.listener.take() {
            let _ = self.poll.registry().deregister(&mut listener);
        }
        self.accept_retry = None;
        self.shutdown_deadline = Some(now + self.config.shutdown_grace);
        for token in tokens {
            let Some(conn) = self.conns.get_mut(token) else { continue };
            match &mut conn.protocol {
                Protocol::Http(_) => self.start_closing(token, now),
                Protocol::WebSocket(ws, _) => {
                    let mut events = Vec::new();
                    ws.close(CloseCode::GOING_AWAY, "server shutting down", now, &mut events);
                    self.on_websocket_events(token, events, now);
                    self.reschedule(token);
                }
            }
        }
    }
}

/// Queues one shared frame on every member that is open and has room for it under
/// `max_backlog`; returns the members that have not (to be closed with 1008).
fn fan_out(
    conns: &mut Connections,
    dirty: &mut Vec<usize>,
    members: &[usize],
    frame: &Rc<[u8]>,
    max_backlog: usize,
) -> Vec<usize> {
    let mut too_slow = Vec::new();
    for &member in members {
        let Some(conn) = conns.get_mut(member) else { continue };
        let Protocol::WebSocket(ws, _) = &conn.protocol else { continue };
        if !ws.is_open() || conn.closing.is_some() {
            continue;
        }
        if conn.out.pending() + frame.len() > max_backlog && !conn.write_shut {
            // Count only what the kernel will not take: a burst queued within one loop turn
            // is not a slow reader. (Errors surface in this turn's flush.)
            let _ = conn.out.flush(&mut conn.socket);
        }
        if conn.out.pending() + frame.len() > max_backlog {
            too_slow.push(member);
            continue;
        }
        conn.out.push(Chunk::Shared(frame.clone()));
        if !conn.dirty {
            conn.dirty = true;
            dirty.push(member);
        }
    }
    too_slow
}

/// Over `--max-connections`: a best-effort 503 and close, without registering the socket.
fn reject_over_capacity(socket: &mut TcpStream) {
    use std::io::Write;
    const BODY: &str = "503 Service Unavailable: too many connections\n";
    let response = format!(
        "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\nRetry-After: 5\r\nConnection: close\r\n\r\n{BODY}",
        BODY.len()
    );
    let _ = socket.write(response.as_bytes());
    let _ = socket.shutdown(Shutdown::Write);
    log::debug!("503: over --max-connections");
}
