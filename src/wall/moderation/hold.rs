//! Posts held for review (the contract's `{"type":"hold","room":R,"on":true}`): a valid post to
//! a held room waits here under a key until a moderator approves it (it is broadcast then and
//! gets its id) or rejects it (it is dropped). Each key is decided once: a second `approve` or
//! `reject` of it is an error. The queue is bounded per room and overall; over either cap a post
//! is rejected with [`HoldQueue::hold`]'s reason instead of being held.
//!
//! The post itself is generic (`T`), so this queue does not depend on how a danmaku is stored.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;

/// Default posts waiting per room.
pub const DEFAULT_MAX_PER_ROOM: usize = 100;
/// Default posts waiting in all rooms together.
pub const DEFAULT_MAX_TOTAL: usize = 1000;

/// The error for a key that is not waiting (never was, or already approved or rejected).
pub const UNKNOWN_KEY: &str = "unknown or already decided key";

/// One post waiting for review.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Held<T> {
    /// Names this entry in `pending`, `approve` and `reject`.
    pub key: String,
    pub room: String,
    /// The validated post.
    pub post: T,
    /// The poster's connection, `None` once it closed (connection ids are reused).
    pub conn: Option<usize>,
    /// The poster's client address (the `from` of the `pending` entry).
    pub from: IpAddr,
    /// The client's `ref`, echoed in the `ack` once the post is approved.
    pub reference: Option<String>,
}

#[derive(Debug, Clone)]
pub struct HoldQueue<T> {
    rooms: HashMap<String, VecDeque<Held<T>>>,
    total: usize,
    max_per_room: usize,
    max_total: usize,
    /// Keys are `p1`, `p2`, ... after `prefix` (a node tag in a cluster, or empty).
    prefix: String,
    next_key: u64,
}

impl<T> Default for HoldQueue<T> {
    fn default() -> Self {
        HoldQueue::new(DEFAULT_MAX_PER_ROOM, DEFAULT_MAX_TOTAL, "")
    }
}

impl<T> HoldQueue<T> {
    /// A queue holding at most `max_per_room` posts per room and `max_total` in all; keys
    /// start with `prefix` (so the nodes of a cluster never hand out the same key).
    pub fn new(max_per_room: usize, max_total: usize, prefix: &str) -> Self {
        HoldQueue { rooms: HashMap::new(), total: 0, max_per_room, max_total, prefix: prefix.to_string(), next_key: 1 }
    }

    /// Whether `key` is one this queue hands out (in a cluster, keys of another node are
    /// not: they start with that node's name).
    pub fn is_own_key(&self, key: &str) -> bool {
        key.strip_prefix(self.prefix.as_str()).is_some_and(|rest| rest.starts_with('p'))
    }

    /// Whether one more post may wait in `room`; if not, the reason (checked before a post
    /// spends anything, and again by [`hold`](Self::hold)).
    pub fn has_room(&self, room: &str) -> Result<(), String> {
        let waiting = self.rooms.get(room).map_or(0, VecDeque::len);
        if waiting >= self.max_per_room {
            return Err(format!(
                "too many posts are waiting for review in this room (at most {}); try again later",
                self.max_per_room
            ));
        }
        if self.total >= self.max_total {
            return Err(format!("too many posts are waiting for review (at most {}); try again later", self.max_total));
        }
        Ok(())
    }

    /// Holds `post` for review; returns the new entry, or the reason it cannot wait.
    pub fn hold(
        &mut self,
        room: &str,
        post: T,
        conn: usize,
        from: IpAddr,
        reference: Option<String>,
    ) -> Result<&Held<T>, String> {
        self.has_room(room)?;
        let key = format!("{}p{}", self.prefix, self.next_key);
        self.next_key += 1;
        let held = Held { key, room: room.to_string(), post, conn: Some(conn), from: from.to_canonical(), reference };
        self.total += 1;
        let queue = self.rooms.entry(room.to_string()).or_default();
        queue.push_back(held);
        Ok(queue.back().expect("just pushed"))
    }

    /// Takes the entry `key` of `room` out of the queue, to broadcast it.
    pub fn approve(&mut self, room: &str, key: &str) -> Result<Held<T>, String> {
        self.take(room, key)
    }

    /// Takes the entry `key` of `room` out of the queue, to drop it.
    pub fn reject(&mut self, room: &str, key: &str) -> Result<Held<T>, String> {
        self.take(room, key)
    }

    fn take(&mut self, room: &str, key: &str) -> Result<Held<T>, String> {
        let queue = self.rooms.get_mut(room).ok_or_else(|| UNKNOWN_KEY.to_string())?;
        let at = queue.iter().position(|h| h.key == key).ok_or_else(|| UNKNOWN_KEY.to_string())?;
        let held = queue.remove(at).ok_or_else(|| UNKNOWN_KEY.to_string())?;
        if queue.is_empty() {
            self.rooms.remove(room);
        }
        self.total -= 1;
        Ok(held)
    }

    /// The poster's connection closed: its entries stay, but no `ack` goes to a reused id.
    pub fn disconnected(&mut self, conn: usize) {
        for held in self.rooms.values_mut().flatten() {
            if held.conn == Some(conn) {
                held.conn = None;
            }
        }
    }

    /// Every entry of `room`, oldest first.
    pub fn room(&self, room: &str) -> impl Iterator<Item = &Held<T>> {
        self.rooms.get(room).into_iter().flatten()
    }

    /// Every entry, room by room (for an admin who logs in while posts wait).
    pub fn iter(&self) -> impl Iterator<Item = &Held<T>> {
        self.rooms.values().flatten()
    }

    /// Posts waiting in `room`.
    pub fn waiting(&self, room: &str) -> usize {
        self.rooms.get(room).map_or(0, VecDeque::len)
    }

    /// Posts waiting in all rooms.
    pub fn len(&self) -> usize {
        self.total
    }

    pub fn is_empty(&self) -> bool {
        self.total == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn key(q: &mut HoldQueue<&'static str>, room: &str, post: &'static str) -> String {
        q.hold(room, post, 7, ip("192.0.2.1"), None).unwrap().key.clone()
    }

    #[test]
    fn approve_and_reject_each_decide_a_key_once() {
        let mut q = HoldQueue::default();
        let a = key(&mut q, "main", "first");
        let b = key(&mut q, "main", "second");
        assert_ne!(a, b);
        assert_eq!(q.room("main").map(|h| h.post).collect::<Vec<_>>(), vec!["first", "second"]);
        let held = q.approve("main", &a).unwrap();
        assert_eq!((held.post, held.conn, held.room.as_str()), ("first", Some(7), "main"));
        assert_eq!(q.approve("main", &a).unwrap_err(), UNKNOWN_KEY);
        assert_eq!(q.reject("main", &a).unwrap_err(), UNKNOWN_KEY);
        assert_eq!(q.reject("other", &b).unwrap_err(), UNKNOWN_KEY, "the key belongs to its room");
        assert_eq!(q.reject("main", &b).unwrap().post, "second");
        assert_eq!(q.approve("main", &b).unwrap_err(), UNKNOWN_KEY);
        assert_eq!(q.approve("main", "p999").unwrap_err(), UNKNOWN_KEY);
        assert!(q.is_empty());
    }

    #[test]
    fn entries_keep_the_poster_and_ref() {
        let mut q = HoldQueue::new(10, 10, "n1-");
        let held = q.hold("main", 1u8, 3, ip("::ffff:192.0.2.9"), Some("r-1".into())).unwrap();
        assert!(held.key.starts_with("n1-p"), "{}", held.key);
        assert_eq!((held.from, held.reference.as_deref()), (ip("192.0.2.9"), Some("r-1")));
        q.hold("main", 2u8, 4, ip("192.0.2.9"), None).unwrap();
        q.disconnected(3);
        let conns: Vec<_> = q.iter().map(|h| h.conn).collect();
        assert_eq!(conns, vec![None, Some(4)]);
    }

    #[test]
    fn the_per_room_cap_rejects_the_post_that_crosses_it() {
        let mut q = HoldQueue::new(2, 10, "");
        key(&mut q, "a", "1");
        let second = key(&mut q, "a", "2");
        let err = q.hold("a", "3", 1, ip("10.0.0.1"), None).unwrap_err();
        assert!(err.contains("in this room (at most 2)"), "{err}");
        key(&mut q, "b", "other rooms still hold");
        q.reject("a", &second).unwrap();
        key(&mut q, "a", "room again");
        assert_eq!((q.waiting("a"), q.len()), (2, 3));
    }

    #[test]
    fn the_total_cap_rejects_the_post_that_crosses_it() {
        let mut q = HoldQueue::new(10, 3, "");
        let first = key(&mut q, "a", "1");
        key(&mut q, "b", "2");
        key(&mut q, "c", "3");
        let err = q.hold("d", "4", 1, ip("10.0.0.1"), None).unwrap_err();
        assert!(err.contains("(at most 3)"), "{err}");
        q.approve("a", &first).unwrap();
        key(&mut q, "d", "4");
        assert_eq!(q.len(), 3);
    }
}
