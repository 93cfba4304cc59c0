//! Moderation state (the contract's "Moderation (`/admin`)" section): bans, per-room rules
//! (hold, lock, slow), the queue of posts held for review, and the guard on admin logins.
//!
//! Everything here is pure: time comes in as [`std::time::Instant`] (and UNIX milliseconds
//! where the admin feed needs wall-clock time); nothing reads a clock, a socket or a file.
//! Every table is bounded by a configurable cap and tested with the input that crosses it.

pub mod auth_limit;
pub mod bans;
pub mod elsewhere;
pub mod hold;
pub mod rules;
pub mod slow;
pub mod token;

/// Whole seconds in `d`, rounded up, so "wait 0 s" is never said while a limit still holds.
pub(crate) fn ceil_secs(d: std::time::Duration) -> u64 {
    d.as_secs() + u64::from(d.subsec_nanos() > 0)
}

#[cfg(test)]
mod tests {
    use super::ceil_secs;
    use std::time::Duration;

    #[test]
    fn seconds_round_up() {
        assert_eq!(ceil_secs(Duration::ZERO), 0);
        assert_eq!(ceil_secs(Duration::from_nanos(1)), 1);
        assert_eq!(ceil_secs(Duration::from_millis(1000)), 1);
        assert_eq!(ceil_secs(Duration::from_millis(1001)), 2);
    }
}
