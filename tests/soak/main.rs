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

#[path = "../common/mod.rs"]
mod common;

mod churn;
mod crowd;
mod stats;
mod steady;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::thread;
use std::time::{Duration, Instant};

use common::{Server, Ws, fd_count, rss_kib};
use stats::Stats;

const ROOMS: usize = 5;
const CHURNERS: usize = 500;
const CHURN_THREADS: usize = 25;
const STAYERS_PER_ROOM: usize = 2;
const POSTS_PER_SEC: u64 = 200;
const SEED: u64 = 0x50A4_0000_0000_0001;

/// `SOAK_SECS` (at least 1), 20 s by default.
fn soak_duration() -> Duration {
    let secs = std::env::var("SOAK_SECS").ok().and_then(|s| s.parse::<f64>().ok()).unwrap_or(20.0);
    Duration::from_secs_f64(secs.max(1.0))
}

/// Warm up: every room exists once, then is empty again.
fn warm_up(addr: SocketAddr) {
    for room in 0..ROOMS {
        let mut ws = Ws::connect(addr, &format!("/ws?room=r{room}"));
        ws.assert_alive();
    }
    thread::sleep(Duration::from_millis(200));
}

/// Waits (at most 3 s) for the descriptors of `pid` to come back to `fds_before`; returns
/// the count and how long it took.
fn settled_fds(pid: i32, fds_before: usize) -> (usize, Duration) {
    let settle = Instant::now();
    let mut fds_after = fd_count(pid);
    while fds_after > fds_before && settle.elapsed() < Duration::from_secs(3) {
        thread::sleep(Duration::from_millis(50));
        fds_after = fd_count(pid);
    }
    (fds_after, settle.elapsed())
}

#[test]
fn churn_soak_loses_nothing_and_leaks_nothing() {
    let duration = soak_duration();
    let mut server = Server::start(&["--rate", "0"]);
    let addr = server.addr();
    let pid = server.pid();
    warm_up(addr);
    let (fds_before, rss_before, cpu_before) = (fd_count(pid), rss_kib(pid), common::cpu_seconds(pid));
    let stats = Arc::new(Stats::default());
    let crowd::Outcome { posted, stayed, soaked } = crowd::run(addr, duration, &stats);
    let cpu_used = common::cpu_seconds(pid) - cpu_before;
    // Everyone has gone: descriptors and memory come back.
    let (fds_after, settled_in) = settled_fds(pid, fds_before);
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
