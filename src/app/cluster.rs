//! Cluster mode (`--redis`): the node's side of the shared wall, pure (no sockets; the shell
//! passes bytes and the time in). The contract's "Cluster: several nodes, one wall".
//!
//! The node owns two [`RedisSession`]s (commands, subscriber: see RESP_NOTES.md for why two)
//! and the shell moves their bytes. An accepted post is not numbered here: it goes to Redis
//! with the `PUBLISH` script ([`crate::protocol::cluster_script`]), which numbers, stores and
//! publishes it in one step; its sender gets the `ack` from the script's reply, and every
//! node, this one included, delivers the danmaku only when it comes back on the room's channel
//! (Centrifuge's shape: the publisher has no shortcut, so every wall sees one order).
//!
//! Per room with local members ([`cluster_sync`](super::cluster_sync)): the epoch and the last
//! position delivered; a live message that follows it is framed once and broadcast, a jump is
//! filled with a `READ` of history first. A wall opening is greeted from a `READ` too (its
//! `hello` carries the epoch and `last` stored in Redis), and the fan-out skips it until then.
//!
//! While Redis is unreachable the node is "down": posts are answered with an error at once
//! (or, for posts in flight, when the session fails, which its reply deadline bounds), new
//! walls are refused by the router, and walls already here stay; on reconnection every room
//! is subscribed again and read from its last position, so walls get what they missed.

use std::collections::HashMap;
use std::rc::Rc;
use std::time::{Duration, Instant};

use super::{Action, Frame, Time, text_frame};
use crate::protocol::cluster_script::{self as cs, HistoryPolicy, RoomKeys};
use crate::protocol::redis_session::{Failure, RedisConfig, RedisEvent, RedisSession, SessionRole, SubKind};
use crate::wall::danmaku;
use crate::wall::room::RoomId;
use crate::wall::{Accepted, Member};
use crate::wire::redis_url::RedisUrl;
use crate::wire::resp::Value;

pub use super::cluster_sync::RoomSync;

pub mod admin;

/// The reason every refused post carries while Redis is unreachable.
pub const UNAVAILABLE: &str = "the wall is temporarily unavailable, please try again";

/// A reply must come within this (the contract: a post is answered within 2 s). The
/// handshake's deadline too, so a Redis that accepts and never answers fails within it.
pub const REPLY_TIMEOUT: Duration = Duration::from_millis(1500);

/// The liveness probe: a PING after this long without a byte from Redis, so a connection that
/// looks alive but delivers nothing is found within `PING_INTERVAL + REPLY_TIMEOUT`.
pub const PING_INTERVAL: Duration = Duration::from_secs(1);

/// Room keys live this long without a script touching them (a day, far above any
/// `--history-ttl` worth having, so a resume after a quiet night still finds the epoch).
pub const KEY_TTL_SECS: u64 = 24 * 3600;

/// What a command in flight was for.
#[derive(Debug, Clone)]
enum Pending {
    /// A post from connection `token` (while its generation is `generation`); `feed` is the
    /// admin feed's `post` entry once the id is known.
    Post { token: usize, generation: u32, reference: Option<String>, feed: Option<Feed> },
    /// A room's sync read.
    Read { room: Rc<str> },
    /// A moderation event or an admin-bus message: nothing to do with the reply but log an error.
    Note(&'static str),
}

/// What the admins are told of a post once Redis has numbered it.
#[derive(Debug, Clone)]
pub struct Feed {
    pub room: Rc<str>,
    pub post: Accepted,
    pub unix_ms: u64,
}

/// The cluster state of one node.
#[derive(Debug)]
pub struct Cluster {
    pub(super) prefix: String,
    pub(super) policy: HistoryPolicy,
    /// What a replay may queue on one connection (`--max-backlog`, minus room for `hello`).
    pub(super) replay_budget: usize,
    config: RedisConfig,
    where_: String,
    commands: Option<RedisSession>,
    subscriber: Option<RedisSession>,
    /// Whether the node counted as up (both sessions ready) last time we looked.
    up: bool,
    /// The last failure logged while down (each new reason is logged once).
    logged: Option<String>,
    next_tag: u64,
    pending: HashMap<u64, Pending>,
    /// Rooms with local members, by name.
    pub(super) rooms: HashMap<Rc<str>, RoomSync>,
    /// The room of each local wall, and whether the fan-out may deliver to it yet.
    pub(super) walls: Vec<Option<(Rc<str>, bool)>>,
    /// Bumped when a token's connection leaves, so late replies skip its successor.
    generations: Vec<u32>,
    seed: u128,
    candidates: u64,
    /// The latest time the shell passed in (monotonic, and Unix ms), to date the calls that
    /// come without one.
    clock: Option<(Instant, u64)>,
    /// Frames queued to connections directly (replays), for `/metrics`.
    pub deliveries: u64,
    pub posts_accepted: u64,
    /// This node's name on the admin bus (and the prefix of its hold keys).
    pub node: String,
    /// `PREFIX` + `admin`: where nodes tell each other of moderation (see `cluster_admin.rs`).
    pub(super) admin_channel: String,
}

impl Cluster {
    /// `seed`: entropy from the shell, for epoch names no other node or run will pick.
    pub fn new(url: &RedisUrl, prefix: String, policy: HistoryPolicy, max_backlog: usize, seed: u128) -> Cluster {
        let config = RedisConfig {
            user: url.user.clone(),
            password: url.password.clone(),
            db: url.db,
            scripts: vec![cs::PUBLISH, cs::EVENT, cs::READ],
            reply_timeout: REPLY_TIMEOUT,
            ping_interval: Some(PING_INTERVAL),
            ..RedisConfig::default()
        };
        let where_ = format!("{}:{}/{}", url.host, url.port, url.db);
        let admin_channel = format!("{prefix}admin");
        let mut cluster = Cluster {
            prefix,
            policy,
            replay_budget: max_backlog.saturating_sub(256),
            config,
            where_,
            commands: None,
            subscriber: None,
            up: false,
            logged: None,
            next_tag: 1,
            pending: HashMap::new(),
            rooms: HashMap::new(),
            walls: Vec::new(),
            generations: Vec::new(),
            seed,
            candidates: 0,
            clock: None,
            deliveries: 0,
            posts_accepted: 0,
            node: String::new(),
            admin_channel,
        };
        cluster.node = cluster.candidate();
        cluster
    }

    /// Both connections are ready: posts are taken and walls may open.
    pub fn is_up(&self) -> bool {
        self.up
    }

    /// Whether the fan-out may deliver to `token` (not while it waits for its `hello`).
    pub fn delivers_to(&self, token: usize) -> bool {
        !matches!(self.walls.get(token), Some(Some((_, false))))
    }

    /// A fresh epoch candidate: the scripts store it only when the room has no epoch.
    pub(super) fn candidate(&mut self) -> String {
        self.candidates += 1;
        // splitmix-style mixing of the seed and a counter: unique per node and call.
        let mut z = self.seed ^ u128::from(self.candidates).wrapping_mul(0x9E37_79B9_7F4A_7C15_F39C_C060_5CED_C835);
        z = (z ^ (z >> 61)).wrapping_mul(0xBF58_476D_1CE4_E5B9_94D0_49BB_1331_11EB);
        cs::epoch_name(z ^ (z >> 67))
    }

    // ---------------------------------------------------------------------------------------
    // The shell's side: sessions and bytes
    // ---------------------------------------------------------------------------------------

    fn tick(&mut self, time: Time) {
        self.clock = Some((time.now, time.unix_ms));
    }

    /// `now` with the Unix time the shell's latest reading implies.
    fn time_at(&self, now: Instant) -> Time {
        let unix_ms = self.clock.map_or(0, |(at, ms)| ms + now.saturating_duration_since(at).as_millis() as u64);
        Time { now, unix_ms }
    }

    fn session(&mut self, role: SessionRole) -> &mut Option<RedisSession> {
        match role {
            SessionRole::Commands => &mut self.commands,
            SessionRole::Subscriber => &mut self.subscriber,
        }
    }

    /// Where Redis is, for log lines.
    pub fn address(&self) -> &str {
        &self.where_
    }

    /// The shell opened a TCP connection for `role`: a new session (its handshake queued).
    pub fn start_session(&mut self, role: SessionRole, now: Instant) {
        let session = RedisSession::new(self.config.clone(), role, now);
        *self.session(role) = Some(session);
    }

    /// The shell should drop the connection of `role` and connect again later.
    pub fn session_failed(&self, role: SessionRole) -> bool {
        let s = if role == SessionRole::Commands { &self.commands } else { &self.subscriber };
        s.as_ref().is_some_and(RedisSession::is_failed)
    }

    pub fn session_ready(&self, role: SessionRole) -> bool {
        let s = if role == SessionRole::Commands { &self.commands } else { &self.subscriber };
        s.as_ref().is_some_and(RedisSession::is_ready)
    }

    pub fn take_output(&mut self, role: SessionRole) -> Vec<u8> {
        self.session(role).as_mut().map(RedisSession::take_output).unwrap_or_default()
    }

    /// Bytes read from the connection of `role`.
    pub fn feed(&mut self, role: SessionRole, data: &[u8], time: Time, actions: &mut Vec<Action>) {
        let mut events = Vec::new();
        if let Some(s) = self.session(role) {
            s.feed(data, time.now, &mut events);
        }
        self.on_events(role, events, time, actions);
    }

    /// The connection of `role` ended (EOF, an error, a refused connect).
    pub fn closed(&mut self, role: SessionRole, time: Time, actions: &mut Vec<Action>) {
        let mut events = Vec::new();
        match self.session(role) {
            Some(s) => s.on_closed(&mut events),
            // Never got as far as a session: count it as a failed attempt.
            None => events.push(RedisEvent::Failed { failure: Failure::Closed, unanswered: Vec::new() }),
        }
        self.on_events(role, events, time, actions);
    }

    /// Deadlines and probes; call at [`next_wake`](Self::next_wake).
    pub fn on_timer(&mut self, time: Time, actions: &mut Vec<Action>) {
        for role in [SessionRole::Commands, SessionRole::Subscriber] {
            let mut events = Vec::new();
            if let Some(s) = self.session(role) {
                s.on_timer(time.now, &mut events);
            }
            self.on_events(role, events, time, actions);
        }
    }

    pub fn next_wake(&self) -> Option<Instant> {
        let a = self.commands.as_ref().and_then(RedisSession::next_wake);
        let b = self.subscriber.as_ref().and_then(RedisSession::next_wake);
        a.into_iter().chain(b).min()
    }

    fn on_events(&mut self, role: SessionRole, events: Vec<RedisEvent>, time: Time, actions: &mut Vec<Action>) {
        self.tick(time);
        for event in events {
            match event {
                RedisEvent::Ready => self.on_ready(role, time),
                RedisEvent::Reply { tag, value } => self.on_reply(tag, &value, time, actions),
                RedisEvent::Subscription { kind: SubKind::Subscribe, channel, .. } => {
                    self.on_subscribed(&channel, time)
                }
                RedisEvent::Subscription { .. } => {}
                RedisEvent::Message { channel, payload, .. } if channel == self.admin_channel.as_bytes() => {
                    self.on_bus(&payload, actions)
                }
                RedisEvent::Message { channel, payload, .. } => self.on_live(&channel, &payload, time, actions),
                RedisEvent::Failed { failure, unanswered } => self.on_failed(role, &failure, unanswered, actions),
            }
        }
        self.update_up();
    }

    fn update_up(&mut self) {
        let up = self.session_ready(SessionRole::Commands) && self.session_ready(SessionRole::Subscriber);
        if up && !self.up {
            log::info!("connected to Redis at {}: the node serves the cluster's rooms", self.where_);
            self.logged = None;
        }
        self.up = up;
    }

    fn on_ready(&mut self, role: SessionRole, time: Time) {
        match role {
            SessionRole::Subscriber => {
                let rooms = self.rooms.values().map(|r| r.keys.channel.clone().into_bytes());
                let channels: Vec<Vec<u8>> = rooms.chain([self.admin_channel.clone().into_bytes()]).collect();
                for room in self.rooms.values_mut() {
                    room.subscribed = false;
                }
                if !channels.is_empty()
                    && let Some(s) = &mut self.subscriber
                {
                    let refs: Vec<&[u8]> = channels.iter().map(Vec::as_slice).collect();
                    s.subscribe(SubKind::Subscribe, &refs, time.now);
                }
            }
            SessionRole::Commands => {
                let names: Vec<Rc<str>> = self.rooms.keys().cloned().collect();
                for name in names {
                    self.sync(&name, time);
                }
            }
        }
    }

    fn on_failed(&mut self, role: SessionRole, failure: &Failure, unanswered: Vec<u64>, actions: &mut Vec<Action>) {
        let reason = failure.to_string();
        if self.logged.as_deref() != Some(reason.as_str()) {
            let what = if self.up { "lost Redis" } else { "cannot use Redis" };
            let message = format!("{what} at {} ({reason}): posts are refused until it is back", self.where_);
            match failure {
                Failure::AuthFailed(_) => log::error!("{message}"),
                _ => log::warn!("{message}"),
            }
            self.logged = Some(reason);
        }
        if role == SessionRole::Subscriber {
            for room in self.rooms.values_mut() {
                room.subscribed = false;
            }
        }
        for tag in unanswered {
            match self.pending.remove(&tag) {
                Some(Pending::Post { token, generation, reference, .. }) => {
                    self.refuse(token, generation, reference.as_deref(), actions)
                }
                Some(Pending::Read { room }) => {
                    if let Some(r) = self.rooms.get_mut(&room) {
                        r.reading = None;
                    }
                }
                Some(Pending::Note(what)) => log::warn!("{what}: Redis went away before it answered"),
                None => {}
            }
        }
    }

    /// Sends a command on the commands session; false (nothing sent) if there is none.
    fn command(&mut self, call: &cs::ScriptCall, pending: Pending, now: Instant) -> Option<u64> {
        self.raw_command(&call.evalsha(), pending, now)
    }

    /// Sends any command (its arguments) on the commands session.
    fn raw_command(&mut self, args: &[Vec<u8>], pending: Pending, now: Instant) -> Option<u64> {
        let session = self.commands.as_mut().filter(|s| !s.is_failed())?;
        let tag = self.next_tag;
        self.next_tag += 1;
        let refs: Vec<&[u8]> = args.iter().map(Vec::as_slice).collect();
        session.command(tag, &refs, now);
        self.pending.insert(tag, pending);
        Some(tag)
    }

    pub(super) fn read_command(&mut self, call: &cs::ScriptCall, room: Rc<str>, now: Instant) -> Option<u64> {
        self.command(call, Pending::Read { room }, now)
    }

    pub(super) fn subscribe(&mut self, kind: SubKind, channel: &str, now: Instant) {
        if let Some(s) = self.subscriber.as_mut().filter(|s| s.is_ready()) {
            s.subscribe(kind, &[channel.as_bytes()], now);
        }
    }

    fn on_reply(&mut self, tag: u64, value: &Value, time: Time, actions: &mut Vec<Action>) {
        match self.pending.remove(&tag) {
            Some(Pending::Post { token, generation, reference, feed }) => match cs::parse_published(value) {
                Ok((_, id)) => {
                    self.posts_accepted += 1;
                    if let Some(feed) = feed {
                        self.feed_post(&feed, id, actions);
                    }
                    if let Some(reference) = reference.filter(|_| self.generation(token) == generation) {
                        let ack = text_frame(&danmaku::ack_json(&reference, id));
                        actions.push(Action::Send { to: token, frame: Frame::Owned(ack) });
                    }
                }
                Err(why) => {
                    log::warn!("Redis refused a post: {why}");
                    self.refuse(token, generation, reference.as_deref(), actions);
                }
            },
            Some(Pending::Read { room }) => match cs::parse_history(value) {
                Ok(history) => self.on_history(&room, tag, history, time, actions),
                Err(why) => {
                    log::warn!("Redis refused a history read of room '{room}': {why}");
                    if let Some(r) = self.rooms.get_mut(&room) {
                        r.reading = None;
                    }
                }
            },
            Some(Pending::Note(what)) => {
                if let Value::Error(e) = value {
                    log::warn!("{what}: Redis answered {}", String::from_utf8_lossy(e));
                }
            }
            None => {}
        }
    }

    // ---------------------------------------------------------------------------------------
    // The application's side: walls and posts
    // ---------------------------------------------------------------------------------------

    fn generation(&self, token: usize) -> u32 {
        self.generations.get(token).copied().unwrap_or(0)
    }

    fn refuse(&mut self, token: usize, generation: u32, reference: Option<&str>, actions: &mut Vec<Action>) {
        if self.generation(token) == generation {
            let json = danmaku::error_json(UNAVAILABLE, reference);
            actions.push(Action::Send { to: token, frame: Frame::Owned(text_frame(&json)) });
        }
    }

    /// An accepted post: to Redis, which numbers and publishes it. Refused at once while down.
    pub fn publish(
        &mut self,
        token: Option<usize>,
        name: &Rc<str>,
        post: Accepted,
        time: Time,
        actions: &mut Vec<Action>,
    ) {
        self.tick(time);
        // A held post approved after its poster left has nobody to answer: a token no
        // connection has (usize::MAX) with a generation that never matches.
        let (token, generation) = match token {
            Some(t) => (t, self.generation(t)),
            None => (usize::MAX, u32::MAX),
        };
        if !self.up {
            return self.refuse(token, generation, post.reference.as_deref(), actions);
        }
        let json = danmaku::broadcast_json(0, &post.danmaku, time.unix_ms);
        let Some(rest) = cs::danmaku_rest(&json) else { return };
        let keys = RoomKeys::new(&self.prefix, name);
        let candidate = self.candidate();
        let call = cs::publish(&keys, &self.policy, &candidate, rest, time.unix_ms);
        let reference = post.reference.clone();
        let feed = Some(Feed { room: name.clone(), post, unix_ms: time.unix_ms });
        let pending = Pending::Post { token, generation, reference: reference.clone(), feed };
        if self.command(&call, pending, time.now).is_none() {
            self.refuse(token, generation, reference.as_deref(), actions);
        }
    }

    /// Wall `token` joined `member.room` (named `name`): it is greeted once a read of the
    /// room's state in Redis comes back.
    pub fn join(
        &mut self,
        token: usize,
        member: &Member,
        name: &str,
        resume: (Option<u64>, Option<String>),
        now: Instant,
    ) {
        let time = self.time_at(now);
        if self.walls.len() <= token {
            self.walls.resize(token + 1, None);
        }
        let name: Rc<str> = name.into();
        self.walls[token] = Some((name.clone(), false));
        let prefix = self.prefix.clone();
        let room = self.rooms.entry(name.clone()).or_insert_with(|| RoomSync::new(&prefix, &name, member.room));
        room.add_joiner(token, resume.0, resume.1);
        let fresh = room.members == 1;
        let channel = room.keys.channel.clone();
        if fresh {
            self.subscribe(SubKind::Subscribe, &channel, time.now);
        }
        self.sync(&name, time);
    }

    /// Wall `token` left; the room is unsubscribed when its last local wall goes.
    pub fn leave(&mut self, token: usize) {
        if self.generations.len() <= token {
            self.generations.resize(token + 1, 0);
        }
        self.generations[token] = self.generations[token].wrapping_add(1);
        let Some((name, _)) = self.walls.get_mut(token).and_then(Option::take) else { return };
        let Some(room) = self.rooms.get_mut(&name) else { return };
        room.remove(token);
        if room.members == 0
            && let Some(room) = self.rooms.remove(&name)
            && let Some((now, _)) = self.clock
        {
            self.subscribe(SubKind::Unsubscribe, &room.keys.channel, now);
        }
    }

    /// The shell performs [`Action::Admit`]: in the order of the actions, so broadcasts
    /// decided before the wall's `hello` never reach it ahead of the `hello`.
    pub fn admit(&mut self, token: usize) {
        if let Some(Some((_, r))) = self.walls.get_mut(token) {
            *r = true;
        }
    }
}

/// The room id a sync read's broadcasts go to.
pub(super) fn broadcast(room: RoomId, frame: Rc<[u8]>) -> Action {
    Action::Broadcast { room, frame }
}

#[cfg(test)]
#[path = "cluster_tests.rs"]
mod tests;
