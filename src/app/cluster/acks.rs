//! A post's `ack` in a cluster waits until this node has delivered the post. The contract:
//! the sender gets `{"type":"ack",...}` "once the post is broadcast", and on a single node it
//! always comes after the danmaku. In a cluster Redis's reply to the publishing script (which
//! carries the id) and the room's channel message (which this node delivers) come on two
//! connections, in either order; an ack whose danmaku has not been delivered here yet waits
//! in [`Acks`] until it is.

use std::collections::HashMap;
use std::rc::Rc;

use super::Cluster;
use crate::app::{Action, Frame, text_frame};
use crate::wall::danmaku;

/// Most acks waiting in one room; past it an ack goes out at once (never lost, maybe early).
const MAX_WAITING: usize = 10_000;

/// One ack to send once danmaku `id` of `epoch` is delivered here.
#[derive(Debug)]
struct Waiting {
    epoch: Rc<str>,
    id: u64,
    token: usize,
    generation: u32,
    reference: String,
}

/// The acks waiting, by room.
#[derive(Debug, Default)]
pub struct Acks {
    rooms: HashMap<Rc<str>, Vec<Waiting>>,
}

impl Cluster {
    /// Redis numbered the post of `token` (`id` in `epoch`): its ack now if the node has
    /// delivered it (or cannot: no walls of the room here, another epoch), else once it has.
    pub(super) fn ack(
        &mut self,
        room: &Rc<str>,
        epoch: &str,
        id: u64,
        who: (usize, u32),
        reference: String,
        actions: &mut Vec<Action>,
    ) {
        let (token, generation) = who;
        let waiting = Waiting { epoch: epoch.into(), id, token, generation, reference };
        let queue = self.acks.rooms.entry(room.clone()).or_default();
        if queue.len() >= MAX_WAITING {
            log::warn!("room '{room}': {MAX_WAITING} acks wait for their danmaku; sending this one now");
            return self.send_ack(waiting, actions);
        }
        queue.push(waiting);
        self.release_acks(room, actions);
    }

    /// After a delivery in `room`: the acks whose danmaku is out (or will never come here).
    pub(in crate::app) fn release_acks(&mut self, room: &str, actions: &mut Vec<Action>) {
        let Some(queue) = self.acks.rooms.get_mut(room) else { return };
        let (epoch, last) = match self.rooms.get(room) {
            Some(r) => (r.epoch().map(Rc::clone), r.last_id()),
            None => (None, u64::MAX),
        };
        let due = |w: &Waiting| epoch.as_ref().is_none_or(|e| *e != w.epoch) || w.id <= last;
        let (ready, wait): (Vec<Waiting>, Vec<Waiting>) = std::mem::take(queue).into_iter().partition(|w| due(w));
        if wait.is_empty() {
            self.acks.rooms.remove(room);
        } else {
            *queue = wait;
        }
        for w in ready {
            self.send_ack(w, actions);
        }
    }

    /// Redis went away: every ack still waiting goes out now (Redis took those posts; their
    /// danmaku come with the read once it is back), so no poster waits through the outage.
    pub(in crate::app) fn release_all_acks(&mut self, actions: &mut Vec<Action>) {
        for w in std::mem::take(&mut self.acks.rooms).into_values().flatten() {
            self.send_ack(w, actions);
        }
    }

    /// The room has no walls here any more (its senders left: their acks are moot).
    pub(in crate::app) fn forget_acks(&mut self, room: &str) {
        self.acks.rooms.remove(room);
    }

    fn send_ack(&self, w: Waiting, actions: &mut Vec<Action>) {
        if self.generation(w.token) == w.generation {
            let ack = text_frame(&danmaku::ack_json(&w.reference, w.id));
            actions.push(Action::Send { to: w.token, frame: Frame::Owned(ack) });
        }
    }
}
