//! Slow mode (the contract's `{"type":"slow","room":R,"seconds":S}`): each client address may
//! post to a room at most once every S seconds. A rejected post's reason carries the seconds
//! left. The tracker remembers the last accepted post per (room, address), bounded by a cap;
//! over it the entry with the oldest post is forgotten first (that address gets to post again
//! sooner, never later).

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

/// Default number of (room, address) pairs remembered.
pub const DEFAULT_MAX_TRACKED: usize = 100_000;

#[derive(Debug, Clone)]
pub struct SlowMode {
    last_post: HashMap<(String, IpAddr), Instant>,
    cap: usize,
}

impl Default for SlowMode {
    fn default() -> Self {
        SlowMode::new(DEFAULT_MAX_TRACKED)
    }
}

impl SlowMode {
    pub fn new(cap: usize) -> Self {
        SlowMode { last_post: HashMap::new(), cap }
    }

    /// Whether `addr` may post to `room` at `now` under a `seconds` interval: `Err` holds the
    /// time left. Nothing is recorded; call [`SlowMode::record`] once the post is accepted.
    pub fn check(&self, room: &str, addr: IpAddr, seconds: u32, now: Instant) -> Result<(), Duration> {
        if seconds == 0 {
            return Ok(());
        }
        let Some(last) = self.last_post.get(&(room.to_string(), addr.to_canonical())) else {
            return Ok(());
        };
        let next = *last + Duration::from_secs(u64::from(seconds));
        if next > now { Err(next - now) } else { Ok(()) }
    }

    /// Remembers an accepted post by `addr` to `room` at `now`.
    pub fn record(&mut self, room: &str, addr: IpAddr, now: Instant) {
        let key = (room.to_string(), addr.to_canonical());
        if !self.last_post.contains_key(&key) && self.last_post.len() >= self.cap {
            self.evict_oldest();
        }
        if self.cap > 0 {
            self.last_post.insert(key, now);
        }
    }

    /// Forgets everything about `room` (slow mode turned off, or the room forgotten).
    pub fn clear_room(&mut self, room: &str) {
        self.last_post.retain(|(r, _), _| r != room);
    }

    /// Forgets posts older than `seconds_of(room)` allows to matter.
    pub fn purge(&mut self, now: Instant, seconds_of: impl Fn(&str) -> u32) {
        self.last_post.retain(|(room, _), last| *last + Duration::from_secs(u64::from(seconds_of(room))) > now);
    }

    pub fn len(&self) -> usize {
        self.last_post.len()
    }

    pub fn is_empty(&self) -> bool {
        self.last_post.is_empty()
    }

    fn evict_oldest(&mut self) {
        let oldest = self.last_post.iter().min_by_key(|(_, last)| **last).map(|(k, _)| k.clone());
        if let Some(key) = oldest {
            self.last_post.remove(&key);
        }
    }
}

/// The reason sent to a poster who must wait (the contract: it contains the seconds left).
pub fn slow_reason(left: Duration) -> String {
    format!("slow mode: you can post in this room again in {} seconds", super::ceil_secs(left))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn one_post_per_interval_per_room_and_address() {
        let t0 = Instant::now();
        let mut slow = SlowMode::default();
        let a = ip("192.0.2.1");
        assert_eq!(slow.check("main", a, 10, t0), Ok(()));
        slow.record("main", a, t0);
        let t3 = t0 + Duration::from_secs(3);
        assert_eq!(slow.check("main", a, 10, t3), Err(Duration::from_secs(7)));
        assert_eq!(slow.check("other", a, 10, t3), Ok(()), "per room");
        assert_eq!(slow.check("main", ip("192.0.2.2"), 10, t3), Ok(()), "per address");
        assert_eq!(slow.check("main", ip("::ffff:192.0.2.1"), 10, t3), Err(Duration::from_secs(7)));
        assert_eq!(slow.check("main", a, 10, t0 + Duration::from_secs(10)), Ok(()));
        assert_eq!(slow.check("main", a, 0, t3), Ok(()), "0 = off");
        assert_eq!(slow.check("main", a, 3, t3), Ok(()), "the current interval counts");
    }

    #[test]
    fn the_reason_carries_the_seconds_left() {
        let reason = slow_reason(Duration::from_millis(6_200));
        assert!(reason.contains(" 7 seconds"), "{reason}");
    }

    #[test]
    fn clear_and_purge_forget() {
        let t0 = Instant::now();
        let mut slow = SlowMode::default();
        slow.record("a", ip("10.0.0.1"), t0);
        slow.record("b", ip("10.0.0.1"), t0);
        slow.record("c", ip("10.0.0.1"), t0);
        slow.clear_room("a");
        assert_eq!(slow.len(), 2);
        slow.purge(t0 + Duration::from_secs(5), |room| if room == "b" { 5 } else { 60 });
        assert_eq!(slow.len(), 1);
        assert!(slow.check("c", ip("10.0.0.1"), 60, t0 + Duration::from_secs(5)).is_err());
    }

    #[test]
    fn over_the_cap_the_oldest_is_forgotten() {
        let t0 = Instant::now();
        let mut slow = SlowMode::new(2);
        slow.record("r", ip("10.0.0.1"), t0);
        slow.record("r", ip("10.0.0.2"), t0 + Duration::from_secs(1));
        slow.record("r", ip("10.0.0.2"), t0 + Duration::from_secs(2)); // an update, not a new entry
        assert_eq!(slow.len(), 2);
        slow.record("r", ip("10.0.0.3"), t0 + Duration::from_secs(3));
        assert_eq!(slow.len(), 2);
        let t4 = t0 + Duration::from_secs(4);
        assert_eq!(slow.check("r", ip("10.0.0.1"), 60, t4), Ok(()), "the oldest went");
        assert!(slow.check("r", ip("10.0.0.2"), 60, t4).is_err());
        assert!(slow.check("r", ip("10.0.0.3"), 60, t4).is_err());
        let mut none = SlowMode::new(0);
        none.record("r", ip("10.0.0.1"), t0);
        assert!(none.is_empty());
    }
}
