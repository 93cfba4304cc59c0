//! A reset storm: 2000 connections ended with a TCP reset at every stage (just connected,
//! mid-handshake, upgraded, mid-frame), after which no descriptor may be left behind.

use std::io::Write;
use std::net::SocketAddr;
use std::thread;
use std::time::{Duration, Instant};

use crate::common::{Server, TEXT, Ws, abort_with_rst, client_frame, connect, fd_count, rss_kib, upgrade_request};
use crate::support::{assert_clean_log, mib, served_within, settled_fd_count, wait_until};

/// Connection `i` of the storm, reset at the stage `i % 4` picks: just connected, half-way
/// through the upgrade request, upgraded, or inside a frame. Half go to a room, half to /echo.
fn reset_one(addr: SocketAddr, i: usize) {
    let path = if i % 8 < 4 { "/ws?room=storm" } else { "/echo" };
    match i % 4 {
        0 => abort_with_rst(connect(addr)),
        1 => {
            let mut s = connect(addr);
            let req = upgrade_request(addr, path);
            s.write_all(&req[..req.len() / 2]).unwrap();
            abort_with_rst(s);
        }
        2 => abort_with_rst(Ws::connect(addr, path).into_parts().0),
        _ => {
            let (mut s, _) = Ws::connect(addr, path).into_parts();
            // A frame header promising 1000 bytes, and 10 of them.
            let mut frame = client_frame(true, TEXT, &[b'x'; 1000], [1, 2, 3, 4]);
            frame.truncate(frame.len() - 990);
            s.write_all(&frame).unwrap();
            abort_with_rst(s);
        }
    }
}

/// `total` resets from `threads` threads at once.
fn reset_storm(addr: SocketAddr, total: usize, threads: usize) {
    let workers: Vec<_> = (0..threads)
        .map(|t| {
            thread::spawn(move || {
                for i in (t..total).step_by(threads) {
                    reset_one(addr, i);
                }
            })
        })
        .collect();
    for w in workers {
        w.join().unwrap();
    }
}

/// Still serving, and the room the storm joined and left still works, as does /echo.
fn assert_room_and_echo_still_work(addr: SocketAddr) {
    served_within(addr, Duration::from_secs(1)).unwrap();
    let mut a = Ws::connect(addr, "/ws?room=storm");
    let mut b = Ws::connect(addr, "/ws?room=storm");
    a.send_text(r#"{"msg":"after the storm"}"#);
    for ws in [&mut a, &mut b] {
        let text = ws.recv_text();
        assert!(text.contains(r#""id":1,"msg":"after the storm""#), "{text}");
    }
    let mut e = Ws::connect(addr, "/echo");
    e.send_text("echo?");
    assert_eq!(e.recv_text(), "echo?");
}

/// The scenario of `a_reset_storm_leaves_no_descriptor_behind`.
pub fn leaves_no_descriptor_behind() {
    let mut server = Server::start(&["--echo"]);
    let addr = server.addr();
    let pid = server.pid();
    served_within(addr, Duration::from_secs(2)).unwrap();
    Ws::connect(addr, "/echo").assert_alive();
    let fds_before = settled_fd_count(pid);
    let rss_before = rss_kib(pid);
    const TOTAL: usize = 2000;
    const THREADS: usize = 8;
    let start = Instant::now();
    reset_storm(addr, TOTAL, THREADS);
    let storm = start.elapsed();
    let peak_fds = fd_count(pid);
    let back = wait_until(Duration::from_secs(2), || fd_count(pid) <= fds_before + 3);
    let fds_after = fd_count(pid);
    let rss_after = rss_kib(pid);
    println!(
        "reset storm: {TOTAL} resets in {storm:?}; server fds {fds_before} before, {peak_fds} right after, {fds_after} 2 s later; \
         RSS {:.1} MiB → {:.1} MiB",
        mib(rss_before),
        mib(rss_after)
    );
    assert!(back, "fds did not return to {fds_before} ± 3 within 2 s: {fds_after}");
    // Still serving, and the room the storm joined and left still works.
    assert_room_and_echo_still_work(addr);
    assert_clean_log(&mut server, "reset storm");
}
