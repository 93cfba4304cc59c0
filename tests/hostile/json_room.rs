//! Mutated danmaku JSON on `/ws`, one room at a time: a sender posts valid, invalid and mutated
//! posts; each gets a broadcast (INTERFACE.md: ids from 1, up by one) or an error reply, and a
//! watcher in the same room gets exactly the broadcasts, byte for byte, in order.

use std::net::SocketAddr;
use std::time::Duration;

use danmaku_wall::wire::json::{self, Value};

use crate::common::{self, Recv, Rng, TEXT, Ws};
use crate::failures::show;
use crate::json_posts::{invalid_posts, mutate_json, valid_posts};

pub(crate) const JSON_SEED: u64 = 0xD4A1_5EED_0000_0003;
pub(crate) const JSON_ROOMS: usize = 4;
const JSON_POSTS_PER_ROOM: usize = 600;
const JSON_BATCH: usize = 40;

/// Checks a broadcast's fields; returns (id, msg).
fn check_danmaku(text: &str) -> Result<(u64, String), String> {
    let v = json::parse(text, 8).map_err(|e| format!("broadcast is not JSON ({e}): {text}"))?;
    let field = |k: &str| v.get(k).and_then(Value::as_str).ok_or_else(|| format!("no string {k} in {text}"));
    let id = v.get("id").and_then(Value::as_f64).ok_or_else(|| format!("no id in {text}"))?;
    let msg = field("msg")?;
    let chars = msg.chars().count();
    if !(1..=100).contains(&chars) || msg.trim() != msg || msg.chars().any(char::is_control) {
        return Err(format!("broadcast msg breaks the rules: {msg:?}"));
    }
    let color = field("color")?;
    if color.len() != 7
        || !color.starts_with('#')
        || !color[1..].bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return Err(format!("bad color {color:?}"));
    }
    if !["small", "medium", "large"].contains(&field("size")?) || !["scroll", "top", "bottom"].contains(&field("mode")?)
    {
        return Err(format!("bad size or mode in {text}"));
    }
    let time = v.get("time").and_then(Value::as_f64).ok_or_else(|| format!("no time in {text}"))?;
    if (common::unix_ms() as f64 - time).abs() > 60_000.0 {
        return Err(format!("time {time} is not now"));
    }
    Ok((id as u64, msg.to_string()))
}

/// Checks an error reply: `{"type":"error","error":"<reason>"}` with a reason.
fn check_error(text: &str) -> Result<(), String> {
    let v = json::parse(text, 8).map_err(|e| format!("reply is not JSON ({e}): {text}"))?;
    match (v.get("type").and_then(Value::as_str), v.get("error").and_then(Value::as_str)) {
        (Some("error"), Some(reason)) if !reason.trim().is_empty() => Ok(()),
        _ => Err(format!("neither a danmaku nor an error: {text}")),
    }
}

/// What a post is known to give, for the unmutated corpus.
enum Known {
    Msg(String),
    Error,
    Unknown,
}

/// A post as sent: what it is known to give, its description (seed, room, index, mutations)
/// and its text.
struct SentPost {
    expect: Known,
    what: String,
    text: String,
}

/// A room's counts so far: the id the next broadcast must carry, and the rejected posts.
struct Tally {
    next_id: u64,
    rejected: usize,
}

/// Runs the posts of one room; returns how many were broadcast and how many rejected.
pub(crate) fn json_room(addr: SocketAddr, room: usize) -> Result<(usize, usize), String> {
    let path = format!("/ws?room=fuzz{room}");
    let mut sender = Ws::try_connect(addr, &path)?;
    let mut watcher = Ws::try_connect(addr, &path)?;
    let valid = valid_posts();
    let invalid = invalid_posts();
    let mut tally = Tally { next_id: 1, rejected: 0 };
    for batch in 0..JSON_POSTS_PER_ROOM / JSON_BATCH {
        let sent = send_batch(&mut sender, room, batch, &valid, &invalid);
        let mut broadcasts = Vec::new();
        for post in sent {
            if let Some(broadcast) = check_reply(&mut sender, post, &mut tally)? {
                broadcasts.push(broadcast);
            }
        }
        check_watcher(&mut watcher, broadcasts, room, batch)?;
    }
    match watcher.recv_within(Duration::from_millis(300)) {
        Recv::Timeout => {}
        other => {
            return Err(format!("room {room}: the watcher got something extra: {other:?}"));
        }
    }
    // Both connections are still open and well.
    sender.assert_alive();
    watcher.assert_alive();
    Ok(((tally.next_id - 1) as usize, tally.rejected))
}

/// Post `index` of `room` (seeded by both): a valid post (70%) or an invalid one, mutated 1 to
/// 3 times in 75% of cases. Returns its text, what it is known to give, the mutations' names.
fn generate_post(
    room: usize,
    index: usize,
    valid: &[(String, String)],
    invalid: &[String],
) -> (String, Known, Vec<String>) {
    let mut rng = Rng::new(JSON_SEED.wrapping_add((room * 1_000_000 + index) as u64));
    let (mut text, mut expect) = if rng.percent(70) {
        let (t, m) = rng.pick(valid).clone();
        (t.chars().collect::<Vec<char>>(), Known::Msg(m))
    } else {
        (rng.pick(invalid).chars().collect(), Known::Error)
    };
    let mut names = Vec::new();
    if rng.percent(75) {
        for _ in 0..rng.range(1, 3) {
            names.push(mutate_json(&mut rng, &mut text));
        }
        expect = Known::Unknown;
    }
    (text.into_iter().collect(), expect, names)
}

/// Sends the `JSON_BATCH` posts of `batch` without waiting for replies (posts over 60,000
/// bytes are skipped); returns the posts sent, in order.
fn send_batch(
    sender: &mut Ws,
    room: usize,
    batch: usize,
    valid: &[(String, String)],
    invalid: &[String],
) -> Vec<SentPost> {
    let mut sent = Vec::new();
    for k in 0..JSON_BATCH {
        let index = batch * JSON_BATCH + k;
        let (text, expect, names) = generate_post(room, index, valid, invalid);
        if text.len() > 60_000 {
            continue;
        }
        sender.send_text(&text);
        sent.push(SentPost { expect, what: format!("seed {JSON_SEED:#x} room {room} post #{index} {names:?}"), text });
    }
    sent
}

/// Reads the reply to `post` and checks it: a broadcast (returned) with the next id and, for
/// a known valid post, its `msg`; or an error reply, never for a known valid post.
fn check_reply(sender: &mut Ws, post: SentPost, tally: &mut Tally) -> Result<Option<String>, String> {
    let SentPost { expect, what, text: post } = post;
    let reply = match sender.recv_within(Duration::from_secs(5)) {
        Recv::Frame(f) if f.opcode == TEXT && f.fin => {
            String::from_utf8(f.payload).map_err(|_| format!("{what}: reply not UTF-8"))?
        }
        other => {
            return Err(format!("{what}: expected a reply, got {other:?}; post {}", show(post.as_bytes(), 200)));
        }
    };
    let fail = |e: String| format!("{what}: {e}; post {}", show(post.as_bytes(), 200));
    if reply.starts_with(r#"{"type":"danmaku""#) {
        let (id, msg) = check_danmaku(&reply).map_err(fail)?;
        let next_id = tally.next_id;
        if id != next_id {
            return Err(fail(format!("id {id}, expected {next_id}")));
        }
        tally.next_id += 1;
        match expect {
            Known::Msg(m) if m != msg => return Err(fail(format!("msg {msg:?}, expected {m:?}"))),
            Known::Error => return Err(fail(format!("an invalid post was broadcast: {reply}"))),
            _ => {}
        }
        return Ok(Some(reply));
    }
    check_error(&reply).map_err(fail)?;
    if let Known::Msg(m) = expect {
        return Err(fail(format!("a valid post ({m:?}) was rejected: {reply}")));
    }
    tally.rejected += 1;
    Ok(None)
}

/// The other member gets exactly the broadcasts, byte for byte, in order.
fn check_watcher(watcher: &mut Ws, broadcasts: Vec<String>, room: usize, batch: usize) -> Result<(), String> {
    for b in broadcasts {
        match watcher.recv_within(Duration::from_secs(5)) {
            Recv::Frame(f) if f.opcode == TEXT && f.payload == b.as_bytes() => {}
            other => {
                return Err(format!("room {room} batch {batch}: the watcher expected {b}, got {other:?}"));
            }
        }
    }
    Ok(())
}
