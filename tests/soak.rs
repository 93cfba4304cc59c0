//! Churn soak against the real binary, bounded: 500 walls in rooms `r0`..`r4` connect,
//! receive, disconnect (politely, abruptly or with a reset) and reconnect continuously, each
//! living 0.2–2 s, while 10 "stayers" remain connected throughout and one poster per room
//! posts 200 danmaku a second.
//!
//! It checks that no delivery is lost to a wall that stayed connected (every stayer gets every
//! post of its room, ids consecutive), that every churning wall saw a gap-free run of ids of
//! its own room, that the server's descriptors and memory come back once everyone has left,
//! and that its log has no ERROR or WARN line. It prints one summary line with the figures.
//!
//! Runs about 20 s of churn by default; set `SOAK_SECS` to lengthen it, e.g.
//! `SOAK_SECS=300 cargo test --release --test soak -- --nocapture`.

mod common;

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use common::{
    CLOSE, FrameParser, PING, Rng, Server, TEXT, Ws, abort_with_rst, client_frame, danmaku_id, fd_count, rss_kib,
};

const ROOMS: usize = 5;
const CHURNERS: usize = 500;
const CHURN_THREADS: usize = 25;
const STAYERS_PER_ROOM: usize = 2;
const POSTS_PER_SEC: u64 = 200;
const SEED: u64 = 0x50A4_0000_0000_0001;

fn soak_duration() -> Duration {
    let secs = std::env::var("SOAK_SECS").ok().and_then(|s| s.parse::<f64>().ok()).unwrap_or(20.0);
    Duration::from_secs_f64(secs.max(1.0))
}

/// Figures every thread adds to.
#[derive(Default)]
struct Stats {
    connections: AtomicUsize,
    deliveries: AtomicU64,
    losses: AtomicU64,
    /// The posters are posting (set a little after they start, cleared before they stop).
    posting: AtomicBool,
    problems: Mutex<Vec<String>>,
}

impl Stats {
    fn problem(&self, what: String) {
        let mut p = self.problems.lock().unwrap();
        if p.len() < 50 {
            p.push(what);
        }
    }
}

/// Checks one danmaku frame of `room` against the last id seen; returns the new last id.
fn check_danmaku(payload: &[u8], room: usize, last: Option<u64>, who: &str, stats: &Stats) -> Option<u64> {
    let Some(id) = danmaku_id(payload) else {
        stats.problem(format!("{who}: not a danmaku: {}", String::from_utf8_lossy(payload)));
        return last;
    };
    let tag = format!("\"msg\":\"r{room} #");
    if !payload.windows(tag.len()).any(|w| w == tag.as_bytes()) {
        stats.problem(format!("{who}: a danmaku of another room: {}", String::from_utf8_lossy(payload)));
    }
    stats.deliveries.fetch_add(1, Ordering::Relaxed);
    if let Some(last) = last
        && id != last + 1
    {
        stats.losses.fetch_add(id.saturating_sub(last + 1).max(1), Ordering::Relaxed);
        stats.problem(format!("{who}: id {id} after {last}"));
    }
    Some(id)
}

/// Reads what is there (non-blocking): frames into `parser`; `Ok(false)` on EOF.
fn pump(stream: &mut TcpStream, parser: &mut FrameParser, buf: &mut [u8]) -> io::Result<bool> {
    loop {
        match stream.read(buf) {
            Ok(0) => return Ok(false),
            Ok(n) => parser.push(&buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(true),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

/// One churning wall while it lives.
struct Wall {
    stream: TcpStream,
    parser: FrameParser,
    room: usize,
    last: Option<u64>,
    received: u64,
    born: Instant,
    /// Posting was under way when it connected (so it must receive something).
    born_while_posting: bool,
    dies_at: Instant,
}

fn open_wall(addr: SocketAddr, room: usize, rng: &mut Rng, stats: &Stats) -> Option<Wall> {
    let ws = match Ws::try_connect(addr, &format!("/ws?room=r{room}")) {
        Ok(ws) => ws,
        Err(e) => {
            stats.problem(format!("a wall could not connect: {e}"));
            return None;
        }
    };
    stats.connections.fetch_add(1, Ordering::Relaxed);
    let (stream, already) = ws.into_parts();
    stream.set_nonblocking(true).unwrap();
    Some(Wall {
        stream,
        parser: FrameParser::new(already),
        room,
        last: None,
        received: 0,
        born: Instant::now(),
        born_while_posting: stats.posting.load(Ordering::SeqCst),
        dies_at: Instant::now() + Duration::from_millis(rng.range(200, 2000) as u64),
    })
}

/// Handles what a wall has received; `false` if the server closed it (which it must not).
fn drain_wall(w: &mut Wall, buf: &mut [u8], stats: &Stats, who: &str) -> bool {
    let open = match pump(&mut w.stream, &mut w.parser, buf) {
        Ok(open) => open,
        Err(e) => {
            stats.problem(format!("{who}: read error {e}"));
            false
        }
    };
    loop {
        match w.parser.next_frame() {
            Ok(Some(f)) if f.opcode == TEXT => {
                w.received += 1;
                w.last = check_danmaku(&f.payload, w.room, w.last, who, stats)
            }
            Ok(Some(f)) if f.opcode == PING => {}
            Ok(Some(f)) => {
                stats.problem(format!(
                    "{who}: unexpected frame {:#x} {:?}",
                    f.opcode,
                    String::from_utf8_lossy(&f.payload)
                ));
                return false;
            }
            Ok(None) => break,
            Err(e) => {
                stats.problem(format!("{who}: {e}"));
                return false;
            }
        }
    }
    if !open {
        stats.problem(format!("{who}: closed by the server"));
    }
    open
}

/// Ends a wall one of four ways: close frame and wait for the reply, close frame and go,
/// plain FIN, or a reset.
fn end_wall(mut w: Wall, rng: &mut Rng, buf: &mut [u8], stats: &Stats, who: &str) {
    match rng.below(4) {
        0 => {
            let _ = w.stream.write_all(&client_frame(true, CLOSE, &1000u16.to_be_bytes(), [1, 2, 3, 4]));
            let deadline = Instant::now() + Duration::from_secs(2);
            loop {
                let open = pump(&mut w.stream, &mut w.parser, buf).unwrap_or(false);
                let mut closed = false;
                while let Ok(Some(f)) = w.parser.next_frame() {
                    match f.opcode {
                        TEXT => {
                            w.received += 1;
                            w.last = check_danmaku(&f.payload, w.room, w.last, who, stats)
                        }
                        CLOSE => closed = true,
                        _ => {}
                    }
                }
                if closed || !open {
                    if !closed {
                        stats.problem(format!("{who}: EOF without a close reply"));
                    }
                    break;
                }
                if Instant::now() >= deadline {
                    stats.problem(format!("{who}: no close reply within 2 s"));
                    break;
                }
                thread::sleep(Duration::from_millis(2));
            }
        }
        1 => {
            let _ = w.stream.write_all(&client_frame(true, CLOSE, &1001u16.to_be_bytes(), [4, 3, 2, 1]));
        }
        2 => {}
        _ => abort_with_rst(w.stream),
    }
}

fn churn(addr: SocketAddr, t: usize, stop: Arc<AtomicBool>, stats: Arc<Stats>) {
    let mut rng = Rng::new(SEED.wrapping_add(t as u64));
    let per_thread = CHURNERS / CHURN_THREADS;
    let mut walls: Vec<Option<Wall>> = (0..per_thread).map(|_| None).collect();
    let mut buf = vec![0u8; 65536];
    let mut lives = 0;
    while !stop.load(Ordering::Relaxed) {
        for (k, slot) in walls.iter_mut().enumerate() {
            let who = format!("churner {t}.{k} life {lives}");
            match slot.take() {
                None => {
                    let room = (t * per_thread + k) % ROOMS;
                    *slot = open_wall(addr, room, &mut rng, &stats);
                    lives += 1;
                }
                Some(mut w) => {
                    if !drain_wall(&mut w, &mut buf, &stats, &who) {
                        continue;
                    }
                    if Instant::now() >= w.dies_at {
                        if w.born_while_posting
                            && stats.posting.load(Ordering::SeqCst)
                            && w.born.elapsed() >= Duration::from_millis(500)
                            && w.received == 0
                        {
                            stats.problem(format!("{who}: received nothing in {:?}", w.born.elapsed()));
                        }
                        end_wall(w, &mut rng, &mut buf, &stats, &who);
                    } else {
                        *slot = Some(w);
                    }
                }
            }
        }
        thread::sleep(Duration::from_millis(5));
    }
    for (k, w) in walls.into_iter().enumerate().filter_map(|(k, w)| Some((k, w?))) {
        let mut w = w;
        let who = format!("churner {t}.{k} at the end");
        if drain_wall(&mut w, &mut buf, &stats, &who) {
            end_wall(w, &mut rng, &mut buf, &stats, &who);
        }
    }
}

/// A wall connected all along: must see every id of its room, 1..=final.
fn stay(addr: SocketAddr, room: usize, who: String, final_ids: Arc<Vec<AtomicU64>>, stats: Arc<Stats>) -> u64 {
    let ws = Ws::connect(addr, &format!("/ws?room=r{room}"));
    stats.connections.fetch_add(1, Ordering::Relaxed);
    let (mut stream, already) = ws.into_parts();
    let mut parser = FrameParser::new(already);
    let mut last = Some(0);
    let mut buf = vec![0u8; 65536];
    let mut deadline = None;
    loop {
        while let Some(f) = parser.next_frame().unwrap_or_else(|e| panic!("{who}: {e}")) {
            match f.opcode {
                TEXT => last = check_danmaku(&f.payload, room, last, &who, &stats),
                PING => {}
                other => panic!("{who}: unexpected frame {other:#x}"),
            }
        }
        let target = final_ids[room].load(Ordering::SeqCst);
        if target > 0 {
            if last == Some(target) {
                break;
            }
            let d = *deadline.get_or_insert(Instant::now() + Duration::from_secs(15));
            if Instant::now() >= d {
                stats.losses.fetch_add(target - last.unwrap_or(0), Ordering::Relaxed);
                stats.problem(format!("{who}: got up to id {last:?} of {target}"));
                break;
            }
        }
        stream.set_read_timeout(Some(Duration::from_millis(100))).unwrap();
        match stream.read(&mut buf) {
            Ok(0) => {
                stats.problem(format!("{who}: closed by the server after id {last:?}"));
                break;
            }
            Ok(n) => parser.push(&buf[..n]),
            Err(e) if common::is_read_timeout(&e) => {}
            Err(e) => panic!("{who}: {e}"),
        }
    }
    let _ = stream.write_all(&client_frame(true, CLOSE, &1000u16.to_be_bytes(), [7, 7, 7, 7]));
    last.unwrap_or(0)
}

/// Posts POSTS_PER_SEC to `room` until `stop`; returns how many it posted.
fn post(
    addr: SocketAddr,
    room: usize,
    stop: Arc<AtomicBool>,
    final_ids: Arc<Vec<AtomicU64>>,
    stats: Arc<Stats>,
) -> u64 {
    let ws = Ws::connect(addr, &format!("/ws?room=r{room}"));
    stats.connections.fetch_add(1, Ordering::Relaxed);
    let (mut stream, already) = ws.into_parts();
    // The poster's own copies are read (and checked) by a second thread.
    let mut reader = stream.try_clone().unwrap();
    let reader_stats = Arc::clone(&stats);
    let reader_finals = Arc::clone(&final_ids);
    let own = thread::spawn(move || {
        let mut parser = FrameParser::new(already);
        let mut last = Some(0);
        let mut buf = vec![0u8; 65536];
        let who = format!("poster r{room}");
        let mut deadline = None;
        loop {
            while let Ok(Some(f)) = parser.next_frame() {
                if f.opcode == TEXT {
                    last = check_danmaku(&f.payload, room, last, &who, &reader_stats);
                }
            }
            let target = reader_finals[room].load(Ordering::SeqCst);
            if target > 0 && last == Some(target) {
                return;
            }
            if target > 0 && Instant::now() >= *deadline.get_or_insert(Instant::now() + Duration::from_secs(15)) {
                reader_stats.problem(format!("{who}: got up to id {last:?} of {target}"));
                return;
            }
            reader.set_read_timeout(Some(Duration::from_millis(100))).unwrap();
            match reader.read(&mut buf) {
                Ok(n) if n > 0 => parser.push(&buf[..n]),
                Err(e) if common::is_read_timeout(&e) => {}
                other => {
                    reader_stats.problem(format!("{who}: stopped reading its own posts at {last:?}: {other:?}"));
                    return;
                }
            }
        }
    });
    let start = Instant::now();
    let mut posted = 0u64;
    let mut batch = Vec::new();
    while !stop.load(Ordering::Relaxed) {
        let due = start.elapsed().as_micros() as u64 * POSTS_PER_SEC / 1_000_000;
        while posted < due {
            posted += 1;
            let msg = format!(r#"{{"msg":"r{room} #{posted} soak","mode":"top"}}"#);
            batch.extend_from_slice(&client_frame(true, TEXT, msg.as_bytes(), (posted as u32).to_le_bytes()));
        }
        if !batch.is_empty() {
            stream.write_all(&batch).expect("post");
            batch.clear();
        }
        thread::sleep(Duration::from_millis(10));
    }
    final_ids[room].store(posted, Ordering::SeqCst);
    own.join().unwrap();
    let _ = stream.write_all(&client_frame(true, CLOSE, &1000u16.to_be_bytes(), [8, 8, 8, 8]));
    posted
}

#[test]
fn churn_soak_loses_nothing_and_leaks_nothing() {
    let duration = soak_duration();
    let mut server = Server::start(&["--rate", "0"]);
    let addr = server.addr();
    let pid = server.pid();
    // Warm up: every room exists once, then is empty again.
    for room in 0..ROOMS {
        let mut ws = Ws::connect(addr, &format!("/ws?room=r{room}"));
        ws.assert_alive();
    }
    thread::sleep(Duration::from_millis(200));
    let fds_before = fd_count(pid);
    let rss_before = rss_kib(pid);
    let cpu_before = common::cpu_seconds(pid);

    let stats = Arc::new(Stats::default());
    let stop_posting = Arc::new(AtomicBool::new(false));
    let stop_churn = Arc::new(AtomicBool::new(false));
    let final_ids: Arc<Vec<AtomicU64>> = Arc::new((0..ROOMS).map(|_| AtomicU64::new(0)).collect());
    let stayers: Vec<_> = (0..ROOMS * STAYERS_PER_ROOM)
        .map(|i| {
            let (final_ids, stats) = (Arc::clone(&final_ids), Arc::clone(&stats));
            let room = i % ROOMS;
            thread::spawn(move || stay(addr, room, format!("stayer {i} (r{room})"), final_ids, stats))
        })
        .collect();
    thread::sleep(Duration::from_millis(200)); // The stayers are in before the first post.
    let churners: Vec<_> = (0..CHURN_THREADS)
        .map(|t| {
            let (stop, stats) = (Arc::clone(&stop_churn), Arc::clone(&stats));
            thread::spawn(move || churn(addr, t, stop, stats))
        })
        .collect();
    let posters: Vec<_> = (0..ROOMS)
        .map(|room| {
            let (stop, final_ids, stats) = (Arc::clone(&stop_posting), Arc::clone(&final_ids), Arc::clone(&stats));
            thread::spawn(move || post(addr, room, stop, final_ids, stats))
        })
        .collect();
    let start = Instant::now();
    thread::sleep(Duration::from_millis(200));
    stats.posting.store(true, Ordering::SeqCst);
    thread::sleep(duration.saturating_sub(Duration::from_millis(400)));
    stats.posting.store(false, Ordering::SeqCst);
    thread::sleep(Duration::from_millis(200));
    stop_posting.store(true, Ordering::SeqCst);
    let posted: Vec<u64> = posters.into_iter().map(|h| h.join().unwrap()).collect();
    let soaked = start.elapsed();
    stop_churn.store(true, Ordering::SeqCst);
    for h in churners {
        h.join().unwrap();
    }
    let stayed: Vec<u64> = stayers.into_iter().map(|h| h.join().unwrap()).collect();
    let cpu_used = common::cpu_seconds(pid) - cpu_before;

    // Everyone has gone: descriptors and memory come back.
    let settle = Instant::now();
    let mut fds_after = fd_count(pid);
    while fds_after > fds_before && settle.elapsed() < Duration::from_secs(3) {
        thread::sleep(Duration::from_millis(50));
        fds_after = fd_count(pid);
    }
    let settled_in = settle.elapsed();
    let rss_after = rss_kib(pid);
    let rss_peak = common::proc_status_kib(pid, "VmHWM");
    let problems = stats.problems.lock().unwrap().clone();
    let log_problems = server.error_or_warn_lines();
    let total_posts: u64 = posted.iter().sum();
    println!(
        "soak: {:.1} s of churn; {} connections made; {total_posts} posts ({posted:?}); {} deliveries; {} losses; \
         stayers ended at {stayed:?}; server CPU {cpu_used:.1} s; fds {fds_before} before, {fds_after} after ({settled_in:?} to settle); \
         RSS {:.1} MiB before, {:.1} MiB after, peak {:.1} MiB; {} problems, {} ERROR/WARN log lines",
        soaked.as_secs_f64(),
        stats.connections.load(Ordering::Relaxed),
        stats.deliveries.load(Ordering::Relaxed),
        stats.losses.load(Ordering::Relaxed),
        rss_before as f64 / 1024.0,
        rss_after as f64 / 1024.0,
        rss_peak as f64 / 1024.0,
        problems.len(),
        log_problems.len()
    );
    assert!(
        problems.is_empty(),
        "{} problems, the first ones:\n{}",
        problems.len(),
        problems[..problems.len().min(15)].join("\n")
    );
    assert_eq!(stats.losses.load(Ordering::Relaxed), 0);
    for (i, got) in stayed.iter().enumerate() {
        assert_eq!(*got, posted[i % ROOMS], "stayer {i} (r{})", i % ROOMS);
    }
    let expected_posts = (duration.as_secs_f64() * POSTS_PER_SEC as f64 * ROOMS as f64 * 0.9) as u64;
    assert!(total_posts >= expected_posts, "only {total_posts} posts (expected about {expected_posts})");
    assert!(fds_after <= fds_before + 3, "fds {fds_after}, {fds_before} before");
    assert!(rss_after <= rss_before + 8 * 1024, "RSS {rss_after} KiB, {rss_before} KiB before");
    assert!(log_problems.is_empty(), "ERROR/WARN in the server log:\n{}", log_problems.join("\n"));
    assert!(server.is_running());
}
