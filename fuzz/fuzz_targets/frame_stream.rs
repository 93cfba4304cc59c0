//! `frame_stream`: raw, untrusted bytes into a WebSocket connection (`WsConn::feed`).
//!
//! The input is fed as is to a `Role::Server` connection (what every browser connection
//! reaches) and, for good measure, to a `Role::Client` one (the load generator's side),
//! both with `max_message` 4096, whole and split at input-derived points: one cut, a few
//! cuts, fixed-size chunks, and one byte at a time for inputs up to 1 KiB.
//!
//! Properties:
//! * every way of splitting gives the identical event list;
//! * `Finish` comes at most once and is the last event; feeding more bytes after it emits
//!   nothing; it is always right after the close frame the connection sends;
//! * no `Abort` (no timers run);
//! * a `Message` is at most `max_message` bytes, and a text one is valid UTF-8;
//! * every frame sent is one whole, final frame, masked by a client and not by a server,
//!   a pong or a close with at most 125 bytes; a close carries a code an endpoint may send
//!   (§7.4) and a UTF-8 reason, and is followed by `Finish`.
#![no_main]

mod common;

use std::time::{Duration, Instant};

use common::{Rng, cut_points};
use danmaku_wall::protocol::ws_conn::{Role, WsConn, WsEvent, WsLimits};
use danmaku_wall::wire::frame::{FrameHeader, Opcode, apply_mask};
use libfuzzer_sys::fuzz_target;

const MAX_MESSAGE: usize = 4096;

const LIMITS: WsLimits = WsLimits {
    max_message: MAX_MESSAGE,
    ping_interval: None,
    ping_timeout: Duration::from_secs(10),
    close_timeout: Duration::from_secs(10),
};

fn feed(role: Role, data: &[u8], cuts: &[usize]) -> Vec<WsEvent> {
    let mut conn = WsConn::new(role, LIMITS, Instant::now());
    let mut buf = data.to_vec();
    let mut events = Vec::new();
    let mut start = 0;
    for &cut in cuts.iter().chain(std::iter::once(&data.len())) {
        let cut = cut.clamp(start, data.len());
        let finished = events.last() == Some(&WsEvent::Finish);
        let before = events.len();
        conn.feed(&mut buf[start..cut], &mut events);
        if finished {
            assert_eq!(events.len(), before, "{role:?}: events after Finish: {:?}", &events[before..]);
        }
        start = cut;
    }
    if conn.is_closed() {
        // Still nothing once closed, whatever arrives.
        let before = events.len();
        conn.feed(&mut [0x81, 0x80, 1, 2, 3, 4], &mut events);
        conn.feed(&mut [0x89, 0x00], &mut events);
        assert_eq!(events.len(), before, "{role:?}: events after the connection closed");
    }
    events
}

fn check_events(role: Role, events: &[WsEvent]) {
    let mut close_sent = false;
    for (i, event) in events.iter().enumerate() {
        let next = events.get(i + 1);
        match event {
            WsEvent::Message(m) => {
                assert!(!close_sent, "{role:?}: message after our close");
                assert!(m.data.len() <= MAX_MESSAGE, "{role:?}: a {}-byte message", m.data.len());
                match m.opcode {
                    Opcode::Text => assert!(std::str::from_utf8(&m.data).is_ok(), "{role:?}: text message not UTF-8"),
                    Opcode::Binary => {}
                    other => panic!("{role:?}: a message with opcode {other:?}"),
                }
            }
            WsEvent::Send(bytes) => {
                assert!(!close_sent, "{role:?}: a frame after our close");
                let (h, n) = match FrameHeader::decode(bytes) {
                    Ok(Some(x)) => x,
                    other => panic!("{role:?}: sent {bytes:x?}, which decodes as {other:?}"),
                };
                assert!(h.fin, "{role:?}: sent a fragment");
                assert_eq!(h.mask.is_some(), role == Role::Client, "{role:?} masking");
                assert_eq!(n as u64 + h.payload_len, bytes.len() as u64, "{role:?}: sent frame length");
                assert!(h.payload_len <= 125, "{role:?}: a long control frame");
                let mut payload = bytes[n..].to_vec();
                if let Some(key) = h.mask {
                    apply_mask(&mut payload, key, 0);
                }
                match h.opcode {
                    Opcode::Pong => {}
                    Opcode::Close => {
                        assert!(payload.len() >= 2, "{role:?}: a close without a code");
                        let code = u16::from_be_bytes([payload[0], payload[1]]);
                        assert!(
                            matches!(code, 1000..=1003 | 1007..=1014 | 3000..=4999),
                            "{role:?}: sent close code {code}"
                        );
                        assert!(std::str::from_utf8(&payload[2..]).is_ok(), "{role:?}: close reason not UTF-8");
                        assert_eq!(next, Some(&WsEvent::Finish), "{role:?}: our close is not followed by Finish");
                        close_sent = true;
                    }
                    other => panic!("{role:?}: sent a {other:?} frame"),
                }
            }
            WsEvent::Finish => {
                assert!(next.is_none(), "{role:?}: events after Finish: {:?}", &events[i + 1..]);
                assert!(close_sent, "{role:?}: Finish without our close frame");
            }
            WsEvent::Abort(why) => panic!("{role:?}: abort without timers: {why}"),
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let mut rng = Rng::from_input(data);
    let n = data.len();
    for role in [Role::Server, Role::Client] {
        let whole = feed(role, data, &[]);
        check_events(role, &whole);
        let mut ways =
            vec![cut_points(n, 1, &mut rng), cut_points(n, rng.range(2, 8), &mut rng), cut_points(n, 16, &mut rng)];
        let size = rng.range(2, 17);
        ways.push((size..n).step_by(size).collect());
        if n <= 1024 {
            ways.push((1..n).collect());
        }
        for cuts in ways {
            let split = feed(role, data, &cuts);
            if split != whole {
                panic!("{role:?}: cut at {cuts:?}:\n{split:?}\nwhole:\n{whole:?}");
            }
        }
    }
});
