//! Tests of [`RedisSession`](super::RedisSession): golden command bytes, replies fed split
//! at every offset, every failure with the input that causes it.

use std::time::Duration;

use super::*;
use crate::wire::resp::RespError;

const SEC: Duration = Duration::from_secs(1);

fn config() -> RedisConfig {
    RedisConfig { reply_timeout: 2 * SEC, ping_interval: Some(5 * SEC), ..RedisConfig::default() }
}

fn cmd(args: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::new();
    resp::encode_command(&mut out, args);
    out
}

fn bulk(s: &str) -> Value {
    Value::Bulk(Some(s.as_bytes().to_vec()))
}

/// A ready session (its handshake answered), and the time it was made.
fn ready(role: SessionRole, config: RedisConfig) -> (RedisSession, Instant) {
    let now = Instant::now();
    let mut s = RedisSession::new(config, role, now);
    s.take_output();
    let mut events = Vec::new();
    s.feed(b"+PONG\r\n", now, &mut events);
    assert_eq!(events, vec![RedisEvent::Ready]);
    (s, now)
}

/// Feeds `bytes` to fresh sessions made by `make`, whole and split at every offset (in two
/// pieces, and byte by byte): the events must not depend on the split. Returns them.
fn feed_every_way(make: &dyn Fn(Instant) -> RedisSession, bytes: &[u8]) -> Vec<RedisEvent> {
    let now = Instant::now();
    let run = |pieces: &[&[u8]]| {
        let mut s = make(now);
        let mut events = Vec::new();
        for piece in pieces {
            s.feed(piece, now, &mut events);
        }
        events
    };
    let whole = run(&[bytes]);
    for cut in 0..=bytes.len() {
        assert_eq!(run(&[&bytes[..cut], &bytes[cut..]]), whole, "cut at {cut}");
    }
    let bytewise: Vec<&[u8]> = bytes.chunks(1).collect();
    assert_eq!(run(&bytewise), whole, "byte by byte");
    whole
}

#[test]
fn handshake_golden_bytes() {
    let now = Instant::now();
    let full = RedisConfig {
        user: Some("alice".into()),
        password: Some("s3cret".into()),
        db: 2,
        scripts: vec!["return 1"],
        ..config()
    };
    let mut s = RedisSession::new(full, SessionRole::Commands, now);
    let mut expected = cmd(&[b"AUTH", b"alice", b"s3cret"]);
    expected.extend(cmd(&[b"SELECT", b"2"]));
    expected.extend(cmd(&[b"SCRIPT", b"LOAD", b"return 1"]));
    expected.extend(cmd(&[b"PING"]));
    assert_eq!(s.take_output(), expected);
    assert_eq!(s.in_flight(), 4);
    assert!(!s.is_ready());
    // Password only: AUTH with one argument; db 0: no SELECT.
    let mut s = RedisSession::new(RedisConfig { password: Some("pw".into()), ..config() }, SessionRole::Commands, now);
    let mut expected = cmd(&[b"AUTH", b"pw"]);
    expected.extend(cmd(&[b"PING"]));
    assert_eq!(s.take_output(), expected);
    // Nothing configured: a PING alone.
    assert_eq!(RedisSession::new(config(), SessionRole::Commands, now).take_output(), cmd(&[b"PING"]));
}

#[test]
fn handshake_then_pipelined_replies_in_order() {
    let make = |now| {
        let full = RedisConfig { password: Some("pw".into()), db: 3, ..config() };
        let mut s = RedisSession::new(full, SessionRole::Commands, now);
        // Queued during the handshake: pipelined after it.
        assert!(s.command(10, &[b"GET", b"a"], now));
        assert!(s.command(11, &[b"INCR", b"b"], now));
        assert!(s.command(12, &[b"LRANGE", b"l", b"0", b"-1"], now));
        s
    };
    let replies = b"+OK\r\n+OK\r\n+PONG\r\n$-1\r\n:5\r\n*2\r\n$7\r\nmessage\r\n$1\r\nx\r\n";
    let events = feed_every_way(&make, replies);
    assert_eq!(
        events,
        vec![
            RedisEvent::Ready,
            RedisEvent::Reply { tag: 10, value: Value::Bulk(None) },
            RedisEvent::Reply { tag: 11, value: Value::Integer(5) },
            // On a command connection an array starting with "message" is data, not a push.
            RedisEvent::Reply { tag: 12, value: Value::Array(Some(vec![bulk("message"), bulk("x")])) },
        ]
    );
}

#[test]
fn error_replies_reach_the_caller() {
    let (mut s, now) = ready(SessionRole::Commands, config());
    s.command(1, &[b"INCR", b"s"], now);
    s.command(2, &[b"GET", b"s"], now);
    let mut events = Vec::new();
    s.feed(b"-ERR value is not an integer or out of range\r\n$1\r\nx\r\n", now, &mut events);
    assert_eq!(
        events[0],
        RedisEvent::Reply { tag: 1, value: Value::Error(b"ERR value is not an integer or out of range".to_vec()) }
    );
    assert_eq!(events[1], RedisEvent::Reply { tag: 2, value: bulk("x") });
    assert!(s.is_ready());
}

#[test]
fn refused_passwords_are_auth_failures() {
    let cases: [(Option<&str>, &[u8]); 4] = [
        (Some("bad"), b"-WRONGPASS invalid username-password pair or user is disabled.\r\n"),
        (Some("pw"), b"-ERR AUTH <password> called without any password configured for the default user.\r\n"),
        (Some("bad"), b"-ERR invalid password\r\n"),
        (None, b"-NOAUTH Authentication required.\r\n"),
    ];
    for (password, reply) in cases {
        let make = |now| {
            let mut s = RedisSession::new(
                RedisConfig { password: password.map(Into::into), ..config() },
                SessionRole::Commands,
                now,
            );
            s.command(7, &[b"GET", b"k"], now);
            s
        };
        let events = feed_every_way(&make, reply);
        let message = String::from_utf8_lossy(&reply[1..reply.len() - 2]).into_owned();
        assert_eq!(events, vec![RedisEvent::Failed { failure: Failure::AuthFailed(message), unanswered: vec![7] }]);
    }
}

#[test]
fn select_error_fails_the_handshake() {
    let now = Instant::now();
    let mut s = RedisSession::new(RedisConfig { db: 99, ..config() }, SessionRole::Commands, now);
    let mut events = Vec::new();
    s.feed(b"-ERR DB index is out of range\r\n", now, &mut events);
    assert_eq!(
        events,
        vec![RedisEvent::Failed {
            failure: Failure::Handshake("SELECT: ERR DB index is out of range".into()),
            unanswered: vec![]
        }]
    );
    assert!(s.is_failed());
}

#[test]
fn a_missing_reply_times_out_at_its_deadline() {
    let (mut s, start) = ready(SessionRole::Commands, RedisConfig { ping_interval: None, ..config() });
    assert_eq!(s.next_wake(), None, "idle, no probe");
    s.command(1, &[b"GET", b"a"], start);
    s.command(2, &[b"GET", b"b"], start + SEC);
    assert_eq!(s.next_wake(), Some(start + 2 * SEC));
    let mut events = Vec::new();
    s.on_timer(start + 2 * SEC - Duration::from_millis(1), &mut events);
    assert!(events.is_empty());
    s.feed(b"$1\r\nA\r\n", start + SEC, &mut events);
    assert_eq!(s.next_wake(), Some(start + 3 * SEC), "the next command's deadline");
    s.on_timer(start + 3 * SEC, &mut events);
    assert_eq!(events[1], RedisEvent::Failed { failure: Failure::Timeout("a command"), unanswered: vec![2] });
    assert!(s.is_failed());
    assert_eq!(s.next_wake(), None);
    // A failed session sends and reports nothing more.
    assert!(!s.command(3, &[b"PING"], start));
    s.feed(b"+OK\r\n", start, &mut events);
    s.on_closed(&mut events);
    assert_eq!(events.len(), 2);
    assert!(!s.has_output());
}

#[test]
fn handshake_timeout_bounds_the_connect() {
    let now = Instant::now();
    let mut s = RedisSession::new(config(), SessionRole::Commands, now);
    assert_eq!(s.next_wake(), Some(now + 2 * SEC));
    let mut events = Vec::new();
    s.on_timer(now + 2 * SEC, &mut events);
    assert_eq!(events, vec![RedisEvent::Failed { failure: Failure::Timeout("PING"), unanswered: vec![] }]);
}

#[test]
fn subscriber_confirmations_and_messages() {
    let make = |now| {
        let mut s = RedisSession::new(config(), SessionRole::Subscriber, now);
        assert!(s.subscribe(SubKind::Subscribe, &[b"a", b"b"], now));
        assert!(s.subscribe(SubKind::PSubscribe, &[b"r:*"], now));
        assert!(s.subscribe(SubKind::Unsubscribe, &[b"a"], now));
        s
    };
    let mut expected_out = cmd(&[b"PING"]);
    expected_out.extend(cmd(&[b"SUBSCRIBE", b"a", b"b"]));
    expected_out.extend(cmd(&[b"PSUBSCRIBE", b"r:*"]));
    expected_out.extend(cmd(&[b"UNSUBSCRIBE", b"a"]));
    assert_eq!(make(Instant::now()).take_output(), expected_out);
    let replies: &[u8] = b"+PONG\r\n\
        *3\r\n$9\r\nsubscribe\r\n$1\r\na\r\n:1\r\n\
        *3\r\n$7\r\nmessage\r\n$1\r\na\r\n$5\r\nhello\r\n\
        *3\r\n$9\r\nsubscribe\r\n$1\r\nb\r\n:2\r\n\
        *3\r\n$10\r\npsubscribe\r\n$3\r\nr:*\r\n:3\r\n\
        *4\r\n$8\r\npmessage\r\n$3\r\nr:*\r\n$3\r\nr:1\r\n$0\r\n\r\n\
        *3\r\n$11\r\nunsubscribe\r\n$1\r\na\r\n:2\r\n";
    let events = feed_every_way(&make, replies);
    let sub = |kind, channel: &str, count| RedisEvent::Subscription { kind, channel: channel.into(), count };
    assert_eq!(
        events,
        vec![
            RedisEvent::Ready,
            sub(SubKind::Subscribe, "a", 1),
            RedisEvent::Message { pattern: None, channel: b"a".to_vec(), payload: b"hello".to_vec() },
            sub(SubKind::Subscribe, "b", 2),
            sub(SubKind::PSubscribe, "r:*", 3),
            RedisEvent::Message { pattern: Some(b"r:*".to_vec()), channel: b"r:1".to_vec(), payload: vec![] },
            sub(SubKind::Unsubscribe, "a", 2),
        ]
    );
}

#[test]
fn a_confirmation_of_the_wrong_kind_breaks_the_session() {
    let (mut s, now) = ready(SessionRole::Subscriber, config());
    s.subscribe(SubKind::Subscribe, &[b"a"], now);
    let mut events = Vec::new();
    s.feed(b"*3\r\n$11\r\nunsubscribe\r\n$1\r\na\r\n:0\r\n", now, &mut events);
    assert!(
        matches!(&events[..], [RedisEvent::Failed { failure: Failure::Unexpected(m), .. }] if m.contains("Subscribe"))
    );
    assert!(!s.subscribe(SubKind::Subscribe, &[b"a"], now));
    assert!(!ready(SessionRole::Subscriber, config()).0.subscribe(SubKind::Subscribe, &[], now), "no channels");
}

/// The liveness probe: a PING after `ping_interval` of silence; in subscribed mode RESP2
/// answers `*2 $4 pong $0` (Redis docs, PING: "If the client is subscribed ... a multi-bulk
/// with a "pong" in the first position and an empty bulk in the second").
#[test]
fn liveness_probe_on_the_subscriber() {
    let (mut s, start) = ready(SessionRole::Subscriber, config());
    assert_eq!(s.next_wake(), Some(start + 5 * SEC));
    let mut events = Vec::new();
    // Traffic moves the probe back.
    s.feed(b"*3\r\n$7\r\nmessage\r\n$1\r\nc\r\n$1\r\np\r\n", start + 3 * SEC, &mut events);
    assert_eq!(s.next_wake(), Some(start + 8 * SEC));
    s.on_timer(start + 8 * SEC, &mut events);
    assert_eq!(s.take_output(), cmd(&[b"PING"]));
    assert_eq!(s.next_wake(), Some(start + 10 * SEC), "the PING's deadline");
    s.feed(b"*2\r\n$4\r\npong\r\n$0\r\n\r\n", start + 9 * SEC, &mut events);
    assert!(s.is_ready());
    assert_eq!(s.next_wake(), Some(start + 14 * SEC));
    // Unanswered: dead at the deadline.
    s.on_timer(start + 14 * SEC, &mut events);
    assert_eq!(s.take_output(), cmd(&[b"PING"]));
    s.on_timer(start + 16 * SEC, &mut events);
    assert_eq!(events.last(), Some(&RedisEvent::Failed { failure: Failure::Timeout("PING"), unanswered: vec![] }));
}

#[test]
fn probe_on_the_command_connection_takes_plain_pong() {
    let (mut s, start) = ready(SessionRole::Commands, config());
    let mut events = Vec::new();
    s.on_timer(start + 5 * SEC, &mut events);
    assert_eq!(s.take_output(), cmd(&[b"PING"]));
    s.command(4, &[b"GET", b"x"], start + 5 * SEC);
    s.feed(b"+PONG\r\n:1\r\n", start + 6 * SEC, &mut events);
    assert_eq!(events, vec![RedisEvent::Reply { tag: 4, value: Value::Integer(1) }]);
}

#[test]
fn broken_streams_fail_with_the_reason() {
    let cases: Vec<(&[u8], Failure)> = vec![
        (b"+PONG\r\n?\r\n", Failure::Protocol(RespError::UnknownType(b'?'))),
        (b"+PONG\r\n$-2\r\n", Failure::Protocol(RespError::NegativeLength)),
        (b"+PONG\r\n:1\r\n+extra\r\n", Failure::Unexpected("+extra with no command waiting".into())),
        (b"+PONG\r\n-NOSCRIPT No matching script.\r\n", Failure::NoScript("NOSCRIPT No matching script.".into())),
        (
            b"-LOADING Redis is loading the dataset in memory\r\n",
            Failure::Handshake("PING: LOADING Redis is loading the dataset in memory".into()),
        ),
    ];
    for (bytes, failure) in cases {
        let make = |now| {
            let mut s = RedisSession::new(config(), SessionRole::Commands, now);
            s.command(1, &[b"EVALSHA"], now);
            s
        };
        let events = feed_every_way(&make, bytes);
        let Some(RedisEvent::Failed { failure: got, .. }) = events.last() else { panic!("{bytes:?}: {events:?}") };
        assert_eq!(got, &failure, "{bytes:?}");
        assert!(!got.to_string().is_empty());
    }
}

#[test]
fn an_incomplete_reply_over_max_buffer_fails() {
    let limited = RedisConfig { max_buffer: 64, ..config() };
    let (mut s, now) = ready(SessionRole::Commands, limited);
    s.command(1, &[b"GET", b"big"], now);
    let mut events = Vec::new();
    let mut reply = b"$100\r\n".to_vec();
    reply.extend_from_slice(&[b'x'; 58]);
    s.feed(&reply, now, &mut events);
    assert!(events.is_empty(), "64 bytes buffered: at the limit");
    s.feed(b"x", now, &mut events);
    assert_eq!(events, vec![RedisEvent::Failed { failure: Failure::ReplyTooLarge { max: 64 }, unanswered: vec![1] }]);
}

#[test]
fn a_complete_reply_over_max_buffer_fails_too() {
    let make = |now| {
        let mut s = RedisSession::new(RedisConfig { max_buffer: 16, ..config() }, SessionRole::Commands, now);
        s.command(1, &[b"GET", b"a"], now);
        s.command(2, &[b"GET", b"b"], now);
        s
    };
    // The 16-byte reply passes, the 17-byte one fails, whole or split anywhere.
    let events = feed_every_way(&make, b"+PONG\r\n$9\r\n123456789\r\n$10\r\n1234567890\r\n");
    assert_eq!(
        events,
        vec![
            RedisEvent::Ready,
            RedisEvent::Reply { tag: 1, value: bulk("123456789") },
            RedisEvent::Failed { failure: Failure::ReplyTooLarge { max: 16 }, unanswered: vec![2] },
        ]
    );
}

#[test]
fn closed_connection_reports_unanswered_in_order() {
    let (mut s, now) = ready(SessionRole::Commands, config());
    for tag in [5, 3, 9] {
        s.command(tag, &[b"PING"], now);
    }
    let mut events = Vec::new();
    s.feed(b"+PONG\r\n", now, &mut events);
    s.on_closed(&mut events);
    assert_eq!(events[1], RedisEvent::Failed { failure: Failure::Closed, unanswered: vec![3, 9] });
}
