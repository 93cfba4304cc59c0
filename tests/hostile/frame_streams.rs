//! Generated WebSocket connections for `/echo`: a valid stream of client frames (whole and
//! fragmented messages, pings, pongs, sometimes a close), then 0 to 3 frame mutations and
//! sometimes a byte-level one (a cut, a flipped bit, garbage at the end).

use crate::client_frame::CFrame;
use crate::common::{BINARY, CLOSE, CONTINUATION, PING, PONG, Rng, TEXT};
use crate::echo_exchange::WS_SEED;
use crate::frame_mutations::mutate_frames;

pub(crate) fn random_text(rng: &mut Rng, max_chars: usize) -> String {
    let n = rng.below(max_chars + 1);
    let alphabet = ['a', 'b', 'z', ' ', '~', 'é', 'ß', '弹', '幕', '🎉', '\u{10FFFF}', '\u{FFFD}', '\0', '\u{7f}'];
    (0..n).map(|_| if rng.percent(70) { (b'a' + rng.below(26) as u8) as char } else { *rng.pick(&alphabet) }).collect()
}

pub(crate) fn random_bytes(rng: &mut Rng, n: usize) -> Vec<u8> {
    (0..n).map(|_| rng.byte()).collect()
}

/// Random bytes, fewer than `below` of them.
pub(crate) fn random_payload(rng: &mut Rng, below: usize) -> Vec<u8> {
    let n = rng.below(below);
    random_bytes(rng, n)
}

/// Splits `data` into `parts` pieces at arbitrary byte positions (inside characters too).
fn split_at_random(rng: &mut Rng, data: &[u8], parts: usize) -> Vec<Vec<u8>> {
    let mut cuts: Vec<usize> = (1..parts).map(|_| rng.below(data.len() + 1)).collect();
    cuts.sort_unstable();
    let mut out = Vec::new();
    let mut from = 0;
    for cut in cuts.into_iter().chain([data.len()]) {
        out.push(data[from..cut].to_vec());
        from = cut;
    }
    out
}

/// A valid stream of client frames: messages (whole and fragmented), pings and pongs.
pub(crate) fn valid_frames(rng: &mut Rng) -> Vec<CFrame> {
    let mut frames = Vec::new();
    let messages = rng.range(2, 16);
    let mut big = 0;
    for _ in 0..messages {
        match rng.below(10) {
            0..=2 => {
                let text = random_text(rng, 120);
                frames.push(CFrame::new(rng, true, TEXT, text.into_bytes()));
            }
            3 | 4 => push_binary(rng, &mut frames, &mut big),
            5 | 6 => push_fragmented(rng, &mut frames),
            7 => {
                let p = random_payload(rng, 126);
                frames.push(CFrame::new(rng, true, PING, p));
            }
            8 => {
                let p = random_payload(rng, 20);
                frames.push(CFrame::new(rng, true, PONG, p));
            }
            _ => push_bytewise_text(rng, &mut frames),
        }
    }
    if rng.percent(10) {
        push_close_and_more(rng, &mut frames);
    }
    frames
}

/// A binary message, at most two per stream around the length-form boundaries (125/126,
/// 65535/65536) and the message limit.
fn push_binary(rng: &mut Rng, frames: &mut Vec<CFrame>, big: &mut usize) {
    let n = if *big < 2 && rng.percent(8) {
        *big += 1;
        *rng.pick(&[125, 126, 65535, 65536, 65537, 70_000])
    } else {
        rng.below(300)
    };
    let data = random_bytes(rng, n);
    frames.push(CFrame::new(rng, true, BINARY, data));
}

/// A fragmented message (RFC 6455 §5.4), split anywhere (inside characters), with pings in
/// between the fragments.
fn push_fragmented(rng: &mut Rng, frames: &mut Vec<CFrame>) {
    let text = random_text(rng, 200);
    let opcode = if rng.percent(70) { TEXT } else { BINARY };
    let pieces = rng.range(2, 6);
    let parts = split_at_random(rng, text.as_bytes(), pieces);
    let last = parts.len() - 1;
    for (i, part) in parts.into_iter().enumerate() {
        let op = if i == 0 { opcode } else { CONTINUATION };
        frames.push(CFrame::new(rng, i == last, op, part));
        if i < last && rng.percent(30) {
            let p = random_payload(rng, 20);
            frames.push(CFrame::new(rng, true, PING, p));
        }
    }
}

/// A text message whose fragments are 1 byte each.
fn push_bytewise_text(rng: &mut Rng, frames: &mut Vec<CFrame>) {
    let text = random_text(rng, 12);
    let bytes = text.as_bytes();
    if bytes.is_empty() {
        frames.push(CFrame::new(rng, true, TEXT, Vec::new()));
    }
    for (i, b) in bytes.iter().enumerate() {
        let op = if i == 0 { TEXT } else { CONTINUATION };
        frames.push(CFrame::new(rng, i + 1 == bytes.len(), op, vec![*b]));
    }
}

/// A close with a valid code and reason, then a frame the server must never read
/// (RFC 6455 §5.5.1).
fn push_close_and_more(rng: &mut Rng, frames: &mut Vec<CFrame>) {
    let code: u16 = *rng.pick(&[1000, 1000, 1001, 3000, 4999]);
    let mut p = code.to_be_bytes().to_vec();
    p.extend_from_slice("bye 再见".as_bytes());
    frames.push(CFrame::new(rng, true, CLOSE, p));
    // What follows a close is never read.
    let p = random_bytes(rng, 5);
    frames.push(CFrame::new(rng, true, TEXT, p));
}

/// A generated connection: the bytes, and a description for failure messages.
pub(crate) struct WsCase {
    pub(crate) stream: Vec<u8>,
    pub(crate) frames: usize,
    pub(crate) half_close: bool,
    pub(crate) what: String,
}

/// Connection `index`, generated from `WS_SEED + index`.
pub(crate) fn ws_case(index: usize) -> WsCase {
    let mut rng = Rng::new(WS_SEED.wrapping_add(index as u64));
    let mut frames = valid_frames(&mut rng);
    let mut names = Vec::new();
    let mutations = *rng.pick(&[0, 0, 0, 0, 1, 1, 1, 2, 2, 3]);
    for _ in 0..mutations {
        names.push(mutate_frames(&mut rng, &mut frames));
    }
    let mut stream = Vec::new();
    for f in &frames {
        f.write(&mut stream);
    }
    mutate_bytes(&mut rng, &mut stream, &mut names);
    let half_close = rng.percent(85);
    WsCase {
        stream,
        frames: frames.len(),
        half_close,
        what: format!("seed {WS_SEED:#x} connection #{index}: {} frames, {names:?}", frames.len()),
    }
}

/// Byte-level damage to a serialised stream: sometimes a cut, a flipped bit, garbage appended.
fn mutate_bytes(rng: &mut Rng, stream: &mut Vec<u8>, names: &mut Vec<String>) {
    if rng.percent(20) && !stream.is_empty() {
        let at = rng.below(stream.len());
        stream.truncate(at);
        names.push(format!("stream cut at byte {at}"));
    }
    if rng.percent(4) && !stream.is_empty() {
        let at = rng.below(stream.len());
        stream[at] ^= 1 << rng.below(8);
        names.push(format!("bit flipped at byte {at}"));
    }
    if rng.percent(3) {
        let n = rng.range(1, 30);
        stream.extend((0..n).map(|_| rng.byte()));
        names.push(format!("{n} garbage bytes appended"));
    }
}
