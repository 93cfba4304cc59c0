//! What a wall receives in the cluster tests: danmaku ids apart from every other message, the
//! answer to a post, and waiting for one text.

use std::time::{Duration, Instant};

use danmaku_wall::kit::messages::{self, Ack};

use crate::common::{Recv, Ws, danmaku_id};

/// What a wall received, in order: danmaku ids, and any other message's text.
#[derive(Debug, Default)]
pub struct Seen {
    pub ids: Vec<u64>,
    pub others: Vec<String>,
}

/// Reads until `done(seen)` or `within` passes (then panics with what came).
pub fn read_until(ws: &mut Ws, within: Duration, done: impl Fn(&Seen) -> bool) -> Seen {
    let deadline = Instant::now() + within;
    let mut seen = Seen::default();
    while !done(&seen) {
        let left = deadline.saturating_duration_since(Instant::now());
        assert!(
            !left.is_zero(),
            "timed out: {} ids (last {:?}), others {:?}",
            seen.ids.len(),
            seen.ids.last(),
            seen.others
        );
        match ws.recv_within(left) {
            Recv::Frame(f) => match (messages::message_type(f.text().as_bytes()), danmaku_id(f.text().as_bytes())) {
                (Some(b"danmaku"), Some(id)) => seen.ids.push(id),
                _ => seen.others.push(f.text().to_string()),
            },
            Recv::Timeout => {}
            Recv::Eof => panic!("the wall was closed; seen {} ids, others {:?}", seen.ids.len(), seen.others),
        }
    }
    seen
}

/// Reads for `quiet` and asserts nothing came.
pub fn assert_silent(ws: &mut Ws, quiet: Duration) {
    if let Recv::Frame(f) = ws.recv_within(quiet) {
        panic!("expected nothing, got {}", f.text());
    }
}

/// Posts one danmaku with `reference` and returns the answer addressed to it (ack or error).
pub fn post(ws: &mut Ws, reference: &str) -> String {
    post_seen(ws, reference).0
}

/// [`post`], and the danmaku ids that came while waiting for the answer.
pub fn post_seen(ws: &mut Ws, reference: &str) -> (String, Vec<u64>) {
    ws.post("hello cluster", Some(reference));
    let seen = read_until(ws, Duration::from_secs(5), |s| s.others.iter().any(|o| o.contains(reference)));
    (seen.others.into_iter().find(|o| o.contains(reference)).unwrap(), seen.ids)
}

/// The id of an ack; panics if `text` is not one.
pub fn ack_id(text: &str) -> u64 {
    Ack::parse(text.as_bytes()).unwrap_or_else(|e| panic!("expected an ack: {e}: {text}")).id
}

/// Reads text frames until one satisfies `want` (returned), failing after `within`.
pub fn wait_text(ws: &mut Ws, within: Duration, want: impl Fn(&str) -> bool) -> String {
    let deadline = Instant::now() + within;
    let mut seen = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        assert!(!left.is_zero(), "timed out waiting; got {seen:?}");
        if let Recv::Frame(f) = ws.recv_within(left) {
            let text = f.text().to_string();
            if want(&text) {
                return text;
            }
            seen.push(text);
        }
    }
}
