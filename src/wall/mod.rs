//! The wall: rooms, danmaku validation, rate limits, the blocklist and moderation. It sits
//! beside the protocol ring: it never sees a frame coming in, only complete text messages,
//! and hands back what to broadcast to a room (framed once) or to answer the sender.
//!
//! Every post goes through one pipeline, [`Wall::check`]: parse and validate → ban → lock →
//! blocklist → slow mode → rate → hold. Only what passes it all (or a held post a moderator
//! approves) is [`Accepted`], and only an accepted post is numbered: by [`Wall::sequence`] on
//! one node, or by one Redis script in a cluster. There is no other way onto a wall.

pub mod admin_msg;
pub mod blocklist;
pub mod danmaku;
pub mod history;
pub mod moderation;
pub mod rate;
pub mod room;

use std::net::IpAddr;
use std::rc::Rc;
use std::time::Instant;

use crate::wire::frame::{self, Opcode};
use blocklist::Blocklist;
use danmaku::{Danmaku, Refused};
use moderation::bans::{Bans, muted_reason};
use moderation::elsewhere::HeldElsewhere;
use moderation::hold::{Held, HoldQueue};
use moderation::rules::LOCKED_REASON;
use moderation::slow::{SlowMode, slow_reason};
use rate::TokenBucket;
use room::{RoomId, Rooms};

/// A connection on `/ws`: its room, its client address and its post allowance.
#[derive(Debug, Clone)]
pub struct Member {
    pub room: RoomId,
    pub client: IpAddr,
    bucket: TokenBucket,
}

/// A post that passed every check, ready to be numbered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted {
    pub room: RoomId,
    pub danmaku: Danmaku,
    pub reference: Option<String>,
    pub from: IpAddr,
}

/// What the pipeline made of a post.
#[derive(Debug, PartialEq, Eq)]
pub enum Checked {
    Accept(Accepted),
    /// Held for review: the poster gets `held`, the moderators a `pending` entry.
    Hold(Held<Danmaku>),
    /// Send `json` (an error) to the sender only.
    Reject {
        json: String,
    },
}

/// A numbered danmaku: send `frame` to every member of `room`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sequenced {
    pub room: RoomId,
    pub id: u64,
    pub frame: Rc<[u8]>,
}

/// Every room, and the rules posts must pass.
#[derive(Debug)]
pub struct Wall {
    pub rooms: Rooms,
    pub blocklist: Blocklist,
    /// Danmaku per second per connection; 0 = unlimited.
    rate: u32,
    pub bans: Bans,
    pub slow: SlowMode,
    pub held: HoldQueue<Danmaku>,
    /// In a cluster: what the other nodes hold for review.
    pub held_elsewhere: HeldElsewhere,
    /// Set while no post can be taken (in a cluster: Redis is away), with the reason: such
    /// posts are refused before they spend a rate token or a slow-mode interval.
    pub unavailable: Option<&'static str>,
}

impl Wall {
    pub fn new(rooms: Rooms, rate: u32, blocklist: Blocklist) -> Self {
        Wall {
            rooms,
            blocklist,
            rate,
            bans: Bans::default(),
            slow: SlowMode::default(),
            held: HoldQueue::default(),
            held_elsewhere: HeldElsewhere::default(),
            unavailable: None,
        }
    }

    /// Connection `token` from `client` joins the room `name`.
    pub fn join(
        &mut self,
        name: &str,
        token: usize,
        client: IpAddr,
        now: Instant,
    ) -> Result<Member, room::TooManyRooms> {
        let room = self.rooms.join(name, token)?;
        Ok(Member { room, client, bucket: TokenBucket::new(self.rate, now) })
    }

    /// Connection `token` leaves its room; a held post of its own can no longer be acked.
    pub fn leave(&mut self, token: usize) {
        self.rooms.leave(token);
        self.held.disconnected(token);
    }

    /// The one pipeline every post goes through. Checks that cost nothing come first, so a
    /// rejected post spends no rate token and no slow-mode interval.
    pub fn check(&mut self, token: usize, member: &mut Member, text: &str, now: Instant) -> Checked {
        let post = match danmaku::parse_post(text) {
            Ok(post) => post,
            Err(refused) => return reject(refused),
        };
        let reference = post.reference;
        let refuse = |reason: String| reject(Refused { reason, reference: reference.clone() });
        if let Some(left) = self.bans.is_banned(member.client, now) {
            return refuse(muted_reason(left));
        }
        let Some(room) = self.rooms.get(member.room) else { return refuse("not in a room".to_string()) };
        let (rules, name) = (room.rules, room.name.clone());
        if rules.lock {
            return refuse(LOCKED_REASON.to_string());
        }
        if let Some(word) = self.blocklist.find(&post.danmaku.msg) {
            return refuse(format!("msg contains a blocked word ({word})"));
        }
        if let Some(why) = self.unavailable {
            return refuse(why.to_string());
        }
        if rules.hold
            && let Err(full) = self.held.has_room(&name)
        {
            return refuse(full);
        }
        if let Err(left) = self.slow.check(&name, member.client, rules.slow, now) {
            return refuse(slow_reason(left));
        }
        if !member.bucket.try_take(now) {
            return refuse(format!("too many danmaku: at most {} per second, please wait", self.rate));
        }
        if rules.slow > 0 {
            self.slow.record(&name, member.client, now);
        }
        if rules.hold {
            return match self.held.hold(&name, post.danmaku, token, member.client, reference.clone()) {
                Ok(held) => Checked::Hold(held.clone()),
                Err(reason) => refuse(reason),
            };
        }
        Checked::Accept(Accepted { room: member.room, danmaku: post.danmaku, reference, from: member.client })
    }

    /// Numbers an accepted post in its room on this node (id, history) and frames it once.
    pub fn sequence(&mut self, post: &Accepted, now: Instant, unix_ms: u64) -> Option<Sequenced> {
        let d = &post.danmaku;
        let make_frame =
            |id| frame::server_frame(Opcode::Text, danmaku::broadcast_json(id, d, unix_ms).as_bytes()).into();
        let (id, frame) = self.rooms.append(post.room, make_frame, now)?;
        Some(Sequenced { room: post.room, id, frame })
    }
}

fn reject(refused: Refused) -> Checked {
    log::debug!("rejected post: {}", refused.reason);
    Checked::Reject { json: danmaku::error_json(&refused.reason, refused.reference.as_deref()) }
}

#[cfg(test)]
#[path = "wall_tests.rs"]
mod tests;
