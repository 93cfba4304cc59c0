//! One connection to Redis, sans I/O: the handshake, pipelined commands matched to their
//! replies in order, pub/sub, and deadlines (Redis documentation, "Redis serialization
//! protocol specification", sections "Sending commands to a Redis server" and "Pipelining";
//! "Redis Pub/Sub", section "Format of pushed messages").
//!
//! The shell opens a TCP connection, makes a [`RedisSession`] (which queues the handshake:
//! `AUTH`, `SELECT`, `SCRIPT LOAD`, `PING`), writes what [`take_output`](RedisSession::take_output)
//! returns, feeds what it reads to [`feed`](RedisSession::feed), and wakes it at
//! [`next_wake`](RedisSession::next_wake). Replies come back in the order the commands were
//! sent (RESP2 has no ids: Redis answers a pipeline in order), so each queued command keeps
//! its caller's tag and a deadline in a queue. Every failure (a reply past its deadline, a
//! refused password, a malformed reply) ends the session with one [`RedisEvent::Failed`],
//! which lists the tags left unanswered; the shell then drops the socket and reconnects.
//!
//! RESP2 only: a connection that has subscribed may only (un)subscribe and PING, so a node
//! keeps two sessions, [`SessionRole::Commands`] and [`SessionRole::Subscriber`].

use std::collections::VecDeque;
use std::time::Instant;

use crate::wire::resp::{self, Value};

pub use super::redis_events::{Failure, RedisConfig, RedisEvent, SessionRole, SubKind};

/// What a queued command's reply means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    Auth,
    Select,
    ScriptLoad,
    /// The handshake's last step: its answer makes the session ready.
    HelloPing,
    /// The liveness probe.
    Ping,
    Caller(u64),
    Sub(SubKind),
}

impl Expect {
    fn name(self) -> &'static str {
        match self {
            Expect::Auth => "AUTH",
            Expect::Select => "SELECT",
            Expect::ScriptLoad => "SCRIPT LOAD",
            Expect::HelloPing | Expect::Ping => "PING",
            Expect::Caller(_) => "a command",
            Expect::Sub(_) => "a (un)subscribe",
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Pending {
    expect: Expect,
    deadline: Instant,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Handshake,
    Ready,
    Failed,
}

/// One Redis connection's protocol state.
#[derive(Debug)]
pub struct RedisSession {
    role: SessionRole,
    config: RedisConfig,
    state: State,
    /// Commands sent, oldest first. Deadlines are queue time + one timeout, so they are in
    /// order too and the front's is the earliest.
    pending: VecDeque<Pending>,
    input: Vec<u8>,
    output: Vec<u8>,
    /// When the liveness PING is due (moved on by every byte received).
    next_ping: Option<Instant>,
    ping_in_flight: bool,
}

impl RedisSession {
    /// A session for a connection being opened now; the handshake is queued at once.
    pub fn new(config: RedisConfig, role: SessionRole, now: Instant) -> Self {
        let mut s = RedisSession {
            role,
            state: State::Handshake,
            pending: VecDeque::new(),
            input: Vec::new(),
            output: Vec::new(),
            next_ping: None,
            ping_in_flight: false,
            config,
        };
        if let Some(password) = s.config.password.clone() {
            match s.config.user.clone() {
                Some(user) => s.send(Expect::Auth, &[b"AUTH", user.as_bytes(), password.as_bytes()], now),
                None => s.send(Expect::Auth, &[b"AUTH", password.as_bytes()], now),
            }
        }
        if s.config.db != 0 {
            let db = s.config.db.to_string();
            s.send(Expect::Select, &[b"SELECT", db.as_bytes()], now);
        }
        for script in s.config.scripts.clone() {
            s.send(Expect::ScriptLoad, &[b"SCRIPT", b"LOAD", script.as_bytes()], now);
        }
        s.send(Expect::HelloPing, &[b"PING"], now);
        s
    }

    pub fn role(&self) -> SessionRole {
        self.role
    }

    pub fn is_ready(&self) -> bool {
        self.state == State::Ready
    }

    pub fn is_failed(&self) -> bool {
        self.state == State::Failed
    }

    /// Commands sent and not yet answered (handshake and probes included).
    pub fn in_flight(&self) -> usize {
        self.pending.len()
    }

    /// Queues a command; its reply comes back as [`RedisEvent::Reply`] with `tag`. May be
    /// called during the handshake (it is pipelined after it). Returns false, and sends
    /// nothing, once the session has failed.
    pub fn command(&mut self, tag: u64, args: &[&[u8]], now: Instant) -> bool {
        if self.state == State::Failed {
            return false;
        }
        self.send(Expect::Caller(tag), args, now);
        true
    }

    /// Queues `SUBSCRIBE`/`UNSUBSCRIBE`/`PSUBSCRIBE`/`PUNSUBSCRIBE` for `channels` (at least
    /// one: Redis confirms each one given, and the argument-less forms are not supported).
    pub fn subscribe(&mut self, kind: SubKind, channels: &[&[u8]], now: Instant) -> bool {
        if self.state == State::Failed || channels.is_empty() {
            return false;
        }
        let mut args: Vec<&[u8]> = vec![kind.command()];
        args.extend_from_slice(channels);
        resp::encode_command(&mut self.output, &args);
        let deadline = now + self.config.reply_timeout;
        self.pending.extend(channels.iter().map(|_| Pending { expect: Expect::Sub(kind), deadline }));
        true
    }

    fn send(&mut self, expect: Expect, args: &[&[u8]], now: Instant) {
        resp::encode_command(&mut self.output, args);
        self.pending.push_back(Pending { expect, deadline: now + self.config.reply_timeout });
    }

    /// The bytes to write, in order; the session forgets them.
    pub fn take_output(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.output)
    }

    pub fn has_output(&self) -> bool {
        !self.output.is_empty()
    }

    /// Bytes read from the socket, split anywhere.
    pub fn feed(&mut self, data: &[u8], now: Instant, events: &mut Vec<RedisEvent>) {
        if self.state == State::Failed || data.is_empty() {
            return;
        }
        self.input.extend_from_slice(data);
        if let Some(interval) = self.config.ping_interval {
            self.next_ping = Some(now + interval);
        }
        let mut used = 0;
        let result = loop {
            match resp::parse(&self.input[used..], &self.config.limits) {
                // Refused whole or in part alike, however the reads cut it.
                Ok(Some((_, n))) if n > self.config.max_buffer => {
                    break Err(Failure::ReplyTooLarge { max: self.config.max_buffer });
                }
                Ok(Some((value, n))) => {
                    used += n;
                    if let Err(failure) = self.on_value(value, now, events) {
                        break Err(failure);
                    }
                }
                Ok(None) if self.input.len() - used > self.config.max_buffer => {
                    break Err(Failure::ReplyTooLarge { max: self.config.max_buffer });
                }
                Ok(None) => break Ok(()),
                Err(e) => break Err(Failure::Protocol(e)),
            }
        };
        self.input.drain(..used);
        if let Err(failure) = result {
            self.fail(failure, events);
        }
    }

    /// One complete reply or push.
    fn on_value(&mut self, value: Value, now: Instant, events: &mut Vec<RedisEvent>) -> Result<(), Failure> {
        if self.role == SessionRole::Subscriber
            && let Some(message) = as_message(&value)
        {
            events.push(message);
            return Ok(());
        }
        let Some(pending) = self.pending.pop_front() else {
            return Err(Failure::Unexpected(format!("{} with no command waiting", describe(&value))));
        };
        if let Value::Error(e) = &value {
            let text = String::from_utf8_lossy(e).into_owned();
            if pending.expect == Expect::Auth || e.starts_with(b"NOAUTH") || e.starts_with(b"WRONGPASS") {
                return Err(Failure::AuthFailed(text));
            }
            if e.starts_with(b"NOSCRIPT") {
                return Err(Failure::NoScript(text));
            }
            if matches!(pending.expect, Expect::Select | Expect::ScriptLoad | Expect::HelloPing | Expect::Ping) {
                return Err(Failure::Handshake(format!("{}: {text}", pending.expect.name())));
            }
        }
        match pending.expect {
            Expect::Auth | Expect::Select | Expect::ScriptLoad => Ok(()),
            Expect::HelloPing => {
                self.state = State::Ready;
                self.next_ping = self.config.ping_interval.map(|i| now + i);
                events.push(RedisEvent::Ready);
                Ok(())
            }
            Expect::Ping => {
                self.ping_in_flight = false;
                Ok(())
            }
            Expect::Caller(tag) => {
                events.push(RedisEvent::Reply { tag, value });
                Ok(())
            }
            Expect::Sub(kind) => {
                let (channel, count) = as_confirmation(kind, value)?;
                events.push(RedisEvent::Subscription { kind, channel, count });
                Ok(())
            }
        }
    }

    /// Deadlines and the liveness probe. Call when [`next_wake`](Self::next_wake) has come.
    pub fn on_timer(&mut self, now: Instant, events: &mut Vec<RedisEvent>) {
        if self.state == State::Failed {
            return;
        }
        if let Some(front) = self.pending.front()
            && now >= front.deadline
        {
            return self.fail(Failure::Timeout(front.expect.name()), events);
        }
        if let (Some(due), Some(interval)) = (self.next_ping, self.config.ping_interval)
            && self.state == State::Ready
            && !self.ping_in_flight
            && now >= due
        {
            self.send(Expect::Ping, &[b"PING"], now);
            self.ping_in_flight = true;
            self.next_ping = Some(now + interval);
        }
    }

    /// When [`on_timer`](Self::on_timer) next has work to do.
    pub fn next_wake(&self) -> Option<Instant> {
        if self.state == State::Failed {
            return None;
        }
        let deadline = self.pending.front().map(|p| p.deadline);
        let ping = if self.state == State::Ready && !self.ping_in_flight { self.next_ping } else { None };
        match (deadline, ping) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// The shell saw the TCP connection end (EOF or an error).
    pub fn on_closed(&mut self, events: &mut Vec<RedisEvent>) {
        if self.state != State::Failed {
            self.fail(Failure::Closed, events);
        }
    }

    fn fail(&mut self, failure: Failure, events: &mut Vec<RedisEvent>) {
        let unanswered = self
            .pending
            .drain(..)
            .filter_map(|p| match p.expect {
                Expect::Caller(tag) => Some(tag),
                _ => None,
            })
            .collect();
        self.state = State::Failed;
        self.input = Vec::new();
        self.output = Vec::new();
        events.push(RedisEvent::Failed { failure, unanswered });
    }
}

/// A `message` or `pmessage` push (Redis Pub/Sub, "Format of pushed messages").
fn as_message(value: &Value) -> Option<RedisEvent> {
    let items = value.as_array()?;
    let bulk = |i: usize| match items.get(i) {
        Some(Value::Bulk(Some(b))) => Some(b.clone()),
        _ => None,
    };
    match (items.first()?.as_bytes()?, items.len()) {
        (b"message", 3) => Some(RedisEvent::Message { pattern: None, channel: bulk(1)?, payload: bulk(2)? }),
        (b"pmessage", 4) => Some(RedisEvent::Message { pattern: bulk(1), channel: bulk(2)?, payload: bulk(3)? }),
        _ => None,
    }
}

/// `[kind, channel, count]`, the confirmation of one channel of a (un)subscribe.
fn as_confirmation(kind: SubKind, value: Value) -> Result<(Vec<u8>, i64), Failure> {
    let unexpected = |v: &Value| Failure::Unexpected(format!("{} for {:?}", describe(v), kind));
    let Value::Array(Some(items)) = &value else { return Err(unexpected(&value)) };
    match items.as_slice() {
        [name, channel, Value::Integer(count)] if name.as_bytes() == Some(kind.reply_name()) => {
            // UNSUBSCRIBE of nothing answers with a null channel.
            let channel = channel.as_bytes().map(<[u8]>::to_vec).unwrap_or_default();
            Ok((channel, *count))
        }
        _ => Err(unexpected(&value)),
    }
}

/// A short description of a reply for error messages (never its whole payload).
fn describe(value: &Value) -> String {
    match value {
        Value::SimpleString(s) => format!("+{}", String::from_utf8_lossy(&s[..s.len().min(40)])),
        Value::Error(s) => format!("-{}", String::from_utf8_lossy(&s[..s.len().min(80)])),
        Value::Integer(n) => format!(":{n}"),
        Value::Bulk(None) => "a null bulk string".into(),
        Value::Bulk(Some(b)) => format!("a bulk string of {} bytes", b.len()),
        Value::Array(None) => "a null array".into(),
        Value::Array(Some(items)) => format!("an array of {}", items.len()),
    }
}

#[cfg(test)]
#[path = "redis_session_tests.rs"]
mod tests;
