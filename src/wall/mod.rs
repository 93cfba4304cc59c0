//! The wall: rooms, danmaku validation, rate limits and the blocklist. It sits beside the
//! protocol ring: it never sees a frame coming in, only complete text messages, and hands
//! back what to broadcast to a room (framed once) or to answer the sender.
//!
//! Every post goes through one pipeline, [`Wall::post`]: parse and validate → blocklist →
//! rate → number it in its room (id, history) → one shared frame.

pub mod admin_msg;
pub mod blocklist;
pub mod danmaku;
pub mod history;
pub mod moderation;
pub mod rate;
pub mod room;

use std::rc::Rc;
use std::time::Instant;

use crate::wire::frame::{self, Opcode};
use blocklist::Blocklist;
use danmaku::Refused;
use rate::TokenBucket;
use room::{RoomId, Rooms};

/// A connection on `/ws`: its room and its post allowance.
#[derive(Debug, Clone)]
pub struct Member {
    pub room: RoomId,
    bucket: TokenBucket,
}

/// What a post turns into.
#[derive(Debug, PartialEq, Eq)]
pub enum Posted {
    /// Send `frame` (danmaku `id`, already framed) to every member of `room`; tell the sender
    /// `ack` (its `ref`) if it gave one.
    Broadcast { room: RoomId, id: u64, frame: Rc<[u8]>, ack: Option<String> },
    /// Send `json` (an error) to the sender only.
    Reject { json: String },
}

/// Every room, and the rules posts must pass.
#[derive(Debug)]
pub struct Wall {
    pub rooms: Rooms,
    blocklist: Blocklist,
    /// Danmaku per second per connection; 0 = unlimited.
    rate: u32,
}

impl Wall {
    pub fn new(rooms: Rooms, rate: u32, blocklist: Blocklist) -> Self {
        Wall { rooms, blocklist, rate }
    }

    /// Connection `token` joins the room `name`.
    pub fn join(&mut self, name: &str, token: usize, now: Instant) -> Result<Member, room::TooManyRooms> {
        let room = self.rooms.join(name, token)?;
        Ok(Member { room, bucket: TokenBucket::new(self.rate, now) })
    }

    /// Connection `token` leaves its room.
    pub fn leave(&mut self, token: usize) {
        self.rooms.leave(token);
    }

    /// A text message from a member: validated, checked against the blocklist and the rate
    /// limit (in that order, so a rejected post costs no token), then numbered and framed.
    pub fn post(&mut self, member: &mut Member, text: &str, now: Instant, unix_ms: u64) -> Posted {
        let post = match danmaku::parse_post(text) {
            Ok(post) => post,
            Err(refused) => return reject(refused),
        };
        let reference = post.reference;
        let refuse = |reason: String| reject(Refused { reason, reference: reference.clone() });
        if let Some(word) = self.blocklist.find(&post.danmaku.msg) {
            return refuse(format!("msg contains a blocked word ({word})"));
        }
        if !member.bucket.try_take(now) {
            return refuse(format!("too many danmaku: at most {} per second, please wait", self.rate));
        }
        let d = &post.danmaku;
        let make_frame =
            |id| frame::server_frame(Opcode::Text, danmaku::broadcast_json(id, d, unix_ms).as_bytes()).into();
        let Some((id, frame)) = self.rooms.append(member.room, make_frame, now) else {
            return refuse("not in a room".to_string());
        };
        Posted::Broadcast { room: member.room, id, frame, ack: reference }
    }
}

fn reject(refused: Refused) -> Posted {
    log::debug!("rejected post: {}", refused.reason);
    Posted::Reject { json: danmaku::error_json(&refused.reason, refused.reference.as_deref()) }
}

#[cfg(test)]
#[path = "wall_tests.rs"]
mod tests;
