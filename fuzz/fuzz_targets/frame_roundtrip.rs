//! `frame_roundtrip`: valid frame streams, built from the input, through the frame codec
//! (`wire::frame`) and both ends of a connection (`protocol::ws_conn::WsConn`).
//!
//! The input is read like a lenient frame stream, so real frames make good seeds: per frame
//! a first byte (FIN `0x80`, opcode in the low nibble, reserved ones mapped onto real ones,
//! `0x10` picks text for a message the fixes below start), a second byte (MASK `0x80` and a
//! 7-bit length: 126 and 127 read a 16- or 64-bit length next, as on the wire), a masking
//! key if MASK is set, then the *plain* payload (padded with `a..z` if the input runs out,
//! so large frames are cheap). The list is then made valid: control frames final and at
//! most 125 bytes, continuation only inside a message and text/binary only outside, a text
//! message that is not UTF-8 becomes binary, a close payload gets a valid code and a UTF-8
//! reason. Frames after a close stay in the stream: they must be ignored.
//!
//! Properties:
//! * every header: `decode(encode(h)) == (h, n)` with the minimal length form, every
//!   shorter prefix of the encoding is `Ok(None)`, and the encoding equals a reference
//!   encoding written here; also for the unclamped 16/64-bit length from the input.
//! * `encode_frame` equals the reference frame encoding; `apply_mask` in two pieces (with
//!   the offset) equals the reference XOR, and masking twice is the identity.
//! * the stream, encoded masked (as a client sends) and fed to a `Role::Server` conn, and
//!   encoded unmasked and fed to a `Role::Client` conn, yields exactly the expected events:
//!   each message, a pong echoing each ping's payload, and for a close frame a close reply
//!   echoing its code then `Finish`; replies are masked by the client only. `max_message`
//!   is often far above every message and often exactly a message's size or one byte
//!   either side: a data frame that would take its message past it must be refused at its
//!   header with a 1009 close then `Finish` (the limit is inclusive). Fed whole and
//!   split at input-derived points (fixed-size chunks, a byte at a time when short), the
//!   event lists are identical (the client's masking keys included).
#![no_main]

mod common;

use std::time::{Duration, Instant};

use common::{Rng, cut_points};
use danmaku_wall::protocol::ws_conn::{Role, WsConn, WsEvent, WsLimits};
use danmaku_wall::wire::frame::{FrameHeader, MAX_HEADER_LEN, Opcode, apply_mask, encode_frame};
use libfuzzer_sys::fuzz_target;

/// Largest payload of one generated frame (above 65535: the 64-bit length form).
const MAX_FRAME: u64 = 70_000;
/// Total payload of a stream, to keep one run fast.
const BUDGET: usize = 200_000;
const MAX_FRAMES: usize = 64;

fn limits(max_message: usize) -> WsLimits {
    WsLimits {
        max_message,
        ping_interval: None,
        ping_timeout: Duration::from_secs(10),
        close_timeout: Duration::from_secs(10),
    }
}

#[derive(Debug, Clone)]
struct Frame {
    fin: bool,
    opcode: Opcode,
    mask: Option<[u8; 4]>,
    payload: Vec<u8>,
    /// The length the input announced, before clamping (for the header round trip).
    raw_len: u64,
}

/// What a connection did, with frames it sent decoded (and unmasked).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Ev {
    Message(Opcode, Vec<u8>),
    Sent(Opcode, Vec<u8>),
    Finish,
}

struct Cursor<'a> {
    data: &'a [u8],
    pos: usize,
}

impl Cursor<'_> {
    fn byte(&mut self) -> u8 {
        let b = self.data.get(self.pos).copied().unwrap_or(0);
        self.pos += 1;
        b
    }
    fn array<const N: usize>(&mut self) -> [u8; N] {
        std::array::from_fn(|_| self.byte())
    }
    fn remaining(&self) -> usize {
        self.data.len().saturating_sub(self.pos)
    }
}

fn opcode_from_nibble(n: u8) -> Opcode {
    const ALL: [Opcode; 6] =
        [Opcode::Continuation, Opcode::Text, Opcode::Binary, Opcode::Close, Opcode::Ping, Opcode::Pong];
    match n {
        0x0 => Opcode::Continuation,
        0x1 => Opcode::Text,
        0x2 => Opcode::Binary,
        0x8 => Opcode::Close,
        0x9 => Opcode::Ping,
        0xA => Opcode::Pong,
        other => ALL[usize::from(other) % ALL.len()],
    }
}

fn valid_close_code(code: u16) -> bool {
    // RFC 6455 §7.4.1 (1000-1003, 1007-1011), IANA registry (1012-1014), §7.4.2 (3000-4999).
    matches!(code, 1000..=1003 | 1007..=1014 | 3000..=4999)
}

/// Makes a text message binary if it cannot be (the start of) UTF-8. `complete`: whether the
/// message ends; an unfinished one only needs to be a valid prefix.
fn fix_text(frames: &mut [Frame], start: usize, complete: bool) {
    if frames[start].opcode != Opcode::Text {
        return;
    }
    let data: Vec<u8> =
        frames[start..].iter().filter(|f| !f.opcode.is_control()).flat_map(|f| f.payload.iter().copied()).collect();
    let bad = match std::str::from_utf8(&data) {
        Ok(_) => false,
        Err(e) => complete || e.error_len().is_some(),
    };
    if bad {
        frames[start].opcode = Opcode::Binary;
    }
}

fn generate(data: &[u8]) -> Vec<Frame> {
    let mut cur = Cursor { data, pos: 0 };
    let mut frames: Vec<Frame> = Vec::new();
    let mut used = 0usize;
    let mut message_start: Option<usize> = None;
    let mut closed = false;
    while cur.remaining() >= 2 && frames.len() < MAX_FRAMES {
        let b0 = cur.byte();
        let b1 = cur.byte();
        let mut fin = b0 & 0x80 != 0;
        let mut opcode = opcode_from_nibble(b0 & 0x0F);
        let raw_len = match b1 & 0x7F {
            126 => u64::from(u16::from_be_bytes(cur.array())),
            127 => u64::from_be_bytes(cur.array()) & (u64::MAX >> 1),
            short => u64::from(short),
        };
        let mask = (b1 & 0x80 != 0).then(|| cur.array::<4>());
        let mut len = (raw_len % (MAX_FRAME + 1)) as usize;
        if opcode.is_control() {
            fin = true;
            len = len.min(125);
        }
        len = len.min(BUDGET - used);
        used += len;
        let available = len.min(cur.remaining());
        let mut payload = data.get(cur.pos..cur.pos + available).unwrap_or_default().to_vec();
        cur.pos += available;
        payload.extend((available..len).map(|i| b'a' + (i % 26) as u8));
        if !closed {
            match opcode {
                Opcode::Text | Opcode::Binary if message_start.is_some() => opcode = Opcode::Continuation,
                Opcode::Continuation if message_start.is_none() => {
                    opcode = if b0 & 0x10 != 0 { Opcode::Text } else { Opcode::Binary };
                }
                _ => {}
            }
        }
        if opcode == Opcode::Close {
            if payload.len() == 1 {
                payload.clear();
            }
            if payload.len() >= 2 {
                if !valid_close_code(u16::from_be_bytes([payload[0], payload[1]])) {
                    payload[..2].copy_from_slice(&1000u16.to_be_bytes());
                }
                if let Err(e) = std::str::from_utf8(&payload[2..]) {
                    payload.truncate(2 + e.valid_up_to());
                }
            }
        }
        frames.push(Frame { fin, opcode, mask, payload, raw_len });
        if closed {
            continue;
        }
        match opcode {
            Opcode::Text | Opcode::Binary | Opcode::Continuation => {
                let start = *message_start.get_or_insert(frames.len() - 1);
                if fin {
                    fix_text(&mut frames, start, true);
                    message_start = None;
                }
            }
            Opcode::Close => {
                if let Some(start) = message_start.take() {
                    fix_text(&mut frames, start, false);
                }
                closed = true;
            }
            Opcode::Ping | Opcode::Pong => {}
        }
    }
    if let Some(start) = message_start {
        fix_text(&mut frames, start, false);
    }
    frames
}

/// The events a correct endpoint produces for `frames` (either role), with messages limited
/// to `max_message` bytes (inclusive): a data frame that would take its message past the
/// limit is refused at its header with a 1009 close (§7.4.1).
fn expected(frames: &[Frame], max_message: usize) -> Vec<Ev> {
    let mut out = Vec::new();
    let mut message: Option<(Opcode, Vec<u8>)> = None;
    for f in frames {
        match f.opcode {
            Opcode::Text | Opcode::Binary | Opcode::Continuation => {
                let have = message.as_ref().map_or(0, |m| m.1.len());
                if have + f.payload.len() > max_message {
                    out.push(Ev::Sent(Opcode::Close, 1009u16.to_be_bytes().to_vec()));
                    out.push(Ev::Finish);
                    break;
                }
                let m = message.get_or_insert_with(|| (f.opcode, Vec::new()));
                m.1.extend_from_slice(&f.payload);
                if f.fin {
                    let (opcode, data) = message.take().unwrap();
                    out.push(Ev::Message(opcode, data));
                }
            }
            Opcode::Ping => out.push(Ev::Sent(Opcode::Pong, f.payload.clone())),
            Opcode::Pong => {}
            Opcode::Close => {
                let code = if f.payload.len() >= 2 { f.payload[..2].to_vec() } else { 1000u16.to_be_bytes().to_vec() };
                out.push(Ev::Sent(Opcode::Close, code));
                out.push(Ev::Finish);
                break;
            }
        }
    }
    out
}

/// The wire form, written from RFC 6455 §5.2 here rather than taken from `src/`.
fn reference_header(fin: bool, opcode: Opcode, mask: Option<[u8; 4]>, len: u64) -> Vec<u8> {
    let bits = match opcode {
        Opcode::Continuation => 0x0,
        Opcode::Text => 0x1,
        Opcode::Binary => 0x2,
        Opcode::Close => 0x8,
        Opcode::Ping => 0x9,
        Opcode::Pong => 0xA,
    };
    let mut out = vec![if fin { 0x80 | bits } else { bits }];
    let m = if mask.is_some() { 0x80 } else { 0 };
    if len <= 125 {
        out.push(m | len as u8);
    } else if len <= 0xFFFF {
        out.push(m | 126);
        out.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        out.push(m | 127);
        out.extend_from_slice(&len.to_be_bytes());
    }
    if let Some(key) = mask {
        out.extend_from_slice(&key);
    }
    out
}

fn reference_frame(fin: bool, opcode: Opcode, mask: Option<[u8; 4]>, payload: &[u8]) -> Vec<u8> {
    let mut out = reference_header(fin, opcode, mask, payload.len() as u64);
    match mask {
        Some(key) => out.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4])),
        None => out.extend_from_slice(payload),
    }
    out
}

fn check_header(h: FrameHeader) {
    let mut buf = [0u8; MAX_HEADER_LEN];
    let n = h.encode(&mut buf);
    let reference = reference_header(h.fin, h.opcode, h.mask, h.payload_len);
    assert_eq!(&buf[..n], &reference[..], "encoding of {h:?}");
    assert_eq!(FrameHeader::decode(&buf[..n]), Ok(Some((h, n))), "round trip of {h:?}");
    for i in 0..n {
        assert_eq!(FrameHeader::decode(&buf[..i]), Ok(None), "{i}-byte prefix of {h:?}");
    }
    // Bytes after the header (its payload) do not change it.
    let mut longer = buf[..n].to_vec();
    longer.extend_from_slice(&[0xFF; 3]);
    assert_eq!(FrameHeader::decode(&longer), Ok(Some((h, n))), "{h:?} followed by payload");
}

fn check_codec(frames: &[Frame], rng: &mut Rng) {
    for f in frames {
        for mask in [f.mask, None, Some(f.mask.unwrap_or([0xA5, 0, 0x5A, 0xFF]))] {
            check_header(FrameHeader { fin: f.fin, opcode: f.opcode, mask, payload_len: f.payload.len() as u64 });
        }
        if !f.opcode.is_control() {
            check_header(FrameHeader { fin: f.fin, opcode: f.opcode, mask: f.mask, payload_len: f.raw_len });
        }
        let mut out = vec![0xEE]; // encode_frame appends
        encode_frame(&mut out, f.fin, f.opcode, &f.payload, f.mask);
        assert_eq!(&out[1..], &reference_frame(f.fin, f.opcode, f.mask, &f.payload)[..], "encode_frame");
        if let Some(key) = f.mask {
            let offset = rng.below(8);
            let expect: Vec<u8> = f.payload.iter().enumerate().map(|(i, b)| b ^ key[(i + offset) % 4]).collect();
            let mut pieces = f.payload.clone();
            let cut = rng.below(pieces.len() + 1);
            let (a, b) = pieces.split_at_mut(cut);
            apply_mask(a, key, offset);
            apply_mask(b, key, offset + cut);
            assert_eq!(pieces, expect, "apply_mask in two pieces at {cut}, offset {offset}");
            apply_mask(&mut pieces, key, offset);
            assert_eq!(pieces, f.payload, "masking twice");
        }
    }
}

/// The message size limit for this input: often far above every message, often exactly at
/// a message's size or one byte either side of it (the boundary is inclusive).
fn pick_max_message(frames: &[Frame], rng: &mut Rng) -> usize {
    let mut sizes = Vec::new();
    let mut size = None;
    for f in frames.iter().filter(|f| !f.opcode.is_control()) {
        let s = size.get_or_insert(0usize);
        *s += f.payload.len();
        if f.fin {
            sizes.push(size.take().unwrap_or(0));
        }
    }
    sizes.extend(size);
    match (rng.below(3), sizes.is_empty()) {
        (0, _) | (_, true) => 1 << 20,
        (1, false) => (sizes[rng.below(sizes.len())] + rng.below(3)).saturating_sub(1),
        _ => rng.below(sizes.iter().max().copied().unwrap_or(0) + 2),
    }
}

/// Feeds `stream` to a fresh connection cut at `cuts`, unmasking in a copy.
fn feed(role: Role, max_message: usize, stream: &[u8], cuts: &[usize]) -> Vec<WsEvent> {
    let mut conn = WsConn::new(role, limits(max_message), Instant::now());
    let mut buf = stream.to_vec();
    let mut events = Vec::new();
    let mut start = 0;
    for &cut in cuts.iter().chain(std::iter::once(&stream.len())) {
        let cut = cut.clamp(start, stream.len());
        conn.feed(&mut buf[start..cut], &mut events);
        start = cut;
    }
    events
}

fn decode_events(role: Role, events: &[WsEvent]) -> Vec<Ev> {
    events
        .iter()
        .map(|e| match e {
            WsEvent::Message(m) => Ev::Message(m.opcode, m.data.clone()),
            WsEvent::Finish => Ev::Finish,
            WsEvent::Abort(why) => panic!("abort without timers: {why}"),
            WsEvent::Send(bytes) => {
                let (h, n) = FrameHeader::decode(bytes).expect("a sent frame decodes").expect("a whole header");
                assert!(h.fin, "sent a fragment");
                assert_eq!(h.mask.is_some(), role == Role::Client, "{role:?} masking of its own frames");
                assert_eq!(n as u64 + h.payload_len, bytes.len() as u64, "sent frame length");
                let mut payload = bytes[n..].to_vec();
                if let Some(key) = h.mask {
                    apply_mask(&mut payload, key, 0);
                }
                if h.opcode == Opcode::Close {
                    // Compare the code; the reason is free text, but UTF-8 (§5.5.1).
                    assert!(
                        payload.len() >= 2 && std::str::from_utf8(&payload[2..]).is_ok(),
                        "close payload {payload:x?}"
                    );
                    payload.truncate(2);
                }
                Ev::Sent(h.opcode, payload)
            }
        })
        .collect()
}

fn check_role(role: Role, frames: &[Frame], max_message: usize, expect: &[Ev], rng: &mut Rng) {
    let stream: Vec<u8> = frames
        .iter()
        .flat_map(|f| {
            let mask = match role {
                Role::Server => Some(f.mask.unwrap_or([0; 4])),
                Role::Client => None,
            };
            reference_frame(f.fin, f.opcode, mask, &f.payload)
        })
        .collect();
    let whole = feed(role, max_message, &stream, &[]);
    let got = decode_events(role, &whole);
    if got != expect {
        panic!(
            "{role:?}, max_message {max_message}: events differ from the expected ones\nexpected: {expect:?}\ngot:      {got:?}\nframes: {frames:?}"
        );
    }
    let n = stream.len();
    let mut ways: Vec<Vec<usize>> = vec![cut_points(n, 1, rng), cut_points(n, rng.range(2, 8), rng)];
    if n <= 16 * 1024 {
        let size = rng.range(2, 17);
        ways.push((size..n).step_by(size).collect());
    }
    if n <= 2048 {
        ways.push((1..n).collect());
    }
    for cuts in ways {
        let split = feed(role, max_message, &stream, &cuts);
        assert!(
            split == whole,
            "{role:?}: split at {:?} gives {split:?}, whole {whole:?}",
            &cuts[..cuts.len().min(16)]
        );
    }
}

fuzz_target!(|data: &[u8]| {
    let mut rng = Rng::from_input(data);
    let frames = generate(data);
    check_codec(&frames, &mut rng);
    let max_message = pick_max_message(&frames, &mut rng);
    let expect = expected(&frames, max_message);
    check_role(Role::Server, &frames, max_message, &expect, &mut rng);
    check_role(Role::Client, &frames, max_message, &expect, &mut rng);
});
