//! The application: what a request and a message *mean*. One place for dispatch, outside the
//! mio shell: the router ([`route`]) decides what each HTTP request is, and [`App`] turns a
//! WebSocket opening, message or closing into [`Action`]s (send this frame to that
//! connection, broadcast this frame to that room, close that connection), which the shell
//! performs. No sockets, no clock reads: the shell passes the time in.

pub mod admin;
pub mod cluster;
mod cluster_sync;
pub mod metrics;
mod nodes;
pub mod route;

use std::rc::Rc;
use std::time::Instant;

use crate::config::Config;
use crate::protocol::ws_conn::Message;
use crate::wall::danmaku;
use crate::wall::room::RoomId;
use crate::wall::{Accepted, Checked, Member, Wall};
use crate::wire::close::CloseCode;
use crate::wire::frame::{self, Opcode};
use admin::{AdminSession, Admins};
use metrics::Counters;
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
    /// Rewrite the `--blocklist` file with this text (atomically).
    SaveBlocklist(String),
    /// Cluster mode: wall `to` has been greeted; broadcasts performed after this reach it.
    Admit { to: usize },
    /// Show this to every signed-in admin of this node (a feed entry).
    ToAdmins(String),
    /// Cluster mode: another node's moderation message (`cluster::admin`), for the app.
    FromNodes(Vec<u8>),
    /// Cluster mode: this node (back) on the admin bus asks the others what they hold for
    /// review; what it remembered of them is stale.
    AskHolds,
    /// Cluster mode: another node asks what this node holds for review.
    HoldsWanted,
    /// Cluster mode: another node re-announces a post it holds (its `pending` JSON).
    HeldElsewhere(String),
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
    /// `/admin/ws`: a moderator (signed in or not yet).
    Admin(AdminSession),
}

impl Session {
    /// A moderator's connection (`/admin/ws`).
    pub fn is_admin(&self) -> bool {
        matches!(self, Session::Admin(_))
    }
}

/// The application's state and settings.
#[derive(Debug)]
pub struct App {
    pub wall: Wall,
    /// Serve `/echo`.
    pub echo: bool,
    /// `--max-backlog`: what a replay may queue on one connection.
    pub max_backlog: usize,
    /// `--public-url`, for the pages (`/settings.json`).
    pub public_url: Option<String>,
    /// Serve `/metrics`.
    pub metrics: bool,
    pub counters: Counters,
    /// The moderation token; `None`: moderation is off.
    pub admin_token: Option<String>,
    pub admins: Admins,
    /// `--blocklist FILE` was given: admin edits are saved to it.
    pub persist_blocklist: bool,
    /// With `--redis`: the node's side of the cluster (set by the shell).
    pub cluster: Option<cluster::Cluster>,
}

impl App {
    pub fn new(wall: Wall, config: &Config) -> Self {
        App {
            wall,
            echo: config.echo,
            max_backlog: config.max_backlog,
            public_url: config.public_url.clone(),
            metrics: config.metrics,
            counters: Counters::default(),
            admin_token: config.admin_token.clone(),
            admins: Admins::default(),
            persist_blocklist: config.blocklist.is_some(),
            cluster: None,
        }
    }

    /// A WebSocket on `route` opened as connection `token`. A wall gets `hello`, then what it
    /// missed (see [`crate::wall::history`]), before any live danmaku.
    pub fn open(&mut self, token: usize, route: Route, now: Instant, actions: &mut Vec<Action>) -> Session {
        match route {
            Route::Echo => Session::Echo,
            Route::Admin { client } => self.open_admin(token, client, now),
            Route::Wall(route) => match self.wall.join(&route.room, token, route.client, now) {
                Ok(member) => {
                    self.admins.room_changed(member.room);
                    if let Some(cluster) = &mut self.cluster {
                        cluster.join(token, &member, &route.room, (route.since, route.epoch.clone()), now);
                        return Session::Wall(member);
                    }
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
    fn greet(&mut self, token: usize, member: &Member, route: &WallRoute, actions: &mut Vec<Action>) {
        let Some(room) = self.wall.rooms.get(member.room) else { return };
        let replay = route.since.map(|since| {
            let budget = self.max_backlog.saturating_sub(256);
            self.wall.rooms.replay(member.room, since, route.epoch.as_deref(), budget)
        });
        let hello = danmaku::hello_json(&room.name, &room.epoch, room.last(), replay.as_ref().map(|r| r.recovered));
        actions.push(Action::Send { to: token, frame: Frame::Owned(text_frame(&hello)) });
        let frames = replay.map(|r| r.frames).unwrap_or_default();
        self.counters.deliveries += frames.iter().filter(|f| danmaku::is_danmaku_frame(f)).count() as u64;
        for frame in frames {
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
            Session::Admin(admin) => self.admin_message(token, admin, message, time, actions),
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
                self.wall.unavailable =
                    self.cluster.as_ref().is_some_and(|c| !c.is_up()).then_some(cluster::UNAVAILABLE);
                match self.wall.check(token, member, &text, time.now) {
                    Checked::Accept(post) => self.accepted(Some(token), post, time, actions),
                    Checked::Hold(held) => {
                        self.counters.posts_held += 1;
                        self.feed_pending(&held, time, actions);
                        if let Some(r) = self.wall.rooms.get_mut(member.room) {
                            r.pinned = true;
                        }
                        let json = danmaku::held_json(held.reference.as_deref());
                        actions.push(Action::Send { to: token, frame: Frame::Owned(text_frame(&json)) });
                    }
                    Checked::Reject { json } => {
                        self.counters.posts_rejected += 1;
                        actions.push(Action::Send { to: token, frame: Frame::Owned(text_frame(&json)) })
                    }
                }
            }
        }
    }

    /// A post that passed the pipeline (or was approved): numbered, broadcast, shown to the
    /// admins, acked to its sender `token` (if still connected and it gave a `ref`). In a
    /// cluster, numbering is Redis's: the post comes back on the room's channel like every
    /// other node's.
    fn accepted(&mut self, token: Option<usize>, post: Accepted, time: Time, actions: &mut Vec<Action>) {
        if let Some(cluster) = &mut self.cluster {
            let Some(room) = self.wall.rooms.get(post.room) else { return };
            let name = room.name.clone();
            // Only the feed to the admins waits for the id: see `cluster::Feed`.
            return cluster.publish(token, &name, post, time, actions);
        }
        let Some(sequenced) = self.wall.sequence(&post, time.now, time.unix_ms) else { return };
        self.counters.posts_accepted += 1;
        actions.push(Action::Broadcast { room: sequenced.room, frame: sequenced.frame });
        self.feed_post(sequenced.room, sequenced.id, &post, time.unix_ms, actions);
        self.admins.room_changed(sequenced.room);
        if let (Some(token), Some(reference)) = (token, post.reference) {
            let ack = text_frame(&danmaku::ack_json(&reference, sequenced.id));
            actions.push(Action::Send { to: token, frame: Frame::Owned(ack) });
        }
    }

    /// Connection `token` has closed.
    pub fn close(&mut self, token: usize, session: &Session) {
        match session {
            Session::Wall(member) => {
                self.admins.room_changed(member.room);
                if let Some(cluster) = &mut self.cluster {
                    cluster.leave(token);
                }
                self.wall.leave(token);
            }
            Session::Admin(_) => self.close_admin(token),
            Session::Echo => {}
        }
    }

    /// Housekeeping, a few times a second: history expiry, forgotten rooms, bans and slow
    /// mode entries that ran out, admin sign-in deadlines and `room` updates.
    pub fn tick(&mut self, now: Instant, actions: &mut Vec<Action>) {
        self.wall.rooms.expire(now);
        self.wall.bans.purge(now);
        if let Some(cluster) = &mut self.cluster {
            for room in cluster.take_advanced() {
                self.admins.room_changed(room);
            }
        }
        self.admin_tick(now, actions);
    }

    /// Whether `/admin` is served.
    pub fn moderation_on(&self) -> bool {
        self.admin_token.is_some()
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
