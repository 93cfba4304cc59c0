//! The moderation endpoint `/admin/ws` (the contract's "Moderation"): who may sign in, and
//! what each admin request does. Off unless a token is configured.
//!
//! Security model: the token is the only credential. It is compared in constant time, never
//! logged, and never taken from a URL; a wrong token, any other first message, or 10 s of
//! silence is a failed attempt, and 5 failures from one address within 60 s earn that address
//! `429`s for 60 s ([`AuthLimiter`]). Nothing about the wall reaches an admin socket before a
//! good `auth`. Posts never see any of this: a post on `/ws` that looks like an admin request
//! is just an invalid danmaku.

use std::collections::HashSet;
use std::net::IpAddr;
use std::rc::Rc;
use std::time::{Duration, Instant};

use super::{Action, App, Frame, Session, Time, text_frame};
use crate::protocol::ws_conn::Message;
use crate::wall::admin_msg::{self, AdminRequest, PostView, RoomState};
use crate::wall::blocklist::EditLimits;
use crate::wall::moderation::auth_limit::{AuthLimiter, AuthLimits};
use crate::wall::moderation::hold::Held;
use crate::wall::moderation::token::constant_time_eq;
use crate::wall::room::RoomId;
use crate::wall::{Accepted, danmaku};
use crate::wire::close::CloseCode;
use crate::wire::frame::Opcode;

/// How long a new admin socket may take to send its `auth`.
pub const AUTH_TIMEOUT: Duration = Duration::from_secs(10);

/// The least time between two `room` updates of one room (at most 5 a second).
const ROOM_UPDATE_GAP: Duration = Duration::from_millis(200);

/// An admin connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AdminSession {
    pub client: IpAddr,
    pub signed_in: bool,
}

/// Who is signed in, who is still to sign in, and what the admins have not been told yet.
#[derive(Debug)]
pub struct Admins {
    pub limiter: AuthLimiter,
    /// Signed-in admin connections: they get the live feed.
    signed_in: Vec<usize>,
    /// Connections that have not sent `auth` yet, with their deadline and address.
    waiting: Vec<(usize, Instant, IpAddr)>,
    /// Rooms whose `room` update is due, and when each was last sent.
    changed: HashSet<RoomId>,
    last_sent: Vec<Option<Instant>>,
    /// The final `room` entries of rooms just forgotten, due with the next housekeeping.
    last_entries: Vec<String>,
}

impl Default for Admins {
    fn default() -> Self {
        Admins {
            limiter: AuthLimiter::new(AuthLimits::default()),
            signed_in: Vec::new(),
            waiting: Vec::new(),
            changed: HashSet::new(),
            last_sent: Vec::new(),
            last_entries: Vec::new(),
        }
    }
}

impl Admins {
    /// A room's members, counters or settings changed: the admins hear of it soon.
    pub fn room_changed(&mut self, room: RoomId) {
        if !self.signed_in.is_empty() {
            self.changed.insert(room);
        }
    }

    pub fn send_all(&self, json: &str, actions: &mut Vec<Action>) {
        self.send_all_but(json, None, actions);
    }

    /// [`send_all`](Self::send_all), except to the admin `but` (whose request it answers).
    pub fn send_all_but(&self, json: &str, but: Option<usize>, actions: &mut Vec<Action>) {
        if self.signed_in.iter().all(|&t| Some(t) == but) {
            return;
        }
        let frame: Rc<[u8]> = text_frame(json).into();
        for &to in self.signed_in.iter().filter(|&&t| Some(t) != but) {
            actions.push(Action::Send { to, frame: Frame::Shared(frame.clone()) });
        }
    }
}

impl App {
    /// A new `/admin/ws` connection: it has [`AUTH_TIMEOUT`] to sign in.
    pub(super) fn open_admin(&mut self, token: usize, client: IpAddr, now: Instant) -> Session {
        self.admins.waiting.push((token, now + AUTH_TIMEOUT, client));
        Session::Admin(AdminSession { client, signed_in: false })
    }

    pub(super) fn close_admin(&mut self, token: usize) {
        self.admins.signed_in.retain(|&t| t != token);
        self.admins.waiting.retain(|&(t, ..)| t != token);
    }

    /// A message on `/admin/ws`: the `auth`, or one request answered by exactly one reply.
    pub(super) fn admin_message(
        &mut self,
        token: usize,
        session: &mut AdminSession,
        message: &Message,
        time: Time,
        actions: &mut Vec<Action>,
    ) {
        let raw = String::from_utf8_lossy(&message.data);
        let request = match message.opcode {
            Opcode::Text => admin_msg::parse_request(&raw),
            _ => Err("admin requests are JSON text messages".to_string()),
        };
        if !session.signed_in {
            return self.sign_in(token, session, request, time, actions);
        }
        let reply = match request {
            Err(why) => admin_msg::error_json(&why),
            Ok(AdminRequest::Auth { .. }) => admin_msg::error_json("already signed in"),
            Ok(request) => {
                let what = request.type_name();
                match self.perform_everywhere(request, &raw, Some(token), time, actions) {
                    Ok(done) => {
                        log::info!("admin {}: {what} {done}", session.client);
                        admin_msg::ok_json(what)
                    }
                    Err(why) => admin_msg::error_json(&why),
                }
            }
        };
        actions.push(Action::Send { to: token, frame: Frame::Owned(text_frame(&reply)) });
    }

    /// The first message: a good `auth` gets `state`; anything else is a failed attempt.
    fn sign_in(
        &mut self,
        token: usize,
        session: &mut AdminSession,
        request: Result<AdminRequest, String>,
        time: Time,
        actions: &mut Vec<Action>,
    ) {
        self.admins.waiting.retain(|&(t, ..)| t != token);
        let expected = self.admin_token.as_deref().unwrap_or_default().as_bytes();
        let why = match request {
            Ok(AdminRequest::Auth { token: given }) if constant_time_eq(given.as_bytes(), expected) => {
                session.signed_in = true;
                self.admins.signed_in.push(token);
                log::info!("admin {} signed in", session.client);
                let state = self.state_json(time);
                actions.push(Action::Send { to: token, frame: Frame::Owned(text_frame(&state)) });
                return self.send_waiting(token, actions);
            }
            Ok(AdminRequest::Auth { .. }) => "wrong token",
            _ => "the first message must be {\"type\":\"auth\",\"token\":...}",
        };
        self.refuse_admin(token, session.client, why, time.now, actions);
    }

    fn refuse_admin(&mut self, token: usize, client: IpAddr, why: &str, now: Instant, actions: &mut Vec<Action>) {
        let blocked = self.admins.limiter.failed(client, now);
        log::warn!(
            "refused admin sign-in from {client}: {why}{}",
            if blocked { " (now blocked for 60 s)" } else { "" }
        );
        actions.push(Action::Close { to: token, code: CloseCode::POLICY_VIOLATION, reason: "authentication failed" });
    }

    /// Admin housekeeping: sign-in deadlines, and the `room` updates that are due.
    pub(super) fn admin_tick(&mut self, now: Instant, actions: &mut Vec<Action>) {
        let (late, waiting): (Vec<_>, Vec<_>) = self.admins.waiting.drain(..).partition(|&(_, at, _)| now >= at);
        self.admins.waiting = waiting;
        for (token, _, client) in late {
            self.refuse_admin(token, client, "no auth within 10 s", now, actions);
        }
        for json in std::mem::take(&mut self.admins.last_entries) {
            self.admins.send_all(&json, actions);
        }
        let due: Vec<RoomId> = (self.admins.changed.iter().copied())
            .filter(|&r| self.admins.last_sent.get(r).copied().flatten().is_none_or(|t| now >= t + ROOM_UPDATE_GAP))
            .collect();
        for room in due {
            self.admins.changed.remove(&room);
            if self.admins.last_sent.len() <= room {
                self.admins.last_sent.resize(room + 1, None);
            }
            self.admins.last_sent[room] = Some(now);
            if let Some(state) = self.room_state(room) {
                self.admins.send_all(&admin_msg::room_json(&state), actions);
            }
        }
    }

    fn room_state(&self, room: RoomId) -> Option<RoomState<'_>> {
        let r = self.wall.rooms.get(room)?;
        // In a cluster, Redis numbers the danmaku and this node only delivers them.
        let last = match &self.cluster {
            Some(cluster) => cluster.last_id(&r.name).unwrap_or(0),
            None => r.last(),
        };
        Some(RoomState { room: &r.name, members: r.members().len(), last, rules: r.rules })
    }

    fn state_json(&self, time: Time) -> String {
        let rooms: Vec<RoomState<'_>> = self.wall.rooms.iter().filter_map(|(id, _)| self.room_state(id)).collect();
        let bans = self.wall.bans.list(time.now, time.unix_ms);
        admin_msg::state_json(&rooms, self.wall.blocklist.phrases(), &bans)
    }

    /// After `state`: a `pending` entry for every post still waiting for review, here and (in a
    /// cluster) on the other nodes, so an admin who signs in late or again sees them all.
    fn send_waiting(&self, token: usize, actions: &mut Vec<Action>) {
        let here =
            self.wall.held.iter().map(|h| admin_msg::pending_json(&h.room, &h.key, &PostView::of(&h.post), h.from));
        let elsewhere = self.wall.held_elsewhere.pending().map(ToString::to_string);
        for json in here.chain(elsewhere) {
            actions.push(Action::Send { to: token, frame: Frame::Owned(text_frame(&json)) });
        }
    }

    /// Tells the admins of a danmaku just broadcast.
    pub(super) fn feed_post(&self, room: RoomId, id: u64, post: &Accepted, unix_ms: u64, actions: &mut Vec<Action>) {
        let Some(r) = self.wall.rooms.get(room) else { return };
        let json = admin_msg::post_json(&r.name, id, &PostView::of(&post.danmaku), unix_ms, post.from);
        self.admins.send_all(&json, actions);
    }

    /// Tells the admins (of every node, in a cluster) of a post held for review.
    pub(super) fn feed_pending(&mut self, held: &Held<danmaku::Danmaku>, time: Time, actions: &mut Vec<Action>) {
        let json = admin_msg::pending_json(&held.room, &held.key, &PostView::of(&held.post), held.from);
        self.admins.send_all(&json, actions);
        self.pending_everywhere(&json, time);
    }

    /// Carries out one admin request of admin `requester` (`None`: another node's); `Ok` says
    /// what was done (for the audit line).
    pub(super) fn perform_admin(
        &mut self,
        request: AdminRequest,
        requester: Option<usize>,
        time: Time,
        actions: &mut Vec<Action>,
    ) -> Result<String, String> {
        let now = time.now;
        match request {
            AdminRequest::Auth { .. } => Err("already signed in".to_string()),
            AdminRequest::Delete { room, id } => {
                self.moderation_event(&room, &admin_msg::delete_json(id), Some(id), now, actions);
                Ok(format!("{room} #{id}"))
            }
            AdminRequest::Clear { room } => {
                self.moderation_event(&room, &admin_msg::clear_json(), None, now, actions);
                Ok(room)
            }
            AdminRequest::Ban { address, seconds } => {
                self.wall.bans.ban(address, seconds, now)?;
                Ok(format!("{address} for {seconds} s"))
            }
            AdminRequest::Hold { room, on } => self.set_rules(&room, |r| r.hold = on).map(|()| format!("{room} {on}")),
            AdminRequest::Lock { room, on } => self.set_rules(&room, |r| r.lock = on).map(|()| format!("{room} {on}")),
            AdminRequest::Slow { room, seconds } => {
                self.set_rules(&room, |r| r.slow = seconds)?;
                if seconds == 0 {
                    self.wall.slow.clear_room(&room);
                }
                Ok(format!("{room} {seconds} s"))
            }
            AdminRequest::Approve { room, key } => {
                let done = self.approve(&room, &key, time, actions)?;
                self.decided_everywhere(&room, &key, true, requester, time, actions);
                Ok(done)
            }
            AdminRequest::Reject { room, key } => {
                self.wall.held.reject(&room, &key)?;
                self.unpin(&room);
                self.decided_everywhere(&room, &key, false, requester, time, actions);
                Ok(format!("{room} {key}"))
            }
            AdminRequest::Blocklist { add, remove } => self.edit_blocklist(&add, &remove, actions),
        }
    }

    /// `delete` / `clear`: out of the history (never replayed), into it as an event (so a
    /// resuming wall hears of it), and to every wall of the room now.
    fn moderation_event(&mut self, room: &str, json: &str, id: Option<u64>, now: Instant, actions: &mut Vec<Action>) {
        let Some(room_id) = self.wall.rooms.find(room) else { return };
        let limits = self.wall.rooms.limits;
        let Some(r) = self.wall.rooms.get_mut(room_id) else { return };
        match id {
            Some(id) => {
                r.history.remove(id);
            }
            None => r.history.remove_all_danmaku(),
        }
        let frame: Rc<[u8]> = text_frame(json).into();
        r.history.push_event(frame.clone(), now, limits);
        actions.push(Action::Broadcast { room: room_id, frame });
    }

    /// Changes a room's settings, creating the room if needed (a setting outlives members).
    /// A room left with no members, history or setting is forgotten at once; the admins get
    /// its last `room` entry (settings off) with the next housekeeping, after the request's
    /// reply, as no later entry will tell them.
    fn set_rules(
        &mut self,
        room: &str,
        change: impl FnOnce(&mut crate::wall::moderation::rules::RoomRules),
    ) -> Result<(), String> {
        let id = self.wall.rooms.open(room).map_err(|full| format!("too many rooms (at most {})", full.0))?;
        if let Some(r) = self.wall.rooms.get_mut(id) {
            change(&mut r.rules);
        }
        self.admins.room_changed(id);
        let last_entry = self.room_state(id).map(|state| admin_msg::room_json(&state));
        self.wall.rooms.forget_if_unused(id);
        if self.wall.rooms.get(id).is_none()
            && let Some(json) = last_entry
            && !self.admins.signed_in.is_empty()
        {
            self.admins.last_entries.push(json);
        }
        Ok(())
    }

    fn approve(&mut self, room: &str, key: &str, time: Time, actions: &mut Vec<Action>) -> Result<String, String> {
        if self.cluster.as_ref().is_some_and(|c| !c.is_up()) {
            // Redis numbers it: the post keeps waiting until Redis is back.
            return Err(super::cluster::UNAVAILABLE.to_string());
        }
        let held = self.wall.held.approve(room, key)?;
        self.unpin(room);
        let room_id = self.wall.rooms.open(room).map_err(|full| format!("too many rooms (at most {})", full.0))?;
        let post = Accepted { room: room_id, danmaku: held.post, reference: held.reference, from: held.from };
        self.accepted(held.conn, post, time, actions);
        Ok(format!("{room} {key}"))
    }

    /// A room keeps existing while posts wait in it.
    pub(super) fn unpin(&mut self, room: &str) {
        let Some(id) = self.wall.rooms.find(room) else { return };
        let waiting = self.wall.held.waiting(room) > 0;
        if let Some(r) = self.wall.rooms.get_mut(id) {
            r.pinned = waiting;
        }
        self.wall.rooms.forget_if_unused(id);
    }

    fn edit_blocklist(
        &mut self,
        add: &[String],
        remove: &[String],
        actions: &mut Vec<Action>,
    ) -> Result<String, String> {
        self.wall.blocklist.edit(add, remove, EditLimits::default())?;
        if self.persist_blocklist {
            actions.push(Action::SaveBlocklist(self.wall.blocklist.to_file_text()));
        }
        Ok(format!("+{} -{}", add.len(), remove.len()))
    }
}
