//! Rooms: who is in each, each room's epoch and id counter, and its history.
//!
//! A room outlives its members while it still holds history (or moderation settings): only a
//! room with nothing left is forgotten, and only then may its ids restart, under a new epoch
//! (the contract's "Rooms over time"). Rooms count against `--max-rooms`.
//!
//! Members are connection ids (the shell's tokens). Rooms own the token → seat bookkeeping:
//! a member's slot in its room's list is found by token, and leaving (`swap_remove`) updates
//! the seat of the member moved into the hole here, where the invariant lives.

use std::collections::HashMap;
use std::rc::Rc;
use std::time::Instant;

use super::history::{History, HistoryLimits, Replay};
use super::moderation::rules::RoomRules;

/// The contract: letters, digits, `-`, `_`, 1..=32 long (room names and epochs alike).
pub fn valid_room_name(name: &str) -> bool {
    (1..=32).contains(&name.len()) && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// A room's index among the rooms (stable while the room exists).
pub type RoomId = usize;

#[derive(Debug)]
pub struct Room {
    pub name: Rc<str>,
    /// Names this run of the room's id sequence.
    pub epoch: Rc<str>,
    pub history: History,
    members: Vec<usize>,
    /// What moderators set on this room (hold, lock, slow).
    pub rules: RoomRules,
    /// Set while posts held for review wait in this room (it must not be forgotten).
    pub pinned: bool,
}

impl Room {
    pub fn members(&self) -> &[usize] {
        &self.members
    }

    /// The id of the latest danmaku (0: none yet in this epoch).
    pub fn last(&self) -> u64 {
        self.history.last()
    }

    fn is_forgettable(&self) -> bool {
        self.members.is_empty() && self.history.is_empty() && self.rules.is_default() && !self.pinned
    }
}

/// Where a member sits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Seat {
    room: RoomId,
    slot: usize,
}

/// Joining would create a room past `--max-rooms`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooManyRooms(pub usize);

/// All rooms.
#[derive(Debug)]
pub struct Rooms {
    rooms: Vec<Option<Room>>,
    by_name: HashMap<Rc<str>, RoomId>,
    free: Vec<RoomId>,
    /// Seat of each member, by token.
    seats: Vec<Option<Seat>>,
    max_rooms: usize,
    pub limits: HistoryLimits,
    /// Epochs are `<start>-<n>`: the server's start time (unix ms, base 36) and a counter, so
    /// two epochs of a room never share a name, across restarts too.
    epoch_prefix: String,
    epochs_made: u64,
}

impl Rooms {
    /// `started_unix_ms`: when this server started (makes its epochs unique).
    pub fn new(max_rooms: usize, limits: HistoryLimits, started_unix_ms: u64) -> Self {
        Rooms {
            rooms: Vec::new(),
            by_name: HashMap::new(),
            free: Vec::new(),
            seats: Vec::new(),
            max_rooms,
            limits,
            epoch_prefix: base36(started_unix_ms),
            epochs_made: 0,
        }
    }

    /// Whether a member could join `name` now (the room exists, or may be created).
    pub fn can_join(&self, name: &str) -> Result<(), TooManyRooms> {
        if self.by_name.contains_key(name) || self.by_name.len() < self.max_rooms {
            Ok(())
        } else {
            Err(TooManyRooms(self.max_rooms))
        }
    }

    /// The room `name`, made (with a new epoch) if it does not exist.
    pub fn open(&mut self, name: &str) -> Result<RoomId, TooManyRooms> {
        if let Some(&id) = self.by_name.get(name) {
            return Ok(id);
        }
        self.can_join(name)?;
        self.epochs_made += 1;
        let epoch: Rc<str> = format!("{}-{}", self.epoch_prefix, base36(self.epochs_made)).into();
        let name: Rc<str> = name.into();
        let room = Room {
            name: name.clone(),
            epoch,
            history: History::new(),
            members: Vec::new(),
            rules: RoomRules::default(),
            pinned: false,
        };
        let id = match self.free.pop() {
            Some(id) => {
                self.rooms[id] = Some(room);
                id
            }
            None => {
                self.rooms.push(Some(room));
                self.rooms.len() - 1
            }
        };
        self.by_name.insert(name, id);
        Ok(id)
    }

    /// Connection `token` joins the room `name` (made if new).
    pub fn join(&mut self, name: &str, token: usize) -> Result<RoomId, TooManyRooms> {
        let id = self.open(name)?;
        let Some(room) = self.rooms.get_mut(id).and_then(Option::as_mut) else { return Ok(id) };
        room.members.push(token);
        if self.seats.len() <= token {
            self.seats.resize(token + 1, None);
        }
        self.seats[token] = Some(Seat { room: id, slot: room.members.len() - 1 });
        Ok(id)
    }

    /// Connection `token` leaves its room (if in one). The room is forgotten if nothing is left.
    pub fn leave(&mut self, token: usize) {
        let Some(seat) = self.seats.get_mut(token).and_then(Option::take) else { return };
        let Some(room) = self.rooms.get_mut(seat.room).and_then(Option::as_mut) else { return };
        if seat.slot >= room.members.len() {
            return;
        }
        room.members.swap_remove(seat.slot);
        if let Some(&moved) = room.members.get(seat.slot)
            && let Some(Some(s)) = self.seats.get_mut(moved)
        {
            s.slot = seat.slot;
        }
        self.forget_if_unused(seat.room);
    }

    /// The room connection `token` is in.
    pub fn room_of(&self, token: usize) -> Option<RoomId> {
        self.seats.get(token).copied().flatten().map(|s| s.room)
    }

    pub fn get(&self, id: RoomId) -> Option<&Room> {
        self.rooms.get(id)?.as_ref()
    }

    pub fn get_mut(&mut self, id: RoomId) -> Option<&mut Room> {
        self.rooms.get_mut(id)?.as_mut()
    }

    pub fn find(&self, name: &str) -> Option<RoomId> {
        self.by_name.get(name).copied()
    }

    /// Numbers the next danmaku of a room, keeps its frame (made by `make_frame` from the
    /// id) as its history entry, and returns both: the history and the fan-out share it.
    pub fn append(
        &mut self,
        id: RoomId,
        make_frame: impl FnOnce(u64) -> Rc<[u8]>,
        now: Instant,
    ) -> Option<(u64, Rc<[u8]>)> {
        let limits = self.limits;
        let room = self.get_mut(id)?;
        let next = room.history.last() + 1;
        let frame = make_frame(next);
        room.history.push_danmaku(next, frame.clone(), now, limits);
        Some((next, frame))
    }

    /// What a wall resuming in room `id` from `since` (under `epoch`, if given) is sent.
    pub fn replay(&self, id: RoomId, since: u64, epoch: Option<&str>, budget: usize) -> Replay {
        let Some(room) = self.get(id) else { return Replay::default() };
        match epoch {
            Some(e) if e != &*room.epoch => Replay { frames: Vec::new(), recovered: false },
            _ => room.history.replay(since, budget),
        }
    }

    /// Expires old history; forgets rooms left with nothing.
    pub fn expire(&mut self, now: Instant) {
        let limits = self.limits;
        for id in 0..self.rooms.len() {
            if let Some(room) = self.rooms[id].as_mut() {
                room.history.expire(now, limits);
                self.forget_if_unused(id);
            }
        }
    }

    /// Forgets room `id` if it has no members, no history and nothing pinned.
    pub fn forget_if_unused(&mut self, id: RoomId) {
        if self.get(id).is_some_and(Room::is_forgettable)
            && let Some(room) = self.rooms[id].take()
        {
            self.by_name.remove(&room.name);
            self.free.push(id);
        }
    }

    /// Every room, with its id.
    pub fn iter(&self) -> impl Iterator<Item = (RoomId, &Room)> {
        self.rooms.iter().enumerate().filter_map(|(i, r)| Some((i, r.as_ref()?)))
    }

    pub fn len(&self) -> usize {
        self.by_name.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_name.is_empty()
    }
}

/// Lowercase base 36, for short epoch names.
fn base36(mut n: u64) -> String {
    const DIGITS: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";
    let mut out = Vec::new();
    loop {
        out.push(DIGITS[(n % 36) as usize]); // n % 36 < 36: in bounds
        n /= 36;
        if n == 0 {
            break;
        }
    }
    out.reverse();
    String::from_utf8(out).unwrap_or_default()
}

#[cfg(test)]
#[path = "room_tests.rs"]
mod tests;
