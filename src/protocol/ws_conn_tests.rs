//! Tests of [`WsConn`](super::WsConn): every rule fed as bytes whole, split in two at every
//! offset, and in pieces of every size ([`every_way`]), with the same events each way.

use std::ops::Range;

use super::*;

const LIMITS: WsLimits = WsLimits {
    max_message: 1000,
    ping_interval: Some(Duration::from_secs(10)),
    ping_timeout: Duration::from_secs(5),
    close_timeout: Duration::from_secs(3),
};

/// A masked frame as a client sends it.
fn client_frame(fin: bool, opcode: Opcode, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    frame::encode_frame(&mut out, fin, opcode, payload, Some([0x37, 0xfa, 0x21, 0x3d]));
    out
}

fn raw(first: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = client_frame(true, Opcode::Binary, payload);
    out[0] = first;
    out
}

/// One way the network may deliver a byte stream.
#[derive(Debug, Clone, Copy)]
enum Way {
    Whole,
    /// Two pieces, the first `k` bytes long (0 and the length give an empty piece).
    SplitAt(usize),
    /// Pieces of this size, the last one shorter.
    Pieces(usize),
}

/// Every other way to deliver `len` bytes than whole: split in two at every offset, and in
/// pieces of every size.
fn ways(len: usize) -> impl Iterator<Item = Way> {
    (0..=len).map(Way::SplitAt).chain((1..=len.max(1)).map(Way::Pieces))
}

/// The pieces `way` cuts `len` bytes into, in order.
fn pieces(len: usize, way: Way) -> Vec<Range<usize>> {
    match way {
        Way::Whole => std::iter::once(0..len).collect(),
        Way::SplitAt(k) => vec![0..k, k..len],
        Way::Pieces(size) => (0..len).step_by(size).map(|start| start..(start + size).min(len)).collect(),
    }
}

/// Feeds `bytes` to `conn` the way `way` says, from a fresh copy (payloads are unmasked in
/// place).
fn feed_way(conn: &mut WsConn, bytes: &[u8], way: Way, events: &mut Vec<WsEvent>) {
    let mut copy = bytes.to_vec();
    for piece in pieces(bytes.len(), way) {
        conn.feed(&mut copy[piece], events);
    }
}

/// Runs `scenario` once for every way of delivering `bytes` (see [`ways`]) and checks that
/// each gives what the whole did; returns that. `scenario` gets a `feed` that delivers
/// `bytes` to a connection the current way; everything else it does is the same each time.
fn every_way<T: PartialEq + std::fmt::Debug>(bytes: &[u8], scenario: impl Fn(Feed<'_>) -> T) -> T {
    let whole = scenario(&|conn, events| feed_way(conn, bytes, Way::Whole, events));
    for way in ways(bytes.len()) {
        let got = scenario(&|conn, events| feed_way(conn, bytes, way, events));
        assert_eq!(got, whole, "{way:?} of {} bytes", bytes.len());
    }
    whole
}

type Feed<'a> = &'a dyn Fn(&mut WsConn, &mut Vec<WsEvent>);

/// A new server connection fed `bytes` every way: the events, the same for each way.
fn feed_every_way(bytes: &[u8], limits: WsLimits) -> Vec<WsEvent> {
    let now = Instant::now();
    every_way(bytes, |feed| {
        let mut conn = WsConn::new(Role::Server, limits, now);
        let mut events = Vec::new();
        feed(&mut conn, &mut events);
        events
    })
}

fn text(s: &str) -> WsEvent {
    WsEvent::Message(Message { opcode: Opcode::Text, data: s.as_bytes().to_vec() })
}

fn server_close(code: CloseCode, reason: &str) -> WsEvent {
    WsEvent::Send(frame::server_frame(Opcode::Close, &close_payload(code, reason)))
}

/// The close code a stream of bytes makes the server fail with.
fn failure_code(bytes: &[u8], limits: WsLimits) -> Option<u16> {
    let events = feed_every_way(bytes, limits);
    assert_eq!(events.last(), Some(&WsEvent::Finish), "{events:?}");
    events.iter().find_map(|e| match e {
        WsEvent::Send(f) if f[0] == 0x88 && f.len() >= 4 => Some(u16::from_be_bytes([f[2], f[3]])),
        _ => None,
    })
}

#[test]
fn every_way_is_every_split_and_every_piece_size() {
    let all: Vec<String> = ways(3).map(|w| format!("{w:?}")).collect();
    let expected = ["SplitAt(0)", "SplitAt(1)", "SplitAt(2)", "SplitAt(3)", "Pieces(1)", "Pieces(2)", "Pieces(3)"];
    assert_eq!(all, expected);
    assert_eq!(pieces(5, Way::Pieces(2)), [0..2, 2..4, 4..5]);
    assert_eq!(pieces(5, Way::SplitAt(5)), [0..5, 5..5]);
    // Every way's pieces follow each other and cover the input exactly.
    for len in 0..12 {
        for way in std::iter::once(Way::Whole).chain(ways(len)) {
            let cut = pieces(len, way);
            assert_eq!(cut.first().map_or(0, |r| r.start), 0, "{way:?}");
            assert_eq!(cut.last().map_or(0, |r| r.end), len, "{way:?}");
            assert!(cut.windows(2).all(|w| w[0].end == w[1].start), "{way:?}: {cut:?}");
        }
    }
}

#[test]
fn rfc_5_7_masked_hello_at_every_split() {
    let hello = [0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58];
    assert_eq!(feed_every_way(&hello, LIMITS), vec![text("Hello")]);
}

#[test]
fn rfc_5_7_fragmented_hello_with_a_ping_between() {
    let bytes = [
        client_frame(false, Opcode::Text, b"Hel"),
        client_frame(true, Opcode::Ping, b"Hello"),
        client_frame(true, Opcode::Continuation, b"lo"),
    ]
    .concat();
    assert_eq!(
        feed_every_way(&bytes, LIMITS),
        vec![WsEvent::Send(frame::server_frame(Opcode::Pong, b"Hello")), text("Hello")]
    );
}

fn binary(data: Vec<u8>) -> WsEvent {
    WsEvent::Message(Message { opcode: Opcode::Binary, data })
}

fn payload(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8).collect()
}

#[test]
fn lengths_of_each_form() {
    // Masked, as a server receives them: the 7-bit form up to its largest (125), the 16-bit
    // form from its smallest (126).
    for len in [0usize, 1, 125, 126, 256, 1000] {
        let bytes = client_frame(true, Opcode::Binary, &payload(len));
        assert_eq!(feed_every_way(&bytes, LIMITS), vec![binary(payload(len))], "length {len}");
    }
    // The 64-bit form, masked: a peer may use it for a short payload (we do not insist on the
    // minimal form, see RFC_NOTES §5.2), which keeps this test at every split cheap.
    let key = [0x37, 0xfa, 0x21, 0x3d];
    let mut bytes = vec![0x82, 0xFF, 0, 0, 0, 0, 0, 0, 0x01, 0x2C];
    bytes.extend_from_slice(&key);
    let start = bytes.len();
    bytes.extend_from_slice(&payload(300));
    frame::apply_mask(&mut bytes[start..], key, 0);
    assert_eq!(feed_every_way(&bytes, LIMITS), vec![binary(payload(300))]);
    // The 64-bit form at its smallest minimal use, 65536 bytes (RFC 6455 §5.7's "64KiB"),
    // unmasked as a client receives it: the same header and payload paths without the
    // unmasking, whose per-byte cost at 2 × 65547 ways would dominate the test run.
    let limits = WsLimits { max_message: 65536, ..LIMITS };
    let bytes = frame::server_frame(Opcode::Binary, &payload(65536));
    assert_eq!(&bytes[..10], [0x82, 0x7F, 0, 0, 0, 0, 0, 0x01, 0x00, 0x00]);
    let now = Instant::now();
    let events = every_way(&bytes, |feed| {
        let mut conn = WsConn::new(Role::Client, limits, now);
        let mut events = Vec::new();
        feed(&mut conn, &mut events);
        events
    });
    assert_eq!(events, vec![binary(payload(65536))]);
}

#[test]
fn every_ping_gets_its_own_pong() {
    let bytes = [
        client_frame(true, Opcode::Ping, b"a"),
        client_frame(true, Opcode::Ping, b""),
        client_frame(true, Opcode::Ping, &[9; 125]),
    ]
    .concat();
    assert_eq!(
        feed_every_way(&bytes, LIMITS),
        vec![
            WsEvent::Send(frame::server_frame(Opcode::Pong, b"a")),
            WsEvent::Send(frame::server_frame(Opcode::Pong, b"")),
            WsEvent::Send(frame::server_frame(Opcode::Pong, &[9; 125])),
        ]
    );
    // An unsolicited pong is ignored (§5.5.3).
    assert_eq!(feed_every_way(&client_frame(true, Opcode::Pong, b"x"), LIMITS), vec![]);
}

#[test]
fn protocol_errors_close_with_1002() {
    let cases: Vec<Vec<u8>> = vec![
        frame::server_frame(Opcode::Text, b"unmasked"),
        raw(0xC1, b"rsv1"),
        raw(0xA1, b"rsv2"),
        raw(0x91, b"rsv3"),
        raw(0x83, b"opcode 3"),
        raw(0x8B, b"opcode B"),
        raw(0x09, b"fragmented ping"),
        client_frame(true, Opcode::Continuation, b"no message"),
        [client_frame(false, Opcode::Text, b"a"), client_frame(true, Opcode::Text, b"b")].concat(),
        [client_frame(false, Opcode::Binary, b"a"), client_frame(true, Opcode::Binary, b"b")].concat(),
        client_frame(true, Opcode::Close, &[0x03]),
        client_frame(true, Opcode::Close, &[0x03, 0xEC]),
        client_frame(true, Opcode::Close, &[0x00, 0x00]),
        client_frame(true, Opcode::Close, &[0x0B, 0xB8 - 1]), // 2999
    ];
    for bytes in cases {
        assert_eq!(failure_code(&bytes, LIMITS), Some(1002), "{bytes:x?}");
    }
    // A 126-byte ping (length 126 in the 7-bit field) is a protocol error too.
    let mut long_ping = client_frame(true, Opcode::Binary, &[0; 126]);
    long_ping[0] = 0x89;
    assert_eq!(failure_code(&long_ping, LIMITS), Some(1002));
}

#[test]
fn invalid_utf8_closes_with_1007_even_across_fragments() {
    assert_eq!(failure_code(&client_frame(true, Opcode::Text, b"\xff"), LIMITS), Some(1007));
    let split_char = [
        client_frame(false, Opcode::Text, "κ".as_bytes().get(..1).unwrap()),
        client_frame(true, Opcode::Continuation, b"x"),
    ]
    .concat();
    assert_eq!(failure_code(&split_char, LIMITS), Some(1007));
    let truncated = client_frame(true, Opcode::Text, b"ok\xe2\x82");
    assert_eq!(failure_code(&truncated, LIMITS), Some(1007));
    // A character split across fragments is fine.
    let ok = [
        client_frame(false, Opcode::Text, &"κ".as_bytes()[..1]),
        client_frame(true, Opcode::Continuation, &"κ".as_bytes()[1..]),
    ]
    .concat();
    assert_eq!(feed_every_way(&ok, LIMITS), vec![text("κ")]);
    // Close reason not UTF-8.
    assert_eq!(failure_code(&client_frame(true, Opcode::Close, b"\x03\xe8\xff"), LIMITS), Some(1007));
}

#[test]
fn fails_fast_on_invalid_utf8_before_the_frame_ends() {
    let frame = client_frame(true, Opcode::Text, b"abc\xf4\x90\x80\x80 and much more text follows");
    // Only the header and the first bad bytes arrive (`F4 90` cannot begin a character).
    assert_eq!(
        feed_every_way(&frame[..2 + 4 + 5], LIMITS),
        vec![server_close(CloseCode::INVALID_PAYLOAD, "invalid UTF-8 in text"), WsEvent::Finish]
    );
}

#[test]
fn max_message_is_inclusive_and_counts_all_fragments() {
    let at_limit = client_frame(true, Opcode::Binary, &vec![1; 1000]);
    assert_eq!(feed_every_way(&at_limit, LIMITS).len(), 1);
    let over = client_frame(true, Opcode::Binary, &vec![1; 1001]);
    assert_eq!(failure_code(&over, LIMITS), Some(1009));
    let fragments =
        [client_frame(false, Opcode::Text, &[b'a'; 600]), client_frame(true, Opcode::Continuation, &[b'a'; 401])]
            .concat();
    assert_eq!(failure_code(&fragments, LIMITS), Some(1009));
    // Refused at the header: a giant declared length never allocates or waits for data.
    let giant = [0x82, 0xFF, 0, 0, 0, 1, 0, 0, 0, 0, 1, 2, 3, 4];
    assert_eq!(
        feed_every_way(&giant, LIMITS),
        vec![server_close(CloseCode::MESSAGE_TOO_BIG, "message too big"), WsEvent::Finish]
    );
}

#[test]
fn close_handshake_started_by_the_peer() {
    let close = client_frame(true, Opcode::Close, b"\x03\xe8bye");
    assert_eq!(feed_every_way(&close, LIMITS), vec![server_close(CloseCode::NORMAL, ""), WsEvent::Finish]);
    // An empty close is answered with an empty-reason 1000.
    let empty = client_frame(true, Opcode::Close, b"");
    assert_eq!(feed_every_way(&empty, LIMITS), vec![server_close(CloseCode::NORMAL, ""), WsEvent::Finish]);
    // Codes are echoed (4000 is an application code).
    let app = client_frame(true, Opcode::Close, b"\x0f\xa0");
    assert_eq!(feed_every_way(&app, LIMITS), vec![server_close(CloseCode(4000), ""), WsEvent::Finish]);
    // Nothing after the close is processed.
    let after = [close.clone(), client_frame(true, Opcode::Text, b"late")].concat();
    assert_eq!(feed_every_way(&after, LIMITS), vec![server_close(CloseCode::NORMAL, ""), WsEvent::Finish]);
}

#[test]
fn close_inside_a_fragmented_message_is_answered_normally() {
    // Autobahn 7.1.5: text fragment, close, continuation.
    let bytes = [
        client_frame(false, Opcode::Text, b"frag"),
        client_frame(true, Opcode::Close, b"\x03\xe8"),
        client_frame(true, Opcode::Continuation, b"x"),
    ]
    .concat();
    assert_eq!(feed_every_way(&bytes, LIMITS), vec![server_close(CloseCode::NORMAL, ""), WsEvent::Finish]);
}

#[test]
fn close_handshake_started_by_us() {
    let t0 = Instant::now();
    // Messages after our close are not delivered; the peer's close ends it without a reply.
    let bytes = [client_frame(true, Opcode::Text, b"late"), client_frame(true, Opcode::Close, b"\x03\xe9")].concat();
    let (before, wake, after, closed) = every_way(&bytes, |feed| {
        let mut conn = WsConn::new(Role::Server, LIMITS, t0);
        let mut before = Vec::new();
        conn.close(CloseCode::GOING_AWAY, "server shutting down", t0, &mut before);
        let wake = conn.next_wake();
        let mut after = Vec::new();
        feed(&mut conn, &mut after);
        (before, wake, after, conn.is_closed())
    });
    assert_eq!(before, vec![server_close(CloseCode::GOING_AWAY, "server shutting down")]);
    assert_eq!(wake, Some(t0 + LIMITS.close_timeout));
    assert_eq!(after, vec![WsEvent::Finish]);
    assert!(closed);

    // Without a reply, the deadline ends it.
    let mut conn = WsConn::new(Role::Server, LIMITS, t0);
    conn.close(CloseCode::POLICY_VIOLATION, "", t0, &mut Vec::new());
    let mut events = Vec::new();
    conn.on_timer(t0 + LIMITS.close_timeout - Duration::from_millis(1), &mut events);
    assert!(events.is_empty());
    conn.on_timer(t0 + LIMITS.close_timeout, &mut events);
    assert_eq!(events, vec![WsEvent::Abort("no close reply")]);
}

#[test]
fn heartbeat_pings_and_drops_a_silent_peer() {
    let t0 = Instant::now();
    let mut conn = WsConn::new(Role::Server, LIMITS, t0);
    assert_eq!(conn.next_wake(), Some(t0 + Duration::from_secs(10)));
    let mut events = Vec::new();
    conn.on_timer(t0 + Duration::from_secs(9), &mut events);
    assert!(events.is_empty());
    let t1 = t0 + Duration::from_secs(10);
    conn.on_timer(t1, &mut events);
    assert_eq!(events, vec![WsEvent::Send(frame::server_frame(Opcode::Ping, b""))]);
    assert_eq!(conn.next_wake(), Some(t1 + LIMITS.ping_timeout));
    // A pong answers it: no drop at the timeout, next ping on schedule. Then the next ping
    // goes unanswered: dropped exactly at the timeout.
    let t2 = t1 + Duration::from_secs(10);
    let (answered, wake, unanswered) = every_way(&client_frame(true, Opcode::Pong, b""), |feed| {
        let mut conn = WsConn::new(Role::Server, LIMITS, t0);
        conn.on_timer(t1, &mut Vec::new());
        let mut answered = Vec::new();
        feed(&mut conn, &mut answered);
        conn.on_timer(t1 + LIMITS.ping_timeout, &mut answered);
        let wake = conn.next_wake();
        let mut unanswered = Vec::new();
        conn.on_timer(t2, &mut unanswered);
        conn.on_timer(t2 + LIMITS.ping_timeout - Duration::from_millis(1), &mut unanswered);
        conn.on_timer(t2 + LIMITS.ping_timeout, &mut unanswered);
        (answered, wake, unanswered)
    });
    assert_eq!(answered, vec![]);
    assert_eq!(wake, Some(t2));
    let ping = WsEvent::Send(frame::server_frame(Opcode::Ping, b""));
    assert_eq!(unanswered, vec![ping, WsEvent::Abort("no answer to ping")]);
}

#[test]
fn any_frame_answers_a_ping() {
    let t0 = Instant::now();
    let t1 = t0 + Duration::from_secs(10);
    let events = every_way(&client_frame(true, Opcode::Text, b"hi"), |feed| {
        let mut conn = WsConn::new(Role::Server, LIMITS, t0);
        conn.on_timer(t1, &mut Vec::new());
        let mut events = Vec::new();
        feed(&mut conn, &mut events);
        conn.on_timer(t1 + LIMITS.ping_timeout, &mut events);
        events
    });
    assert_eq!(events, vec![text("hi")]);
}

#[test]
fn heartbeats_off() {
    let limits = WsLimits { ping_interval: None, ..LIMITS };
    let conn = WsConn::new(Role::Server, limits, Instant::now());
    assert_eq!(conn.next_wake(), None);
}

#[test]
fn client_role_masks_and_rejects_masked_frames() {
    let t0 = Instant::now();
    let mut client = WsConn::new(Role::Client, LIMITS, t0).with_mask_seed(42);
    let a = client.frame_bytes(Opcode::Text, b"Hello");
    let b = client.frame_bytes(Opcode::Text, b"Hello");
    assert_ne!(a, b, "each frame gets a fresh key");
    // The server reads what the client writes.
    assert_eq!(feed_every_way(&[a, b].concat(), LIMITS), vec![text("Hello"), text("Hello")]);
    // The client reads what the server writes, and fails on a masked frame with a close
    // frame it masks itself (§5.1, §5.3).
    let bytes = [frame::server_frame(Opcode::Text, b"hi"), client_frame(true, Opcode::Text, b"x")].concat();
    let events = every_way(&bytes, |feed| {
        let mut client = WsConn::new(Role::Client, LIMITS, t0).with_mask_seed(7);
        let mut events = Vec::new();
        feed(&mut client, &mut events);
        events
    });
    let mut expected_client = WsConn::new(Role::Client, LIMITS, t0).with_mask_seed(7);
    let close =
        expected_client.frame_bytes(Opcode::Close, &close_payload(CloseCode::PROTOCOL_ERROR, "masked server frame"));
    assert_eq!(close[1] & 0x80, 0x80, "a client's close is masked");
    assert_eq!(events, vec![text("hi"), WsEvent::Send(close), WsEvent::Finish]);
}
