//! What an admin's request means for the other nodes of a cluster (see
//! [`cluster::admin`](super::cluster) for how it travels). Without `--redis` every request is
//! this node's alone.
//!
//! - `delete`, `clear`: the room's history in Redis (one `EVENT` script), so every node's walls
//!   get it and no resume on any node replays the danmaku.
//! - `ban`, `hold`, `lock`, `slow`, `blocklist`: applied here at once (the admin's reply says
//!   how it went), then sent to every other node, which applies it too.
//! - `approve`, `reject`: a held post waits on the node that took it; its key starts with that
//!   node's name. A key of another node is sent there and answered `ok` (the other node logs
//!   a key that was decided meanwhile); one of ours is decided here.

use super::cluster::admin::Bus;
use super::{Action, App, Time};
use crate::protocol::cluster_script::EventAction;
use crate::wall::admin_msg::{self, AdminRequest};

impl App {
    /// Carries out one admin request here and, in a cluster, everywhere it must apply.
    pub(super) fn perform_everywhere(
        &mut self,
        request: AdminRequest,
        raw: &str,
        time: Time,
        actions: &mut Vec<Action>,
    ) -> Result<String, String> {
        if self.cluster.is_none() {
            return self.perform_admin(request, time, actions);
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
            AdminRequest::Approve { key, .. } | AdminRequest::Reject { key, .. } => !self.wall.held.is_own_key(key),
            _ => false,
        };
        let decided_here = matches!(request, AdminRequest::Approve { .. } | AdminRequest::Reject { .. });
        let done = if foreign_key {
            "(held on another node: sent there)".to_string()
        } else {
            self.perform_admin(request, time, actions)?
        };
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
        match self.perform_admin(request, time, actions) {
            Ok(done) => log::info!("admin on another node: {what} {done}"),
            Err(why) => log::warn!("admin request from another node not applied: {what}: {why}"),
        }
    }

    /// A held post's `pending` entry goes to the other nodes' admins too.
    pub(super) fn pending_everywhere(&mut self, json: &str, time: Time) {
        if let Some(cluster) = self.cluster.as_mut() {
            cluster.bus_send(Bus::Feed, json, time.now);
        }
    }
}
