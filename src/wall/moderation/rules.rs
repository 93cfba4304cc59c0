//! A room's moderation settings (the contract's admin requests `hold`, `lock` and `slow`), and
//! the reason a locked room gives its posters.

/// Longest slow-mode interval accepted: one day.
pub const MAX_SLOW_SECONDS: u32 = 24 * 3600;

/// What a moderator has set on one room. The default (all off) is a room nobody touched.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RoomRules {
    /// Valid posts wait for review instead of being broadcast.
    pub hold: bool,
    /// Every post is rejected.
    pub lock: bool,
    /// Seconds a client address must wait between posts; 0 = off.
    pub slow: u32,
}

impl RoomRules {
    /// Whether nothing is set (a room may be forgotten only then).
    pub fn is_default(&self) -> bool {
        *self == RoomRules::default()
    }
}

/// The reason sent to a poster in a locked room (the contract: it contains the word "paused").
pub const LOCKED_REASON: &str = "posting in this room is paused by a moderator";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_is_all_off() {
        assert!(RoomRules::default().is_default());
        assert!(!RoomRules { hold: true, ..RoomRules::default() }.is_default());
        assert!(!RoomRules { slow: 1, ..RoomRules::default() }.is_default());
        assert!(LOCKED_REASON.contains("paused"));
    }
}
