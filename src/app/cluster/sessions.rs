//! The shell's side of a node's cluster state: the two Redis sessions, the bytes and events
//! they carry, the node being up or down, and the commands in flight.

use std::rc::Rc;
use std::time::Instant;

use super::{Cluster, Pending, READ_RETRY};
use crate::app::{Action, Time};
use crate::protocol::cluster_script as cs;
use crate::protocol::redis_session::{Failure, RedisEvent, RedisSession, SessionRole, SubKind};
use crate::wire::resp::Value;

impl Cluster {
    pub(in crate::app) fn tick(&mut self, time: Time) {
        self.clock = Some((time.now, time.unix_ms));
    }

    /// `now` with the Unix time the shell's latest reading implies.
    pub(in crate::app) fn time_at(&self, now: Instant) -> Time {
        let unix_ms = self.clock.map_or(0, |(at, ms)| ms + now.saturating_duration_since(at).as_millis() as u64);
        Time { now, unix_ms }
    }

    pub(in crate::app) fn session(&mut self, role: SessionRole) -> &mut Option<RedisSession> {
        match role {
            SessionRole::Commands => &mut self.commands,
            SessionRole::Subscriber => &mut self.subscriber,
        }
    }

    /// Where Redis is, for log lines.
    pub fn address(&self) -> &str {
        &self.where_
    }

    /// The shell opened a TCP connection for `role`: a new session (its handshake queued).
    pub fn start_session(&mut self, role: SessionRole, now: Instant) {
        let session = RedisSession::new(self.config.clone(), role, now);
        *self.session(role) = Some(session);
    }

    /// The shell should drop the connection of `role` and connect again later.
    pub fn session_failed(&self, role: SessionRole) -> bool {
        let s = if role == SessionRole::Commands { &self.commands } else { &self.subscriber };
        s.as_ref().is_some_and(RedisSession::is_failed)
    }

    pub fn session_ready(&self, role: SessionRole) -> bool {
        let s = if role == SessionRole::Commands { &self.commands } else { &self.subscriber };
        s.as_ref().is_some_and(RedisSession::is_ready)
    }

    pub fn take_output(&mut self, role: SessionRole) -> Vec<u8> {
        self.session(role).as_mut().map(RedisSession::take_output).unwrap_or_default()
    }

    /// Bytes read from the connection of `role`.
    pub fn feed(&mut self, role: SessionRole, data: &[u8], time: Time, actions: &mut Vec<Action>) {
        let mut events = Vec::new();
        if let Some(s) = self.session(role) {
            s.feed(data, time.now, &mut events);
        }
        self.on_events(role, events, time, actions);
    }

    /// The connection of `role` ended (EOF, an error, a refused connect).
    pub fn closed(&mut self, role: SessionRole, time: Time, actions: &mut Vec<Action>) {
        let mut events = Vec::new();
        match self.session(role) {
            Some(s) => s.on_closed(&mut events),
            // Never got as far as a session: count it as a failed attempt.
            None => events.push(RedisEvent::Failed { failure: Failure::Closed, unanswered: Vec::new() }),
        }
        self.on_events(role, events, time, actions);
    }

    /// Deadlines, probes, and reads Redis refused, tried again; call at
    /// [`next_wake`](Self::next_wake).
    pub fn on_timer(&mut self, time: Time, actions: &mut Vec<Action>) {
        for role in [SessionRole::Commands, SessionRole::Subscriber] {
            let mut events = Vec::new();
            if let Some(s) = self.session(role) {
                s.on_timer(time.now, &mut events);
            }
            self.on_events(role, events, time, actions);
        }
        if self.read_retry.is_some_and(|at| time.now >= at) {
            self.read_retry = None;
            let again: Vec<Rc<str>> =
                self.rooms.values().filter(|r| r.again && r.reading.is_none()).map(|r| r.name.clone()).collect();
            for name in again {
                self.sync(&name, time);
            }
        }
    }

    pub fn next_wake(&self) -> Option<Instant> {
        let a = self.commands.as_ref().and_then(RedisSession::next_wake);
        let b = self.subscriber.as_ref().and_then(RedisSession::next_wake);
        a.into_iter().chain(b).chain(self.read_retry).min()
    }

    fn on_events(&mut self, role: SessionRole, events: Vec<RedisEvent>, time: Time, actions: &mut Vec<Action>) {
        self.tick(time);
        for event in events {
            match event {
                RedisEvent::Ready => self.on_ready(role, time),
                RedisEvent::Reply { tag, value } => self.on_reply(tag, &value, time, actions),
                RedisEvent::Subscription { kind: SubKind::Subscribe, channel, .. } => {
                    self.admin_subscribed |= channel == self.admin_channel.as_bytes();
                    self.on_subscribed(&channel, time)
                }
                RedisEvent::Subscription { .. } => {}
                RedisEvent::Message { channel, payload, .. } if channel == self.admin_channel.as_bytes() => {
                    self.on_bus(&payload, actions)
                }
                RedisEvent::Message { channel, payload, .. } => self.on_live(&channel, &payload, time, actions),
                RedisEvent::Failed { failure, unanswered } => self.on_failed(role, &failure, unanswered, actions),
            }
        }
        self.update_up(actions);
    }

    fn update_up(&mut self, actions: &mut Vec<Action>) {
        let up = self.session_ready(SessionRole::Commands) && self.session_ready(SessionRole::Subscriber);
        if up && !self.up {
            log::info!("connected to Redis at {}: the node serves the cluster's rooms", self.where_);
            self.logged = None;
        }
        if !up && self.up {
            self.release_all_acks(actions);
        }
        self.up = up;
        if !up {
            self.admin_subscribed &= self.session_ready(SessionRole::Subscriber);
            self.asked_holds = false;
        } else if self.admin_subscribed && !self.asked_holds {
            self.asked_holds = true;
            actions.push(Action::AskHolds);
        }
    }

    fn on_ready(&mut self, role: SessionRole, time: Time) {
        match role {
            SessionRole::Subscriber => {
                let rooms = self.rooms.values().map(|r| r.keys.channel.clone().into_bytes());
                let channels: Vec<Vec<u8>> = rooms.chain([self.admin_channel.clone().into_bytes()]).collect();
                for room in self.rooms.values_mut() {
                    room.subscribed = false;
                }
                if !channels.is_empty()
                    && let Some(s) = &mut self.subscriber
                {
                    let refs: Vec<&[u8]> = channels.iter().map(Vec::as_slice).collect();
                    s.subscribe(SubKind::Subscribe, &refs, time.now);
                }
            }
            SessionRole::Commands => {
                let names: Vec<Rc<str>> = self.rooms.keys().cloned().collect();
                for name in names {
                    self.sync(&name, time);
                }
            }
        }
    }

    fn on_failed(&mut self, role: SessionRole, failure: &Failure, unanswered: Vec<u64>, actions: &mut Vec<Action>) {
        let reason = failure.to_string();
        if self.logged.as_deref() != Some(reason.as_str()) {
            let what = if self.up { "lost Redis" } else { "cannot use Redis" };
            let message = format!("{what} at {} ({reason}): posts are refused until it is back", self.where_);
            match failure {
                Failure::AuthFailed(_) => log::error!("{message}"),
                _ => log::warn!("{message}"),
            }
            self.logged = Some(reason);
        }
        if role == SessionRole::Subscriber {
            for room in self.rooms.values_mut() {
                room.subscribed = false;
            }
        }
        for tag in unanswered {
            match self.pending.remove(&tag) {
                Some(Pending::Post { token, generation, reference, .. }) => {
                    self.refuse(token, generation, reference.as_deref(), actions)
                }
                Some(Pending::Read { room }) => {
                    if let Some(r) = self.rooms.get_mut(&room) {
                        r.reading = None;
                    }
                }
                Some(Pending::Note(what)) => log::warn!("{what}: Redis went away before it answered"),
                None => {}
            }
        }
    }

    /// Sends a command on the commands session; false (nothing sent) if there is none.
    pub(in crate::app) fn command(&mut self, call: &cs::ScriptCall, pending: Pending, now: Instant) -> Option<u64> {
        self.raw_command(&call.evalsha(), pending, now)
    }

    /// Sends any command (its arguments) on the commands session.
    pub(in crate::app) fn raw_command(&mut self, args: &[Vec<u8>], pending: Pending, now: Instant) -> Option<u64> {
        let session = self.commands.as_mut().filter(|s| !s.is_failed())?;
        let tag = self.next_tag;
        self.next_tag += 1;
        let refs: Vec<&[u8]> = args.iter().map(Vec::as_slice).collect();
        session.command(tag, &refs, now);
        self.pending.insert(tag, pending);
        Some(tag)
    }

    pub(in crate::app) fn read_command(&mut self, call: &cs::ScriptCall, room: Rc<str>, now: Instant) -> Option<u64> {
        self.command(call, Pending::Read { room }, now)
    }

    pub(in crate::app) fn subscribe(&mut self, kind: SubKind, channel: &str, now: Instant) {
        if let Some(s) = self.subscriber.as_mut().filter(|s| s.is_ready()) {
            s.subscribe(kind, &[channel.as_bytes()], now);
        }
    }

    pub(in crate::app) fn on_reply(&mut self, tag: u64, value: &Value, time: Time, actions: &mut Vec<Action>) {
        match self.pending.remove(&tag) {
            Some(Pending::Post { token, generation, reference, feed }) => match cs::parse_published(value) {
                Ok((epoch, id)) => {
                    self.posts_accepted += 1;
                    if let Some(feed) = &feed {
                        self.feed_post(feed, id, actions);
                    }
                    if let (Some(reference), Some(feed)) = (reference, feed) {
                        self.ack(&feed.room, &epoch, id, (token, generation), reference, actions);
                    }
                }
                Err(why) => {
                    log::warn!("Redis refused a post: {why}");
                    self.refuse(token, generation, reference.as_deref(), actions);
                }
            },
            Some(Pending::Read { room }) => match cs::parse_history(value) {
                Ok(history) => self.on_history(&room, tag, history, time, actions),
                Err(why) => {
                    log::warn!("Redis refused a history read of room '{room}': {why}; trying again shortly");
                    if let Some(r) = self.rooms.get_mut(&room) {
                        r.reading = None;
                        r.again = true; // its joiners still wait for their hello
                        self.read_retry.get_or_insert(time.now + READ_RETRY);
                    }
                }
            },
            Some(Pending::Note(what)) => {
                if let Value::Error(e) = value {
                    log::warn!("{what}: Redis answered {}", String::from_utf8_lossy(e));
                }
            }
            None => {}
        }
    }
}
