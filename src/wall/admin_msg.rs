//! The admin channel's messages (the contract's "Moderation (`/admin`)" section): requests an
//! admin sends on `/admin/ws`, parsed and checked here, and the JSON the server sends back (to
//! admins: `state`, `room`, `post`, `pending`, `decided`, `ok`, `error`; to walls and posters: `delete`,
//! `clear`, `held`). Strings are written by [`json::write_string`], the one JSON encoder.

use std::net::IpAddr;

use crate::wall::moderation::bans::MAX_BAN_SECONDS;
use crate::wall::moderation::rules::{MAX_SLOW_SECONDS, RoomRules};
use crate::wall::room::valid_room_name;
use crate::wire::json::{self, Value};

/// Deepest JSON nesting accepted in a request (`blocklist` holds arrays in an object).
pub const MAX_JSON_DEPTH: usize = 8;
/// Most phrases one `blocklist` request may add or remove.
pub const MAX_BLOCKLIST_EDIT: usize = 1000;
/// Longest `key` of `approve`/`reject`.
pub const MAX_KEY_LEN: usize = 64;
/// Largest danmaku id (JSON numbers are exact up to 2^53).
pub const MAX_ID: u64 = 1 << 53;

/// One request from an admin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AdminRequest {
    Auth { token: String },
    Delete { room: String, id: u64 },
    Clear { room: String },
    Ban { address: IpAddr, seconds: u64 },
    Hold { room: String, on: bool },
    Approve { room: String, key: String },
    Reject { room: String, key: String },
    Slow { room: String, seconds: u32 },
    Lock { room: String, on: bool },
    Blocklist { add: Vec<String>, remove: Vec<String> },
}

impl AdminRequest {
    /// The request's `type`, as the `ok` reply names it.
    pub fn type_name(&self) -> &'static str {
        match self {
            AdminRequest::Auth { .. } => "auth",
            AdminRequest::Delete { .. } => "delete",
            AdminRequest::Clear { .. } => "clear",
            AdminRequest::Ban { .. } => "ban",
            AdminRequest::Hold { .. } => "hold",
            AdminRequest::Approve { .. } => "approve",
            AdminRequest::Reject { .. } => "reject",
            AdminRequest::Slow { .. } => "slow",
            AdminRequest::Lock { .. } => "lock",
            AdminRequest::Blocklist { .. } => "blocklist",
        }
    }
}

/// Parses one admin request. The error is the reason sent back in `{"type":"error"}`; it never
/// quotes a `token`.
pub fn parse_request(text: &str) -> Result<AdminRequest, String> {
    let value = json::parse(text, MAX_JSON_DEPTH).map_err(|e| e.to_string())?;
    let Value::Object(_) = value else {
        return Err("an admin request must be a JSON object like {\"type\":\"clear\",\"room\":\"main\"}".to_string());
    };
    let kind = match value.get("type") {
        None => return Err("type is required".to_string()),
        Some(Value::String(s)) => s.as_str(),
        Some(_) => return Err("type must be a string".to_string()),
    };
    let v = &value;
    Ok(match kind {
        "auth" => AdminRequest::Auth { token: string(v, "token")?.to_string() },
        "delete" => AdminRequest::Delete { room: room(v)?, id: integer(v, "id", MAX_ID)? },
        "clear" => AdminRequest::Clear { room: room(v)? },
        "ban" => AdminRequest::Ban { address: address(v)?, seconds: integer(v, "seconds", MAX_BAN_SECONDS)? },
        "hold" => AdminRequest::Hold { room: room(v)?, on: boolean(v, "on")? },
        "approve" => AdminRequest::Approve { room: room(v)?, key: key(v)? },
        "reject" => AdminRequest::Reject { room: room(v)?, key: key(v)? },
        "slow" => AdminRequest::Slow {
            room: room(v)?,
            seconds: integer(v, "seconds", u64::from(MAX_SLOW_SECONDS))? as u32, // at most MAX_SLOW_SECONDS
        },
        "lock" => AdminRequest::Lock { room: room(v)?, on: boolean(v, "on")? },
        "blocklist" => AdminRequest::Blocklist { add: strings(v, "add")?, remove: strings(v, "remove")? },
        other => {
            let mut quoted = String::new();
            json::write_string(&mut quoted, &other.chars().take(32).collect::<String>());
            return Err(format!("unknown request type {quoted}"));
        }
    })
}

fn string<'a>(v: &'a Value, field: &str) -> Result<&'a str, String> {
    match v.get(field) {
        None => Err(format!("{field} is required")),
        Some(Value::String(s)) => Ok(s),
        Some(_) => Err(format!("{field} must be a string")),
    }
}

/// `room`: the contract's room name, letters, digits, `-`, `_`, 1..=32 long.
fn room(v: &Value) -> Result<String, String> {
    let name = string(v, "room")?;
    if !valid_room_name(name) {
        return Err("room must be 1 to 32 letters, digits, '-' or '_'".to_string());
    }
    Ok(name.to_string())
}

fn key(v: &Value) -> Result<String, String> {
    let key = string(v, "key")?;
    if key.is_empty() || key.len() > MAX_KEY_LEN {
        return Err(format!("key must be 1 to {MAX_KEY_LEN} bytes long"));
    }
    Ok(key.to_string())
}

fn address(v: &Value) -> Result<IpAddr, String> {
    let text = string(v, "address")?;
    text.trim().parse::<IpAddr>().map(|a| a.to_canonical()).map_err(|_| "address must be an IP address".to_string())
}

fn boolean(v: &Value, field: &str) -> Result<bool, String> {
    match v.get(field) {
        None => Err(format!("{field} is required")),
        Some(Value::Bool(b)) => Ok(*b),
        Some(_) => Err(format!("{field} must be true or false")),
    }
}

/// A whole number in `0..=max`.
fn integer(v: &Value, field: &str, max: u64) -> Result<u64, String> {
    let n = match v.get(field) {
        None => return Err(format!("{field} is required")),
        Some(Value::Number(n)) => *n,
        Some(_) => return Err(format!("{field} must be a number")),
    };
    if !(n.is_finite() && n.fract() == 0.0 && n >= 0.0 && n <= max as f64) {
        return Err(format!("{field} must be a whole number from 0 to {max}"));
    }
    Ok(n as u64) // exact: a whole number no larger than 2^53
}

/// An optional array of strings (missing = empty).
fn strings(v: &Value, field: &str) -> Result<Vec<String>, String> {
    let items = match v.get(field) {
        None => return Ok(Vec::new()),
        Some(Value::Array(items)) => items,
        Some(_) => return Err(format!("{field} must be an array of strings")),
    };
    if items.len() > MAX_BLOCKLIST_EDIT {
        return Err(format!("{field} holds {} entries, at most {MAX_BLOCKLIST_EDIT}", items.len()));
    }
    items
        .iter()
        .map(|item| item.as_str().map(str::to_string).ok_or_else(|| format!("{field} must be an array of strings")))
        .collect()
}

// ---- server to admin ------------------------------------------------------------------

/// One room as the admin sees it (a `rooms` entry of `state`, and the `room` event).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RoomState<'a> {
    pub room: &'a str,
    /// Open `/ws` connections in the room.
    pub members: usize,
    /// Id of the room's latest danmaku (0 if none).
    pub last: u64,
    pub rules: RoomRules,
}

/// The fields of a danmaku the admin feed shows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PostView<'a> {
    pub msg: &'a str,
    /// `#rrggbb`, lowercase.
    pub color: &'a str,
    pub size: &'a str,
    pub mode: &'a str,
}

impl<'a> PostView<'a> {
    pub fn of(d: &'a crate::wall::danmaku::Danmaku) -> Self {
        PostView { msg: &d.msg, color: d.color_str(), size: d.size.as_str(), mode: d.mode.as_str() }
    }
}

/// Appends `"name":` then `value` written as a JSON string.
fn put_str(out: &mut String, name: &str, value: &str) {
    out.push_str(",\"");
    out.push_str(name);
    out.push_str("\":");
    json::write_string(out, value);
}

/// Appends `"name":value` for a value that is already JSON (a number or a boolean).
fn put_raw(out: &mut String, name: &str, value: impl std::fmt::Display) {
    use std::fmt::Write;
    let _ = write!(out, ",\"{name}\":{value}"); // writing to a String cannot fail
}

/// `"room":R,"members":N,...` (no leading comma).
fn room_fields(out: &mut String, r: &RoomState<'_>) {
    out.push_str("\"room\":");
    json::write_string(out, r.room);
    put_raw(out, "members", r.members);
    put_raw(out, "last", r.last);
    put_raw(out, "hold", r.rules.hold);
    put_raw(out, "lock", r.rules.lock);
    put_raw(out, "slow", r.rules.slow);
}

fn post_fields(out: &mut String, p: &PostView<'_>) {
    put_str(out, "msg", p.msg);
    put_str(out, "color", p.color);
    put_str(out, "size", p.size);
    put_str(out, "mode", p.mode);
}

/// `{"type":"state","rooms":[...],"blocklist":[...],"bans":[{"address":A,"until":UNIX_MS}]}`
pub fn state_json<'a>(
    rooms: &[RoomState<'_>],
    blocklist: impl IntoIterator<Item = &'a str>,
    bans: &[(IpAddr, u64)],
) -> String {
    let mut out = String::from("{\"type\":\"state\",\"rooms\":[");
    for (i, r) in rooms.iter().enumerate() {
        out.push_str(if i == 0 { "{" } else { ",{" });
        room_fields(&mut out, r);
        out.push('}');
    }
    out.push_str("],\"blocklist\":[");
    for (i, phrase) in blocklist.into_iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        json::write_string(&mut out, phrase);
    }
    out.push_str("],\"bans\":[");
    for (i, (address, until)) in bans.iter().enumerate() {
        out.push_str(if i == 0 { "{\"address\":" } else { ",{\"address\":" });
        json::write_string(&mut out, &address.to_canonical().to_string());
        put_raw(&mut out, "until", until);
        out.push('}');
    }
    out.push_str("]}");
    out
}

/// `{"type":"room","room":R,"members":N,"last":ID,"hold":B,"lock":B,"slow":S}`
pub fn room_json(r: &RoomState<'_>) -> String {
    let mut out = String::from("{\"type\":\"room\",");
    room_fields(&mut out, r);
    out.push('}');
    out
}

/// `{"type":"post","room":R,"id":N,"msg":...,"color":...,"size":...,"mode":...,"time":T,"from":A}`
pub fn post_json(room: &str, id: u64, post: &PostView<'_>, unix_ms: u64, from: IpAddr) -> String {
    let mut out = String::from("{\"type\":\"post\"");
    put_str(&mut out, "room", room);
    put_raw(&mut out, "id", id);
    post_fields(&mut out, post);
    put_raw(&mut out, "time", unix_ms);
    put_str(&mut out, "from", &from.to_canonical().to_string());
    out.push('}');
    out
}

/// `{"type":"pending","room":R,"key":K,"msg":...,"color":...,"size":...,"mode":...,"from":A}`
pub fn pending_json(room: &str, key: &str, post: &PostView<'_>, from: IpAddr) -> String {
    let mut out = String::from("{\"type\":\"pending\"");
    put_str(&mut out, "room", room);
    put_str(&mut out, "key", key);
    post_fields(&mut out, post);
    put_str(&mut out, "from", &from.to_canonical().to_string());
    out.push('}');
    out
}

/// `{"type":"decided","room":R,"key":K,"approved":BOOL}`: a held post was approved or rejected
/// (by another admin, or on another node). Not in the contract's feed list: an addition, so
/// that every admin page takes the `.pending` entry away (the deciding admin's page does so
/// on its own, and its request gets `ok` instead).
pub fn decided_json(room: &str, key: &str, approved: bool) -> String {
    let mut out = String::from("{\"type\":\"decided\"");
    put_str(&mut out, "room", room);
    put_str(&mut out, "key", key);
    put_raw(&mut out, "approved", approved);
    out.push('}');
    out
}

/// A feed entry from another node that changes what is waiting for review.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReviewNews {
    /// A `pending` entry: the post `key` waits in `room` (on that node).
    Pending { room: String, key: String },
    /// A `decided` entry: it does not wait any more.
    Decided { room: String, key: String },
}

/// What a feed entry (as [`pending_json`] or [`decided_json`] wrote it) says about review;
/// `None` for every other entry, or one that does not parse.
pub fn review_news(json: &str) -> Option<ReviewNews> {
    if !json.starts_with("{\"type\":\"pending\"") && !json.starts_with("{\"type\":\"decided\"") {
        return None; // the common case, a `post`, is not parsed at all
    }
    let v = json::parse(json, MAX_JSON_DEPTH).ok()?;
    let (room, key) = (room(&v).ok()?, key(&v).ok()?);
    match v.get("type") {
        Some(Value::String(t)) if t == "pending" => Some(ReviewNews::Pending { room, key }),
        Some(Value::String(t)) if t == "decided" => Some(ReviewNews::Decided { room, key }),
        _ => None,
    }
}

/// `{"type":"ok","request":TYPE}`
pub fn ok_json(request: &str) -> String {
    let mut out = String::from("{\"type\":\"ok\"");
    put_str(&mut out, "request", request);
    out.push('}');
    out
}

/// `{"type":"error","error":REASON}`
pub fn error_json(reason: &str) -> String {
    let mut out = String::from("{\"type\":\"error\"");
    put_str(&mut out, "error", reason);
    out.push('}');
    out
}

// ---- server to walls and posters ------------------------------------------------------

/// `{"type":"delete","id":N}`, to every wall of the room.
pub fn delete_json(id: u64) -> String {
    format!("{{\"type\":\"delete\",\"id\":{id}}}")
}

/// `{"type":"clear"}`, to every wall of the room.
pub fn clear_json() -> String {
    "{\"type\":\"clear\"}".to_string()
}

#[cfg(test)]
#[path = "admin_msg_tests.rs"]
mod tests;
