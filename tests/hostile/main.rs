//! Deterministic hostile input at volume against the real binary over TCP: thousands of
//! mutated HTTP requests, mutated WebSocket frame streams on `/echo`, and mutated danmaku
//! JSON on `/ws`. Every mutation comes from a seeded xorshift generator (seed and index are
//! in every failure message, so a failure replays), every read is bounded in time, and the
//! server must stay alive and responsive throughout.

#[path = "../common/mod.rs"]
mod common;

mod client_frame;
mod echo_exchange;
mod echo_model;
mod failures;
mod frame_mutations;
mod frame_streams;
mod http_exchange;
mod http_mutations;
mod json_posts;
mod json_room;

use std::sync::atomic::Ordering;
use std::thread;
use std::time::Instant;

use client_frame::CFrame;
use common::{CLOSE, CONTINUATION, PING, PONG, Rng, Server, TEXT};
use echo_exchange::{EchoRun, WS_CONNECTIONS, WS_MAX_MESSAGE, WS_THREADS, probe_echo};
use echo_model::{End, expected_for};
use http_exchange::{HTTP_MUTATIONS, HTTP_THREADS, HttpRun, probe_http};
use json_room::{JSON_ROOMS, json_room};

/// The server is still running, and its log holds no errors (WARN lines are shown, allowed).
fn assert_alive_and_clean(server: &mut Server, what: &str) {
    let warnings: Vec<String> = server.logs().into_iter().filter(|l| l.contains("WARN")).collect();
    println!("{what}: {} WARN lines in the server log {:?}", warnings.len(), &warnings[..warnings.len().min(3)]);
    assert!(server.is_running(), "{what}: the server exited; log tail:\n{}", log_tail(server));
    let bad = server.log_problems();
    assert!(bad.is_empty(), "{what}: errors in the server log:\n{}", bad.join("\n"));
}

fn log_tail(server: &Server) -> String {
    let logs = server.logs();
    logs[logs.len().saturating_sub(30)..].join("\n")
}

#[test]
fn mutated_http_requests_get_a_status_line_or_a_close() {
    let start = Instant::now();
    let mut server = Server::start(&["--request-timeout", "1", "--echo"]);
    let addr = server.addr();
    let run = HttpRun::new(addr, server.host());
    on_threads(&run, HTTP_THREADS, HttpRun::worker);
    let probes = run.probes.lock().unwrap();
    let slowest = probes.iter().max().copied().unwrap_or_default();
    println!(
        "mutated HTTP: {} requests in {:.1} s, outcomes {:?}, {} probes (slowest {slowest:?})",
        run.done.load(Ordering::SeqCst),
        start.elapsed().as_secs_f64(),
        run.stats.lock().unwrap(),
        probes.len()
    );
    run.failures.assert_none("mutated HTTP requests");
    assert_eq!(run.done.load(Ordering::SeqCst), HTTP_MUTATIONS);
    assert!(probes.len() >= HTTP_MUTATIONS / 100, "only {} probes ran", probes.len());
    probe_http(addr).expect("a normal request at the end");
    assert_alive_and_clean(&mut server, "mutated HTTP");
}

#[test]
fn the_reference_model_agrees_with_known_cases() {
    // The model itself, on streams whose answer is known, so that its verdicts can be trusted.
    let mut rng = Rng::new(1);
    let mut bytes = Vec::new();
    CFrame::new(&mut rng, true, TEXT, b"hi".to_vec()).write(&mut bytes);
    assert_eq!(expected_for(&bytes, 10, true), (vec![(TEXT, b"hi".to_vec())], End::Drop));
    assert_eq!(expected_for(&bytes, 10, false).1, End::Open);
    assert_eq!(expected_for(&bytes[..bytes.len() - 1], 10, false).1, End::Drop);
    let mut unmasked = bytes.clone();
    unmasked[1] &= 0x7F;
    assert_eq!(expected_for(&unmasked[..4], 10, true).1, End::Close(vec![1002]));
    assert_eq!(expected_for(&bytes, 1, true).1, End::Close(vec![1009]));
    let mut bad = Vec::new();
    CFrame::new(&mut rng, false, TEXT, b"\xed\xa0".to_vec()).write(&mut bad);
    assert_eq!(expected_for(&bad, 10, true).1, End::Close(vec![1007]));
    let mut split = Vec::new();
    CFrame::new(&mut rng, false, TEXT, b"\xe5".to_vec()).write(&mut split);
    CFrame::new(&mut rng, true, PING, b"p".to_vec()).write(&mut split);
    CFrame::new(&mut rng, true, CONTINUATION, b"\xbc\xb9".to_vec()).write(&mut split);
    CFrame::new(&mut rng, true, CLOSE, 3000u16.to_be_bytes().to_vec()).write(&mut split);
    assert_eq!(
        expected_for(&split, 10, true),
        (vec![(PONG, b"p".to_vec()), (TEXT, "弹".as_bytes().to_vec())], End::Close(vec![3000]))
    );
    let mut reserved = Vec::new();
    CFrame::new(&mut rng, true, 0x3, Vec::new()).write(&mut reserved);
    assert_eq!(expected_for(&reserved[..2], 10, true).1, End::CloseOrDrop(vec![1002]));
}

#[test]
fn mutated_websocket_frames_are_echoed_or_closed_with_the_right_code() {
    let start = Instant::now();
    let mut server = Server::start(&[
        "--echo",
        "--max-message",
        &WS_MAX_MESSAGE.to_string(),
        "--close-timeout",
        "1",
        "--ping-interval",
        "1",
        "--ping-timeout",
        "1",
    ]);
    let addr = server.addr();
    let run = EchoRun::new(addr);
    on_threads(&run, WS_THREADS, EchoRun::worker);
    let probes = run.probes.lock().unwrap();
    println!(
        "mutated WebSocket: {WS_CONNECTIONS} connections, {} frames sent, {} echoes and pongs verified in {:.1} s; endings {:?}; {} probes (slowest {:?})",
        run.frames_sent.load(Ordering::Relaxed),
        run.frames_verified.load(Ordering::Relaxed),
        start.elapsed().as_secs_f64(),
        run.stats.lock().unwrap(),
        probes.len(),
        probes.iter().max()
    );
    run.failures.assert_none("mutated WebSocket streams");
    assert!(run.frames_sent.load(Ordering::Relaxed) >= 5000, "too few frames");
    assert!(run.frames_verified.load(Ordering::Relaxed) >= 2000, "too few echoes");
    probe_echo(addr).expect("an echo at the end");
    assert_alive_and_clean(&mut server, "mutated WebSocket");
}

#[test]
fn mutated_danmaku_json_is_broadcast_or_rejected_and_the_room_stays_consistent() {
    let start = Instant::now();
    let mut server = Server::start(&["--rate", "0"]);
    let addr = server.addr();
    let rooms: Vec<_> = (0..JSON_ROOMS).map(|room| thread::spawn(move || json_room(addr, room))).collect();
    let mut totals = (0, 0);
    let mut errors = Vec::new();
    for r in rooms {
        match r.join().expect("room thread panicked") {
            Ok((broadcast, rejected)) => {
                totals.0 += broadcast;
                totals.1 += rejected;
            }
            Err(e) => errors.push(e),
        }
    }
    println!(
        "mutated JSON: {} posts in {:.1} s: {} broadcast, {} rejected",
        totals.0 + totals.1,
        start.elapsed().as_secs_f64(),
        totals.0,
        totals.1
    );
    assert!(errors.is_empty(), "{}", errors.join("\n\n"));
    assert!(totals.0 > 200 && totals.1 > 200, "the mutations should give both outcomes: {totals:?}");
    assert_alive_and_clean(&mut server, "mutated JSON");
}

/// Runs `work(run, t)` for `t` in `0..threads`, each on its own thread with its own clone of
/// `run` (the shared counters inside are `Arc`s); returns when all are done.
fn on_threads<R: Clone + Send + 'static>(run: &R, threads: usize, work: fn(&R, usize)) {
    let workers: Vec<_> = (0..threads)
        .map(|t| {
            let run = run.clone();
            thread::spawn(move || work(&run, t))
        })
        .collect();
    for w in workers {
        w.join().expect("worker panicked");
    }
}
