//! `RedisSession` and the cluster scripts against a real `redis-server` started by each test
//! on a free port (Debian: `apt-get install -y redis-server`; the tests fail, never skip,
//! when it is missing). The session is driven over a blocking `TcpStream` by a small loop.

use std::io::{ErrorKind, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use danmaku_wall::protocol::cluster_script::{self as cs, EventAction, HistoryPolicy, Position, RoomKeys};
use danmaku_wall::protocol::redis_session::{Failure, RedisConfig, RedisEvent, RedisSession, SessionRole, SubKind};
use danmaku_wall::wire::resp::Value;

/// A private redis-server, killed when dropped.
struct Redis {
    child: Child,
    port: u16,
}

impl Redis {
    fn start(extra: &[&str]) -> Redis {
        let port = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let port_text = port.to_string();
        let mut args = vec!["--port", &port_text, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"];
        args.extend_from_slice(extra);
        let child = Command::new("redis-server")
            .args(&args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| {
                panic!("cannot start redis-server ({e}): install it with `apt-get install -y redis-server`")
            });
        let redis = Redis { child, port };
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "redis-server did not accept connections on port {port} within 10 s");
            std::thread::sleep(Duration::from_millis(20));
        }
        redis
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A session on a blocking socket.
struct Conn {
    stream: TcpStream,
    session: RedisSession,
    events: Vec<RedisEvent>,
    next_tag: u64,
}

fn config() -> RedisConfig {
    RedisConfig { reply_timeout: Duration::from_secs(3), ping_interval: None, ..RedisConfig::default() }
}

impl Conn {
    fn open(port: u16, config: RedisConfig, role: SessionRole) -> Conn {
        let stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
        stream.set_read_timeout(Some(Duration::from_millis(20))).unwrap();
        Conn { stream, session: RedisSession::new(config, role, Instant::now()), events: Vec::new(), next_tag: 1 }
    }

    /// Opens and waits for `Ready`.
    fn ready(port: u16, config: RedisConfig, role: SessionRole) -> Conn {
        let mut c = Conn::open(port, config, role);
        c.pump_until(|e| e.contains(&RedisEvent::Ready));
        c.events.clear();
        c
    }

    /// Writes, reads and runs timers until `done(events)` or 5 s pass (then panics).
    fn pump_until(&mut self, done: impl Fn(&[RedisEvent]) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(5);
        let mut buf = [0u8; 65536];
        while !done(&self.events) {
            assert!(Instant::now() < deadline, "timed out; events so far: {:?}", self.events);
            let out = self.session.take_output();
            if !out.is_empty() {
                self.stream.write_all(&out).unwrap();
            }
            match self.stream.read(&mut buf) {
                Ok(0) => self.session.on_closed(&mut self.events),
                Ok(n) => self.session.feed(&buf[..n], Instant::now(), &mut self.events),
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
                Err(_) => self.session.on_closed(&mut self.events),
            }
            self.session.on_timer(Instant::now(), &mut self.events);
        }
    }

    /// One command, waiting for its reply.
    fn call(&mut self, args: &[&[u8]]) -> Value {
        let tag = self.next_tag;
        self.next_tag += 1;
        assert!(self.session.command(tag, args, Instant::now()));
        self.pump_until(|e| e.iter().any(|e| matches!(e, RedisEvent::Reply { tag: t, .. } if *t == tag)));
        let i = self.events.iter().position(|e| matches!(e, RedisEvent::Reply { tag: t, .. } if *t == tag)).unwrap();
        match self.events.remove(i) {
            RedisEvent::Reply { value, .. } => value,
            _ => unreachable!(),
        }
    }

    fn script(&mut self, call: &cs::ScriptCall) -> Value {
        let args = call.eval();
        self.call(&args.iter().map(Vec::as_slice).collect::<Vec<_>>())
    }

    fn failure(&mut self) -> Failure {
        self.pump_until(|e| e.iter().any(|e| matches!(e, RedisEvent::Failed { .. })));
        match self.events.iter().find(|e| matches!(e, RedisEvent::Failed { .. })) {
            Some(RedisEvent::Failed { failure, .. }) => failure.clone(),
            _ => unreachable!(),
        }
    }
}

fn bulk(s: &str) -> Value {
    Value::Bulk(Some(s.as_bytes().to_vec()))
}

#[test]
fn pipelined_replies_come_back_in_order() {
    let redis = Redis::start(&[]);
    let mut c = Conn::open(redis.port, config(), SessionRole::Commands);
    // Queued before the handshake is even answered, all in one write.
    let now = Instant::now();
    for tag in 0..200u64 {
        let value = tag.to_string();
        assert!(c.session.command(tag, &[b"RPUSH", b"list", value.as_bytes()], now));
    }
    c.pump_until(|e| e.len() == 201);
    assert_eq!(c.events[0], RedisEvent::Ready);
    for (i, event) in c.events[1..].iter().enumerate() {
        assert_eq!(event, &RedisEvent::Reply { tag: i as u64, value: Value::Integer(i as i64 + 1) });
    }
    c.events.clear();
    c.next_tag = 1000;
    assert_eq!(c.call(&[b"LINDEX", b"list", b"199"]), bulk("199"));
    assert!(matches!(c.call(&[b"NOSUCHCOMMAND"]), Value::Error(e) if e.starts_with(b"ERR unknown command")));
    assert!(c.session.is_ready(), "an error reply does not break the session");
}

#[test]
fn auth_with_requirepass() {
    let redis = Redis::start(&["--requirepass", "s3cret"]);
    let wrong = RedisConfig { password: Some("nope".into()), ..config() };
    let f = Conn::open(redis.port, wrong, SessionRole::Commands).failure();
    assert!(matches!(&f, Failure::AuthFailed(m) if m.starts_with("WRONGPASS")), "{f:?}");
    let f = Conn::open(redis.port, config(), SessionRole::Commands).failure();
    assert!(matches!(&f, Failure::AuthFailed(m) if m.starts_with("NOAUTH")), "{f:?}");
    let user = RedisConfig { user: Some("default".into()), password: Some("s3cret".into()), ..config() };
    let mut c = Conn::ready(redis.port, user, SessionRole::Commands);
    assert_eq!(c.call(&[b"PING"]), Value::SimpleString(b"PONG".to_vec()));
    let right = RedisConfig { password: Some("s3cret".into()), ..config() };
    let mut c = Conn::ready(redis.port, right, SessionRole::Commands);
    assert_eq!(c.call(&[b"SET", b"k", b"v"]), Value::SimpleString(b"OK".to_vec()));
}

#[test]
fn select_keeps_databases_apart() {
    let redis = Redis::start(&[]);
    let mut db3 = Conn::ready(redis.port, RedisConfig { db: 3, ..config() }, SessionRole::Commands);
    let mut db0 = Conn::ready(redis.port, config(), SessionRole::Commands);
    assert_eq!(db3.call(&[b"SET", b"k", b"three"]), Value::SimpleString(b"OK".to_vec()));
    assert_eq!(db0.call(&[b"GET", b"k"]), Value::Bulk(None));
    assert_eq!(db3.call(&[b"GET", b"k"]), bulk("three"));
    let f = Conn::open(redis.port, RedisConfig { db: 999, ..config() }, SessionRole::Commands).failure();
    assert!(matches!(&f, Failure::Handshake(m) if m.contains("SELECT") && m.contains("out of range")), "{f:?}");
}

#[test]
fn subscribe_and_receive() {
    let redis = Redis::start(&[]);
    let probe = RedisConfig { ping_interval: Some(Duration::from_millis(100)), ..config() };
    let mut sub = Conn::ready(redis.port, probe, SessionRole::Subscriber);
    assert!(sub.session.subscribe(SubKind::Subscribe, &[b"room:a", b"room:b"], Instant::now()));
    assert!(sub.session.subscribe(SubKind::PSubscribe, &[b"p:*"], Instant::now()));
    sub.pump_until(|e| e.len() == 3);
    assert_eq!(
        sub.events,
        vec![
            RedisEvent::Subscription { kind: SubKind::Subscribe, channel: b"room:a".to_vec(), count: 1 },
            RedisEvent::Subscription { kind: SubKind::Subscribe, channel: b"room:b".to_vec(), count: 2 },
            RedisEvent::Subscription { kind: SubKind::PSubscribe, channel: b"p:*".to_vec(), count: 3 },
        ]
    );
    sub.events.clear();
    // Liveness probes in subscribed mode (`*2 pong ""`) keep the session alive.
    let until = Instant::now() + Duration::from_millis(500);
    sub.pump_until(|_| Instant::now() >= until);
    assert!(sub.session.is_ready() && sub.events.is_empty(), "{:?}", sub.events);
    let mut cmd = Conn::ready(redis.port, config(), SessionRole::Commands);
    assert_eq!(cmd.call(&[b"PUBLISH", b"room:b", b"hello\r\nworld"]), Value::Integer(1));
    assert_eq!(cmd.call(&[b"PUBLISH", b"p:x", b""]), Value::Integer(1));
    sub.pump_until(|e| e.len() == 2);
    assert_eq!(
        sub.events,
        vec![
            RedisEvent::Message { pattern: None, channel: b"room:b".to_vec(), payload: b"hello\r\nworld".to_vec() },
            RedisEvent::Message { pattern: Some(b"p:*".to_vec()), channel: b"p:x".to_vec(), payload: vec![] },
        ]
    );
}

const POLICY: HistoryPolicy = HistoryPolicy { size: 1000, age_ms: 120_000, key_ttl_secs: 3600 };
const NOW: u64 = 1_700_000_000_000;

fn rest(msg: &str, time: u64) -> String {
    format!(r##","msg":"{msg}","color":"#ffffff","size":"medium","mode":"scroll","time":{time}}}"##)
}

fn history(c: &mut Conn, keys: &RoomKeys, policy: &HistoryPolicy, after: Option<Position>, now: u64) -> cs::History {
    cs::parse_history(&c.script(&cs::read(keys, policy, "candidate", after, now))).unwrap()
}

fn ids(h: &cs::History) -> Vec<(u64, u64)> {
    h.entries.iter().map(|(p, _)| (p.id, p.seq)).collect()
}

#[test]
fn publish_script_numbers_stores_and_publishes() {
    let redis = Redis::start(&[]);
    let keys = RoomKeys::new("danmaku:", 0, "main");
    let mut sub = Conn::ready(redis.port, config(), SessionRole::Subscriber);
    sub.session.subscribe(SubKind::Subscribe, &[keys.channel.as_bytes()], Instant::now());
    sub.pump_until(|e| e.len() == 1);
    sub.events.clear();
    // EVALSHA after SCRIPT LOAD in the handshake.
    let loaded = RedisConfig { scripts: vec![cs::PUBLISH, cs::EVENT, cs::READ], ..config() };
    let mut c = Conn::ready(redis.port, loaded, SessionRole::Commands);
    // hello of a new room creates its epoch from the candidate, once.
    let hello = cs::parse_history(&c.script(&cs::read(&keys, &POLICY, "Epoch1", None, NOW))).unwrap();
    assert_eq!((hello.epoch.as_str(), hello.top, hello.floor), ("Epoch1", Position { id: 0, seq: 0 }, 0));
    for (i, msg) in ["a", "b", "c"].iter().enumerate() {
        let args = cs::publish(&keys, &POLICY, "Other", &rest(msg, NOW + i as u64), NOW + i as u64).evalsha();
        let reply = c.call(&args.iter().map(Vec::as_slice).collect::<Vec<_>>());
        assert_eq!(cs::parse_published(&reply), Ok(("Epoch1".to_string(), i as u64 + 1)), "{reply:?}");
    }
    sub.pump_until(|e| e.len() == 3);
    for (i, event) in sub.events.iter().enumerate() {
        let RedisEvent::Message { channel, payload, .. } = event else { panic!("{event:?}") };
        assert_eq!(channel, keys.channel.as_bytes());
        let live = cs::parse_live(payload).unwrap();
        assert_eq!((live.epoch.as_str(), live.pos), ("Epoch1", Position { id: i as u64 + 1, seq: 0 }));
        let expected = format!(r#"{{"type":"danmaku","id":{}{}"#, i + 1, rest(["a", "b", "c"][i], NOW + i as u64));
        assert_eq!(String::from_utf8(live.json).unwrap(), expected);
    }
    // History after id 1: 2 and 3, with their JSON.
    let h = history(&mut c, &keys, &POLICY, Some(Position { id: 1, seq: 0 }), NOW);
    assert_eq!(
        (h.epoch.as_str(), h.top, h.floor, ids(&h)),
        ("Epoch1", Position { id: 3, seq: 0 }, 0, vec![(2, 0), (3, 0)])
    );
    assert!(h.entries[1].1.starts_with(br#"{"type":"danmaku","id":3,"msg":"c""#));
    assert!(history(&mut c, &keys, &POLICY, Some(Position { id: 3, seq: 0 }), NOW).entries.is_empty());
    // FLUSHALL loses the room: a new epoch, ids from 1 again.
    assert_eq!(c.call(&[b"FLUSHALL"]), Value::SimpleString(b"OK".to_vec()));
    let reply = c.script(&cs::publish(&keys, &POLICY, "Epoch2", &rest("d", NOW), NOW));
    assert_eq!(cs::parse_published(&reply), Ok(("Epoch2".to_string(), 1)));
    // SCRIPT FLUSH under the session: EVALSHA gets NOSCRIPT and the session fails.
    assert_eq!(c.call(&[b"SCRIPT", b"FLUSH"]), Value::SimpleString(b"OK".to_vec()));
    let args = cs::publish(&keys, &POLICY, "E", &rest("e", NOW), NOW).evalsha();
    c.session.command(99, &args.iter().map(Vec::as_slice).collect::<Vec<_>>(), Instant::now());
    assert!(matches!(c.failure(), Failure::NoScript(_)));
    let mut ttl = Conn::ready(redis.port, config(), SessionRole::Commands);
    assert!(matches!(ttl.call(&[b"TTL", keys.meta.as_bytes()]), Value::Integer(t) if t > 3500 && t <= 3600));
    assert!(matches!(ttl.call(&[b"TTL", keys.history.as_bytes()]), Value::Integer(t) if t > 3500 && t <= 3600));
}

#[test]
fn moderation_events_share_the_history() {
    let redis = Redis::start(&[]);
    let keys = RoomKeys::new("t:", 0, "r");
    let mut c = Conn::ready(redis.port, config(), SessionRole::Commands);
    for i in 1..=4 {
        c.script(&cs::publish(&keys, &POLICY, "E", &rest("x", NOW), NOW + i));
    }
    let delete = cs::event(&keys, &POLICY, "X", r#"{"type":"delete","id":2}"#, EventAction::Delete(2), NOW + 5);
    assert_eq!(cs::parse_event_reply(&c.script(&delete)), Ok(("E".to_string(), Position { id: 4, seq: 1 })));
    let h = history(&mut c, &keys, &POLICY, Some(Position { id: 0, seq: 0 }), NOW + 6);
    assert_eq!(ids(&h), vec![(1, 0), (3, 0), (4, 0), (4, 1)], "danmaku 2 is gone, the delete follows 4");
    assert_eq!(h.entries[3].1, br#"{"type":"delete","id":2}"#);
    assert_eq!(h.top, Position { id: 4, seq: 1 });
    // A wall that saw 4 but not the delete gets it.
    assert_eq!(ids(&history(&mut c, &keys, &POLICY, Some(Position { id: 4, seq: 0 }), NOW + 6)), vec![(4, 1)]);
    c.script(&cs::publish(&keys, &POLICY, "E", &rest("y", NOW), NOW + 7));
    let clear = cs::event(&keys, &POLICY, "E", r#"{"type":"clear"}"#, EventAction::Clear, NOW + 8);
    assert_eq!(cs::parse_event_reply(&c.script(&clear)), Ok(("E".to_string(), Position { id: 5, seq: 1 })));
    let h = history(&mut c, &keys, &POLICY, Some(Position { id: 0, seq: 0 }), NOW + 9);
    assert_eq!((ids(&h), h.floor), (vec![(5, 1)], 0), "nothing before the clear, and nothing lost");
    let reply = c.script(&cs::publish(&keys, &POLICY, "E", &rest("z", NOW), NOW + 10));
    assert_eq!(cs::parse_published(&reply), Ok(("E".to_string(), 6)));
    assert_eq!(ids(&history(&mut c, &keys, &POLICY, Some(Position { id: 5, seq: 0 }), NOW + 11)), vec![(5, 1), (6, 0)]);
}

#[test]
fn history_is_capped_by_size_and_age() {
    let redis = Redis::start(&[]);
    let keys = RoomKeys::new("t:", 0, "cap");
    let small = HistoryPolicy { size: 3, age_ms: 10_000, key_ttl_secs: 60 };
    let mut c = Conn::ready(redis.port, config(), SessionRole::Commands);
    for i in 1..=5 {
        c.script(&cs::publish(&keys, &small, "E", &rest("x", NOW), NOW + i * 1000));
    }
    let h = history(&mut c, &keys, &small, Some(Position { id: 0, seq: 0 }), NOW + 5000);
    assert_eq!((ids(&h), h.floor), (vec![(3, 0), (4, 0), (5, 0)], 2), "the last 3; 1 and 2 lost");
    // 11.5 s after danmaku 1: danmaku 3 (t = 3 s) and older are past the 10 s age.
    let h = history(&mut c, &keys, &small, Some(Position { id: 0, seq: 0 }), NOW + 13_500);
    assert_eq!((ids(&h), h.floor), (vec![(4, 0), (5, 0)], 3));
    let none = HistoryPolicy { size: 0, ..small };
    let reply = c.script(&cs::publish(&keys, &none, "E", &rest("x", NOW), NOW + 14_000));
    assert_eq!(cs::parse_published(&reply), Ok(("E".to_string(), 6)));
    let h = history(&mut c, &keys, &none, Some(Position { id: 0, seq: 0 }), NOW + 14_000);
    assert_eq!((ids(&h), h.floor, h.top.id), (vec![], 6, 6), "--history 0: nothing kept, recovered only at the top");
}

/// A fake server that answers the handshake, then sends `reply` to the next command.
fn fake_server(reply: &'static [u8]) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        let mut buf = [0u8; 1024];
        let _ = s.read(&mut buf);
        let _ = s.write_all(b"+PONG\r\n");
        let _ = s.read(&mut buf);
        let _ = s.write_all(reply);
        std::thread::sleep(Duration::from_secs(3));
    });
    port
}

#[test]
fn hostile_replies_fail_the_session() {
    let cases: [(&'static [u8], &str); 4] = [
        (b"$9999999999\r\n", "over the limit"),
        (b"*2000000000\r\n", "over the limit"),
        (b"%2\r\n", "first byte"),
        (b"$3\r\nabcXY", "followed by CRLF"),
    ];
    for (reply, words) in cases {
        let mut c = Conn::ready(fake_server(reply), config(), SessionRole::Commands);
        c.session.command(1, &[b"GET", b"x"], Instant::now());
        let failure = c.failure();
        assert!(matches!(failure, Failure::Protocol(_)) && failure.to_string().contains(words), "{reply:?}: {failure}");
    }
    let deep: &'static [u8] = b"*1\r\n".repeat(10_000).leak();
    let mut c = Conn::ready(fake_server(deep), config(), SessionRole::Commands);
    c.session.command(1, &[b"GET", b"x"], Instant::now());
    assert!(c.failure().to_string().contains("nested deeper"));
    // Silence: the reply deadline ends the session.
    let quick = RedisConfig { reply_timeout: Duration::from_millis(300), ..config() };
    let mut c = Conn::ready(fake_server(b""), quick, SessionRole::Commands);
    c.session.command(1, &[b"GET", b"x"], Instant::now());
    assert_eq!(c.failure(), Failure::Timeout("a command"));
}
