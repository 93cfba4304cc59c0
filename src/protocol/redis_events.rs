//! What a Redis session is set up with and what it tells the shell: its role, its
//! configuration, the pub/sub commands, the ways it can fail, and its events. The state
//! machine itself is [`super::redis_session`].

use std::fmt;
use std::time::Duration;

use crate::wire::resp::{RespError, RespLimits, Value};

/// What the connection is for. On a subscriber, `message` and `pmessage` arrays are pushes,
/// not replies (on a command connection an array starting with "message" is just data).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SessionRole {
    Commands,
    Subscriber,
}

/// How to log in and how long to wait.
#[derive(Debug, Clone)]
pub struct RedisConfig {
    /// `AUTH user password` with a user (Redis 6 ACL), `AUTH password` without.
    pub user: Option<String>,
    /// No AUTH when `None`.
    pub password: Option<String>,
    /// `SELECT db` when not 0.
    pub db: u32,
    /// Scripts to `SCRIPT LOAD` during the handshake, so `EVALSHA` finds them.
    pub scripts: Vec<&'static str>,
    /// Every reply, the handshake's included, must arrive this long after its command was
    /// queued (the handshake's clock starts with the session, so it bounds the TCP connect).
    pub reply_timeout: Duration,
    /// Liveness probe: a PING after this long without any byte from Redis. `None`: off.
    pub ping_interval: Option<Duration>,
    pub limits: RespLimits,
    /// Largest reply, in bytes: one past it fails the session, whether it arrives whole or
    /// in pieces (an incomplete one is refused as soon as it is this long).
    pub max_buffer: usize,
}

impl Default for RedisConfig {
    fn default() -> Self {
        RedisConfig {
            user: None,
            password: None,
            db: 0,
            scripts: Vec::new(),
            reply_timeout: Duration::from_secs(2),
            ping_interval: Some(Duration::from_secs(5)),
            limits: RespLimits::default(),
            max_buffer: 32 << 20,
        }
    }
}

/// The pub/sub commands and their confirmations (Redis Pub/Sub: "subscribe",
/// "unsubscribe", "psubscribe", "punsubscribe" as the first element of the reply).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubKind {
    Subscribe,
    Unsubscribe,
    PSubscribe,
    PUnsubscribe,
}

impl SubKind {
    pub fn command(self) -> &'static [u8] {
        match self {
            SubKind::Subscribe => b"SUBSCRIBE",
            SubKind::Unsubscribe => b"UNSUBSCRIBE",
            SubKind::PSubscribe => b"PSUBSCRIBE",
            SubKind::PUnsubscribe => b"PUNSUBSCRIBE",
        }
    }

    pub(super) fn reply_name(self) -> &'static [u8] {
        match self {
            SubKind::Subscribe => b"subscribe",
            SubKind::Unsubscribe => b"unsubscribe",
            SubKind::PSubscribe => b"psubscribe",
            SubKind::PUnsubscribe => b"punsubscribe",
        }
    }
}

/// Why a session ended. After it, the session ignores input; the shell reconnects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// AUTH refused (`-WRONGPASS`, `-ERR ... without any password configured`), or a command
    /// refused with `-NOAUTH` (Redis wants a password we do not have).
    AuthFailed(String),
    /// No reply within [`RedisConfig::reply_timeout`]; says what was awaited.
    Timeout(&'static str),
    /// The byte stream is not RESP2.
    Protocol(RespError),
    /// A reply longer than [`RedisConfig::max_buffer`].
    ReplyTooLarge { max: usize },
    /// A reply that fits no command (or a push on a command connection).
    Unexpected(String),
    /// `SELECT`, `SCRIPT LOAD` or the handshake `PING` answered with an error (e.g. `-LOADING`).
    Handshake(String),
    /// `-NOSCRIPT`: the script cache was flushed under us; reconnecting reloads it, and
    /// failing here keeps later pipelined commands from overtaking the refused one.
    NoScript(String),
    /// The shell reported the TCP connection closed.
    Closed,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::AuthFailed(m) => write!(f, "Redis refused the credentials: {m}"),
            Failure::Timeout(what) => write!(f, "no reply from Redis to {what} in time"),
            Failure::Protocol(e) => write!(f, "malformed reply from Redis: {e}"),
            Failure::ReplyTooLarge { max } => write!(f, "reply from Redis larger than {max} bytes"),
            Failure::Unexpected(m) => write!(f, "unexpected reply from Redis: {m}"),
            Failure::Handshake(m) => write!(f, "Redis handshake failed: {m}"),
            Failure::NoScript(m) => write!(f, "Redis lost our scripts: {m}"),
            Failure::Closed => f.write_str("connection to Redis closed"),
        }
    }
}

/// What the session tells the shell, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RedisEvent {
    /// The handshake is done (once per session).
    Ready,
    /// The reply to the command queued with `tag`; an error reply is a `Value::Error`.
    Reply { tag: u64, value: Value },
    /// A (un)subscription confirmed; `count` is how many the connection now has.
    Subscription { kind: SubKind, channel: Vec<u8>, count: i64 },
    /// A published message; `pattern` is set for one matched by PSUBSCRIBE.
    Message { pattern: Option<Vec<u8>>, channel: Vec<u8>, payload: Vec<u8> },
    /// The session is over. `unanswered`: tags of the commands sent without a reply (their
    /// outcome is unknown: Redis may or may not have run them).
    Failed { failure: Failure, unanswered: Vec<u64> },
}
