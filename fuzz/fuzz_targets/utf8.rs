//! `utf8`: incremental UTF-8 validation (`wire::utf8::Utf8Validator`) and the text message
//! assembler of `WsConn` against `std::str::from_utf8`.
//!
//! Properties, for the input as the bytes to validate:
//! * fed whole, in pieces cut at input-derived points, and one byte at a time, the
//!   validator accepts (every `feed` and `finish` Ok) exactly when `from_utf8` does;
//! * it fails fast and exactly: the first `feed` that errs is the one whose piece holds the
//!   first byte that no valid UTF-8 can continue (found with `from_utf8` on prefixes); an
//!   input that is only cut short inside a character fails at `finish`, not before;
//! * as the payload of a text message fragmented at input-derived points (masked, as a
//!   client sends, with an empty ping sometimes between fragments) fed to a `Role::Server`
//!   conn: a `Message` with exactly these bytes if `from_utf8` is Ok, else a close frame
//!   with code 1007 then `Finish`; and the close is already out once the stream has been
//!   fed up to the frame that holds the first impossible byte (fail fast, Autobahn 6.4).
#![no_main]

mod common;

use std::time::{Duration, Instant};

use common::{Rng, cut_points, pieces};
use danmaku_wall::protocol::ws_conn::{Role, WsConn, WsEvent, WsLimits};
use danmaku_wall::wire::frame::{Opcode, encode_frame};
use danmaku_wall::wire::utf8::Utf8Validator;
use libfuzzer_sys::fuzz_target;

const LIMITS: WsLimits = WsLimits {
    max_message: 1 << 20,
    ping_interval: None,
    ping_timeout: Duration::from_secs(10),
    close_timeout: Duration::from_secs(10),
};

/// The index of the first byte at which `data` can no longer be UTF-8, if any: the smallest
/// `k` such that `data[..=k]` is not a prefix of any valid UTF-8.
fn first_impossible(data: &[u8]) -> Option<usize> {
    let e = std::str::from_utf8(data).err()?;
    e.error_len()?;
    let start = e.valid_up_to();
    // The bad sequence is at most 4 bytes from `start`; look for where it becomes impossible.
    (start..data.len()).find(|&k| std::str::from_utf8(&data[start..=k]).is_err_and(|e| e.error_len().is_some()))
}

/// Feeds `pieces`; returns the index of the piece whose `feed` failed (`pieces.len()` for
/// `finish`), or `None` if all went well.
fn validate(pieces: &[&[u8]]) -> Option<usize> {
    let mut v = Utf8Validator::new();
    for (i, p) in pieces.iter().enumerate() {
        if v.feed(p).is_err() {
            return Some(i);
        }
    }
    v.finish().is_err().then_some(pieces.len())
}

fn check_validator(data: &[u8], rng: &mut Rng) {
    let valid = std::str::from_utf8(data).is_ok();
    let impossible = first_impossible(data);
    if !valid {
        // Invalid, but not at a byte: the input stops inside a character.
        let truncated = impossible.is_none();
        assert_eq!(truncated, std::str::from_utf8(data).unwrap_err().error_len().is_none());
    }
    let mut ways: Vec<Vec<usize>> =
        vec![vec![], cut_points(data.len(), 1, rng), cut_points(data.len(), rng.range(2, 10), rng)];
    ways.push((1..data.len()).collect());
    for cuts in ways {
        let split = pieces(data, &cuts);
        let failed_at = validate(&split);
        assert_eq!(failed_at.is_none(), valid, "validator vs from_utf8 on {data:x?} cut at {cuts:?}");
        // Where it must fail: the piece holding the impossible byte, or at `finish`.
        let expect = match impossible {
            Some(k) => {
                let mut start = 0;
                split.iter().position(|p| {
                    let holds = k < start + p.len();
                    start += p.len();
                    holds
                })
            }
            None if !valid => Some(split.len()),
            None => None,
        };
        assert_eq!(
            failed_at, expect,
            "failed at the wrong piece: {data:x?} cut at {cuts:?}, impossible byte {impossible:?}"
        );
    }
}

fn check_assembler(data: &[u8], rng: &mut Rng) {
    let valid = std::str::from_utf8(data).is_ok();
    let impossible = first_impossible(data);
    // Fragments: the payload cut at a few points (empty fragments included).
    let frags = pieces(data, &cut_points(data.len(), rng.below(6), rng));
    let mut stream = Vec::new();
    // Where each payload byte lands in the stream, to find the frame of the impossible byte.
    let mut frame_ends: Vec<(usize, usize)> = Vec::new(); // (payload bytes so far, stream length)
    let mut so_far = 0;
    for (i, frag) in frags.iter().enumerate() {
        let opcode = if i == 0 { Opcode::Text } else { Opcode::Continuation };
        let key = (rng.next_u64() as u32).to_le_bytes();
        encode_frame(&mut stream, i + 1 == frags.len(), opcode, frag, Some(key));
        so_far += frag.len();
        frame_ends.push((so_far, stream.len()));
        if i + 1 < frags.len() && rng.below(4) == 0 {
            encode_frame(&mut stream, true, Opcode::Ping, b"", Some([1, 2, 3, 4]));
        }
    }
    let run = |cuts: &[usize]| {
        let mut conn = WsConn::new(Role::Server, LIMITS, Instant::now());
        let mut buf = stream.clone();
        let mut events = Vec::new();
        for piece in pieces_mut(&mut buf, cuts) {
            conn.feed(piece, &mut events);
        }
        events.retain(|e| !matches!(e, WsEvent::Send(f) if f.first() == Some(&0x8A))); // pongs
        events
    };
    let whole = run(&[]);
    if valid {
        let expect = vec![WsEvent::Message(danmaku_wall::protocol::ws_conn::Message {
            opcode: Opcode::Text,
            data: data.to_vec(),
        })];
        assert_eq!(whole, expect, "valid text, fragments {:?}", frags.iter().map(|f| f.len()).collect::<Vec<_>>());
    } else {
        assert_eq!(whole.len(), 2, "invalid text gave {whole:?}");
        let WsEvent::Send(close) = &whole[0] else { panic!("invalid text gave {whole:?}") };
        assert_eq!(&close[..4], &[0x88, close[1], 0x03, 0xEF], "not a close with 1007: {close:x?}");
        assert_eq!(whole[1], WsEvent::Finish);
    }
    let cuts = cut_points(stream.len(), rng.range(1, 6), rng);
    assert_eq!(run(&cuts), whole, "cut at {cuts:?}");
    if let Some(k) = impossible {
        // Feed only up to the end of the frame holding byte `k`: the close must be out.
        let (_, end) = frame_ends.iter().copied().find(|&(upto, _)| k < upto).expect("byte k in some frame");
        let mut conn = WsConn::new(Role::Server, LIMITS, Instant::now());
        let mut events = Vec::new();
        conn.feed(&mut stream[..end].to_vec(), &mut events);
        assert_eq!(events.last(), Some(&WsEvent::Finish), "no fail-fast: byte {k} is in the frame ending at {end}");
    }
}

/// `buf` cut at `cuts`, as mutable pieces.
fn pieces_mut<'a>(mut buf: &'a mut [u8], cuts: &[usize]) -> Vec<&'a mut [u8]> {
    let mut out = Vec::new();
    let mut start = 0;
    for &cut in cuts {
        let cut = cut.clamp(start, start + buf.len());
        let (a, b) = std::mem::take(&mut buf).split_at_mut(cut - start);
        out.push(a);
        buf = b;
        start = cut;
    }
    out.push(buf);
    out
}

fuzz_target!(|data: &[u8]| {
    let mut rng = Rng::from_input(data);
    check_validator(data, &mut rng);
    check_assembler(data, &mut rng);
});
