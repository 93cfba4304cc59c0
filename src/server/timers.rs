//! Deadlines for every connection in one min-heap, driven through the poll timeout.
//!
//! Each connection has at most one *live* entry: the one whose time equals its `scheduled`
//! field. An entry whose connection is gone (its generation changed) or was rescheduled is
//! skipped when it comes up, so rescheduling never searches the heap.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::Instant;

/// A connection's identity: its token and the generation of that token's slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ConnId {
    pub token: usize,
    pub generation: u32,
}

#[derive(Debug, Default)]
pub struct Timers {
    heap: BinaryHeap<Reverse<(Instant, ConnId)>>,
}

impl Timers {
    /// Arms a wake-up for `id` at `at`, unless one at or before `at` is already armed.
    /// `scheduled` is the connection's record of its live entry.
    pub fn schedule(&mut self, id: ConnId, at: Option<Instant>, scheduled: &mut Option<Instant>) {
        if let Some(at) = at
            && scheduled.is_none_or(|s| at < s)
        {
            self.heap.push(Reverse((at, id)));
            *scheduled = Some(at);
        }
    }

    /// The earliest deadline, for the poll timeout.
    pub fn next(&self) -> Option<Instant> {
        self.heap.peek().map(|Reverse((at, _))| *at)
    }

    /// Takes the next entry that is due at `now`.
    pub fn pop_due(&mut self, now: Instant) -> Option<(Instant, ConnId)> {
        match self.heap.peek() {
            Some(Reverse((at, _))) if *at <= now => self.heap.pop().map(|Reverse(e)| e),
            _ => None,
        }
    }

    pub fn len(&self) -> usize {
        self.heap.len()
    }

    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn earliest_first_and_only_when_due() {
        let t0 = Instant::now();
        let mut timers = Timers::default();
        let a = ConnId { token: 1, generation: 0 };
        let b = ConnId { token: 2, generation: 0 };
        let (mut sa, mut sb) = (None, None);
        timers.schedule(a, Some(t0 + Duration::from_secs(5)), &mut sa);
        timers.schedule(b, Some(t0 + Duration::from_secs(1)), &mut sb);
        // Later than what is armed: nothing new. Earlier: armed.
        timers.schedule(a, Some(t0 + Duration::from_secs(9)), &mut sa);
        assert_eq!(timers.len(), 2);
        timers.schedule(a, Some(t0 + Duration::from_secs(3)), &mut sa);
        assert_eq!(sa, Some(t0 + Duration::from_secs(3)));
        assert_eq!(timers.next(), Some(t0 + Duration::from_secs(1)));
        assert_eq!(timers.pop_due(t0), None);
        assert_eq!(timers.pop_due(t0 + Duration::from_secs(4)).map(|e| e.1), Some(b));
        assert_eq!(timers.pop_due(t0 + Duration::from_secs(4)).map(|e| e.1), Some(a));
        // The superseded 5 s entry is still there; the loop skips it because sa != 5 s.
        assert_eq!(timers.pop_due(t0 + Duration::from_secs(6)), Some((t0 + Duration::from_secs(5), a)));
    }
}
