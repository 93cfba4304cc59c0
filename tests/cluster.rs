//! Cluster mode (`--redis`) end to end: real nodes (the binary) on one private redis-server
//! started here on a free port (tests/common/redis.rs; installed with apt-get if missing,
//! never skipped), and the faults of the contract's "Cluster" section, each with its outcome.

mod common;
#[path = "common/redis.rs"]
mod redis;

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::thread;
use std::time::{Duration, Instant};

use common::{Hello, Recv, Server, Ws, danmaku_id, get};
use danmaku_wall::kit::messages::{self, Ack};
use redis::Redis;

fn node(url: &str, extra: &[&str]) -> Server {
    let mut flags = vec!["--redis", url, "--rate", "0"];
    flags.extend_from_slice(extra);
    Server::start(&flags)
}

/// Waits until `/healthz` answers `status`.
fn wait_health(addr: SocketAddr, status: u16, within: Duration) {
    let deadline = Instant::now() + within;
    loop {
        let got = get(addr, "/healthz").status;
        if got == status {
            return;
        }
        assert!(Instant::now() < deadline, "/healthz on {addr} still {got}, wanted {status} after {within:?}");
        thread::sleep(Duration::from_millis(50));
    }
}

fn join(addr: SocketAddr, target: &str) -> (Ws, Hello) {
    let ws = Ws::connect(addr, target);
    let hello = ws.hello.clone().expect("a hello first");
    (ws, hello)
}

/// What a wall received, in order: danmaku ids, and any other message's text.
#[derive(Debug, Default)]
struct Seen {
    ids: Vec<u64>,
    others: Vec<String>,
}

/// Reads until `done(seen)` or `within` passes (then panics with what came).
fn read_until(ws: &mut Ws, within: Duration, done: impl Fn(&Seen) -> bool) -> Seen {
    let deadline = Instant::now() + within;
    let mut seen = Seen::default();
    while !done(&seen) {
        let left = deadline.saturating_duration_since(Instant::now());
        assert!(
            !left.is_zero(),
            "timed out: {} ids (last {:?}), others {:?}",
            seen.ids.len(),
            seen.ids.last(),
            seen.others
        );
        match ws.recv_within(left) {
            Recv::Frame(f) => match (messages::message_type(f.text().as_bytes()), danmaku_id(f.text().as_bytes())) {
                (Some(b"danmaku"), Some(id)) => seen.ids.push(id),
                _ => seen.others.push(f.text().to_string()),
            },
            Recv::Timeout => {}
            Recv::Eof => panic!("the wall was closed; seen {} ids, others {:?}", seen.ids.len(), seen.others),
        }
    }
    seen
}

/// Reads for `quiet` and asserts nothing came.
fn assert_silent(ws: &mut Ws, quiet: Duration) {
    if let Recv::Frame(f) = ws.recv_within(quiet) {
        panic!("expected nothing, got {}", f.text());
    }
}

/// Posts one danmaku with `reference` and returns the answer addressed to it (ack or error).
fn post(ws: &mut Ws, reference: &str) -> String {
    ws.post("hello cluster", Some(reference));
    let seen = read_until(ws, Duration::from_secs(5), |s| s.others.iter().any(|o| o.contains(reference)));
    seen.others.into_iter().find(|o| o.contains(reference)).unwrap()
}

fn ack_id(text: &str) -> u64 {
    Ack::parse(text.as_bytes()).unwrap_or_else(|e| panic!("expected an ack: {e}: {text}")).id
}

#[test]
fn three_nodes_one_sequence_under_concurrent_posts() {
    const POSTERS_PER_NODE: usize = 3;
    const POSTS: usize = 300;
    const TOTAL: u64 = (3 * POSTERS_PER_NODE * POSTS) as u64;
    let redis = Redis::start(&[]);
    let nodes: Vec<Server> = (0..3).map(|_| node(&redis.url(), &[])).collect();
    for n in &nodes {
        wait_health(n.addr(), 200, Duration::from_secs(10));
    }
    let mut walls = Vec::new();
    for n in &nodes {
        for _ in 0..2 {
            let (ws, hello) = join(n.addr(), "/ws?room=big");
            assert_eq!(hello.last, 0);
            walls.push((ws, hello.epoch));
        }
    }
    let epoch = walls[0].1.clone();
    assert!(walls.iter().all(|(_, e)| *e == epoch), "every node reports the room's one epoch");
    let (mut other, _) = join(nodes[0].addr(), "/ws?room=other");
    let readers: Vec<_> = walls
        .into_iter()
        .map(|(mut ws, _)| {
            thread::spawn(move || read_until(&mut ws, Duration::from_secs(40), |s| s.ids.len() as u64 >= TOTAL))
        })
        .collect();
    let mut posters = Vec::new();
    for (i, n) in nodes.iter().enumerate() {
        for p in 0..POSTERS_PER_NODE {
            let addr = n.addr();
            posters.push(thread::spawn(move || {
                let (mut ws, _) = join(addr, "/ws?room=big");
                for k in 0..POSTS {
                    ws.post(&format!("n{i} p{p} #{k}"), Some(&format!("r{i}-{p}-{k}")));
                }
                let seen = read_until(&mut ws, Duration::from_secs(40), |s| s.others.len() >= POSTS);
                seen.others.iter().map(|t| ack_id(t)).collect::<Vec<u64>>()
            }));
        }
    }
    let mut acked = BTreeSet::new();
    for p in posters {
        let ids = p.join().expect("poster");
        assert!(ids.windows(2).all(|w| w[0] < w[1]), "one connection's posts keep their order: {ids:?}");
        acked.extend(ids);
    }
    assert_eq!(acked, (1..=TOTAL).collect(), "every post acked once, ids 1..={TOTAL}");
    let expected: Vec<u64> = (1..=TOTAL).collect();
    for r in readers {
        let seen = r.join().expect("wall");
        assert_eq!(seen.ids, expected, "every wall on every node: the same ids in the same order");
        assert!(seen.others.is_empty(), "{:?}", seen.others);
    }
    // Rooms are independent: `other` saw none of it and counts from 1 on its own.
    assert_silent(&mut other, Duration::from_millis(200));
    let (mut poster, hello) = join(nodes[2].addr(), "/ws?room=other");
    assert_eq!(hello.last, 0);
    assert_eq!(ack_id(&post(&mut poster, "o1")), 1);
    assert_eq!(read_until(&mut other, Duration::from_secs(5), |s| !s.ids.is_empty()).ids, vec![1]);
}

#[test]
fn a_wall_resumes_on_another_node() {
    let redis = Redis::start(&[]);
    let (a, b, c) = (node(&redis.url(), &[]), node(&redis.url(), &[]), node(&redis.url(), &[]));
    for n in [&a, &b, &c] {
        wait_health(n.addr(), 200, Duration::from_secs(10));
    }
    let (mut wall, hello) = join(a.addr(), "/ws?room=resume");
    let (mut poster_a, _) = join(a.addr(), "/ws?room=resume");
    for k in 1..=5 {
        assert_eq!(ack_id(&post(&mut poster_a, &format!("a{k}"))), k);
    }
    assert_eq!(read_until(&mut wall, Duration::from_secs(5), |s| s.ids.len() == 5).ids, vec![1, 2, 3, 4, 5]);
    drop(wall);
    let (mut poster_b, _) = join(b.addr(), "/ws?room=resume");
    for k in 6..=8 {
        assert_eq!(ack_id(&post(&mut poster_b, &format!("b{k}"))), k);
    }
    let (mut back, h) = join(c.addr(), &format!("/ws?room=resume&since=5&epoch={}", hello.epoch));
    assert_eq!((h.epoch.as_str(), h.last, h.recovered), (hello.epoch.as_str(), 8, Some(true)));
    assert_eq!(read_until(&mut back, Duration::from_secs(5), |s| s.ids.len() == 3).ids, vec![6, 7, 8]);
    assert_eq!(ack_id(&post(&mut poster_b, "b9")), 9);
    assert_eq!(read_until(&mut back, Duration::from_secs(5), |s| !s.ids.is_empty()).ids, vec![9], "then live");
    // Another epoch: nothing replayed, recovered:false.
    let (mut other, h) = join(b.addr(), "/ws?room=resume&since=2&epoch=someother");
    assert_eq!((h.last, h.recovered), (9, Some(false)));
    assert_silent(&mut other, Duration::from_millis(300));
    // since=0 replays everything retained.
    let (mut all, h) = join(a.addr(), "/ws?room=resume&since=0");
    assert_eq!(h.recovered, Some(true));
    assert_eq!(read_until(&mut all, Duration::from_secs(5), |s| s.ids.len() == 9).ids, (1..=9).collect::<Vec<_>>());
}

#[test]
fn reuse_port_lets_nodes_share_an_address() {
    let redis = Redis::start(&[]);
    let a = node(&redis.url(), &["--reuse-port"]);
    let port = a.port().to_string();
    let bind = format!("127.0.0.1:{port}");
    let b = node(&redis.url(), &["--reuse-port", "--bind", &bind]);
    assert_eq!(a.addr(), b.addr());
    for n in [&a, &b] {
        assert!(n.wait_for_log("connected to Redis", Duration::from_secs(10)), "{:?}", n.logs());
    }
    let (mut wall, _) = join(a.addr(), "/ws?room=shared");
    let (mut poster, _) = join(b.addr(), "/ws?room=shared");
    assert_eq!(ack_id(&post(&mut poster, "s1")), 1);
    assert_eq!(read_until(&mut wall, Duration::from_secs(5), |s| !s.ids.is_empty()).ids, vec![1]);
}
