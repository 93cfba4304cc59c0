//! What 10,000 rooms with full histories cost in memory.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use crate::common::{self, Server, TEXT, Ws};
use crate::support::{ids, resume};

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

pub fn ten_thousand_rooms_with_full_histories_fit_in_memory() {
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
