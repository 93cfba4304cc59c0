//! What an admin's request means for the other nodes of a cluster (see
//! [`cluster::admin`](super::cluster) for how it travels). Without `--redis` every request is
//! this node's alone.
//!
//! - `delete`, `clear`: the room's history in Redis (one `EVENT` script), so every node's walls
//!   get it and no resume on any node replays the danmaku.
//! - `ban`, `hold`, `lock`, `slow`, `blocklist`: applied here at once (the admin's reply says
//!   how it went), then sent to every other node, which applies it too.
//! - `approve`, `reject`: a held post waits on the node that took it; its key starts with that
//!   node's name. A key of another node that the bus announced as waiting (and not yet as
//!   decided) is sent there and answered `ok`; any other key of another node gets the error of
//!   an unknown key, as one of ours does. The node that decides a post tells every admin but
//!   the one who asked, on every node: `{"type":"decided",...}` on the bus.

use super::cluster::admin::Bus;
use super::{Action, App, Time};
use crate::protocol::cluster_script::EventAction;
use crate::wall::admin_msg::{self, AdminRequest, PostView, ReviewNews};
use crate::wall::moderation::hold::UNKNOWN_KEY;

impl App {
    /// Carries out one admin request here and, in a cluster, everywhere it must apply.
    pub(super) fn perform_everywhere(
        &mut self,
        request: AdminRequest,
        raw: &str,
        requester: Option<usize>,
        time: Time,
        actions: &mut Vec<Action>,
    ) -> Result<String, String> {
        if self.cluster.is_none() {
            return self.perform_admin(request, requester, time, actions);
        }
        let event = match &request {
            AdminRequest::Delete { room, id } => Some((room, admin_msg::delete_json(*id), EventAction::Delete(*id))),
            AdminRequest::Clear { room } => Some((room, admin_msg::clear_json(), EventAction::Clear)),
            _ => None,
        };
        if let (Some((room, json, action)), Some(cluster)) = (event, self.cluster.as_mut()) {
            cluster.moderation_event(room, &json, action, time)?;
            return Ok(room.clone());
        }
        let foreign_key = match &request {
            AdminRequest::Approve { room, key } | AdminRequest::Reject { room, key }
                if !self.wall.held.is_own_key(key) =>
            {
                Some((room.clone(), key.clone(), matches!(request, AdminRequest::Approve { .. })))
            }
            _ => None,
        };
        let decided_here = matches!(request, AdminRequest::Approve { .. } | AdminRequest::Reject { .. });
        let done = match &foreign_key {
            Some((room, key, approved)) => {
                if self.cluster.as_ref().is_some_and(|c| !c.is_up()) {
                    // The decision could not reach the node that holds the post.
                    return Err(super::cluster::UNAVAILABLE.to_string());
                }
                if !self.wall.held_elsewhere.remove(room, key) {
                    return Err(UNKNOWN_KEY.to_string());
                }
                // This node's other admins hear of it now; its node tells everyone else.
                self.admins.send_all_but(&admin_msg::decided_json(room, key, *approved), requester, actions);
                "(held on another node: sent there)".to_string()
            }
            None => self.perform_admin(request, requester, time, actions)?,
        };
        let foreign_key = foreign_key.is_some();
        if (foreign_key || !decided_here)
            && let Some(cluster) = self.cluster.as_mut()
        {
            cluster.bus_send(Bus::Op, raw, time.now);
        }
        Ok(done)
    }

    /// Another node's admin request: applied here, without a reply (that node answered).
    pub fn from_nodes(&mut self, json: &[u8], time: Time, actions: &mut Vec<Action>) {
        let request = match admin_msg::parse_request(&String::from_utf8_lossy(json)) {
            Ok(request) => request,
            Err(why) => return log::warn!("ignored an admin request from another node: {why}"),
        };
        let what = request.type_name();
        let applies = match &request {
            AdminRequest::Approve { key, .. } | AdminRequest::Reject { key, .. } => self.wall.held.is_own_key(key),
            AdminRequest::Auth { .. } | AdminRequest::Delete { .. } | AdminRequest::Clear { .. } => false,
            _ => true,
        };
        if !applies {
            return;
        }
        match self.perform_admin(request, None, time, actions) {
            Ok(done) => log::info!("admin on another node: {what} {done}"),
            Err(why) => log::warn!("admin request from another node not applied: {what}: {why}"),
        }
    }

    /// A held post of this node was approved or rejected: every admin but `requester` hears of
    /// it, on every node (the bus entry also takes it off the other nodes' [`HeldElsewhere`]).
    ///
    /// [`HeldElsewhere`]: crate::wall::moderation::elsewhere::HeldElsewhere
    pub(super) fn decided_everywhere(
        &mut self,
        room: &str,
        key: &str,
        approved: bool,
        requester: Option<usize>,
        time: Time,
        actions: &mut Vec<Action>,
    ) {
        let json = admin_msg::decided_json(room, key, approved);
        self.admins.send_all_but(&json, requester, actions);
        if let Some(cluster) = self.cluster.as_mut() {
            cluster.bus_send(Bus::Feed, &json, time.now);
        }
    }

    /// A feed entry for this node's admins: a post numbered here, or another node's entry
    /// from the bus. Another node's `pending` is remembered (for admins who sign in later,
    /// and to know its key); its `decided` forgets it, and is passed on only if this node still
    /// had it (so not twice to the admins here when one of them decided it).
    pub fn to_admins(&mut self, json: &str, actions: &mut Vec<Action>) {
        match admin_msg::review_news(json) {
            Some(ReviewNews::Pending { room, key }) => self.wall.held_elsewhere.add(room, key, json.to_string()),
            Some(ReviewNews::Decided { room, key }) if !self.wall.held_elsewhere.remove(&room, &key) => return,
            _ => {}
        }
        self.admins.send_all(json, actions);
    }

    /// This node is (back) on the admin bus: what it knew of the others' held posts may be
    /// stale (pub/sub keeps nothing for a node that was not listening), so it asks again.
    pub fn ask_holds(&mut self, time: Time) {
        self.wall.held_elsewhere = Default::default();
        if let Some(cluster) = self.cluster.as_mut() {
            cluster.bus_send(Bus::Sync, "", time.now);
        }
    }

    /// Another node asked: every post held here, again (remembered there, not shown).
    pub fn announce_holds(&mut self, time: Time) {
        let Some(cluster) = self.cluster.as_mut() else { return };
        for h in self.wall.held.iter() {
            let json = admin_msg::pending_json(&h.room, &h.key, &PostView::of(&h.post), h.from);
            cluster.bus_send(Bus::Held, &json, time.now);
        }
    }

    /// Another node's answer: one post it holds, remembered for `approve`/`reject` and for
    /// admins who sign in (the admins here saw it when it was held).
    pub fn held_elsewhere(&mut self, json: &str) {
        if let Some(ReviewNews::Pending { room, key }) = admin_msg::review_news(json) {
            self.wall.held_elsewhere.add(room, key, json.to_string());
        }
    }

    /// A held post's `pending` entry goes to the other nodes' admins too.
    pub(super) fn pending_everywhere(&mut self, json: &str, time: Time) {
        if let Some(cluster) = self.cluster.as_mut() {
            cluster.bus_send(Bus::Feed, json, time.now);
        }
    }
}
