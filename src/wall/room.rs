//! Rooms: who is in each, and each room's danmaku id counter.
//!
//! A room exists while it has members. Members are connection ids (the shell's tokens) kept
//! in a plain vector; each member remembers its slot so leaving is O(1) (`swap_remove`, and
//! the member moved into the hole is told its new slot).

use std::collections::HashMap;

/// The contract: letters, digits, `-`, `_`, 1..=32 long.
pub fn valid_room_name(name: &str) -> bool {
    (1..=32).contains(&name.len()) && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[derive(Debug)]
struct Room {
    name: Box<str>,
    /// The id the next danmaku gets (counts from 1).
    next_id: u64,
    members: Vec<usize>,
}

/// Where a member sits: its room's index and its slot in the member list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Seat {
    pub room: usize,
    pub slot: usize,
}

/// All rooms.
#[derive(Debug, Default)]
pub struct Rooms {
    rooms: Vec<Option<Room>>,
    by_name: HashMap<Box<str>, usize>,
    free: Vec<usize>,
}

impl Rooms {
    /// Adds connection `conn` to the room `name` (made if new).
    pub fn join(&mut self, name: &str, conn: usize) -> Seat {
        let index = match self.by_name.get(name) {
            Some(&i) => i,
            None => {
                let room = Room { name: name.into(), next_id: 1, members: Vec::new() };
                let i = match self.free.pop() {
                    Some(i) => {
                        self.rooms[i] = Some(room);
                        i
                    }
                    None => {
                        self.rooms.push(Some(room));
                        self.rooms.len() - 1
                    }
                };
                self.by_name.insert(name.into(), i);
                i
            }
        };
        // `index` came from `by_name` or was just filled, so the slot holds this room.
        let room = self.rooms[index].get_or_insert_with(|| Room { name: name.into(), next_id: 1, members: Vec::new() });
        room.members.push(conn);
        Seat { room: index, slot: room.members.len() - 1 }
    }

    /// Removes a member. If another member moved into its slot, returns that member's
    /// connection id and new slot, which the caller must record.
    pub fn leave(&mut self, seat: Seat) -> Option<(usize, usize)> {
        let room = self.rooms.get_mut(seat.room)?.as_mut()?;
        if seat.slot >= room.members.len() {
            return None;
        }
        room.members.swap_remove(seat.slot);
        let moved = room.members.get(seat.slot).map(|&conn| (conn, seat.slot));
        if room.members.is_empty() {
            self.by_name.remove(&room.name);
            self.rooms[seat.room] = None;
            self.free.push(seat.room);
        }
        moved
    }

    /// The members of a room and the next id, which is used up.
    pub fn next_id(&mut self, room: usize) -> Option<(u64, &[usize])> {
        let room = self.rooms.get_mut(room)?.as_mut()?;
        let id = room.next_id;
        room.next_id += 1;
        Some((id, &room.members))
    }

    pub fn members(&self, room: usize) -> &[usize] {
        self.rooms.get(room).and_then(Option::as_ref).map_or(&[], |r| &r.members)
    }

    pub fn name(&self, room: usize) -> &str {
        self.rooms.get(room).and_then(Option::as_ref).map_or("", |r| &r.name)
    }

    pub fn len(&self) -> usize {
        self.by_name.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_name.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn room_names() {
        for ok in ["main", "a", "A-b_9", &"x".repeat(32)] {
            assert!(valid_room_name(ok), "{ok}");
        }
        for bad in ["", &"x".repeat(33), "a b", "a/b", "ü", "a%20", "..", "a.b"] {
            assert!(!valid_room_name(bad), "{bad}");
        }
    }

    #[test]
    fn join_leave_and_slots_stay_consistent() {
        let mut rooms = Rooms::default();
        let a = rooms.join("main", 10);
        let b = rooms.join("main", 11);
        let c = rooms.join("main", 12);
        let other = rooms.join("other", 20);
        assert_ne!(a.room, other.room);
        assert_eq!(rooms.members(a.room), &[10, 11, 12]);
        // 10 leaves: 12 moves into slot 0.
        assert_eq!(rooms.leave(a), Some((12, 0)));
        assert_eq!(rooms.members(b.room), &[12, 11]);
        let c = Seat { slot: 0, ..c };
        assert_eq!(rooms.leave(b), None, "the last slot leaves without moving anyone");
        assert_eq!(rooms.leave(c), None);
        assert_eq!(rooms.len(), 1, "an empty room is removed");
        assert_eq!(rooms.name(other.room), "other");
    }

    #[test]
    fn ids_count_per_room_from_one() {
        let mut rooms = Rooms::default();
        let a = rooms.join("a", 1);
        let b = rooms.join("b", 2);
        assert_eq!(rooms.next_id(a.room).unwrap().0, 1);
        assert_eq!(rooms.next_id(a.room).unwrap().0, 2);
        let (id, members) = rooms.next_id(b.room).unwrap();
        assert_eq!((id, members), (1, &[2][..]));
    }
}
