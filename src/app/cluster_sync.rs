//! Keeping one room's local walls in step with its sequence in Redis (the contract's
//! "Cluster" and "Rooms over time": same ids, same order, no gap a node could fill).
//!
//! A room's state here: the epoch and the last position delivered to its walls. A live
//! message (`EPOCH|N-k|JSON`, [`cs::parse_live`]) that follows the last position is framed
//! once and broadcast; one that jumps is kept aside while a `READ` fetches what lies between,
//! then the kept ones follow in order. Walls that open are *joiners*: the fan-out skips them
//! until a `READ` covering their resume point comes back; they then get `hello` (epoch and
//! `last` from Redis), the replay, and whatever live danmaku the room delivered past the
//! read (from a ring of recent frames), and join the fan-out exactly at the room's position.
//! A read that reports another epoch means the room's state was lost from Redis: every wall
//! becomes a joiner again and gets a new `hello` with `"recovered":false`.

use std::collections::VecDeque;
use std::rc::Rc;

use super::cluster::{Cluster, broadcast};
use super::{Action, Frame, Time, text_frame};
use crate::protocol::cluster_script::{self as cs, History, LiveMessage, Position, RoomKeys};
use crate::wall::danmaku;
use crate::wall::room::RoomId;

/// Recent frames kept per room, so a joiner whose read came back behind the room's live
/// position is caught up locally (past it, the joiner waits for another read).
const RING: usize = 1024;

/// Live messages kept aside while a gap is read; past it the oldest go (a read fetches them).
const MAX_BUFFER: usize = 16_384;

/// The position before any entry of an epoch (`READ` from it returns everything).
const START: Position = Position { id: 0, seq: 0 };

/// A wall waiting for its greeting.
#[derive(Debug, Clone)]
struct Joiner {
    token: usize,
    since: Option<u64>,
    epoch: Option<String>,
    /// The room's epoch changed under it: `recovered:false` and everything the epoch holds.
    reset: bool,
    /// The read in flight covers it.
    in_read: bool,
}

impl Joiner {
    /// Entries after this position are its replay.
    fn from(&self) -> Option<Position> {
        if self.reset { Some(START) } else { self.since.map(|id| Position { id, seq: 0 }) }
    }
}

/// One room with local walls.
#[derive(Debug)]
pub struct RoomSync {
    pub(super) name: Rc<str>,
    pub(super) id: RoomId,
    pub(super) keys: RoomKeys,
    tokens: Vec<usize>,
    pub(super) members: usize,
    /// The subscription is confirmed: a read from now on misses no live message.
    pub(super) subscribed: bool,
    epoch: Option<Rc<str>>,
    /// Epochs this room had before (their late messages are ignored).
    retired: Vec<Rc<str>>,
    last: Option<Position>,
    /// The latest id the admins were told of (see [`RoomSync::take_advanced`]).
    reported: u64,
    /// The tag of the read in flight.
    pub(super) reading: Option<u64>,
    /// Another read is wanted once this one is back.
    pub(super) again: bool,
    joiners: Vec<Joiner>,
    buffer: Vec<LiveMessage>,
    ring: VecDeque<(Position, Rc<[u8]>)>,
    /// Everything after this position was delivered and is in the ring.
    ring_start: Option<Position>,
}

impl RoomSync {
    pub(super) fn new(keys: RoomKeys, name: &Rc<str>, id: RoomId) -> RoomSync {
        RoomSync {
            name: name.clone(),
            id,
            keys,
            tokens: Vec::new(),
            members: 0,
            subscribed: false,
            epoch: None,
            retired: Vec::new(),
            last: None,
            reported: 0,
            reading: None,
            again: false,
            joiners: Vec::new(),
            buffer: Vec::new(),
            ring: VecDeque::new(),
            ring_start: None,
        }
    }

    pub(super) fn add_joiner(&mut self, token: usize, since: Option<u64>, epoch: Option<String>) {
        self.tokens.push(token);
        self.members = self.tokens.len();
        self.joiners.push(Joiner { token, since, epoch, reset: false, in_read: false });
    }

    pub(super) fn remove(&mut self, token: usize) {
        self.tokens.retain(|&t| t != token);
        self.joiners.retain(|j| j.token != token);
        self.members = self.tokens.len();
    }

    /// The room's epoch, once a read or a message told it.
    pub(super) fn epoch(&self) -> Option<&Rc<str>> {
        self.epoch.as_ref()
    }

    /// The id of the latest danmaku delivered here (0: none yet).
    pub(super) fn last_id(&self) -> u64 {
        self.last.map_or(0, |p| p.id)
    }

    /// Whether a danmaku was delivered since the last call: the admins' `room` entry changed.
    pub(super) fn take_advanced(&mut self) -> bool {
        let last = self.last_id();
        std::mem::replace(&mut self.reported, last) != last
    }

    /// Where the next read starts: the earliest point anyone here still needs.
    fn read_start(&self) -> Option<Position> {
        let joiners = self.joiners.iter().filter_map(Joiner::from);
        self.last.into_iter().chain(joiners).min()
    }

    /// Frames `json` once, broadcasts it, and remembers it.
    fn deliver(&mut self, pos: Position, json: &[u8], actions: &mut Vec<Action>) {
        let frame: Rc<[u8]> = text_frame(&String::from_utf8_lossy(json)).into();
        self.remember(pos, frame.clone());
        actions.push(broadcast(self.id, frame));
        self.last = Some(pos);
    }

    fn remember(&mut self, pos: Position, frame: Rc<[u8]>) {
        self.ring.push_back((pos, frame));
        if self.ring.len() > RING
            && let Some((dropped, _)) = self.ring.pop_front()
        {
            self.ring_start = Some(dropped);
        }
    }

    /// Delivers kept live messages that now follow in order; true if a gap remains.
    fn drain_buffer(&mut self, actions: &mut Vec<Action>) -> bool {
        let (Some(epoch), Some(_)) = (self.epoch.clone(), self.last) else { return !self.buffer.is_empty() };
        let mut kept = std::mem::take(&mut self.buffer);
        kept.retain(|m| !self.retired.iter().any(|r| **r == *m.epoch));
        kept.sort_by_key(|m| (*m.epoch != *epoch, m.pos));
        let mut rest = Vec::new();
        for m in kept {
            let last = self.last.unwrap_or(START);
            if *m.epoch == *epoch && m.pos <= last {
                continue;
            }
            if *m.epoch == *epoch && rest.is_empty() && last.is_followed_by(m.pos) {
                self.deliver(m.pos, &m.json, actions);
            } else {
                rest.push(m);
            }
        }
        self.buffer = rest;
        !self.buffer.is_empty()
    }

    fn keep(&mut self, message: LiveMessage) {
        if self.buffer.len() >= MAX_BUFFER {
            self.buffer.remove(0);
        }
        self.buffer.push(message);
    }

    /// The room's state was lost from Redis: a new epoch; every wall is greeted again.
    fn reset(&mut self, epoch: &str) {
        log::warn!("room '{}': its state in Redis was lost; new epoch {epoch}, walls told recovered:false", self.name);
        if let Some(old) = self.epoch.take() {
            self.retired.push(old);
        }
        self.epoch = Some(epoch.into());
        self.last = None;
        self.ring.clear();
        self.ring_start = None;
        for &token in &self.tokens {
            match self.joiners.iter_mut().find(|j| j.token == token) {
                Some(j) => j.reset |= j.since.is_some(),
                None => self.joiners.push(Joiner { token, since: None, epoch: None, reset: true, in_read: false }),
            }
        }
        for j in &mut self.joiners {
            j.in_read = false;
        }
    }
}

impl Cluster {
    /// Reads the room's history from where its walls need it (once its subscription is
    /// confirmed, so nothing published after the read can be missed).
    pub(super) fn sync(&mut self, name: &Rc<str>, time: Time) {
        let candidate = self.candidate();
        let policy = self.policy;
        let Some(room) = self.rooms.get_mut(name) else { return };
        if !room.subscribed {
            return;
        }
        if room.reading.is_some() {
            room.again = true;
            return;
        }
        let call = cs::read(&room.keys, &policy, &candidate, room.read_start(), time.unix_ms);
        room.again = false;
        let covered: Vec<usize> = room.joiners.iter().map(|j| j.token).collect();
        let tag = self.read_command(&call, name.clone(), time.now);
        let Some(room) = self.rooms.get_mut(name) else { return };
        room.reading = tag;
        if tag.is_some() {
            for j in room.joiners.iter_mut().filter(|j| covered.contains(&j.token)) {
                j.in_read = true;
            }
        }
    }

    pub(super) fn on_subscribed(&mut self, channel: &[u8], time: Time) {
        let Some(name) = RoomKeys::room_of_channel(&self.prefix, self.config.db, channel) else { return };
        let Some(room) = self.rooms.get_mut(name) else { return };
        room.subscribed = true;
        let name = room.name.clone();
        self.sync(&name, time);
    }

    /// A message on a room's channel.
    pub(super) fn on_live(&mut self, channel: &[u8], payload: &[u8], time: Time, actions: &mut Vec<Action>) {
        let Some(name) = RoomKeys::room_of_channel(&self.prefix, self.config.db, channel) else { return };
        let Some(room) = self.rooms.get_mut(name) else { return };
        let Some(message) = cs::parse_live(payload) else {
            log::warn!("ignored a malformed message on {}", String::from_utf8_lossy(channel));
            return;
        };
        if room.retired.iter().any(|r| **r == *message.epoch) {
            return;
        }
        let same_epoch = room.epoch.as_deref() == Some(message.epoch.as_str());
        match room.last {
            Some(last) if same_epoch && message.pos <= last => return,
            Some(last) if same_epoch && room.buffer.is_empty() && last.is_followed_by(message.pos) => {
                room.deliver(message.pos, &message.json, actions);
                let name = room.name.clone();
                return self.release_acks(&name, actions);
            }
            // A jump, another epoch, or not synced yet: keep it and read.
            _ => room.keep(message),
        }
        let name = room.name.clone();
        self.sync(&name, time);
    }

    /// A read came back: deliver what the walls miss, greet the joiners it covers.
    pub(super) fn on_history(
        &mut self,
        name: &Rc<str>,
        tag: u64,
        history: History,
        time: Time,
        actions: &mut Vec<Action>,
    ) {
        let Some(room) = self.rooms.get_mut(name) else { return };
        if room.reading != Some(tag) {
            return;
        }
        room.reading = None;
        if room.epoch.as_deref().is_some_and(|e| *e != *history.epoch) {
            room.reset(&history.epoch);
            return self.sync(name, time);
        }
        room.epoch = Some(history.epoch.as_str().into());
        let frames: Vec<(Position, Rc<[u8]>)> = history
            .entries
            .iter()
            .map(|(pos, json)| (*pos, text_frame(&String::from_utf8_lossy(json)).into()))
            .collect();
        if let Some(last) = room.last {
            for (pos, frame) in frames.iter().filter(|(pos, _)| *pos > last) {
                room.remember(*pos, frame.clone());
                actions.push(broadcast(room.id, frame.clone()));
                room.last = Some(*pos);
            }
        }
        let last = room.last.map_or(history.top, |l| l.max(history.top));
        if room.last.is_none() {
            room.ring_start = Some(last);
        }
        room.last = Some(last);
        let covered = room.ring_start.is_some_and(|s| s <= history.top);
        let greet: Vec<Joiner> = if covered {
            let (greet, wait) = room.joiners.drain(..).partition(|j| j.in_read);
            room.joiners = wait;
            greet
        } else {
            Vec::new()
        };
        for joiner in greet {
            self.greet(name, &joiner, &history, &frames, actions);
        }
        let Some(room) = self.rooms.get_mut(name) else { return };
        let gap = room.drain_buffer(actions);
        if gap || room.again || !room.joiners.is_empty() {
            self.sync(name, time);
        }
        self.release_acks(name, actions);
    }

    /// `hello`, the replay that fits the budget, then what the room delivered since the read.
    fn greet(
        &mut self,
        name: &Rc<str>,
        joiner: &Joiner,
        history: &History,
        frames: &[(Position, Rc<[u8]>)],
        actions: &mut Vec<Action>,
    ) {
        let Some(room) = self.rooms.get(name) else { return };
        let (mut recovered, from) = match (joiner.reset, joiner.since, &joiner.epoch) {
            (true, _, _) => (Some(false), Some(START)),
            (false, Some(_), Some(e)) if *e != history.epoch => (Some(false), None),
            (false, Some(since), _) => (Some(since >= history.floor), Some(Position { id: since, seq: 0 })),
            (false, None, _) => (None, None),
        };
        let mut replay: Vec<Rc<[u8]>> = from
            .map(|from| frames.iter().filter(|(p, _)| *p > from).map(|(_, f)| f.clone()).collect())
            .unwrap_or_default();
        let mut total: usize = replay.iter().map(|f| f.len()).sum();
        let mut skip = 0;
        while total > self.replay_budget && skip < replay.len() {
            total -= replay[skip].len();
            skip += 1;
            recovered = Some(false);
        }
        replay.drain(..skip);
        // The room may have delivered past the read: those come from the ring.
        replay.extend(room.ring.iter().filter(|(p, _)| *p > history.top).map(|(_, f)| f.clone()));
        let hello = danmaku::hello_json(&room.name, &history.epoch, history.top.id, recovered);
        let token = joiner.token;
        actions.push(Action::Send { to: token, frame: Frame::Owned(text_frame(&hello)) });
        self.deliveries += replay.iter().filter(|f| danmaku::is_danmaku_frame(f)).count() as u64;
        actions.extend(replay.into_iter().map(|frame| Action::Send { to: token, frame: Frame::Shared(frame) }));
        actions.push(Action::Admit { to: token });
    }
}
