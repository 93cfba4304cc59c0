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
//! Per room with local members (`cluster_sync.rs`): the epoch and the last
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
use crate::protocol::redis_session::{RedisConfig, RedisSession, SubKind};
use crate::wall::danmaku;
use crate::wall::room::RoomId;
use crate::wall::{Accepted, Member};
use crate::wire::redis_url::RedisUrl;

pub use super::cluster_sync::RoomSync;

mod acks;
pub mod admin;
mod sessions;

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

/// How long after Redis refused a room's read (an error reply: out of memory, a script
/// error) it is tried again: soon, as walls wait for their `hello`, but never in a loop.
pub const READ_RETRY: Duration = Duration::from_millis(500);

/// What a command in flight was for.
#[derive(Debug, Clone)]
pub(in crate::app) enum Pending {
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
    pub(super) config: RedisConfig,
    where_: String,
    commands: Option<RedisSession>,
    subscriber: Option<RedisSession>,
    /// Whether the node counted as up (both sessions ready) last time we looked.
    up: bool,
    /// The last failure logged while down (each new reason is logged once).
    logged: Option<String>,
    next_tag: u64,
    pending: HashMap<u64, Pending>,
    /// Acks waiting for their danmaku to be delivered here.
    acks: acks::Acks,
    /// The subscription to the admin bus is confirmed (reset when the subscriber fails).
    admin_subscribed: bool,
    /// Since the node last came up, it asked the others what they hold for review.
    asked_holds: bool,
    /// When the reads Redis refused are tried again (their rooms are marked `again`).
    read_retry: Option<Instant>,
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
    /// Posts refused after the wall took them (Redis away or refusing), for `/metrics`.
    pub posts_refused: u64,
    /// This node's name on the admin bus (and the prefix of its hold keys).
    pub node: String,
    /// `PREFIX` + `admin:` + the database: where nodes tell each other of moderation (see
    /// `cluster/admin.rs`).
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
        let admin_channel = RoomKeys::admin_channel(&prefix, url.db);
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
            acks: acks::Acks::default(),
            admin_subscribed: false,
            asked_holds: false,
            read_retry: None,
            rooms: HashMap::new(),
            walls: Vec::new(),
            generations: Vec::new(),
            seed,
            candidates: 0,
            clock: None,
            deliveries: 0,
            posts_accepted: 0,
            posts_refused: 0,
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

    /// The id of the latest danmaku this node delivered in room `name` (for the admins'
    /// `last`); `None` for a room without walls here.
    pub fn last_id(&self, name: &str) -> Option<u64> {
        self.rooms.get(name).map(RoomSync::last_id)
    }

    /// The rooms where a danmaku was delivered since the last call (their `room` entries
    /// changed).
    pub fn take_advanced(&mut self) -> Vec<RoomId> {
        self.rooms.values_mut().filter_map(|r| r.take_advanced().then_some(r.id)).collect()
    }

    /// A fresh epoch candidate: the scripts store it only when the room has no epoch.
    pub(super) fn candidate(&mut self) -> String {
        self.candidates += 1;
        // splitmix-style mixing of the seed and a counter: unique per node and call.
        let mut z = self.seed ^ u128::from(self.candidates).wrapping_mul(0x9E37_79B9_7F4A_7C15_F39C_C060_5CED_C835);
        z = (z ^ (z >> 61)).wrapping_mul(0xBF58_476D_1CE4_E5B9_94D0_49BB_1331_11EB);
        cs::epoch_name(z ^ (z >> 67))
    }
}

impl Cluster {
    // ---------------------------------------------------------------------------------------
    // The application's side: walls and posts
    // ---------------------------------------------------------------------------------------

    fn generation(&self, token: usize) -> u32 {
        self.generations.get(token).copied().unwrap_or(0)
    }

    /// A post the node could not get into Redis: an error to its sender (if still there), and
    /// one more `rejected` post in `/metrics`.
    fn refuse(&mut self, token: usize, generation: u32, reference: Option<&str>, actions: &mut Vec<Action>) {
        self.posts_refused += 1;
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
        let keys = RoomKeys::new(&self.prefix, self.config.db, name);
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
        let keys = RoomKeys::new(&self.prefix, self.config.db, &name);
        let room = self.rooms.entry(name.clone()).or_insert_with(|| RoomSync::new(keys, &name, member.room));
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
        {
            self.forget_acks(&name);
            if let Some((now, _)) = self.clock {
                self.subscribe(SubKind::Unsubscribe, &room.keys.channel, now);
            }
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
