//! Walls that lose nothing (INTERFACE.md, "Rooms over time: epochs, history and resume"),
//! against the real binary: `hello`, every combination of `since` and `epoch`, the history's
//! count and age limits, epochs across emptying, expiry and restart, `--history 0`,
//! `--max-rooms`, replays under `--max-backlog`, and what 10,000 full rooms cost in memory.

mod common;

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use common::{Hello, Recv, Server, TEXT, Ws};
use danmaku_wall::wire::json::{self, Value};

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

fn parse(text: &str) -> Value {
    json::parse(text, 16).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

fn str_of<'v>(v: &'v Value, key: &str) -> &'v str {
    v.get(key).and_then(Value::as_str).unwrap_or_else(|| panic!("no string {key} in {v:?}"))
}

fn id_of(v: &Value) -> u64 {
    v.get("id").and_then(Value::as_f64).unwrap_or_else(|| panic!("no id in {v:?}")) as u64
}

/// Text frames until `quiet` passes without one (pings and pongs skipped).
fn texts_until_quiet(ws: &mut Ws, quiet: Duration) -> Vec<String> {
    let mut out = Vec::new();
    loop {
        match ws.recv_within(quiet) {
            Recv::Frame(f) if f.opcode == TEXT => out.push(f.text().to_string()),
            Recv::Frame(f) if f.opcode == common::CLOSE => panic!("closed ({:?}) after {out:?}", f.close_code()),
            Recv::Frame(_) => {}
            Recv::Timeout => return out,
            Recv::Eof => panic!("EOF after {out:?}"),
        }
    }
}

/// The danmaku among `texts`, as (id, msg); any other message type fails.
fn danmaku(texts: &[String]) -> Vec<(u64, String)> {
    texts
        .iter()
        .map(|t| {
            let v = parse(t);
            assert_eq!(str_of(&v, "type"), "danmaku", "{t}");
            (id_of(&v), str_of(&v, "msg").to_string())
        })
        .collect()
}

fn ids(texts: &[String]) -> Vec<u64> {
    danmaku(texts).into_iter().map(|(id, _)| id).collect()
}

/// Posts `msg` with a ref and reads until its ack; returns the danmaku's id.
fn post_acked(ws: &mut Ws, msg: &str) -> u64 {
    let reference = format!("r-{msg}");
    ws.post(msg, Some(&reference));
    loop {
        let text = ws.recv_text();
        let v = parse(&text);
        match str_of(&v, "type") {
            "ack" => {
                assert_eq!(str_of(&v, "ref"), reference, "{text}");
                return id_of(&v);
            }
            "danmaku" => {}
            other => panic!("posting {msg:?}: unexpected {other}: {text}"),
        }
    }
}

/// `count` posts named `m1`, `m2`, ... from a fresh member of `room`, acked one by one; the
/// member stays (so the room is not forgotten).
fn poster_with(addr: SocketAddr, room: &str, count: u64) -> (Ws, Hello) {
    let (mut ws, hello) = Ws::join(addr, room);
    for n in 1..=count {
        assert_eq!(post_acked(&mut ws, &format!("m{n}")), hello.last + n);
    }
    (ws, hello)
}

/// A resume: `hello` and what follows within 300 ms of quiet.
fn resume(addr: SocketAddr, query: &str) -> (Ws, Hello, Vec<String>) {
    let mut ws = Ws::connect(addr, &format!("/ws?{query}"));
    let hello = ws.hello.clone().expect("hello");
    let texts = texts_until_quiet(&mut ws, Duration::from_millis(300));
    (ws, hello, texts)
}

/// The status of an upgrade request on `target`.
fn upgrade_status(addr: SocketAddr, target: &str) -> u16 {
    common::http(addr, &common::upgrade_request(addr, target)).status
}

// ---------------------------------------------------------------------------------------------
// since and epoch
// ---------------------------------------------------------------------------------------------

#[test]
fn without_since_nothing_is_replayed_and_recovered_is_absent() {
    let server = Server::start(&["--rate", "0", "--history", "10"]);
    let addr = server.addr();
    let (_poster, first) = poster_with(addr, "plain", 3);
    assert_eq!((first.last, first.recovered), (0, None));
    let (_ws, hello, texts) = resume(addr, "room=plain");
    assert_eq!((hello.last, hello.recovered, hello.epoch), (3, None, first.epoch));
    assert!(texts.is_empty(), "replayed without since: {texts:?}");
    // An epoch without since is ignored, however it is spelled.
    let (_ws, hello, texts) = resume(addr, "room=plain&epoch=bad!");
    assert_eq!((hello.last, hello.recovered), (3, None));
    assert!(texts.is_empty(), "{texts:?}");
}

#[test]
fn since_inside_the_window_replays_exactly_what_was_missed_then_live() {
    let server = Server::start(&["--rate", "0", "--history", "10"]);
    let addr = server.addr();
    let (mut poster, first) = poster_with(addr, "win", 5);
    let epoch = first.epoch.clone();
    for (last, query) in [(5, "room=win&since=2".to_string()), (6, format!("room=win&since=2&epoch={epoch}"))] {
        let (mut ws, hello, texts) = resume(addr, &query);
        assert_eq!((hello.last, hello.recovered, hello.epoch.as_str()), (last, Some(true), epoch.as_str()), "{query}");
        let got = danmaku(&texts);
        let mut expected: Vec<(u64, String)> = vec![(3, "m3".into()), (4, "m4".into()), (5, "m5".into())];
        if last == 6 {
            expected.push((6, "live".into()));
        }
        assert_eq!(got, expected, "{query}");
        let id = post_acked(&mut poster, "live");
        let live = texts_until_quiet(&mut ws, Duration::from_millis(300));
        assert_eq!(ids(&live), vec![id], "{query}: live after replay");
    }
    // since=0: everything retained, in order.
    let (_ws, hello, texts) = resume(addr, "room=win&since=0");
    assert_eq!((hello.last, hello.recovered), (7, Some(true)));
    assert_eq!(ids(&texts), (1..=7).collect::<Vec<_>>());
    // since = last: nothing to replay, nothing lost.
    let (_ws, hello, texts) = resume(addr, "room=win&since=7");
    assert_eq!((hello.last, hello.recovered), (7, Some(true)));
    assert!(texts.is_empty(), "{texts:?}");
}

#[test]
fn replayed_danmaku_keep_their_time() {
    let server = Server::start(&["--rate", "0"]);
    let addr = server.addr();
    let (mut poster, _) = Ws::join(addr, "times");
    poster.post("when", None);
    let live = poster.recv_text();
    thread::sleep(Duration::from_millis(30));
    let (_ws, _, texts) = resume(addr, "room=times&since=0");
    assert_eq!(texts, vec![live], "a replayed danmaku is the very frame that was broadcast");
}

#[test]
fn since_greater_than_last_is_recovered_with_nothing_replayed() {
    let server = Server::start(&["--rate", "0"]);
    let addr = server.addr();
    let (_poster, _) = poster_with(addr, "ahead", 3);
    let (_ws, hello, texts) = resume(addr, "room=ahead&since=100");
    assert_eq!((hello.last, hello.recovered), (3, Some(true)));
    assert!(texts.is_empty(), "{texts:?}");
    let (_ws, hello, _) = resume(addr, "room=ahead&since=9223372036854775807");
    assert_eq!(hello.recovered, Some(true));
}

#[test]
fn since_older_than_the_window_is_not_recovered_but_what_is_retained_is_sent() {
    let server = Server::start(&["--rate", "0", "--history", "5"]);
    let addr = server.addr();
    let (_poster, _) = poster_with(addr, "old", 8);
    for since in [0, 1, 2] {
        let (_ws, hello, texts) = resume(addr, &format!("room=old&since={since}"));
        assert_eq!((hello.last, hello.recovered), (8, Some(false)), "since={since}");
        assert_eq!(ids(&texts), vec![4, 5, 6, 7, 8], "since={since}");
    }
    // Everything after 3 is still retained: recovered.
    let (_ws, hello, texts) = resume(addr, "room=old&since=3");
    assert_eq!((hello.last, hello.recovered), (8, Some(true)));
    assert_eq!(ids(&texts), vec![4, 5, 6, 7, 8]);
    let (_ws, hello, texts) = resume(addr, "room=old&since=6");
    assert_eq!(hello.recovered, Some(true));
    assert_eq!(ids(&texts), vec![7, 8]);
}

#[test]
fn since_beyond_the_ttl_is_not_recovered() {
    let server = Server::start(&["--rate", "0", "--history-ttl", "1"]);
    let addr = server.addr();
    let (mut poster, first) = poster_with(addr, "ttl", 3);
    thread::sleep(Duration::from_millis(1600));
    let (_ws, hello, texts) = resume(addr, "room=ttl&since=1");
    // The poster kept the room: same epoch, same last, but nothing retained.
    assert_eq!((hello.last, hello.recovered, hello.epoch.as_str()), (3, Some(false), first.epoch.as_str()));
    assert!(texts.is_empty(), "expired danmaku replayed: {texts:?}");
    assert_eq!(post_acked(&mut poster, "m4"), 4);
    assert_eq!(post_acked(&mut poster, "m5"), 5);
    let (_ws, hello, texts) = resume(addr, "room=ttl&since=0");
    assert_eq!((hello.last, hello.recovered), (5, Some(false)));
    assert_eq!(ids(&texts), vec![4, 5], "what is retained is still sent");
    let (_ws, hello, texts) = resume(addr, "room=ttl&since=3");
    assert_eq!(hello.recovered, Some(true), "nothing after 3 was lost");
    assert_eq!(ids(&texts), vec![4, 5]);
}

#[test]
fn another_epoch_replays_nothing() {
    let server = Server::start(&["--rate", "0"]);
    let addr = server.addr();
    let (mut poster, first) = poster_with(addr, "epochs", 3);
    for epoch in ["other", "x-1", &format!("{}0", first.epoch)] {
        let (mut ws, hello, texts) = resume(addr, &format!("room=epochs&since=1&epoch={epoch}"));
        assert_eq!((hello.recovered, hello.epoch.as_str()), (Some(false), first.epoch.as_str()), "{epoch}");
        assert!(texts.is_empty(), "epoch {epoch}: replayed {texts:?}");
        let id = post_acked(&mut poster, &format!("after-{epoch}"));
        assert_eq!(ids(&texts_until_quiet(&mut ws, Duration::from_millis(300))), vec![id], "live still comes");
    }
    // Even since=0 with another epoch gets nothing.
    let (_ws, hello, texts) = resume(addr, "room=epochs&since=0&epoch=gone");
    assert_eq!(hello.recovered, Some(false));
    assert!(texts.is_empty(), "{texts:?}");
}

#[test]
fn malformed_since_or_epoch_gets_400() {
    let server = Server::start(&[]);
    let addr = server.addr();
    for bad in [
        "since=-1",
        "since=",
        "since=1.5",
        "since=+1",
        "since=%201",
        "since=1e3",
        "since=0x10",
        "since=9223372036854775808",
        "since=18446744073709551616",
        "since=1&epoch=bad!",
        "since=1&epoch=",
        "since=1&epoch=a.b",
        "since=1&epoch=abcdefghijklmnopqrstuvwxyz0123456",
    ] {
        assert_eq!(upgrade_status(addr, &format!("/ws?room=bad&{bad}")), 400, "{bad}");
    }
    // The limits themselves are fine.
    for good in ["since=9223372036854775807", "since=0&epoch=abcdefghijklmnopqrstuvwxyz012345", "since=007"] {
        assert_eq!(upgrade_status(addr, &format!("/ws?room=good&{good}")), 101, "{good}");
    }
    assert!(server.log_problems().is_empty(), "{:?}", server.log_problems());
}

// ---------------------------------------------------------------------------------------------
// Posts arriving during a resume
// ---------------------------------------------------------------------------------------------

/// A wall that keeps dropping and resuming with `since=last&epoch=E` while a poster posts
/// without pause: every id from 1 to `total`, each once, in order, across all its connections.
fn resuming_wall(addr: SocketAddr, room: String, total: u64, seed: u64) -> (Vec<u64>, usize) {
    let mut rng = common::Rng::new(seed);
    let mut seen = Vec::new();
    let mut epoch: Option<String> = None;
    let mut connections = 0;
    let deadline = Instant::now() + Duration::from_secs(40);
    while seen.last() != Some(&total) {
        assert!(Instant::now() < deadline, "wall {seed} stuck at {:?}", seen.last());
        let last = seen.last().copied().unwrap_or(0);
        let target = match &epoch {
            Some(e) => format!("/ws?room={room}&since={last}&epoch={e}"),
            None => format!("/ws?room={room}&since={last}"),
        };
        let mut ws = Ws::connect(addr, &target);
        connections += 1;
        let hello = ws.hello.clone().expect("hello");
        if let Some(e) = &epoch {
            assert_eq!(&hello.epoch, e, "the epoch changed under a wall");
        }
        assert_eq!(hello.recovered, Some(true), "wall {seed}: history is big enough: {hello:?}");
        epoch = Some(hello.epoch);
        let stay = Instant::now() + Duration::from_millis(rng.range(2, 40) as u64);
        while Instant::now() < stay && seen.last() != Some(&total) {
            match ws.recv_within(stay.saturating_duration_since(Instant::now())) {
                Recv::Frame(f) if f.opcode == TEXT => {
                    seen.push(common::danmaku_id(&f.payload).unwrap_or_else(|| panic!("{}", f.text())))
                }
                Recv::Frame(f) => panic!("wall {seed}: unexpected frame {f:?}"),
                Recv::Timeout => break,
                Recv::Eof => panic!("wall {seed}: EOF"),
            }
        }
        // Dropped mid-stream, maybe mid-frame: the next connection resumes from `seen`.
    }
    (seen, connections)
}

#[test]
fn walls_resuming_while_posts_keep_coming_miss_nothing_and_see_nothing_twice() {
    const TOTAL: u64 = 1500;
    let server = Server::start(&["--rate", "0", "--history", "5000", "--ping-interval", "0"]);
    let addr = server.addr();
    let room = "busy".to_string();
    let walls: Vec<_> = (0..3)
        .map(|seed| {
            let room = room.clone();
            thread::spawn(move || resuming_wall(addr, room, TOTAL, seed))
        })
        .collect();
    let (mut poster, _) = Ws::join(addr, &room);
    // The poster never reads (its own broadcasts stay under --max-backlog: ~150 KiB).
    for n in 1..=TOTAL {
        poster.post(&format!("p{n}"), None);
        if n % 4 == 0 {
            thread::sleep(Duration::from_millis(1));
        }
    }
    for (i, wall) in walls.into_iter().enumerate() {
        let (seen, connections) = wall.join().expect("wall thread");
        eprintln!("wall {i}: {connections} connections");
        assert!(connections > 5, "wall {i} resumed only {connections} times: the test proves little");
        let unique: HashSet<u64> = seen.iter().copied().collect();
        assert_eq!(unique.len(), seen.len(), "wall {i}: a danmaku twice");
        assert_eq!(seen, (1..=TOTAL).collect::<Vec<_>>(), "wall {i}: a gap or reordering");
    }
    assert!(server.log_problems().is_empty(), "{:?}", server.log_problems());
}

// ---------------------------------------------------------------------------------------------
// Epochs over time
// ---------------------------------------------------------------------------------------------

#[test]
fn a_room_emptied_and_reentered_within_the_ttl_keeps_its_epoch_and_ids() {
    let server = Server::start(&["--rate", "0"]);
    let addr = server.addr();
    let (poster, first) = poster_with(addr, "again", 2);
    drop(poster);
    thread::sleep(Duration::from_millis(300));
    let (mut ws, hello) = Ws::join(addr, "again");
    assert_eq!((hello.epoch.as_str(), hello.last), (first.epoch.as_str(), 2));
    assert_eq!(post_acked(&mut ws, "third"), 3);
}

#[test]
fn after_expiry_a_room_starts_a_new_epoch_from_id_1() {
    let server = Server::start(&["--rate", "0", "--history-ttl", "0.5"]);
    let addr = server.addr();
    let (poster, first) = poster_with(addr, "expire", 2);
    drop(poster);
    thread::sleep(Duration::from_millis(1500));
    let (mut ws, hello) = Ws::join(addr, "expire");
    assert_ne!(hello.epoch, first.epoch, "a forgotten room reused its epoch");
    assert_eq!(hello.last, 0);
    assert_eq!(post_acked(&mut ws, "new"), 1);
    // A wall of the old epoch resuming gets nothing of the new one replayed.
    let (_ws, resumed, texts) = resume(addr, &format!("room=expire&since=2&epoch={}", first.epoch));
    assert_eq!((resumed.epoch, resumed.last, resumed.recovered), (hello.epoch, 1, Some(false)));
    assert!(texts.is_empty(), "{texts:?}");
}

#[test]
fn a_restart_gives_a_new_epoch() {
    let server = Server::start(&["--rate", "0"]);
    let (_ws, before) = poster_with(server.addr(), "restart", 1);
    drop(_ws);
    drop(server);
    let server = Server::start(&["--rate", "0"]);
    let (_ws, after) = Ws::join(server.addr(), "restart");
    assert_ne!(after.epoch, before.epoch);
    assert_eq!(after.last, 0);
}

#[test]
fn history_zero_retains_nothing_but_still_validates_and_reports() {
    let server = Server::start(&["--rate", "0", "--history", "0"]);
    let addr = server.addr();
    let (_poster, first) = poster_with(addr, "zero", 3);
    let (_ws, hello, texts) = resume(addr, "room=zero&since=0");
    assert_eq!((hello.last, hello.recovered), (3, Some(false)));
    assert!(texts.is_empty(), "{texts:?}");
    let (_ws, hello, texts) = resume(addr, "room=zero&since=2");
    assert_eq!(hello.recovered, Some(false));
    assert!(texts.is_empty(), "{texts:?}");
    for since in [3, 4, 1000] {
        let (_ws, hello, texts) = resume(addr, &format!("room=zero&since={since}&epoch={}", first.epoch));
        assert_eq!(hello.recovered, Some(true), "since={since} >= last");
        assert!(texts.is_empty(), "{texts:?}");
    }
    let (_ws, hello, _) = resume(addr, "room=zero&since=3&epoch=other");
    assert_eq!(hello.recovered, Some(false), "another epoch");
    assert_eq!(upgrade_status(addr, "/ws?room=zero&since=-1"), 400);
    assert_eq!(upgrade_status(addr, "/ws?room=zero&since=1&epoch=bad!"), 400);
}

#[test]
fn max_rooms_refuses_a_new_room_but_not_existing_ones() {
    let server = Server::start(&["--rate", "0", "--max-rooms", "2"]);
    let addr = server.addr();
    let (_a, _) = Ws::join(addr, "a");
    let (b, _) = Ws::join(addr, "b");
    assert_eq!(upgrade_status(addr, "/ws?room=c"), 503, "a third room");
    let (_a2, hello) = Ws::join(addr, "a");
    assert_eq!(hello.room, "a", "an existing room still joins");
    assert_eq!(upgrade_status(addr, "/ws?room=b&since=0"), 101);
    // A room with nothing left (no members, no history) is forgotten and frees its place.
    drop(b);
    let deadline = Instant::now() + Duration::from_secs(3);
    loop {
        match upgrade_status(addr, "/ws?room=c") {
            101 => break,
            503 if Instant::now() < deadline => thread::sleep(Duration::from_millis(50)),
            other => panic!("room c after b emptied: {other}"),
        }
    }
    // A room that holds history keeps its place after its members leave.
    let server = Server::start(&["--rate", "0", "--max-rooms", "1"]);
    let (ws, _) = poster_with(server.addr(), "kept", 1);
    drop(ws);
    thread::sleep(Duration::from_millis(300));
    assert_eq!(upgrade_status(server.addr(), "/ws?room=other"), 503);
    assert_eq!(upgrade_status(server.addr(), "/ws?room=kept"), 101);
}

// ---------------------------------------------------------------------------------------------
// Replays under --max-backlog
// ---------------------------------------------------------------------------------------------

#[test]
fn a_flood_of_full_resumes_never_passes_max_backlog() {
    const BACKLOG: usize = 16_384;
    let server = Server::start(&["--rate", "0", "--max-backlog", &BACKLOG.to_string(), "--ping-interval", "0"]);
    let addr = server.addr();
    let (mut poster, _) = Ws::join(addr, "flood");
    let msg = "x".repeat(90);
    let mut frame_len = 0;
    for n in 1..=400u64 {
        poster.post(&format!("{n:04}{msg}"), None);
        frame_len = poster.recv().payload.len(); // read as we go: the poster must not fall behind
    }
    assert!(400 * frame_len > 4 * BACKLOG, "the history ({}) must not fit", 400 * frame_len);
    let walls: Vec<_> = (0..40)
        .map(|_| {
            thread::spawn(move || {
                let mut ws = Ws::connect(addr, "/ws?room=flood&since=0");
                let hello = ws.hello.clone().expect("hello");
                let texts = texts_until_quiet(&mut ws, Duration::from_millis(500));
                (ws, hello, texts)
            })
        })
        .collect();
    let mut walls: Vec<_> = walls.into_iter().map(|t| t.join().expect("wall thread")).collect();
    for (_, hello, texts) in &walls {
        assert_eq!((hello.last, hello.recovered), (400, Some(false)), "{hello:?}");
        let bytes: usize = texts.iter().map(|t| t.len() + 4).sum();
        assert!(bytes <= BACKLOG, "a replay of {bytes} bytes passed --max-backlog {BACKLOG}");
        let got = ids(texts);
        assert!(got.len() * 2 > BACKLOG / frame_len, "too little replayed: {}", got.len());
        let first = got[0];
        assert_eq!(got, (first..=400).collect::<Vec<_>>(), "the newest that fit, in order");
    }
    // Every wall is still open and gets the next danmaku; the server is healthy.
    poster.post("after", None);
    for (ws, _, _) in &mut walls {
        assert_eq!(ids(&[ws.recv_text()]), vec![401]);
    }
    let health = common::get(addr, "/healthz");
    assert_eq!((health.status, health.body_str().as_str()), (200, "ok"));
    assert!(!server.log_contains("1008"), "a wall was closed: {:?}", server.logs());
}

// ---------------------------------------------------------------------------------------------
// Memory
// ---------------------------------------------------------------------------------------------

/// Fills `rooms` rooms (named `{prefix}{n}`) with `per_room` danmaku each, from `threads` threads:
/// each room's poster posts them in one write and leaves once it has seen the last one.
fn fill_rooms(addr: SocketAddr, prefix: &'static str, rooms: usize, per_room: u64, threads: usize) {
    let failed = Arc::new(AtomicBool::new(false));
    let workers: Vec<_> = (0..threads)
        .map(|t| {
            let failed = failed.clone();
            thread::spawn(move || {
                for n in (t..rooms).step_by(threads) {
                    if failed.load(Ordering::Relaxed) {
                        return;
                    }
                    let (mut ws, _) = Ws::join(addr, &format!("{prefix}{n}"));
                    let mut burst = Vec::new();
                    for i in 0..per_room {
                        let post = format!(r#"{{"msg":"room {n} danmaku {i} hello"}}"#);
                        burst.extend(ws.frame(true, TEXT, post.as_bytes()));
                    }
                    ws.send_raw(&burst);
                    for i in 1..=per_room {
                        let text = ws.recv_text();
                        if common::danmaku_id(text.as_bytes()) != Some(i) {
                            failed.store(true, Ordering::Relaxed);
                            panic!("room {prefix}{n}: expected danmaku {i}, got {text}");
                        }
                    }
                    ws.close(1000, "");
                    let _ = ws.recv_within(Duration::from_secs(1));
                }
            })
        })
        .collect();
    for w in workers {
        w.join().expect("filler thread");
    }
}

#[test]
fn ten_thousand_rooms_with_full_histories_fit_in_memory() {
    const ROOMS: usize = 10_000;
    const HISTORY: u64 = 10;
    let server = Server::start(&["--rate", "0", "--history", "10", "--max-rooms", "20000", "--ping-interval", "0"]);
    let addr = server.addr();
    let pid = server.pid();
    // A first room so that the baseline includes a warmed-up loop.
    fill_rooms(addr, "warm", 1, HISTORY, 1);
    let before = common::rss_kib(pid);
    let started = Instant::now();
    fill_rooms(addr, "r", ROOMS, HISTORY, 4);
    let filled_in = started.elapsed();
    thread::sleep(Duration::from_millis(300));
    let after = common::rss_kib(pid);
    let per_room = (after.saturating_sub(before)) as f64 * 1024.0 / ROOMS as f64;
    eprintln!(
        "RSS: {before} KiB idle, {after} KiB with {ROOMS} rooms of {HISTORY} danmaku (~60-byte messages): \
         {per_room:.0} bytes per room (filled in {filled_in:.1?})"
    );
    // Every room is still there with its history: spot-check a few.
    for n in [0, 4999, ROOMS - 1] {
        let (_ws, hello, texts) = resume(addr, &format!("room=r{n}&since=0"));
        assert_eq!((hello.last, hello.recovered), (HISTORY, Some(true)), "r{n}");
        assert_eq!(ids(&texts), (1..=HISTORY).collect::<Vec<_>>());
    }
    // Ten danmaku frames of ~130 bytes are 1.3 KB; allow the room, its maps and the
    // allocator's slack several times that, but not a leak per connection.
    assert!(per_room < 8.0 * 1024.0, "{per_room:.0} bytes per room");
    assert!(after < 256 * 1024, "RSS {after} KiB");
}
