//! Tests of [`WsConn`](super::WsConn): every rule fed as bytes, split at every offset.

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

/// Feeds `bytes` in one piece, in pieces of every size, and split at every offset, and
/// checks that each way gives the same events; returns them.
fn feed_every_way(bytes: &[u8], limits: WsLimits) -> Vec<WsEvent> {
    let now = Instant::now();
    let run = |pieces: &mut dyn Iterator<Item = &[u8]>| {
        let mut conn = WsConn::new(Role::Server, limits, now);
        let mut events = Vec::new();
        for piece in pieces {
            conn.feed(&mut piece.to_vec(), &mut events);
        }
        events
    };
    let whole = run(&mut std::iter::once(bytes));
    for size in 1..bytes.len().min(40) {
        assert_eq!(run(&mut bytes.chunks(size)), whole, "pieces of {size}");
    }
    for split in 0..=bytes.len() {
        let (a, b) = bytes.split_at(split);
        assert_eq!(run(&mut [a, b].into_iter()), whole, "split at {split}");
    }
    whole
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

#[test]
fn lengths_of_each_form() {
    for len in [0usize, 125, 126, 256, 1000] {
        let payload: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
        let bytes = client_frame(true, Opcode::Binary, &payload);
        let events = feed_every_way(&bytes, LIMITS);
        assert_eq!(events, vec![WsEvent::Message(Message { opcode: Opcode::Binary, data: payload })]);
    }
    let big = LIMITS.max_message + 65536 - 1000;
    let limits = WsLimits { max_message: big, ..LIMITS };
    let payload = vec![7u8; 65536];
    let mut conn = WsConn::new(Role::Server, limits, Instant::now());
    let mut events = Vec::new();
    conn.feed(&mut client_frame(true, Opcode::Binary, &payload), &mut events);
    assert_eq!(events, vec![WsEvent::Message(Message { opcode: Opcode::Binary, data: payload })]);
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
    let mut conn = WsConn::new(Role::Server, LIMITS, Instant::now());
    let mut events = Vec::new();
    let frame = client_frame(true, Opcode::Text, b"abc\xf4\x90\x80\x80 and much more text follows");
    // Only the header and the first bad bytes arrive.
    conn.feed(&mut frame[..2 + 4 + 5].to_vec(), &mut events);
    assert_eq!(events.last(), Some(&WsEvent::Finish));
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
    let mut conn = WsConn::new(Role::Server, LIMITS, Instant::now());
    let mut events = Vec::new();
    conn.feed(&mut vec![0x82, 0xFF, 0, 0, 0, 1, 0, 0, 0, 0, 1, 2, 3, 4], &mut events);
    assert_eq!(events, vec![server_close(CloseCode::MESSAGE_TOO_BIG, "message too big"), WsEvent::Finish]);
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
    let mut conn = WsConn::new(Role::Server, LIMITS, t0);
    let mut events = Vec::new();
    conn.close(CloseCode::GOING_AWAY, "server shutting down", t0, &mut events);
    assert_eq!(events, vec![server_close(CloseCode::GOING_AWAY, "server shutting down")]);
    assert_eq!(conn.next_wake(), Some(t0 + LIMITS.close_timeout));
    // Messages after our close are not delivered; the peer's close ends it without a reply.
    events.clear();
    let bytes = [client_frame(true, Opcode::Text, b"late"), client_frame(true, Opcode::Close, b"\x03\xe9")].concat();
    conn.feed(&mut bytes.clone(), &mut events);
    assert_eq!(events, vec![WsEvent::Finish]);
    assert!(conn.is_closed());

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
    // A pong answers it: no drop at the timeout, next ping on schedule.
    events.clear();
    conn.feed(&mut client_frame(true, Opcode::Pong, b""), &mut events);
    conn.on_timer(t1 + LIMITS.ping_timeout, &mut events);
    assert!(events.is_empty());
    assert_eq!(conn.next_wake(), Some(t1 + Duration::from_secs(10)));
    // The next ping goes unanswered: dropped exactly at the timeout.
    let t2 = t1 + Duration::from_secs(10);
    conn.on_timer(t2, &mut events);
    events.clear();
    conn.on_timer(t2 + LIMITS.ping_timeout - Duration::from_millis(1), &mut events);
    assert!(events.is_empty());
    conn.on_timer(t2 + LIMITS.ping_timeout, &mut events);
    assert_eq!(events, vec![WsEvent::Abort("no answer to ping")]);
}

#[test]
fn any_frame_answers_a_ping() {
    let t0 = Instant::now();
    let mut conn = WsConn::new(Role::Server, LIMITS, t0);
    let t1 = t0 + Duration::from_secs(10);
    conn.on_timer(t1, &mut Vec::new());
    let mut events = Vec::new();
    conn.feed(&mut client_frame(true, Opcode::Text, b"hi"), &mut events);
    conn.on_timer(t1 + LIMITS.ping_timeout, &mut events);
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
    let mut server = WsConn::new(Role::Server, LIMITS, t0);
    let mut events = Vec::new();
    server.feed(&mut [a, b].concat(), &mut events);
    assert_eq!(events, vec![text("Hello"), text("Hello")]);
    // The client reads what the server writes, and refuses masked frames.
    let mut events = Vec::new();
    client.feed(&mut frame::server_frame(Opcode::Text, b"hi"), &mut events);
    assert_eq!(events, vec![text("hi")]);
    client.feed(&mut client_frame(true, Opcode::Text, b"x"), &mut events);
    assert_eq!(events.last(), Some(&WsEvent::Finish));
}
