//! Cluster mode (`--redis`) end to end: real nodes (the binary) on one private redis-server
//! started here on a free port (tests/common/redis.rs; installed with apt-get if missing,
//! never skipped), and the faults of the contract's "Cluster" section, each with its outcome.
//!
//! The helpers are in modules named for what they handle: [`nodes`] (nodes and their
//! health), [`reading`] (what a wall receives), [`outage`] (Redis going away), [`admin`].

#[path = "../common/mod.rs"]
mod common;
#[path = "../common/redis.rs"]
mod redis;

mod admin;
mod hello_first;
mod nodes;
mod outage;
mod reading;

use std::collections::BTreeSet;
use std::thread;
use std::time::{Duration, Instant};

use admin::{admin, admin_ok};
use common::{Hello, Server, get};
use nodes::{join, node, unsafe_signal, wait_health};
use outage::{STREAMED, UNAVAILABLE, post_while_down, stream_through};
use reading::{ack_id, assert_silent, post, post_seen, read_until, wait_text};
use redis::Redis;

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

#[test]
fn redis_killed_mid_stream_and_restarted() {
    let mut redis = Redis::start(&[]);
    let (a, b) = (node(&redis.url(), &[]), node(&redis.url(), &[]));
    for n in [&a, &b] {
        wait_health(n.addr(), 200, Duration::from_secs(10));
    }
    let (mut wall_a, hello) = join(a.addr(), "/ws?room=k");
    let (mut wall_b, _) = join(b.addr(), "/ws?room=k");
    // A poster posting every 5 ms for 3 s while Redis dies and comes back.
    let poster = stream_through(a.addr(), "k");
    thread::sleep(Duration::from_millis(700));
    redis.kill();
    wait_health(a.addr(), 503, Duration::from_secs(3));
    wait_health(b.addr(), 503, Duration::from_secs(3));
    let refused = common::http(b.addr(), &common::upgrade_request(b.addr(), "/ws?room=k"));
    assert_eq!(refused.status, 503, "a new /ws upgrade gets 503 while Redis is away");
    // A post while Redis is away is answered with an error within 2 s.
    let before_b = post_while_down(&mut wall_b);
    thread::sleep(Duration::from_millis(800));
    redis.restart();
    wait_health(a.addr(), 200, Duration::from_secs(8));
    wait_health(b.addr(), 200, Duration::from_secs(8));
    let answers = poster.join().expect("poster");
    let acked: Vec<u64> = answers.iter().filter(|t| t.contains("\"type\":\"ack\"")).map(|t| ack_id(t)).collect();
    let errors = answers.iter().filter(|t| t.contains("\"type\":\"error\"")).count();
    assert!(errors > 0, "posts while Redis was away got errors");
    assert!(answers.iter().filter(|t| t.contains("\"type\":\"error\"")).all(|t| t.contains(UNAVAILABLE)));
    assert_eq!(acked.len() + errors, STREAMED, "every post answered once: {answers:?}");
    assert!(acked.windows(2).all(|w| w[0] < w[1]));
    // One more post after recovery; then both walls hold a gap-free 1..=top.
    let (mut poster, _) = join(b.addr(), "/ws?room=k");
    let top = ack_id(&post(&mut poster, "after"));
    let expected: Vec<u64> = (1..=top).collect();
    let seen_a = read_until(&mut wall_a, Duration::from_secs(10), |s| s.ids.last() == Some(&top));
    assert_eq!(seen_a.ids, expected, "the wall on the posting node: gap-free, in order");
    assert!(seen_a.others.is_empty(), "same epoch, no new hello: {:?}", seen_a.others);
    let mut seen_b = read_until(&mut wall_b, Duration::from_secs(10), |s| s.ids.last() == Some(&top)).ids;
    let mut all_b = before_b;
    all_b.append(&mut seen_b);
    assert_eq!(all_b, expected, "the wall on the other node: gap-free, in order");
    assert!(acked.iter().all(|id| expected.contains(id)), "every acked post reached the walls");
    assert!(
        a.wait_for_log("lost Redis", Duration::from_secs(2))
            && a.wait_for_log("connected to Redis", Duration::from_secs(2)),
        "{:?}",
        a.logs()
    );
    let (_, h) = join(b.addr(), "/ws?room=k");
    assert_eq!(h.epoch, hello.epoch, "the data survived the restart: same epoch");
}

#[test]
fn a_node_killed_and_restarted_loses_nothing() {
    let redis = Redis::start(&[]);
    let mut a = node(&redis.url(), &[]);
    let b = node(&redis.url(), &[]);
    for n in [&a, &b] {
        wait_health(n.addr(), 200, Duration::from_secs(10));
    }
    let (mut wall, hello) = join(a.addr(), "/ws?room=n");
    let (mut poster, _) = join(b.addr(), "/ws?room=n");
    for k in 1..=4 {
        assert_eq!(ack_id(&post(&mut poster, &format!("x{k}"))), k);
    }
    assert_eq!(read_until(&mut wall, Duration::from_secs(5), |s| s.ids.len() == 4).ids, vec![1, 2, 3, 4]);
    a.signal(libc::SIGKILL);
    assert!(a.wait_exit(Duration::from_secs(5)).is_some());
    for k in 5..=7 {
        assert_eq!(ack_id(&post(&mut poster, &format!("x{k}"))), k);
    }
    // Its wall resumes elsewhere: everything it missed, nothing twice.
    let (mut back, h) = join(b.addr(), &format!("/ws?room=n&since=4&epoch={}", hello.epoch));
    assert_eq!((h.last, h.recovered), (7, Some(true)));
    assert_eq!(read_until(&mut back, Duration::from_secs(5), |s| s.ids.len() == 3).ids, vec![5, 6, 7]);
    // The node comes back (a new process): same epoch, same history.
    let a2 = node(&redis.url(), &[]);
    wait_health(a2.addr(), 200, Duration::from_secs(10));
    let (mut fresh, h) = join(a2.addr(), "/ws?room=n&since=0");
    assert_eq!((h.epoch.as_str(), h.last, h.recovered), (hello.epoch.as_str(), 7, Some(true)));
    assert_eq!(read_until(&mut fresh, Duration::from_secs(5), |s| s.ids.len() == 7).ids, (1..=7).collect::<Vec<_>>());
}

#[test]
fn flushall_starts_a_new_epoch() {
    let redis = Redis::start(&[]);
    let (a, b) = (node(&redis.url(), &[]), node(&redis.url(), &[]));
    for n in [&a, &b] {
        wait_health(n.addr(), 200, Duration::from_secs(10));
    }
    let (mut wall_a, hello) = join(a.addr(), "/ws?room=f");
    let (mut wall_b, _) = join(b.addr(), "/ws?room=f");
    let (mut poster, _) = join(a.addr(), "/ws?room=f");
    for k in 1..=3 {
        assert_eq!(ack_id(&post(&mut poster, &format!("f{k}"))), k);
    }
    for w in [&mut wall_a, &mut wall_b] {
        assert_eq!(read_until(w, Duration::from_secs(5), |s| s.ids.len() == 3).ids, vec![1, 2, 3]);
    }
    assert!(redis.command(None, &["FLUSHALL"]).starts_with("+OK"));
    assert_eq!(ack_id(&post(&mut poster, "new")), 1, "ids restart in the new epoch");
    for w in [&mut wall_a, &mut wall_b] {
        let seen = read_until(w, Duration::from_secs(5), |s| !s.ids.is_empty());
        assert_eq!(seen.ids, vec![1]);
        assert_eq!(seen.others.len(), 1, "one new hello before the new epoch's danmaku: {:?}", seen.others);
        let h = Hello::parse(seen.others[0].as_bytes()).unwrap();
        assert_ne!(h.epoch, hello.epoch, "a new epoch");
        assert_eq!(h.recovered, Some(false));
    }
    let (_, h) = join(b.addr(), &format!("/ws?room=f&since=3&epoch={}", hello.epoch));
    assert_eq!((h.last, h.recovered), (1, Some(false)), "a resume from the lost epoch is not recovered");
}

#[test]
fn redis_with_a_password() {
    let redis = Redis::start(&["--requirepass", "sekrit-pass"]);
    let wrong = node(&format!("redis://:nope@127.0.0.1:{}", redis.port), &[]);
    let none = node(&redis.url(), &[]);
    let right = node(&format!("redis://:sekrit-pass@127.0.0.1:{}", redis.port), &[]);
    wait_health(right.addr(), 200, Duration::from_secs(10));
    for bad in [&wrong, &none] {
        assert!(bad.wait_for_log("refused the credentials", Duration::from_secs(5)), "{:?}", bad.logs());
        assert!(bad.logs().iter().any(|l| l.contains("ERROR") && l.contains("refused the credentials")));
        assert_eq!(get(bad.addr(), "/healthz").status, 503);
        let refused = common::http(bad.addr(), &common::upgrade_request(bad.addr(), "/ws?room=p"));
        assert_eq!(refused.status, 503);
        assert_eq!(get(bad.addr(), "/wall").status, 200, "pages are still served");
    }
    let (mut ws, _) = join(right.addr(), "/ws?room=p");
    let (answer, ids) = post_seen(&mut ws, "pw");
    assert_eq!(ack_id(&answer), 1);
    assert_eq!(ids, vec![1], "the danmaku came, before its ack");
}

#[test]
fn a_redis_that_never_answers() {
    // Accepts connections and reads, never writes.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    thread::spawn(move || {
        let mut held = Vec::new();
        for s in listener.incoming().flatten() {
            held.push(s);
        }
    });
    let silent = node(&format!("redis://127.0.0.1:{port}"), &[]);
    assert!(silent.wait_for_log("no reply from Redis", Duration::from_secs(5)), "{:?}", silent.logs());
    assert_eq!(get(silent.addr(), "/healthz").status, 503);
    let refused = common::http(silent.addr(), &common::upgrade_request(silent.addr(), "/ws?room=s"));
    assert_eq!(refused.status, 503);
    // A real Redis that stops answering mid-way (SIGSTOP): a post gets its error within 2 s,
    // the node turns unhealthy, and comes back after SIGCONT.
    let redis = Redis::start(&[]);
    let n = node(&redis.url(), &[]);
    wait_health(n.addr(), 200, Duration::from_secs(10));
    let (mut ws, _) = join(n.addr(), "/ws?room=s");
    assert_eq!(ack_id(&post(&mut ws, "s1")), 1);
    unsafe_signal(redis.pid(), libc::SIGSTOP);
    let started = Instant::now();
    let answer = post(&mut ws, "s2");
    assert!(answer.contains("\"type\":\"error\"") && answer.contains(UNAVAILABLE), "{answer}");
    assert!(started.elapsed() < Duration::from_secs(2), "answered in {:?}", started.elapsed());
    wait_health(n.addr(), 503, Duration::from_secs(4));
    unsafe_signal(redis.pid(), libc::SIGCONT);
    wait_health(n.addr(), 200, Duration::from_secs(8));
    let (answer, mut ids) = post_seen(&mut ws, "s3");
    let id = ack_id(&answer);
    assert!(id == 2 || id == 3, "s2 may have been stored after all (then it shows once): {id}");
    if ids.last() != Some(&id) {
        ids.extend(read_until(&mut ws, Duration::from_secs(5), |s| s.ids.last() == Some(&id)).ids);
    }
    ids.retain(|&i| i > 1); // 1 may have come while waiting for s2's answer
    assert_eq!(ids, (2..=id).collect::<Vec<_>>(), "gap-free after recovery");
}

#[test]
fn moderation_reaches_every_node() {
    const TOKEN: &str = "cluster-moderation-token";
    let dir = common::TempDir::new("cluster-admin");
    let token_file = dir.join("token");
    std::fs::write(&token_file, TOKEN).unwrap();
    let redis = Redis::start(&[]);
    let flags = ["--admin-token-file", token_file.to_str().unwrap()];
    let (a, b) = (node(&redis.url(), &flags), node(&redis.url(), &flags));
    for n in [&a, &b] {
        wait_health(n.addr(), 200, Duration::from_secs(10));
    }
    let mut admin_a = admin(a.addr(), TOKEN);
    let (mut wall_b, hello) = join(b.addr(), "/ws?room=mod");
    let (mut poster_b, _) = join(b.addr(), "/ws?room=mod");
    // A post on node B: the admin on node A sees it in the feed, with its address.
    assert_eq!(ack_id(&post(&mut poster_b, "m1")), 1);
    let feed = wait_text(&mut admin_a, Duration::from_secs(5), |t| t.starts_with(r#"{"type":"post""#));
    assert!(feed.contains(r#""room":"mod","id":1,"#) && feed.contains(r#""from":"127.0.0.1""#), "{feed}");
    // Delete on A: the wall on B removes it, and no resume anywhere replays it.
    admin_ok(&mut admin_a, r#"{"type":"delete","room":"mod","id":1}"#);
    wait_text(&mut wall_b, Duration::from_secs(5), |t| t == r#"{"type":"delete","id":1}"#);
    let (mut resumed, h) = join(a.addr(), &format!("/ws?room=mod&since=0&epoch={}", hello.epoch));
    assert_eq!(h.last, 1);
    let seen = read_until(&mut resumed, Duration::from_secs(5), |s| !s.others.is_empty());
    assert_eq!((seen.ids, seen.others), (vec![], vec![r#"{"type":"delete","id":1}"#.to_string()]));
    // Ban on A: the poster on B is muted (once the bus has carried it); lifted again.
    admin_ok(&mut admin_a, r#"{"type":"ban","address":"127.0.0.1","seconds":60}"#);
    let muted = (0..40).find_map(|k| {
        let answer = post(&mut poster_b, &format!("b{k}"));
        thread::sleep(Duration::from_millis(50));
        answer.contains("muted").then_some(answer)
    });
    assert!(muted.is_some(), "the ban reached node B");
    admin_ok(&mut admin_a, r#"{"type":"ban","address":"127.0.0.1","seconds":0}"#);
    let lifted = (0..40).any(|k| {
        thread::sleep(Duration::from_millis(50));
        !post(&mut poster_b, &format!("l{k}")).contains("error")
    });
    assert!(lifted, "the lift reached node B");
    // Hold on A: a post on B is held; A's admin sees it pending and approves it on B's node.
    admin_ok(&mut admin_a, r#"{"type":"hold","room":"mod","on":true}"#);
    let held = (0..40).find_map(|k| {
        thread::sleep(Duration::from_millis(50));
        let answer = post(&mut poster_b, &format!("h{k}"));
        answer.contains(r#""type":"held""#).then_some(format!("h{k}"))
    });
    let reference = held.expect("the hold reached node B");
    let pending = wait_text(&mut admin_a, Duration::from_secs(5), |t| t.starts_with(r#"{"type":"pending""#));
    let key = pending.split(r#""key":""#).nth(1).and_then(|r| r.split('"').next()).unwrap().to_string();
    admin_ok(&mut admin_a, &format!(r#"{{"type":"approve","room":"mod","key":"{key}"}}"#));
    let ack = wait_text(&mut poster_b, Duration::from_secs(5), |t| t.contains(&reference));
    let id = ack_id(&ack);
    let approved = read_until(&mut wall_b, Duration::from_secs(5), |s| s.ids.contains(&id));
    assert!(approved.ids.contains(&id), "the approved post reached the wall on B");
    assert!(!a.log_contains(TOKEN) && !b.log_contains(TOKEN), "the token is never logged");
}

/// A wall that sends at once still hears `hello` first (`hello_first.rs`).
#[test]
fn hello_comes_before_answers_to_what_the_wall_sent_at_once() {
    hello_first::hello_comes_before_answers_to_what_the_wall_sent_at_once();
}
