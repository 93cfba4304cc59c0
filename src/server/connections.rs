//! The token → connection table, and what the shell keeps per connection.
//!
//! Tokens are slots in a vector. A freed slot is reused only after the current poll turn
//! has been handled (events already returned by the kernel for the old socket must not
//! reach the new one), and every reuse bumps the slot's generation so that a stale timer
//! entry is recognised and skipped.

use std::net::SocketAddr;
use std::time::Instant;

use mio::net::TcpStream;

use crate::app::Session;
use crate::app::metrics::CloseReason;
use crate::protocol::http_conn::HttpConn;
use crate::protocol::ws_conn::WsConn;
use crate::server::lifecycle::Lifecycle;
use crate::server::output::OutQueue;
use crate::server::timers::ConnId;

/// Which protocol a connection speaks now.
#[derive(Debug)]
pub enum Protocol {
    Http(HttpConn),
    WebSocket(WsConn, Session),
}

/// One connection as the shell sees it.
#[derive(Debug)]
pub struct Connection {
    pub socket: TcpStream,
    pub peer: SocketAddr,
    pub id: ConnId,
    pub protocol: Protocol,
    pub out: OutQueue,
    pub lifecycle: Lifecycle,
    /// Flush bookkeeping, not lifecycle: queued for the next flush pass (it is on the dirty list).
    pub queued: bool,
    /// Registered for writable events (only while the kernel refused part of the output).
    pub writable_interest: bool,
    /// The time of this connection's live timer entry.
    pub scheduled: Option<Instant>,
    /// Why the server began to close it, if it did (`danmaku_closed_total`).
    pub closed_because: Option<CloseReason>,
    /// In a cluster, a wall waiting for its `hello` (which waits for a Redis read): its input
    /// is not read meanwhile, so no answer (an error, a pong) can go out before the `hello`.
    /// Holds what came with the upgrade request. `None` otherwise.
    pub held_input: Option<Vec<u8>>,
}

impl Connection {
    /// When this connection next needs its timer handled.
    pub fn next_wake(&self) -> Option<Instant> {
        let protocol = match &self.protocol {
            Protocol::Http(http) => http.next_wake(),
            Protocol::WebSocket(ws, _) => ws.next_wake(),
        };
        match (protocol, self.lifecycle.deadline()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }
}

/// Connections by token.
#[derive(Debug, Default)]
pub struct Connections {
    slots: Vec<Option<Connection>>,
    generations: Vec<u32>,
    free: Vec<usize>,
    /// Freed this turn; reusable from the next.
    released: Vec<usize>,
    live: usize,
    /// Open connections by kind (`/metrics`): HTTP, WebSocket (`/ws`, `/echo`), admin.
    kinds: [u64; 3],
}

/// A connection's kind, for the `danmaku_connections` gauge.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Http,
    Ws,
    Admin,
}

impl Connection {
    pub fn kind(&self) -> Kind {
        match &self.protocol {
            Protocol::Http(_) => Kind::Http,
            Protocol::WebSocket(_, session) if session.is_admin() => Kind::Admin,
            Protocol::WebSocket(..) => Kind::Ws,
        }
    }
}

impl Connections {
    /// Stores the connection that `make` builds for a free token.
    pub fn insert_with(&mut self, make: impl FnOnce(ConnId) -> Connection) -> ConnId {
        let token = self.free.pop().unwrap_or_else(|| {
            self.slots.push(None);
            self.generations.push(0);
            self.slots.len() - 1
        });
        let id = ConnId { token, generation: self.generations[token] };
        let conn = make(id);
        self.kinds[conn.kind() as usize] += 1;
        self.slots[token] = Some(conn);
        self.live += 1;
        id
    }

    pub fn get_mut(&mut self, token: usize) -> Option<&mut Connection> {
        self.slots.get_mut(token)?.as_mut()
    }

    /// Takes a connection out; its token becomes reusable after [`end_turn`](Self::end_turn).
    pub fn remove(&mut self, token: usize) -> Option<Connection> {
        let conn = self.slots.get_mut(token)?.take()?;
        self.kinds[conn.kind() as usize] -= 1;
        self.generations[token] = self.generations[token].wrapping_add(1);
        self.released.push(token);
        self.live -= 1;
        Some(conn)
    }

    /// Connection `token` now speaks `protocol` (an HTTP connection upgraded).
    pub fn set_protocol(&mut self, token: usize, protocol: Protocol) {
        let Some(conn) = self.slots.get_mut(token).and_then(Option::as_mut) else { return };
        self.kinds[conn.kind() as usize] -= 1;
        conn.protocol = protocol;
        self.kinds[conn.kind() as usize] += 1;
    }

    /// Open connections of each kind.
    pub fn count(&self, kind: Kind) -> u64 {
        self.kinds[kind as usize]
    }

    /// The poll turn is over: freed tokens may be handed out again.
    pub fn end_turn(&mut self) {
        self.free.append(&mut self.released);
    }

    pub fn len(&self) -> usize {
        self.live
    }

    pub fn is_empty(&self) -> bool {
        self.live == 0
    }

    /// Tokens of every open connection.
    pub fn tokens(&self) -> Vec<usize> {
        self.slots.iter().enumerate().filter(|(_, c)| c.is_some()).map(|(t, _)| t).collect()
    }
}
