//! The wall: rooms, danmaku validation, rate limits and the blocklist. It sits beside the
//! protocol ring: it never sees a frame, only complete text messages, and hands back what to
//! broadcast to a room or to answer the sender.

pub mod admin_msg;
pub mod blocklist;
pub mod danmaku;
pub mod moderation;
pub mod rate;
pub mod room;

use std::time::Instant;

use blocklist::Blocklist;
use rate::TokenBucket;
use room::{Rooms, Seat};

/// A connection on `/ws`: where it sits and its post allowance.
#[derive(Debug, Clone)]
pub struct Member {
    pub seat: Seat,
    bucket: TokenBucket,
}

/// What a post turns into.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome<'a> {
    /// Send `json` to every connection in `members` (the sender is one of them).
    Broadcast { json: String, members: &'a [usize] },
    /// Send `json` (an error) to the sender only.
    Reject { json: String },
}

/// Every room, and the rules posts must pass.
#[derive(Debug, Default)]
pub struct Wall {
    pub rooms: Rooms,
    blocklist: Blocklist,
    /// Danmaku per second per connection; 0 = unlimited.
    rate: u32,
}

impl Wall {
    pub fn new(rate: u32, blocklist: Blocklist) -> Self {
        Wall { rooms: Rooms::default(), blocklist, rate }
    }

    /// Connection `conn` joins the room `name`.
    pub fn join(&mut self, name: &str, conn: usize, now: Instant) -> Member {
        Member { seat: self.rooms.join(name, conn), bucket: TokenBucket::new(self.rate, now) }
    }

    /// The member leaves; returns a member that moved slots (see [`Rooms::leave`]).
    pub fn leave(&mut self, member: &Member) -> Option<(usize, usize)> {
        self.rooms.leave(member.seat)
    }

    /// A text message from a member: validated, checked against the blocklist and the rate
    /// limit (in that order, so a rejected post costs no token), then numbered.
    pub fn post(&mut self, member: &mut Member, text: &str, now: Instant, unix_ms: u64) -> Outcome<'_> {
        let reject = |reason: &str| {
            log::debug!("rejected post: {reason}");
            Outcome::Reject { json: danmaku::error_json(reason) }
        };
        let d = match danmaku::parse_post(text) {
            Ok(d) => d,
            Err(reason) => return reject(&reason),
        };
        if let Some(word) = self.blocklist.find(&d.msg) {
            return reject(&format!("msg contains a blocked word ({word})"));
        }
        if !member.bucket.try_take(now) {
            return reject(&format!("too many danmaku: at most {} per second, please wait", self.rate));
        }
        match self.rooms.next_id(member.seat.room) {
            Some((id, members)) => Outcome::Broadcast { json: danmaku::broadcast_json(id, &d, unix_ms), members },
            None => reject("not in a room"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn broadcast_members(outcome: Outcome<'_>) -> Vec<usize> {
        match outcome {
            Outcome::Broadcast { members, .. } => members.to_vec(),
            Outcome::Reject { json } => panic!("rejected: {json}"),
        }
    }

    #[test]
    fn a_post_reaches_its_room_only() {
        let now = Instant::now();
        let mut wall = Wall::new(5, Blocklist::default());
        let mut a = wall.join("main", 1, now);
        wall.join("main", 2, now);
        wall.join("other", 3, now);
        assert_eq!(broadcast_members(wall.post(&mut a, r#"{"msg":"hi"}"#, now, 0)), vec![1, 2]);
    }

    #[test]
    fn rejections_go_to_the_sender_and_cost_nothing() {
        let now = Instant::now();
        let mut wall = Wall::new(1, Blocklist::parse("spam"));
        let mut a = wall.join("main", 1, now);
        for _ in 0..5 {
            assert!(matches!(wall.post(&mut a, "{}", now, 0), Outcome::Reject { .. }));
            let Outcome::Reject { json } = wall.post(&mut a, r#"{"msg":"SPAM!"}"#, now, 0) else { panic!() };
            assert!(json.contains("blocked word"), "{json}");
        }
        // Capacity 2: two posts pass, the third crosses the rate.
        broadcast_members(wall.post(&mut a, r#"{"msg":"1"}"#, now, 0));
        broadcast_members(wall.post(&mut a, r#"{"msg":"2"}"#, now, 0));
        let Outcome::Reject { json } = wall.post(&mut a, r#"{"msg":"3"}"#, now, 0) else { panic!() };
        assert!(json.contains("too many"), "{json}");
    }

    #[test]
    fn ids_count_up_per_room() {
        let now = Instant::now();
        let mut wall = Wall::new(0, Blocklist::default());
        let mut a = wall.join("a", 1, now);
        let mut b = wall.join("b", 2, now);
        for expected in 1..=3 {
            let Outcome::Broadcast { json, .. } = wall.post(&mut a, r#"{"msg":"x"}"#, now, 5) else { panic!() };
            assert!(json.contains(&format!("\"id\":{expected},")), "{json}");
        }
        let Outcome::Broadcast { json, .. } = wall.post(&mut b, r#"{"msg":"x"}"#, now, 5) else { panic!() };
        assert!(json.contains("\"id\":1,"), "{json}");
    }
}
