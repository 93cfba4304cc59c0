//! Moving bytes: reading a socket until the kernel has no more, flushing each connection's
//! queue once per turn, and ending connections (FIN, then the peer's FIN, or a drop).
//! Every change of a connection's [`Lifecycle`](super::lifecycle::Lifecycle) happens here.

use std::io::{self, Read};
use std::net::Shutdown;
use std::time::Instant;

use mio::{Interest, Token};

use crate::app::metrics::CloseReason;
use crate::protocol::coalesce::{Decision, Pass, Turn};
use crate::server::connections::{Connection, Protocol};
use crate::server::event_loop::Server;
use crate::server::output::{Chunk, Flushed};
use crate::server::system::SocketWriter;
use crate::wire::http::{self, Status};

impl Server {
    /// Reads until the kernel has nothing more (edge-triggered), feeding each piece on.
    pub(super) fn read(&mut self, token: usize, now: Instant) {
        let mut scratch = std::mem::take(&mut self.scratch);
        while let Some(conn) = self.conns.get_mut(token) {
            if !conn.lifecycle.reads() || conn.held_input.is_some() {
                break;
            }
            let takes_input = conn.lifecycle.takes_input();
            match conn.socket.read(&mut scratch) {
                Ok(0) => {
                    self.on_eof(token, now);
                    break;
                }
                Ok(n) if takes_input => self.on_bytes(token, &mut scratch[..n], now),
                Ok(_) => {} // Ending: only waiting for the peer's FIN; the rest is discarded.
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
        if conn.out.is_empty() || !conn.lifecycle.writes() {
            self.drop_conn(token, "closed by peer", now);
        } else {
            // The peer shut its side after sending; answer what it asked, then close.
            conn.lifecycle.peer_finished(now + self.config.close_timeout);
            self.mark_dirty(token);
        }
    }

    /// Queues bytes and marks the connection for this turn's flush.
    pub(super) fn queue(&mut self, token: usize, chunk: Chunk) {
        if let Some(conn) = self.conns.get_mut(token) {
            conn.out.push(chunk);
            mark_dirty(conn, token, &mut self.dirty);
        }
    }

    pub(super) fn mark_dirty(&mut self, token: usize) {
        if let Some(conn) = self.conns.get_mut(token) {
            mark_dirty(conn, token, &mut self.dirty);
        }
    }

    /// Own replies (responses, echoes) past `--max-backlog`: stop reading until they drain,
    /// so a client that sends without reading cannot grow our memory.
    pub(super) fn pause_if_backlogged(&mut self, token: usize) {
        if let Some(conn) = self.conns.get_mut(token)
            && conn.out.pending() > self.config.max_backlog
        {
            conn.lifecycle.pause();
        }
    }

    /// At the end of the turn, asks the coalescer (`--flush-delay`) whether to flush now or
    /// let output gather until `flush_at`; when shutting down, flushes at once.
    pub(super) fn flush_if_due(&mut self, now: Instant) {
        if self.pass.is_some() {
            // A flush pass is under way: go on with it. Once it is done, the coalescer
            // decides about what queued meanwhile, in this same turn.
            self.flush_dirty(now);
            if self.pass.is_some() {
                return;
            }
        }
        let turn = Turn {
            now,
            broadcasts: std::mem::take(&mut self.broadcasts),
            dirty: self.dirty.len(),
            pending: !self.dirty.is_empty() || !self.resume.is_empty(),
            urgent: self.shutdown_deadline.is_some(),
        };
        let decision = self.coalescer.decide(turn);
        self.flush_at = match decision {
            Decision::Hold(at) => Some(at),
            Decision::Idle | Decision::Flush => None,
        };
        if decision == Decision::Flush {
            let list = std::mem::take(&mut self.dirty);
            self.pass = Some(FlushPass { started: Instant::now(), list, next: 0 });
            self.flush_dirty(now);
        }
    }

    /// One batch of the pass under way: the next [`FLUSH_BATCH`] connections of its list;
    /// then resumes paused readers that drained. Between batches the loop looks for new input
    /// (a zero-timeout poll), so a post that arrives while ten thousand walls are being
    /// written joins the writes still to come. Walls this pass already wrote wait for the
    /// next pass, which the coalescer decides on; when the list is done, it learns how long
    /// the pass took.
    fn flush_dirty(&mut self, now: Instant) {
        let Some(mut pass) = self.pass.take() else { return };
        let end = pass.list.len().min(pass.next + FLUSH_BATCH);
        for i in pass.next..end {
            self.flush(pass.list[i], now);
        }
        pass.next = end;
        for token in std::mem::take(&mut self.resume) {
            self.read(token, now);
        }
        if pass.next < pass.list.len() {
            self.pass = Some(pass);
        } else {
            let (connections, ended) = (pass.list.len(), Instant::now());
            if connections >= crate::protocol::coalesce::MIN_FANOUT {
                self.app.counters.flush_passes.observe(ended.duration_since(pass.started).as_secs_f64());
            }
            self.coalescer.passed(Pass { started: pass.started, ended, connections });
            // The list's storage serves the next turn's connections.
            pass.list.clear();
            if self.dirty.is_empty() {
                self.dirty = pass.list;
            }
        }
    }

    fn flush(&mut self, token: usize, now: Instant) {
        let Some(conn) = self.conns.get_mut(token) else { return };
        conn.queued = false;
        let result = if conn.lifecycle.writes() {
            let writes = &mut self.app.counters.socket_writes;
            conn.out.flush(&mut SocketWriter { socket: &conn.socket, writes })
        } else {
            Ok(Flushed::All)
        };
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
        if conn.out.pending() <= self.config.max_backlog / 2 && conn.lifecycle.resume() {
            self.resume.push(token);
        }
        if flushed == Flushed::All && conn.lifecycle.shut() {
            // Everything is out: send our FIN and read until the peer's (RFC 6455 §7.1.1:
            // the server closes the TCP connection first).
            let _ = conn.socket.shutdown(Shutdown::Write);
            self.resume.push(token);
        }
    }

    /// Ends a connection gracefully: flush, FIN, then wait for the peer's FIN at most
    /// `--close-timeout`.
    pub(super) fn start_closing(&mut self, token: usize, now: Instant) {
        if let Some(conn) = self.conns.get_mut(token) {
            conn.lifecycle.close(now + self.config.close_timeout);
        }
        self.mark_dirty(token);
        self.reschedule(token);
    }

    /// Closes a connection at once; a WebSocket leaves the application first.
    pub(super) fn drop_conn(&mut self, token: usize, why: &str, now: Instant) {
        let Some(conn) = self.conns.remove(token) else { return };
        self.app.counters.closed(conn.closed_because.unwrap_or_else(|| close_reason(why)));
        if let Protocol::WebSocket(_, session) = &conn.protocol {
            log::debug!("{} WebSocket closed: {why}", conn.peer);
            self.app.close(token, session);
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
}

/// The metrics label for a connection the server did not choose to close.
fn close_reason(why: &str) -> CloseReason {
    if why == "closed by peer" {
        CloseReason::Peer
    } else if why.starts_with("read error") || why.starts_with("write error") || why.starts_with("reregister") {
        CloseReason::Error
    } else {
        CloseReason::Timeout // the close, heartbeat or request deadlines
    }
}

/// A flush pass under way: the connections that had output when it began, written
/// [`FLUSH_BATCH`] at a time, the first `next` of them done.
pub(super) struct FlushPass {
    started: Instant,
    list: Vec<usize>,
    next: usize,
}

/// Connections written in one batch of a flush pass (see `flush_dirty`).
pub(super) const FLUSH_BATCH: usize = 128;

/// Puts a connection on this turn's flush list, once.
pub(super) fn mark_dirty(conn: &mut Connection, token: usize, dirty: &mut Vec<usize>) {
    if !conn.queued {
        conn.queued = true;
        dirty.push(token);
    }
}

/// Over `--max-connections`: a best-effort 503 and close, without registering the socket.
pub(super) fn reject_over_capacity(socket: &mut mio::net::TcpStream) {
    use std::io::Write;
    let mut response = Vec::with_capacity(200);
    http::write_error_response(&mut response, Status::ServiceUnavailable, &[("Retry-After", "5")], false, false);
    let _ = socket.write(&response);
    let _ = socket.shutdown(Shutdown::Write);
    log::debug!("503: over --max-connections");
}
