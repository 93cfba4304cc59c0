//! The application: what a request and a message *mean*. One place for dispatch, outside the
//! mio shell: the router ([`route`]) decides what each HTTP request is, and [`App`] turns a
//! WebSocket opening, message or closing into [`Action`]s (send this frame to that
//! connection, broadcast this frame to that room, close that connection), which the shell
//! performs. No sockets, no clock reads: the shell passes the time in.

pub mod route;

use std::rc::Rc;
use std::time::Instant;

use crate::protocol::ws_conn::Message;
use crate::wall::danmaku;
use crate::wall::room::RoomId;
use crate::wall::{Member, Posted, Wall};
use crate::wire::close::CloseCode;
use crate::wire::frame::{self, Opcode};
use route::{Route, WallRoute};

/// Bytes for one connection: shared with others (a broadcast, a history entry) or its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Frame {
    Shared(Rc<[u8]>),
    Owned(Vec<u8>),
}

/// What the application asks the shell to do, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Queue a frame on connection `to`.
    Send { to: usize, frame: Frame },
    /// Queue one shared frame on every member of `room`.
    Broadcast { room: RoomId, frame: Rc<[u8]> },
    /// Close connection `to` with this code (RFC 6455 §7.4).
    Close { to: usize, code: CloseCode, reason: &'static str },
}

/// The time as the shell read it: the monotonic clock for deadlines, the wall clock (Unix
/// milliseconds) for the `time` field of danmaku.
#[derive(Debug, Clone, Copy)]
pub struct Time {
    pub now: Instant,
    pub unix_ms: u64,
}

/// What an open WebSocket connection is for, and its application state.
#[derive(Debug)]
pub enum Session {
    /// `/ws`: a wall (and poster) in a room.
    Wall(Member),
    /// `/echo`.
    Echo,
}

/// The application's state and settings.
#[derive(Debug)]
pub struct App {
    pub wall: Wall,
    /// Serve `/echo`.
    pub echo: bool,
    /// `--max-backlog`: what a replay may queue on one connection.
    pub max_backlog: usize,
}

impl App {
    /// A WebSocket on `route` opened as connection `token`. A wall gets `hello`, then what it
    /// missed (see [`crate::wall::history`]), before any live danmaku.
    pub fn open(&mut self, token: usize, route: Route, now: Instant, actions: &mut Vec<Action>) -> Session {
        match route {
            Route::Echo => Session::Echo,
            Route::Wall(route) => match self.wall.join(&route.room, token, now) {
                Ok(member) => {
                    self.greet(token, &member, &route, actions);
                    Session::Wall(member)
                }
                Err(full) => {
                    // The router checked; only a room created in between can get here.
                    log::warn!("rooms limit ({}) reached: closing a new wall", full.0);
                    actions.push(Action::Close {
                        to: token,
                        code: CloseCode::TRY_AGAIN_LATER,
                        reason: "too many rooms",
                    });
                    Session::Echo
                }
            },
        }
    }

    /// `hello`, then the replay that fits under `--max-backlog`.
    fn greet(&self, token: usize, member: &Member, route: &WallRoute, actions: &mut Vec<Action>) {
        let Some(room) = self.wall.rooms.get(member.room) else { return };
        let replay = route.since.map(|since| {
            let budget = self.max_backlog.saturating_sub(256);
            self.wall.rooms.replay(member.room, since, route.epoch.as_deref(), budget)
        });
        let hello = danmaku::hello_json(&room.name, &room.epoch, room.last(), replay.as_ref().map(|r| r.recovered));
        actions.push(Action::Send { to: token, frame: Frame::Owned(text_frame(&hello)) });
        for frame in replay.into_iter().flat_map(|r| r.frames) {
            actions.push(Action::Send { to: token, frame: Frame::Shared(frame) });
        }
    }

    /// A complete message from connection `token`.
    pub fn message(
        &mut self,
        token: usize,
        session: &mut Session,
        message: &Message,
        time: Time,
        actions: &mut Vec<Action>,
    ) {
        let (opcode, data) = (message.opcode, &message.data[..]);
        match session {
            Session::Echo => {
                actions.push(Action::Send { to: token, frame: Frame::Owned(frame::server_frame(opcode, data)) })
            }
            // The contract: a binary message on /ws is closed with 1003.
            Session::Wall(_) if opcode != Opcode::Text => {
                let reason = "danmaku are JSON text messages";
                actions.push(Action::Close { to: token, code: CloseCode::UNSUPPORTED_DATA, reason });
            }
            Session::Wall(member) => {
                let text = String::from_utf8_lossy(data); // Valid already: ws_conn checked it.
                match self.wall.post(member, &text, time.now, time.unix_ms) {
                    Posted::Broadcast { room, id, frame, ack } => {
                        actions.push(Action::Broadcast { room, frame });
                        if let Some(reference) = ack {
                            let ack = text_frame(&danmaku::ack_json(&reference, id));
                            actions.push(Action::Send { to: token, frame: Frame::Owned(ack) });
                        }
                    }
                    Posted::Reject { json } => {
                        actions.push(Action::Send { to: token, frame: Frame::Owned(text_frame(&json)) })
                    }
                }
            }
        }
    }

    /// Connection `token` has closed.
    pub fn close(&mut self, token: usize, session: &Session) {
        if let Session::Wall(_) = session {
            self.wall.leave(token);
        }
    }

    /// Housekeeping, about once a second: history expiry, forgotten rooms.
    pub fn tick(&mut self, now: Instant) {
        self.wall.rooms.expire(now);
    }

    /// The members of a room (for the shell's fan-out).
    pub fn members(&self, room: RoomId) -> &[usize] {
        self.wall.rooms.get(room).map_or(&[], |r| r.members())
    }
}

/// A text message as one unmasked server frame (RFC 6455 §5.6).
pub fn text_frame(json: &str) -> Vec<u8> {
    frame::server_frame(Opcode::Text, json.as_bytes())
}

#[cfg(test)]
#[path = "app_tests.rs"]
mod tests;
