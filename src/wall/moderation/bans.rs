//! Bans (the contract's admin request `{"type":"ban","address":A,"seconds":S}`): posts from a
//! banned address are rejected with a reason containing the word "muted" until the ban runs
//! out; `"seconds":0` lifts it. Expired bans vanish. Addresses are kept in canonical form, so
//! an IPv4 client seen as `::ffff:a.b.c.d` and as `a.b.c.d` is one address.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

/// Longest ban accepted: 365 days (keeps `now + S` far from any `Instant` overflow).
pub const MAX_BAN_SECONDS: u64 = 365 * 24 * 3600;

/// Default number of addresses that may be banned at once.
pub const DEFAULT_MAX_BANS: usize = 10_000;

#[derive(Debug, Clone)]
pub struct Bans {
    until: HashMap<IpAddr, Instant>,
    cap: usize,
}

impl Default for Bans {
    fn default() -> Self {
        Bans::new(DEFAULT_MAX_BANS)
    }
}

impl Bans {
    /// At most `cap` addresses banned at once.
    pub fn new(cap: usize) -> Self {
        Bans { until: HashMap::new(), cap }
    }

    /// Bans `addr` for `seconds` from `now`, replacing an earlier ban; 0 lifts it. A new
    /// address over the cap (after expired bans are dropped) is an error.
    pub fn ban(&mut self, addr: IpAddr, seconds: u64, now: Instant) -> Result<(), String> {
        let addr = addr.to_canonical();
        if seconds == 0 {
            self.until.remove(&addr);
            return Ok(());
        }
        if seconds > MAX_BAN_SECONDS {
            return Err(format!("a ban lasts at most {MAX_BAN_SECONDS} seconds (365 days)"));
        }
        if !self.until.contains_key(&addr) && self.until.len() >= self.cap {
            self.purge(now);
            if self.until.len() >= self.cap {
                return Err(format!("too many bans: at most {} addresses at once", self.cap));
            }
        }
        self.until.insert(addr, now + Duration::from_secs(seconds));
        Ok(())
    }

    /// The time left on `addr`'s ban, if it is banned at `now`.
    pub fn is_banned(&self, addr: IpAddr, now: Instant) -> Option<Duration> {
        let until = *self.until.get(&addr.to_canonical())?;
        (until > now).then(|| until - now)
    }

    /// Drops every ban that has run out by `now`.
    pub fn purge(&mut self, now: Instant) {
        self.until.retain(|_, until| *until > now);
    }

    /// Bans in force at `now` as (address, until in UNIX milliseconds), sorted by address,
    /// for the admin `state`. `now_unix_ms` is the wall-clock time of the same moment as `now`.
    pub fn list(&self, now: Instant, now_unix_ms: u64) -> Vec<(IpAddr, u64)> {
        let mut out: Vec<(IpAddr, u64)> = self
            .until
            .iter()
            .filter(|(_, until)| **until > now)
            .map(|(addr, until)| {
                let left_ms = u64::try_from((*until - now).as_millis()).unwrap_or(u64::MAX);
                (*addr, now_unix_ms.saturating_add(left_ms))
            })
            .collect();
        out.sort();
        out
    }

    pub fn len(&self) -> usize {
        self.until.len()
    }

    pub fn is_empty(&self) -> bool {
        self.until.is_empty()
    }
}

/// The reason sent to a banned poster (the contract: it contains the word "muted").
pub fn muted_reason(left: Duration) -> String {
    format!("you are muted by a moderator for {} more seconds", super::ceil_secs(left))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn a_ban_holds_until_it_runs_out_then_vanishes() {
        let t0 = Instant::now();
        let mut bans = Bans::default();
        bans.ban(ip("203.0.113.7"), 600, t0).unwrap();
        assert_eq!(bans.is_banned(ip("203.0.113.7"), t0), Some(Duration::from_secs(600)));
        assert_eq!(bans.is_banned(ip("203.0.113.8"), t0), None);
        let almost = t0 + Duration::from_millis(599_999);
        assert_eq!(bans.is_banned(ip("203.0.113.7"), almost), Some(Duration::from_millis(1)));
        let over = t0 + Duration::from_secs(600);
        assert_eq!(bans.is_banned(ip("203.0.113.7"), over), None);
        assert_eq!(bans.list(over, 0), vec![]);
        assert_eq!(bans.len(), 1);
        bans.purge(over);
        assert!(bans.is_empty());
    }

    #[test]
    fn zero_lifts_and_a_new_ban_replaces_the_old() {
        let t0 = Instant::now();
        let mut bans = Bans::default();
        bans.ban(ip("::1"), 600, t0).unwrap();
        bans.ban(ip("::1"), 5, t0).unwrap();
        assert_eq!(bans.is_banned(ip("::1"), t0), Some(Duration::from_secs(5)));
        bans.ban(ip("::1"), 0, t0).unwrap();
        assert_eq!(bans.is_banned(ip("::1"), t0), None);
        bans.ban(ip("::1"), 0, t0).unwrap(); // lifting a ban that is not there is fine
        assert!(bans.ban(ip("::1"), MAX_BAN_SECONDS + 1, t0).unwrap_err().contains("at most"));
        bans.ban(ip("::1"), MAX_BAN_SECONDS, t0).unwrap();
    }

    #[test]
    fn ipv4_mapped_addresses_are_the_same_address() {
        let t0 = Instant::now();
        let mut bans = Bans::default();
        bans.ban(ip("::ffff:198.51.100.1"), 60, t0).unwrap();
        assert!(bans.is_banned(ip("198.51.100.1"), t0).is_some());
        assert_eq!(bans.list(t0, 1_000)[0].0, ip("198.51.100.1"));
    }

    #[test]
    fn list_converts_to_unix_ms_and_sorts() {
        let t0 = Instant::now();
        let mut bans = Bans::default();
        bans.ban(ip("10.0.0.2"), 10, t0).unwrap();
        bans.ban(ip("10.0.0.1"), 20, t0).unwrap();
        let later = t0 + Duration::from_millis(2_500);
        assert_eq!(
            bans.list(later, 1_700_000_002_500),
            vec![(ip("10.0.0.1"), 1_700_000_020_000), (ip("10.0.0.2"), 1_700_000_010_000)]
        );
    }

    #[test]
    fn the_cap_counts_only_bans_in_force() {
        let t0 = Instant::now();
        let mut bans = Bans::new(2);
        bans.ban(ip("10.0.0.1"), 10, t0).unwrap();
        bans.ban(ip("10.0.0.2"), 100, t0).unwrap();
        let err = bans.ban(ip("10.0.0.3"), 10, t0).unwrap_err();
        assert!(err.contains("at most 2"), "{err}");
        bans.ban(ip("10.0.0.2"), 50, t0).unwrap(); // renewing a ban is always allowed
        bans.ban(ip("10.0.0.3"), 10, t0 + Duration::from_secs(10)).unwrap(); // 10.0.0.1 ran out
        assert_eq!(bans.len(), 2);
    }

    #[test]
    fn the_reason_says_muted_and_rounds_up() {
        let reason = muted_reason(Duration::from_millis(9_001));
        assert!(reason.contains("muted") && reason.contains("10 more seconds"), "{reason}");
    }
}
