//! The cluster's room state in Redis: Lua scripts that number, store and publish danmaku and
//! moderation events atomically, and the pure helpers around them (key names, arguments,
//! reply and message parsing). Redis documentation, "Scripting with Lua": a script "is
//! executed atomically", no other command runs meanwhile.
//!
//! Prior art: Centrifuge (the engine of Centrifugo) publishes with one script per message
//! that bumps a per-channel offset kept in a hash next to an epoch (made when absent), appends
//! the message to a size-capped stream whose entry id is that offset, refreshes expiries, and
//! publishes the message with offset and epoch in front; every node, the publisher included,
//! delivers only what arrives through the subscription. We follow the same shape, written
//! anew for our needs: the id goes into the danmaku JSON itself, moderation events share the
//! stream, and trimming by age keeps a `floor` so a resume knows whether it lost anything.
//!
//! Per room `R` and prefix `P` (`--redis-prefix`, default `danmaku:`), with `{R}` as the Redis
//! Cluster hash tag so that every key of a room lives in one slot:
//! - `P{R}:meta`, a hash: `epoch`, `top` (the latest danmaku id), `seq` (moderation events
//!   since that danmaku), `floor` (no danmaku with a larger id was dropped by size or age).
//! - `P{R}:history`, a stream. Entry id `N-0` is danmaku `N`; `N-k` (k ≥ 1) is the k-th
//!   moderation event after danmaku `N` was the latest. Fields: `t` (unix ms), `j` (the JSON
//!   frame sent to walls).
//! - `P{R}:live:D`, the pub/sub channel, `D` the database number. Message: `EPOCH|N-k|JSON`.
//!   Keys belong to the database `SELECT` chose, but pub/sub does not: Redis documentation,
//!   "Pub/Sub", "Database & Scoping": "Pub/Sub has no relation to the key space ... Publishing on
//!   db 10, will be heard by a subscriber on db 1." The number in the name keeps nodes on
//!   different databases apart, as keys are.

use crate::wire::resp::Value;

pub use super::cluster_lua::{EVENT, PUBLISH, READ};

/// The SHA1 of a script, in hex, as `EVALSHA` wants it.
pub fn sha1_hex(script: &str) -> String {
    use sha1::{Digest, Sha1};
    Sha1::digest(script.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

/// A room's keys and channel (see the module documentation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoomKeys {
    pub meta: String,
    pub history: String,
    pub channel: String,
}

impl RoomKeys {
    /// `prefix` must not contain `{` (Redis Cluster hashes the first `{...}` of a key); room
    /// names are letters, digits, `-` and `_` (the contract), so `{room}` is the hash tag. `db`
    /// is the database the keys live in; it names the channel (see the module documentation).
    pub fn new(prefix: &str, db: u32, room: &str) -> RoomKeys {
        RoomKeys {
            meta: format!("{prefix}{{{room}}}:meta"),
            history: format!("{prefix}{{{room}}}:history"),
            channel: format!("{prefix}{{{room}}}:live:{db}"),
        }
    }

    /// The room of a channel name made by [`RoomKeys::new`] with `prefix` and `db`.
    pub fn room_of_channel<'a>(prefix: &str, db: u32, channel: &'a [u8]) -> Option<&'a str> {
        let rest = channel.strip_prefix(prefix.as_bytes())?.strip_prefix(b"{")?;
        let rest = rest.strip_suffix(format!("}}:live:{db}").as_bytes())?;
        std::str::from_utf8(rest).ok()
    }

    /// The admin bus of the nodes sharing `prefix` and `db` (see `app::cluster::admin`).
    pub fn admin_channel(prefix: &str, db: u32) -> String {
        format!("{prefix}admin:{db}")
    }
}

/// History settings shared by every node (`--history`, `--history-ttl`, and how long an
/// untouched room's keys live).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HistoryPolicy {
    pub size: u64,
    pub age_ms: u64,
    pub key_ttl_secs: u64,
}

/// One script invocation: `EVAL`/`EVALSHA` arguments without the command and script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptCall {
    pub script: &'static str,
    pub keys: [String; 2],
    pub args: Vec<Vec<u8>>,
}

impl ScriptCall {
    /// `EVAL script 2 meta history ARGV...`: always works; sends the script every time.
    pub fn eval(&self) -> Vec<Vec<u8>> {
        self.command(b"EVAL", self.script.as_bytes().to_vec())
    }

    /// `EVALSHA sha 2 meta history ARGV...`: needs the script loaded (the session's
    /// handshake does `SCRIPT LOAD`); a `-NOSCRIPT` reply fails the session.
    pub fn evalsha(&self) -> Vec<Vec<u8>> {
        self.command(b"EVALSHA", sha1_hex(self.script).into_bytes())
    }

    fn command(&self, name: &[u8], script: Vec<u8>) -> Vec<Vec<u8>> {
        let mut out = vec![name.to_vec(), script, b"2".to_vec()];
        out.extend(self.keys.iter().map(|k| k.as_bytes().to_vec()));
        out.extend(self.args.iter().cloned());
        out
    }
}

fn keys_of(room: &RoomKeys) -> [String; 2] {
    [room.meta.clone(), room.history.clone()]
}

/// [`PUBLISH`] of a danmaku whose JSON after the id is `rest` (see [`danmaku_rest`]).
pub fn publish(room: &RoomKeys, policy: &HistoryPolicy, epoch: &str, rest: &str, now_ms: u64) -> ScriptCall {
    let args = [epoch, rest, &now_ms.to_string(), &policy.size.to_string(), &policy.age_ms.to_string()]
        .into_iter()
        .chain([policy.key_ttl_secs.to_string().as_str(), room.channel.as_str()])
        .map(|s| s.as_bytes().to_vec())
        .collect();
    ScriptCall { script: PUBLISH, keys: keys_of(room), args }
}

/// What a moderation event does to the stored history.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventAction {
    Delete(u64),
    Clear,
    None,
}

/// [`EVENT`]: append the wall frame `json` (e.g. `{"type":"clear"}`) after the latest danmaku.
pub fn event(
    room: &RoomKeys,
    policy: &HistoryPolicy,
    epoch: &str,
    json: &str,
    action: EventAction,
    now_ms: u64,
) -> ScriptCall {
    let (name, target) = match action {
        EventAction::Delete(id) => ("delete", id.to_string()),
        EventAction::Clear => ("clear", String::new()),
        EventAction::None => ("none", String::new()),
    };
    let args = [epoch, json, &now_ms.to_string(), &policy.size.to_string(), &policy.age_ms.to_string()]
        .into_iter()
        .chain([policy.key_ttl_secs.to_string().as_str(), room.channel.as_str(), name, target.as_str()])
        .map(|s| s.as_bytes().to_vec())
        .collect();
    ScriptCall { script: EVENT, keys: keys_of(room), args }
}

/// [`READ`]: the room's state, and with `after` every entry after that position (`None`:
/// the state alone, for `hello`). A resume from danmaku `since` is `after = (since, 0)`:
/// the events after danmaku `since` come too.
pub fn read(room: &RoomKeys, policy: &HistoryPolicy, epoch: &str, after: Option<Position>, now_ms: u64) -> ScriptCall {
    let start = after.map(|p| format!("{}-{}", p.id, p.seq.saturating_add(1))).unwrap_or_default();
    let args = [epoch, &start, &now_ms.to_string(), &policy.age_ms.to_string(), &policy.key_ttl_secs.to_string()]
        .iter()
        .map(|s| s.as_bytes().to_vec())
        .collect();
    ScriptCall { script: READ, keys: keys_of(room), args }
}

/// A place in a room's history: danmaku `id` (seq 0), or the `seq`-th event after it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Position {
    pub id: u64,
    pub seq: u64,
}

impl Position {
    /// A stream id `N-k`.
    pub fn parse(text: &[u8]) -> Option<Position> {
        let text = std::str::from_utf8(text).ok()?;
        let (id, seq) = text.split_once('-')?;
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        if !digits(id) || !digits(seq) {
            return None;
        }
        Some(Position { id: id.parse().ok()?, seq: seq.parse().ok()? })
    }

    /// Whether `next` follows this position with nothing in between (a danmaku after
    /// danmaku or events, or the next event after the same danmaku).
    pub fn is_followed_by(self, next: Position) -> bool {
        (next.seq == 0 && Some(next.id) == self.id.checked_add(1))
            || (next.id == self.id && Some(next.seq) == self.seq.checked_add(1))
    }
}

/// The danmaku JSON after its id, from a frame built with any id by
/// `wall::danmaku::broadcast_json`: [`PUBLISH`] puts the stored id in front of it.
pub fn danmaku_rest(broadcast_json: &str) -> Option<&str> {
    let rest = broadcast_json.strip_prefix(r#"{"type":"danmaku","id":"#)?;
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    let rest = &rest[digits..];
    (digits > 0 && rest.starts_with(',')).then_some(rest)
}

/// A message from a room channel: `EPOCH|N-k|JSON`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveMessage {
    pub epoch: String,
    pub pos: Position,
    pub json: Vec<u8>,
}

pub fn parse_live(payload: &[u8]) -> Option<LiveMessage> {
    let mut parts = payload.splitn(3, |&b| b == b'|');
    let epoch = std::str::from_utf8(parts.next()?).ok()?.to_string();
    let pos = Position::parse(parts.next()?)?;
    Some(LiveMessage { epoch, pos, json: parts.next()?.to_vec() })
}

/// The reply of [`READ`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct History {
    pub epoch: String,
    /// The latest danmaku id (the `last` of `hello`) and events after it.
    pub top: Position,
    /// No danmaku with an id above it was lost to size or age: a resume from `since` in this
    /// epoch is `recovered` iff `since >= floor`.
    pub floor: u64,
    pub entries: Vec<(Position, Vec<u8>)>,
}

fn text(v: &Value) -> Result<String, String> {
    v.as_bytes().map(|b| String::from_utf8_lossy(b).into_owned()).ok_or_else(|| format!("expected a string, got {v:?}"))
}

fn uint(v: &Value) -> Result<u64, String> {
    v.as_int().and_then(|n| u64::try_from(n).ok()).ok_or_else(|| format!("expected a count, got {v:?}"))
}

fn fields(reply: &Value, n: usize) -> Result<&[Value], String> {
    if let Value::Error(e) = reply {
        return Err(format!("script failed: {}", String::from_utf8_lossy(e)));
    }
    reply.as_array().filter(|a| a.len() == n).ok_or_else(|| format!("expected an array of {n}, got {reply:?}"))
}

/// The reply of [`PUBLISH`]: the epoch and the danmaku's id.
pub fn parse_published(reply: &Value) -> Result<(String, u64), String> {
    let f = fields(reply, 2)?;
    Ok((text(&f[0])?, uint(&f[1])?))
}

/// The reply of [`EVENT`]: the epoch and the event's position.
pub fn parse_event_reply(reply: &Value) -> Result<(String, Position), String> {
    let f = fields(reply, 3)?;
    Ok((text(&f[0])?, Position { id: uint(&f[1])?, seq: uint(&f[2])? }))
}

pub fn parse_history(reply: &Value) -> Result<History, String> {
    let f = fields(reply, 5)?;
    let list = f[4].as_array().ok_or("expected the entries as an array")?;
    let mut entries = Vec::with_capacity(list.len() / 2);
    for pair in list.chunks(2) {
        let [id, json] = pair else { return Err("odd number of entry fields".into()) };
        let pos = id.as_bytes().and_then(Position::parse).ok_or_else(|| format!("bad entry id {id:?}"))?;
        entries.push((pos, json.as_bytes().ok_or("entry JSON is not a string")?.to_vec()));
    }
    Ok(History {
        epoch: text(&f[0])?,
        top: Position { id: uint(&f[1])?, seq: uint(&f[2])? },
        floor: uint(&f[3])?,
        entries,
    })
}

/// An epoch name from 96 bits the caller drew (the contract: 1 to 32 letters, digits, `-`,
/// `_`): 16 characters of base 64url.
pub fn epoch_name(entropy: u128) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    (0..16).map(|i| ALPHABET[((entropy >> (6 * i)) & 63) as usize] as char).collect()
}

#[cfg(test)]
#[path = "cluster_script_tests.rs"]
mod tests;
