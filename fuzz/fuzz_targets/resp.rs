//! `wire::resp`: the RESP2 reply parser and encoder, and `RedisSession::feed`.
//!
//! Properties: `parse` never panics; `Ok(Some((v, n)))` has `0 < n <= len`, parses the same
//! from `input[..n]`, every shorter prefix of it is `Ok(None)`, and `encode_value(v)` reads
//! back as `v` (its length equal to `n` when the input used the canonical forms: checked by
//! re-encoding). A value generated from the input encodes, parses back equal, and each of
//! its proper prefixes is `Ok(None)`; with a limit one below its size/depth it is refused.
//! A subscriber session fed the input whole or cut anywhere gives the same events.
#![no_main]

mod common;

use std::time::Instant;

use common::{Rng, splittings};
use danmaku_wall::protocol::redis_session::{RedisConfig, RedisEvent, RedisSession, SessionRole};
use danmaku_wall::wire::resp::{RespError, RespLimits, Value, encode_value, parse};
use libfuzzer_sys::fuzz_target;

const LIMITS: RespLimits = RespLimits { max_bulk: 1024, max_array: 64, max_depth: 6, max_line: 256 };

fn check_raw(data: &[u8]) {
    let Ok(Some((value, n))) = parse(data, &LIMITS) else { return };
    assert!(n > 0 && n <= data.len(), "consumed {n} of {}", data.len());
    assert_eq!(parse(&data[..n], &LIMITS), Ok(Some((value.clone(), n))));
    for cut in 0..n {
        assert_eq!(parse(&data[..cut], &LIMITS), Ok(None), "prefix {cut} of a {n}-byte reply");
    }
    let mut encoded = Vec::new();
    encode_value(&mut encoded, &value);
    assert_eq!(parse(&encoded, &LIMITS), Ok(Some((value, encoded.len()))), "re-encoded");
}

/// A value described by the input, within `LIMITS`; returns it and its depth.
fn generate(rng: &mut Rng, depth_left: usize) -> (Value, usize) {
    let line = |rng: &mut Rng| -> Vec<u8> { (0..rng.below(12)).map(|_| b"abcXYZ019 _-:+$*"[rng.below(16)]).collect() };
    match rng.below(if depth_left == 0 { 5 } else { 7 }) {
        0 => (Value::SimpleString(line(rng)), 0),
        1 => (Value::Error(line(rng)), 0),
        2 => (Value::Integer(rng.next_u64() as i64 >> rng.below(64)), 0),
        3 => (Value::Bulk(None), 0),
        4 => (Value::Bulk(Some((0..rng.below(40)).map(|_| rng.next_u64() as u8).collect())), 0),
        5 => (Value::Array(None), 0),
        _ => {
            let mut depth = 0;
            let items = (0..rng.below(5))
                .map(|_| {
                    let (v, d) = generate(rng, depth_left - 1);
                    depth = depth.max(d);
                    v
                })
                .collect();
            (Value::Array(Some(items)), depth + 1)
        }
    }
}

fn check_generated(rng: &mut Rng) {
    let (value, depth) = generate(rng, LIMITS.max_depth);
    let mut encoded = Vec::new();
    encode_value(&mut encoded, &value);
    assert_eq!(parse(&encoded, &LIMITS), Ok(Some((value.clone(), encoded.len()))), "{value:?}");
    for cut in 0..encoded.len() {
        assert_eq!(parse(&encoded[..cut], &LIMITS), Ok(None), "prefix {cut} of {value:?}");
    }
    if depth > 0 {
        let shallow = RespLimits { max_depth: depth - 1, ..LIMITS };
        assert_eq!(parse(&encoded, &shallow), Err(RespError::TooDeep { max: depth - 1 }), "{value:?}");
    }
}

fn session_events(pieces: &[&[u8]]) -> Vec<RedisEvent> {
    let now = Instant::now();
    let config = RedisConfig { limits: LIMITS, max_buffer: 2048, ..RedisConfig::default() };
    let mut s = RedisSession::new(config, SessionRole::Subscriber, now);
    let mut events = Vec::new();
    for piece in pieces {
        s.feed(piece, now, &mut events);
    }
    events
}

fuzz_target!(|data: &[u8]| {
    check_raw(data);
    let mut rng = Rng::from_input(data);
    check_generated(&mut rng);
    let whole = session_events(&[data]);
    assert!(whole.iter().filter(|e| matches!(e, RedisEvent::Failed { .. })).count() <= 1);
    for pieces in splittings(data, &mut rng, 512) {
        assert_eq!(session_events(&pieces), whole, "split into {} pieces", pieces.len());
    }
});
