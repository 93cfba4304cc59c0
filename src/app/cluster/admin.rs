//! Moderation across the cluster: what one node's admin does reaches every node.
//!
//! - `delete` and `clear` go through the room's history in Redis (the `EVENT` script), so every
//!   node's walls get them on the room's channel, in order with the danmaku, and a resume on
//!   any node replays them.
//! - Everything else travels on the admin bus, the channel `PREFIX` + `admin:` + the database
//!   number, which every node subscribes to: feed entries (`post`, `pending`) for every node's admins, and the requests
//!   that change shared rules (`ban`, `hold`, `lock`, `slow`, `blocklist`, and `approve` /
//!   `reject` of a post held on another node). A message is `NODE|feed|JSON` or
//!   `NODE|op|JSON`; a node acts on its own requests at once and ignores its own echoes.
//! - Pub/sub keeps nothing for a node that was not listening, so a node that joins the bus,
//!   or comes back to it, forgets what it knew of the others' held posts and asks
//!   (`NODE|sync|`); each node answers with one `NODE|held|PENDING` per post it holds.

use std::time::Instant;

use super::{Cluster, Feed, Pending};
use crate::app::{Action, Time};
use crate::protocol::cluster_script::{self as cs, EventAction, RoomKeys};
use crate::wall::admin_msg::{self, PostView};

/// What a bus message carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Bus {
    /// An admin feed entry, shown as it is.
    Feed,
    /// An admin request to apply (no reply: the node that took it answered).
    Op,
    /// "What do you hold for review?", from a node that joined the bus (or came back to it).
    Sync,
    /// The answer, one message per held post: its `pending` entry, to remember, not to show.
    Held,
}

impl Bus {
    fn name(self) -> &'static str {
        match self {
            Bus::Feed => "feed",
            Bus::Op => "op",
            Bus::Sync => "sync",
            Bus::Held => "held",
        }
    }
}

impl Cluster {
    /// Tells the other nodes (`PUBLISH` on the admin bus). Lost while Redis is away.
    pub fn bus_send(&mut self, kind: Bus, json: &str, now: Instant) {
        let payload = format!("{}|{}|{json}", self.node, kind.name());
        let args = [b"PUBLISH".to_vec(), self.admin_channel.clone().into_bytes(), payload.into_bytes()];
        if self.raw_command(&args, Pending::Note("an admin bus message"), now).is_none() {
            log::warn!("Redis is away: other nodes do not hear of this {} message", kind.name());
        }
    }

    /// A message on the admin bus: another node's, for this node's app (its own are ignored).
    pub(super) fn on_bus(&mut self, payload: &[u8], actions: &mut Vec<Action>) {
        let mut parts = payload.splitn(3, |&b| b == b'|');
        let (Some(node), Some(kind), Some(json)) = (parts.next(), parts.next(), parts.next()) else {
            return log::warn!("ignored a malformed admin bus message");
        };
        if node == self.node.as_bytes() {
            return;
        }
        match kind {
            b"feed" => actions.push(Action::ToAdmins(String::from_utf8_lossy(json).into_owned())),
            b"op" => actions.push(Action::FromNodes(json.to_vec())),
            b"sync" => actions.push(Action::HoldsWanted),
            b"held" => actions.push(Action::HeldElsewhere(String::from_utf8_lossy(json).into_owned())),
            _ => log::warn!("ignored an admin bus message of kind {}", String::from_utf8_lossy(kind)),
        }
    }

    /// A post numbered by Redis: its `post` entry for every node's admins.
    pub(super) fn feed_post(&mut self, feed: &Feed, id: u64, actions: &mut Vec<Action>) {
        let view = PostView::of(&feed.post.danmaku);
        let json = admin_msg::post_json(&feed.room, id, &view, feed.unix_ms, feed.post.from);
        if let Some((now, _)) = self.clock {
            self.bus_send(Bus::Feed, &json, now);
        }
        actions.push(Action::ToAdmins(json));
    }

    /// `delete` (with the id) or `clear` in room `name`: one `EVENT` script, which takes it
    /// out of the history, appends the event and publishes it to every node's walls.
    /// `Err` while Redis is away (the admin is told; nothing happened).
    pub fn moderation_event(&mut self, name: &str, json: &str, action: EventAction, time: Time) -> Result<(), String> {
        if !self.up {
            return Err(super::UNAVAILABLE.to_string());
        }
        let keys = RoomKeys::new(&self.prefix, self.config.db, name);
        let candidate = self.candidate();
        let call = cs::event(&keys, &self.policy, &candidate, json, action, time.unix_ms);
        match self.command(&call, Pending::Note("a delete or clear"), time.now) {
            Some(_) => Ok(()),
            None => Err(super::UNAVAILABLE.to_string()),
        }
    }
}
