//! Frame-level mutations of a client stream: each breaks one rule of RFC 6455 §5 (reserved
//! bits and opcodes §5.2, masking §5.3, fragmentation §5.4, control frames §5.5, UTF-8 text
//! §8.1, close codes §7.4) or bends one without breaking it (a longer length form).

use crate::client_frame::{CFrame, DeclaredLen};
use crate::common::{CLOSE, CONTINUATION, PING, Rng, TEXT};
use crate::echo_exchange::WS_MAX_MESSAGE;
use crate::failures::show;
use crate::frame_streams::{random_bytes, random_payload, random_text};

/// Byte sequences that are not UTF-8: a lone 0xff, overlong, surrogate, above U+10FFFF,
/// truncated, a lone continuation byte, a 5-byte form, a lead byte alone.
const BAD_UTF8: [&[u8]; 8] = [
    b"\xff",
    b"\xc0\xaf",
    b"\xed\xa0\x80",
    b"\xf4\x90\x80\x80",
    b"\xe2\x82",
    b"\x80",
    b"\xf8\x88\x80\x80\x80",
    b"\xce",
];

/// One frame-level mutation; returns its name.
pub(crate) fn mutate_frames(rng: &mut Rng, frames: &mut Vec<CFrame>) -> String {
    if frames.is_empty() {
        return "no frames".into();
    }
    let i = rng.below(frames.len());
    let f = &mut frames[i];
    match rng.below(13) {
        0 => {
            f.opcode = rng.below(16) as u8;
            format!("frame {i}: opcode {:#x}", f.opcode)
        }
        1 => {
            f.rsv = rng.range(1, 7) as u8;
            format!("frame {i}: rsv {}", f.rsv)
        }
        2 => {
            f.masked = false;
            format!("frame {i}: unmasked")
        }
        3 => {
            f.fin = !f.fin;
            format!("frame {i}: fin {}", f.fin)
        }
        4 => lie_about_length(rng, f, i),
        5 => use_long_length_form(rng, f, i),
        6 if !f.payload.is_empty() => {
            let at = rng.below(f.payload.len());
            f.payload[at] ^= rng.byte() | 1;
            format!("frame {i}: payload byte {at} corrupted")
        }
        7 => insert_bad_utf8(rng, f, i),
        8 => insert_long_ping(rng, frames, i),
        9 => {
            let ping = CFrame::new(rng, false, PING, b"frag".to_vec());
            frames.insert(i, ping);
            format!("fragmented ping before frame {i}")
        }
        10 => insert_close(rng, frames, i),
        11 => insert_continuation(rng, frames, i),
        _ => insert_text_frame(rng, frames, i),
    }
}

/// A length field that differs from the payload: a bit more or less, 2^62, the top bit set
/// (RFC 6455 §5.2: "the most significant bit MUST be 0"), just over the message limit.
fn lie_about_length(rng: &mut Rng, f: &mut CFrame, i: usize) -> String {
    let len = f.payload.len() as u64;
    let lie = match rng.below(6) {
        0 => len + rng.range(1, 10) as u64,
        1 => len.saturating_sub(rng.range(1, 10) as u64),
        2 => 1 << 62,
        3 => (1 << 63) | rng.next_u64(),
        4 => WS_MAX_MESSAGE as u64 + 1,
        _ => rng.range(126, 70_000) as u64,
    };
    f.declared = Some(DeclaredLen::Lie(lie));
    format!("frame {i}: declares {lie} bytes, has {len}")
}

/// The right length in a longer form than needed (allowed: the server must accept it).
fn use_long_length_form(rng: &mut Rng, f: &mut CFrame, i: usize) -> String {
    let form = if rng.percent(50) { 16 } else { 64 };
    if form == 16 && f.payload.len() > 0xFFFF {
        return "no long form".into();
    }
    f.declared = Some(DeclaredLen::Form(form, f.payload.len() as u64));
    format!("frame {i}: {form}-bit length form")
}

fn insert_bad_utf8(rng: &mut Rng, f: &mut CFrame, i: usize) -> String {
    let bad = rng.pick(&BAD_UTF8);
    let at = rng.below(f.payload.len() + 1);
    f.payload.splice(at..at, bad.iter().copied());
    format!("frame {i}: {} inserted at {at}", show(bad, 10))
}

/// A ping over the 125-byte control frame limit (RFC 6455 §5.5).
fn insert_long_ping(rng: &mut Rng, frames: &mut Vec<CFrame>, i: usize) -> String {
    let n = rng.range(126, 200);
    let payload = random_bytes(rng, n);
    let ping = CFrame::new(rng, true, PING, payload);
    frames.insert(i, ping);
    format!("ping of {n} bytes before frame {i}")
}

/// A close with a valid or invalid code (RFC 6455 §7.4), a 1-byte payload, or a bad reason.
fn insert_close(rng: &mut Rng, frames: &mut Vec<CFrame>, i: usize) -> String {
    let code: u16 =
        *rng.pick(&[0, 999, 1000, 1001, 1003, 1004, 1005, 1006, 1014, 1015, 1016, 2999, 3000, 4999, 5000, 65535]);
    let mut payload = code.to_be_bytes().to_vec();
    match rng.below(4) {
        0 => payload.truncate(1),
        1 => {
            let bad: &&[u8] = rng.pick(&BAD_UTF8);
            payload.extend_from_slice(bad);
        }
        2 => payload.extend_from_slice("reason ✓".as_bytes()),
        _ => {}
    }
    let close = CFrame::new(rng, true, CLOSE, payload.clone());
    frames.insert(i, close);
    format!("close {} before frame {i}", show(&payload, 20))
}

/// A continuation frame, possibly with no message to continue (RFC 6455 §5.4).
fn insert_continuation(rng: &mut Rng, frames: &mut Vec<CFrame>, i: usize) -> String {
    let payload = random_payload(rng, 10);
    let fin = rng.percent(50);
    let orphan = CFrame::new(rng, fin, CONTINUATION, payload);
    frames.insert(i, orphan);
    format!("continuation before frame {i}")
}

/// A text frame, possibly inside another message's fragments (RFC 6455 §5.4).
fn insert_text_frame(rng: &mut Rng, frames: &mut Vec<CFrame>, i: usize) -> String {
    let payload = random_text(rng, 10).into_bytes();
    let fin = rng.percent(50);
    let nested = CFrame::new(rng, fin, TEXT, payload);
    frames.insert(i, nested);
    format!("text frame inserted before frame {i}")
}
