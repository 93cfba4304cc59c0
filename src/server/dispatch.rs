//! From bytes to the application and back: bytes go to the connection's state machine (HTTP
//! or WebSocket), its events are carried out, complete messages go to the [`App`], and the
//! app's [`Action`]s are performed: queued frames, one shared frame per broadcast, closes.

use std::rc::Rc;
use std::time::Instant;

use crate::app::metrics::{CloseReason, Gauges};
use crate::app::route::Route;
use crate::app::{Action, App, Frame, Session};
use crate::protocol::http_conn::{HttpEvent, HttpRules};
use crate::protocol::ws_conn::{Role, WsConn, WsEvent, WsLimits};
use crate::server::connections::{Connections, Kind, Protocol};
use crate::server::event_loop::{Server, time};
use crate::server::io::mark_dirty;
use crate::server::output::Chunk;
use crate::server::responder::{PageResponder, log_access};
use crate::server::system::SocketWriter;
use crate::wire::close::CloseCode;

impl Server {
    /// Bytes from a connection, to whichever protocol it speaks.
    pub(super) fn on_bytes(&mut self, token: usize, data: &mut [u8], now: Instant) {
        let gauges = self.gauges();
        let healthy = self.shutdown_deadline.is_none() && self.app.cluster.as_ref().is_none_or(|c| c.is_up());
        let Some(conn) = self.conns.get_mut(token) else { return };
        match &mut conn.protocol {
            Protocol::Http(http) => {
                let rules = HttpRules {
                    limits: self.config.head_limits,
                    request_timeout: self.config.request_timeout,
                    keepalive_timeout: self.config.keepalive_timeout,
                    allow_origins: &self.config.allow_origins,
                    peer: conn.peer.ip(),
                    trust: &self.config.trust_proxy,
                };
                let mut responder = PageResponder { app: &self.app, pages: &mut self.pages, gauges, healthy, now };
                let mut events = Vec::new();
                http.on_bytes(data, now, &rules, &mut responder, &mut events);
                self.on_http_events(token, events, now);
            }
            Protocol::WebSocket(..) => self.on_websocket_bytes(token, data, now),
        }
    }

    pub(super) fn on_timer(&mut self, token: usize, now: Instant) {
        let Some(conn) = self.conns.get_mut(token) else { return };
        match &mut conn.protocol {
            Protocol::Http(http) => {
                let mut events = Vec::new();
                http.on_timer(now, conn.peer.ip(), &mut events);
                self.on_http_events(token, events, now);
            }
            Protocol::WebSocket(ws, _) => {
                let mut events = Vec::new();
                ws.on_timer(now, &mut events);
                self.on_websocket_events(token, events, now);
            }
        }
    }

    fn on_http_events(&mut self, token: usize, events: Vec<HttpEvent<Route>>, now: Instant) {
        for event in events {
            match event {
                HttpEvent::Send(bytes) => self.queue(token, Chunk::Owned(bytes)),
                HttpEvent::SendBody(body) => self.queue(token, Chunk::from(body)),
                HttpEvent::Log(access) => log_access(&access, now),
                HttpEvent::Close => self.start_closing(token, now),
                HttpEvent::Upgrade { route, mut leftover } => {
                    self.upgrade(token, route, now);
                    match self.conns.get_mut(token).and_then(|c| c.held_input.as_mut()) {
                        Some(held) => held.append(&mut leftover),
                        None if !leftover.is_empty() => self.on_websocket_bytes(token, &mut leftover, now),
                        None => {}
                    }
                }
            }
        }
        self.pause_if_backlogged(token);
    }

    /// The handshake is done: the connection becomes a WebSocket and the app opens it.
    fn upgrade(&mut self, token: usize, route: Route, now: Instant) {
        let limits = WsLimits {
            max_message: self.config.max_message,
            ping_interval: self.config.ping_interval,
            ping_timeout: self.config.ping_timeout,
            close_timeout: self.config.close_timeout,
        };
        let ws = WsConn::new(Role::Server, limits, now);
        let mut actions = Vec::new();
        log::debug!(
            "{} opened WebSocket {route:?}",
            self.conns.get_mut(token).map_or("?".into(), |c| c.peer.to_string())
        );
        let session = self.app.open(token, route, now, &mut actions);
        // In a cluster a wall's `hello` waits for Redis (`Action::Admit` ends the wait).
        let waits = self.app.cluster.is_some() && matches!(session, Session::Wall(_));
        self.conns.set_protocol(token, Protocol::WebSocket(ws, session));
        if let Some(conn) = self.conns.get_mut(token) {
            conn.held_input = waits.then(Vec::new);
        }
        self.perform(actions, now);
    }

    /// Cluster mode: wall `to` got its `hello`; what it sent meanwhile is read now.
    fn admit(&mut self, to: usize, now: Instant) {
        if let Some(cluster) = &mut self.app.cluster {
            cluster.admit(to);
        }
        let Some(mut held) = self.conns.get_mut(to).and_then(|c| c.held_input.take()) else { return };
        if !held.is_empty() {
            self.on_websocket_bytes(to, &mut held, now);
        }
        // The socket may hold more (edge-triggered: no new event comes for it).
        self.resume.push(to);
    }

    fn on_websocket_bytes(&mut self, token: usize, data: &mut [u8], now: Instant) {
        let Some(conn) = self.conns.get_mut(token) else { return };
        let Protocol::WebSocket(ws, _) = &mut conn.protocol else { return };
        let mut events = Vec::new();
        ws.feed(data, &mut events);
        self.on_websocket_events(token, events, now);
        self.pause_if_backlogged(token);
    }

    fn on_websocket_events(&mut self, token: usize, events: Vec<WsEvent>, now: Instant) {
        for event in events {
            match event {
                WsEvent::Message(message) => {
                    let Some(conn) = self.conns.get_mut(token) else { return };
                    let Protocol::WebSocket(_, session) = &mut conn.protocol else { return };
                    let mut actions = Vec::new();
                    self.app.message(token, session, &message, time(now), &mut actions);
                    self.perform(actions, now);
                }
                WsEvent::Send(frame) => {
                    log::trace!("frame {:#x} of {} bytes to {token}", frame[0], frame.len());
                    self.queue(token, Chunk::Owned(frame));
                }
                WsEvent::Finish => self.start_closing(token, now),
                WsEvent::Abort(why) => return self.drop_conn(token, why, now),
            }
        }
    }

    /// The gauges `/metrics` reports.
    pub(super) fn gauges(&self) -> Gauges {
        Gauges {
            http: self.conns.count(Kind::Http),
            ws: self.conns.count(Kind::Ws),
            admin: self.conns.count(Kind::Admin),
            rooms: self.app.wall.rooms.len() as u64,
            redis_up: self.app.cluster.as_ref().map(|c| c.is_up()),
        }
    }

    /// Carries out what the application decided.
    pub(super) fn perform(&mut self, actions: Vec<Action>, now: Instant) {
        // Actions that actions lead to (feed entries for the admins, another node's request).
        let mut more = Vec::new();
        for action in actions {
            match action {
                Action::Send { to, frame: Frame::Owned(bytes) } => self.queue(to, Chunk::Owned(bytes)),
                Action::Send { to, frame: Frame::Shared(bytes) } => self.queue(to, Chunk::Shared(bytes)),
                Action::Broadcast { room, frame } => {
                    self.broadcasts += 1;
                    let out = fan_out(&mut self.conns, &mut self.dirty, &self.app, room, &frame, &self.config);
                    if crate::wall::danmaku::is_danmaku_frame(&frame) {
                        self.app.counters.deliveries += out.delivered;
                    }
                    self.app.counters.socket_writes += out.writes;
                    for member in out.too_slow {
                        self.close_slow(member, now);
                    }
                }
                Action::Close { to, code, reason } => self.close_websocket(to, code, reason, now),
                Action::SaveBlocklist(text) => self.save_blocklist(&text),
                Action::Admit { to } => self.admit(to, now),
                Action::ToAdmins(json) => self.app.to_admins(&json, &mut more),
                Action::FromNodes(json) => self.app.from_nodes(&json, time(now), &mut more),
                Action::AskHolds => self.app.ask_holds(time(now)),
                Action::HoldsWanted => self.app.announce_holds(time(now)),
                Action::HeldElsewhere(json) => self.app.held_elsewhere(&json),
            }
        }
        if !more.is_empty() {
            self.perform(more, now);
        }
    }

    /// An admin edited the blocklist: the `--blocklist` file is rewritten atomically, so a
    /// crash leaves the old list or the new one, never half of one.
    fn save_blocklist(&self, text: &str) {
        let Some(path) = &self.config.blocklist else { return };
        match crate::server::atomic_file::write_atomically(path, text.as_bytes()) {
            Ok(()) => log::info!("blocklist saved to {}", path.display()),
            Err(e) => log::error!("could not save the blocklist to {}: {e}", path.display()),
        }
    }

    /// Starts a WebSocket's closing handshake with `code`; other connections just close.
    pub(super) fn close_websocket(&mut self, token: usize, code: CloseCode, reason: &str, now: Instant) {
        let Some(conn) = self.conns.get_mut(token) else { return };
        conn.closed_because.get_or_insert(CloseReason::Server);
        match &mut conn.protocol {
            Protocol::Http(_) => self.start_closing(token, now),
            Protocol::WebSocket(ws, _) => {
                let mut events = Vec::new();
                ws.close(code, reason, now, &mut events);
                self.on_websocket_events(token, events, now);
                self.reschedule(token);
            }
        }
    }

    /// A member whose backlog would pass `--max-backlog`: what it has not started receiving
    /// is dropped and it is closed with 1008; the others are not slowed.
    fn close_slow(&mut self, token: usize, now: Instant) {
        let Some(conn) = self.conns.get_mut(token) else { return };
        log::info!("{} fell {} bytes behind: closing with 1008", conn.peer, conn.out.pending());
        conn.closed_because = Some(CloseReason::Slow);
        conn.out.drop_unstarted();
        self.close_websocket(token, CloseCode::POLICY_VIOLATION, "too far behind: backlog over --max-backlog", now);
    }
}

/// What [`fan_out`] did.
struct FanOut {
    /// Members the frame was queued to.
    delivered: u64,
    /// Writes made to members near `--max-backlog` to see what the kernel takes.
    writes: u64,
    /// Members that have no room for it (to be closed with 1008).
    too_slow: Vec<usize>,
}

/// Queues one shared frame on every member of `room` that is open and has room for it under
/// `--max-backlog`.
fn fan_out(
    conns: &mut Connections,
    dirty: &mut Vec<usize>,
    app: &App,
    room: usize,
    frame: &Rc<[u8]>,
    config: &crate::config::Config,
) -> FanOut {
    let mut out = FanOut { delivered: 0, writes: 0, too_slow: Vec::new() };
    for &member in app.members(room) {
        let Some(conn) = conns.get_mut(member) else { continue };
        let Protocol::WebSocket(ws, _) = &conn.protocol else { continue };
        if !ws.is_open() || conn.lifecycle.is_ending() || app.cluster.as_ref().is_some_and(|c| !c.delivers_to(member)) {
            continue;
        }
        if conn.out.pending() + frame.len() > config.max_backlog {
            // Count only what the kernel will not take: a burst queued within one loop turn
            // is not a slow reader. (Errors surface in this turn's flush.)
            let _ = conn.out.flush(&mut SocketWriter { socket: &conn.socket, writes: &mut out.writes });
        }
        if conn.out.pending() + frame.len() > config.max_backlog {
            out.too_slow.push(member);
            continue;
        }
        conn.out.push(Chunk::Shared(frame.clone()));
        mark_dirty(conn, member, dirty);
        out.delivered += 1;
    }
    out
}
