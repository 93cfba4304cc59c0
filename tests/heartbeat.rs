//! Heartbeats: the server pings every `--ping-interval`, drops a connection silent for
//! `--ping-timeout` after a ping, keeps one that answers, and never pings with `--ping-interval 0`.

mod common;

use std::thread;
use std::time::{Duration, Instant};

use common::{PING, PONG, Recv, Server, Ws};

#[test]
fn a_silent_client_is_pinged_then_dropped() {
    let server = Server::start(&["--ping-interval", "1", "--ping-timeout", "1"]);
    let start = Instant::now();
    let mut ws = Ws::connect(server.addr(), "/ws?room=hb");
    let ping = ws.recv();
    let pinged_after = start.elapsed();
    assert_eq!(ping.opcode, PING, "{ping:?}");
    assert!(
        pinged_after >= Duration::from_millis(800) && pinged_after <= Duration::from_millis(1500),
        "pinged after {pinged_after:?}"
    );
    // Read, never answer: the server gives up (a plain TCP close is enough).
    let mut frames = Vec::new();
    loop {
        match ws.recv_within(Duration::from_millis(3500).saturating_sub(start.elapsed())) {
            Recv::Frame(f) => frames.push(f),
            Recv::Eof => break,
            Recv::Timeout => panic!("still open after {:?}; frames {frames:?}", start.elapsed()),
        }
    }
    let dropped_after = start.elapsed();
    assert!(dropped_after >= Duration::from_millis(1800), "dropped too early: {dropped_after:?}");
    assert!(frames.iter().all(|f| f.opcode == PING || f.opcode == common::CLOSE), "{frames:?}");
}

/// Answers every ping with `answer` until `until`; returns how many pings came.
fn keep_answering(ws: &mut Ws, until: Instant, answer: fn(&mut Ws, &[u8])) -> usize {
    let mut pings = 0;
    while Instant::now() < until {
        match ws.recv_within(until.saturating_duration_since(Instant::now())) {
            Recv::Frame(f) if f.opcode == PING => {
                pings += 1;
                answer(ws, &f.payload);
            }
            Recv::Frame(f) if f.opcode == PONG => {}
            Recv::Frame(f) => panic!("unexpected frame {f:?}"),
            Recv::Eof => panic!("dropped although it answered ({pings} pings)"),
            Recv::Timeout => break,
        }
    }
    pings
}

#[test]
fn a_client_that_answers_stays_connected() {
    let server = Server::start(&["--ping-interval", "1", "--ping-timeout", "1"]);
    let addr = server.addr();
    let until = Instant::now() + Duration::from_millis(4500);
    // One answers with pongs; the other with pings of its own: any frame counts.
    let with_pong = thread::spawn(move || {
        let mut ws = Ws::connect(addr, "/ws?room=hb");
        let pings = keep_answering(&mut ws, until, |ws, payload| ws.pong(payload));
        ws.assert_alive();
        pings
    });
    let with_ping = thread::spawn(move || {
        let mut ws = Ws::connect(addr, "/ws?room=hb2");
        let pings = keep_answering(&mut ws, until, |ws, _| ws.ping(b"me too"));
        ws.assert_alive();
        pings
    });
    let a = with_pong.join().expect("pong client");
    let b = with_ping.join().expect("ping client");
    assert!(a >= 3 && b >= 3, "expected a ping a second: {a} and {b} pings in 4.5 s");
}

#[test]
fn ping_interval_zero_turns_heartbeats_off() {
    let server = Server::start(&["--ping-interval", "0", "--ping-timeout", "1"]);
    let mut ws = Ws::connect(server.addr(), "/ws?room=quiet");
    match ws.recv_within(Duration::from_secs(2)) {
        Recv::Timeout => {}
        other => panic!("expected silence, got {other:?}"),
    }
    ws.assert_alive();
}
