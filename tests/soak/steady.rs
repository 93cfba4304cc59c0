//! The walls that stay connected throughout: the stayers, which must see every post of their
//! room, and the posters (one per room), which read back their own posts too.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use crate::POSTS_PER_SEC;
use crate::common::{CLOSE, FrameParser, PING, TEXT, Ws, client_frame, is_read_timeout};
use crate::stats::{Stats, check_danmaku};

/// A wall connected all along: must see every id of its room, 1..=final.
pub fn stay(addr: SocketAddr, room: usize, who: String, final_ids: Arc<Vec<AtomicU64>>, stats: Arc<Stats>) -> u64 {
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
            Err(e) if is_read_timeout(&e) => {}
            Err(e) => panic!("{who}: {e}"),
        }
    }
    let _ = stream.write_all(&client_frame(true, CLOSE, &1000u16.to_be_bytes(), [7, 7, 7, 7]));
    last.unwrap_or(0)
}

/// Reads and checks the poster's own copies of its posts on a thread, until the last id of
/// `room` (once set in `final_ids`) or 15 s after it is set.
fn read_own_posts(
    mut reader: TcpStream,
    already: Vec<u8>,
    room: usize,
    final_ids: Arc<Vec<AtomicU64>>,
    stats: Arc<Stats>,
) -> thread::JoinHandle<()> {
    thread::spawn(move || {
        let mut parser = FrameParser::new(already);
        let mut last = Some(0);
        let mut buf = vec![0u8; 65536];
        let who = format!("poster r{room}");
        let mut deadline = None;
        loop {
            while let Ok(Some(f)) = parser.next_frame() {
                if f.opcode == TEXT {
                    last = check_danmaku(&f.payload, room, last, &who, &stats);
                }
            }
            let target = final_ids[room].load(Ordering::SeqCst);
            if target > 0 && last == Some(target) {
                return;
            }
            if target > 0 && Instant::now() >= *deadline.get_or_insert(Instant::now() + Duration::from_secs(15)) {
                stats.problem(format!("{who}: got up to id {last:?} of {target}"));
                return;
            }
            reader.set_read_timeout(Some(Duration::from_millis(100))).unwrap();
            match reader.read(&mut buf) {
                Ok(n) if n > 0 => parser.push(&buf[..n]),
                Err(e) if is_read_timeout(&e) => {}
                other => {
                    stats.problem(format!("{who}: stopped reading its own posts at {last:?}: {other:?}"));
                    return;
                }
            }
        }
    })
}

/// Posts POSTS_PER_SEC to `room` until `stop`; returns how many it posted.
pub fn post(
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
    let reader = stream.try_clone().unwrap();
    let own = read_own_posts(reader, already, room, Arc::clone(&final_ids), Arc::clone(&stats));
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
