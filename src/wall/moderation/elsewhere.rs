//! Posts held for review on *other* nodes of a cluster, as their `pending` feed entries. The
//! contract: "an admin connected to any node sees posts and pending entries from every node",
//! and `approve`/`reject` "of an unknown or already decided key" gets `error`. A post waits on
//! the node that took it ([`super::hold`]); this node learns of it from the admin bus (the
//! `pending` entry), and forgets it when the bus says it was decided, or when one of this
//! node's admins decides it (the request goes to its node).
//!
//! So a node knows every other node's waiting posts from the moment it joined the bus: it
//! shows them to an admin who signs in, and refuses a key none of them holds. Bounded: past
//! [`MAX_ELSEWHERE`] entries the oldest is forgotten (its node still holds it, and still
//! decides it when asked there).

use std::collections::VecDeque;

/// Most entries remembered (every node's hold queue is bounded too: 1000 posts by default).
pub const MAX_ELSEWHERE: usize = 10_000;

/// `pending` entries of other nodes, oldest first.
#[derive(Debug, Default)]
pub struct HeldElsewhere {
    entries: VecDeque<Entry>,
}

#[derive(Debug)]
struct Entry {
    room: String,
    key: String,
    json: String,
}

impl HeldElsewhere {
    /// Another node holds `key` in `room`; `json` is its `pending` entry, shown as it is.
    pub fn add(&mut self, room: String, key: String, json: String) {
        self.remove(&room, &key);
        if self.entries.len() >= MAX_ELSEWHERE {
            self.entries.pop_front();
        }
        self.entries.push_back(Entry { room, key, json });
    }

    /// Forgets `key` of `room`; whether it was waiting.
    pub fn remove(&mut self, room: &str, key: &str) -> bool {
        let at = self.entries.iter().position(|e| e.room == room && e.key == key);
        at.and_then(|at| self.entries.remove(at)).is_some()
    }

    /// The `pending` entries, oldest first (for an admin who signs in).
    pub fn pending(&self) -> impl Iterator<Item = &str> {
        self.entries.iter().map(|e| e.json.as_str())
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn json(key: &str) -> String {
        format!(r#"{{"type":"pending","room":"r","key":"{key}"}}"#)
    }

    #[test]
    fn added_entries_are_shown_in_order_until_decided() {
        let mut e = HeldElsewhere::default();
        e.add("r".into(), "n1-p1".into(), json("n1-p1"));
        e.add("r".into(), "n2-p1".into(), json("n2-p1"));
        assert_eq!(e.pending().collect::<Vec<_>>(), [json("n1-p1"), json("n2-p1")]);
        assert!(e.remove("r", "n1-p1"));
        assert!(!e.remove("r", "n1-p1"), "decided once");
        assert!(!e.remove("other", "n2-p1"), "the room is part of the name");
        assert_eq!(e.pending().collect::<Vec<_>>(), [json("n2-p1")]);
    }

    #[test]
    fn the_same_key_again_is_one_entry() {
        let mut e = HeldElsewhere::default();
        e.add("r".into(), "k".into(), json("k"));
        e.add("r".into(), "k".into(), json("k"));
        assert_eq!(e.len(), 1);
    }

    #[test]
    fn past_the_bound_the_oldest_is_forgotten() {
        let mut e = HeldElsewhere::default();
        for i in 0..=MAX_ELSEWHERE {
            e.add("r".into(), format!("k{i}"), json(&format!("k{i}")));
        }
        assert_eq!(e.len(), MAX_ELSEWHERE);
        assert!(!e.remove("r", "k0"), "the oldest went");
        assert!(e.remove("r", &format!("k{MAX_ELSEWHERE}")));
    }
}
