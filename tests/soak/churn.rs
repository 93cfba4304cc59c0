//! The churning walls: each lives 0.2–2 s in its room, checking every danmaku it receives,
//! then leaves one of four ways and is replaced by a new one.

use std::io::Write;
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use crate::common::{CLOSE, FrameParser, PING, Rng, TEXT, Ws, abort_with_rst, client_frame};
use crate::stats::{Stats, check_danmaku, pump};
use crate::{CHURN_THREADS, CHURNERS, ROOMS, SEED};

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

/// A new wall in `room` (non-blocking), living 0.2–2 s; `None` (a problem noted) if it
/// could not connect.
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

/// Sends a 1000 close frame and waits (at most 2 s) for the server's reply, still checking
/// the danmaku that arrive before it (RFC 6455 §5.5.1: the closing handshake).
fn close_and_wait_for_reply(w: &mut Wall, buf: &mut [u8], stats: &Stats, who: &str) {
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

/// Ends a wall one of four ways: close frame and wait for the reply, close frame and go,
/// plain FIN, or a reset.
fn end_wall(mut w: Wall, rng: &mut Rng, buf: &mut [u8], stats: &Stats, who: &str) {
    match rng.below(4) {
        0 => close_and_wait_for_reply(&mut w, buf, stats, who),
        1 => {
            let _ = w.stream.write_all(&client_frame(true, CLOSE, &1001u16.to_be_bytes(), [4, 3, 2, 1]));
        }
        2 => {}
        _ => abort_with_rst(w.stream),
    }
}

/// A live wall's turn: its danmaku handled, then either kept or, past its time, ended (a
/// wall that lived 500 ms while posting went on must have received something).
fn tend(mut w: Wall, rng: &mut Rng, buf: &mut [u8], stats: &Stats, who: &str) -> Option<Wall> {
    if !drain_wall(&mut w, buf, stats, who) {
        return None;
    }
    if Instant::now() < w.dies_at {
        return Some(w);
    }
    if w.born_while_posting
        && stats.posting.load(Ordering::SeqCst)
        && w.born.elapsed() >= Duration::from_millis(500)
        && w.received == 0
    {
        stats.problem(format!("{who}: received nothing in {:?}", w.born.elapsed()));
    }
    end_wall(w, rng, buf, stats, who);
    None
}

/// Churn thread `t`: keeps its share of the churning walls alive, each replaced when it
/// ends, until `stop`; then ends the last ones.
pub fn churn(addr: SocketAddr, t: usize, stop: Arc<AtomicBool>, stats: Arc<Stats>) {
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
                Some(w) => *slot = tend(w, &mut rng, &mut buf, &stats, &who),
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
