//! The guard on admin logins (the contract: "After 5 failed attempts from one address within
//! 60 s, further `/admin/ws` upgrades from it get `429` for 60 s"). A failed attempt is a wrong
//! token, another first message, or 10 s of silence; the caller reports each one with
//! [`AuthLimiter::failed`] and asks [`AuthLimiter::check`] before upgrading.
//!
//! Memory is bounded: at most `max_addresses` addresses are tracked. A new one over the cap
//! first drops entries that no longer matter, then the entry whose latest failure or block end
//! is oldest (so a blocked address outlives one that merely failed earlier).

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

/// The limits; [`AuthLimits::default`] is the contract's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuthLimits {
    /// Failures within `window` that block an address.
    pub max_failures: usize,
    pub window: Duration,
    /// How long a blocked address gets `429`.
    pub block: Duration,
    /// Addresses tracked at once.
    pub max_addresses: usize,
}

impl Default for AuthLimits {
    fn default() -> Self {
        AuthLimits {
            max_failures: 5,
            window: Duration::from_secs(60),
            block: Duration::from_secs(60),
            max_addresses: 10_000,
        }
    }
}

#[derive(Debug, Clone, Default)]
struct Entry {
    /// Failures within the window, oldest first (fewer than `max_failures`).
    failures: Vec<Instant>,
    blocked_until: Option<Instant>,
}

impl Entry {
    /// When it last changed an answer: its latest failure, or the end of its block.
    fn last(&self) -> Option<Instant> {
        self.failures.last().copied().max(self.blocked_until)
    }

    /// Whether it still changes any answer at `now`.
    fn matters(&self, now: Instant, limits: &AuthLimits) -> bool {
        self.blocked_until.is_some_and(|until| until > now) || self.failures.iter().any(|f| *f + limits.window > now)
    }
}

#[derive(Debug, Clone, Default)]
pub struct AuthLimiter {
    limits: AuthLimits,
    entries: HashMap<IpAddr, Entry>,
}

impl AuthLimiter {
    pub fn new(limits: AuthLimits) -> Self {
        AuthLimiter { limits, entries: HashMap::new() }
    }

    /// `Err(time left)` while `addr` is blocked (answer `429`), `Ok` otherwise.
    pub fn check(&self, addr: IpAddr, now: Instant) -> Result<(), Duration> {
        match self.entries.get(&addr.to_canonical()).and_then(|e| e.blocked_until) {
            Some(until) if until > now => Err(until - now),
            _ => Ok(()),
        }
    }

    /// Records a failed attempt from `addr` at `now`; returns whether `addr` is blocked now.
    pub fn failed(&mut self, addr: IpAddr, now: Instant) -> bool {
        let addr = addr.to_canonical();
        if !self.entries.contains_key(&addr) && self.entries.len() >= self.limits.max_addresses {
            self.make_room(now);
        }
        if self.limits.max_addresses == 0 {
            return false;
        }
        let limits = self.limits;
        let entry = self.entries.entry(addr).or_default();
        entry.failures.retain(|f| *f + limits.window > now);
        entry.failures.push(now);
        if entry.failures.len() >= limits.max_failures {
            entry.failures.clear();
            entry.blocked_until = Some(now + limits.block);
        }
        entry.blocked_until.is_some_and(|until| until > now)
    }

    /// Addresses tracked.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn make_room(&mut self, now: Instant) {
        let limits = self.limits;
        self.entries.retain(|_, e| e.matters(now, &limits));
        if self.entries.len() >= limits.max_addresses {
            let oldest = self.entries.iter().min_by_key(|(_, e)| e.last()).map(|(addr, _)| *addr);
            if let Some(addr) = oldest {
                self.entries.remove(&addr);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn the_fifth_failure_within_a_minute_blocks_for_a_minute() {
        let t0 = Instant::now();
        let mut limiter = AuthLimiter::default();
        let a = ip("198.51.100.4");
        for i in 0..4 {
            assert!(!limiter.failed(a, t0 + Duration::from_secs(i * 10)), "failure {i}");
            assert_eq!(limiter.check(a, t0 + Duration::from_secs(i * 10)), Ok(()));
        }
        let t5 = t0 + Duration::from_secs(59);
        assert!(limiter.failed(a, t5));
        assert_eq!(limiter.check(a, t5), Err(Duration::from_secs(60)));
        assert_eq!(
            limiter.check(ip("::ffff:198.51.100.4"), t5 + Duration::from_secs(30)),
            Err(Duration::from_secs(30))
        );
        assert_eq!(limiter.check(ip("198.51.100.5"), t5), Ok(()), "per address");
        assert_eq!(limiter.check(a, t5 + Duration::from_secs(60)), Ok(()), "the block runs out");
        assert!(!limiter.failed(a, t5 + Duration::from_secs(60)), "and counting starts over");
    }

    #[test]
    fn failures_older_than_the_window_do_not_count() {
        let t0 = Instant::now();
        let mut limiter = AuthLimiter::default();
        let a = ip("2001:db8::1");
        for i in 0..4 {
            limiter.failed(a, t0 + Duration::from_secs(i));
        }
        // The first failure (at t0) is 60 s old at t0+60: four remain in the window.
        assert!(!limiter.failed(a, t0 + Duration::from_secs(60)));
        assert!(limiter.failed(a, t0 + Duration::from_secs(60)));
    }

    #[test]
    fn memory_is_bounded_and_blocked_entries_outlive_idle_ones() {
        let t0 = Instant::now();
        let limits = AuthLimits { max_addresses: 3, ..AuthLimits::default() };
        let mut limiter = AuthLimiter::new(limits);
        let blocked = ip("10.0.0.1");
        for _ in 0..5 {
            limiter.failed(blocked, t0);
        }
        limiter.failed(ip("10.0.0.2"), t0 + Duration::from_secs(1));
        limiter.failed(ip("10.0.0.3"), t0 + Duration::from_secs(2));
        limiter.failed(ip("10.0.0.4"), t0 + Duration::from_secs(3));
        assert_eq!(limiter.len(), 3);
        // 10.0.0.2's failure is the oldest activity; the block lasts longer, so it stays.
        assert!(limiter.check(blocked, t0 + Duration::from_secs(3)).is_err());
        assert!(!limiter.failed(ip("10.0.0.2"), t0 + Duration::from_secs(4)));
        assert!(limiter.check(blocked, t0 + Duration::from_secs(4)).is_err(), "10.0.0.3 went instead");
        // Entries that no longer matter are dropped before any that do.
        let later = t0 + Duration::from_secs(62);
        limiter.failed(ip("10.0.0.5"), later);
        limiter.failed(ip("10.0.0.6"), later);
        assert_eq!(limiter.len(), 3);
        let none = &mut AuthLimiter::new(AuthLimits { max_addresses: 0, ..AuthLimits::default() });
        assert!(!none.failed(blocked, t0) && none.is_empty());
    }
}
