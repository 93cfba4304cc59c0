//! A wall that never reads, under a heavy broadcast: it is closed with 1008 once its backlog
//! passes `--max-backlog` (RFC 6455 §7.4.1: 1008, policy violation), while the walls that do
//! read get every post, in order.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use crate::common::{CLOSE, FrameParser, PING, Server, TEXT, Ws, client_frame, danmaku_id};
use crate::support::{assert_clean_log, wait_until};

const POSTS: u64 = 20_000;
const READERS: usize = 5;
/// How many posts the poster may be ahead of the slowest reader.
const WINDOW: u64 = 200;
const PATH: &str = "/ws?room=flood";

/// Reads danmaku until `last` (ids must run 1, 2, 3… without a gap), publishing progress.
fn read_all_ids(
    stream: &mut TcpStream,
    parser: &mut FrameParser,
    last: u64,
    progress: &AtomicU64,
    who: &str,
) -> Result<(), String> {
    let mut next = 1;
    let mut buf = vec![0u8; 256 * 1024];
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        while let Some(f) = parser.next_frame()? {
            match f.opcode {
                TEXT => {
                    let id = danmaku_id(&f.payload)
                        .ok_or_else(|| format!("{who}: not a danmaku: {}", String::from_utf8_lossy(&f.payload)))?;
                    if id != next {
                        return Err(format!("{who}: id {id} after {}", next - 1));
                    }
                    progress.store(id, Ordering::SeqCst);
                    if id == last {
                        return Ok(());
                    }
                    next += 1;
                }
                PING => {}
                CLOSE => {
                    return Err(format!("{who}: closed with {:?} after id {}", f.close_code(), next - 1));
                }
                other => return Err(format!("{who}: unexpected opcode {other:#x}")),
            }
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(format!("{who}: only {} ids after 60 s", next - 1));
        }
        stream.set_read_timeout(Some(left.min(Duration::from_secs(5)))).unwrap();
        match stream.read(&mut buf) {
            Ok(0) => return Err(format!("{who}: EOF after id {}", next - 1)),
            Ok(n) => parser.push(&buf[..n]),
            Err(e) if crate::common::is_read_timeout(&e) => {}
            Err(e) => return Err(format!("{who}: read: {e} after id {}", next - 1)),
        }
    }
}

/// The walls that read: `READERS` threads, each reading every post, publishing its progress.
fn spawn_readers(addr: SocketAddr, progress: &Arc<Vec<AtomicU64>>) -> Vec<thread::JoinHandle<Result<(), String>>> {
    (0..READERS)
        .map(|r| {
            let (mut stream, already) = Ws::connect(addr, PATH).into_parts();
            let progress = Arc::clone(progress);
            thread::spawn(move || {
                let mut parser = FrameParser::new(already);
                read_all_ids(&mut stream, &mut parser, POSTS, &progress[r], &format!("reader {r}"))
            })
        })
        .collect()
}

/// A thread reading the poster's own copy of the broadcast, which hands back the stream and
/// its parser once it has every post.
type OwnCopy = thread::JoinHandle<Result<(TcpStream, FrameParser), String>>;

/// Reads the poster's own copy of the broadcast on a thread, its progress in the last slot.
fn read_own_copy(mut own_copy: TcpStream, already: Vec<u8>, progress: &Arc<Vec<AtomicU64>>) -> OwnCopy {
    let own_progress = Arc::clone(progress);
    thread::spawn(move || {
        let mut parser = FrameParser::new(already);
        read_all_ids(&mut own_copy, &mut parser, POSTS, &own_progress[READERS], "poster").map(|()| (own_copy, parser))
    })
}

/// Posts `POSTS` danmaku in batches of 50, staying at most `WINDOW` posts ahead of the
/// slowest reader (the poster's own copy included), so that only the sleeper falls behind.
fn post_all(post_stream: &mut TcpStream, progress: &[AtomicU64]) {
    let mut batch = Vec::new();
    for i in 1..=POSTS {
        let msg = format!(r##"{{"msg":"flood {i} {}","color":"#00FF7f","mode":"top"}}"##, "弹幕".repeat(44));
        batch.extend_from_slice(&client_frame(true, TEXT, msg.as_bytes(), (i as u32).to_le_bytes()));
        if i % 50 == 0 || i == POSTS {
            post_stream.write_all(&batch).expect("post");
            batch.clear();
            let slowest_ok = wait_until(Duration::from_secs(20), || {
                progress.iter().map(|p| p.load(Ordering::SeqCst)).min().unwrap() + WINDOW >= i
            });
            assert!(slowest_ok, "the readers stopped progressing at post {i}: {:?}", progress);
        }
    }
}

/// The poster is still alive: a ping gets its pong.
fn assert_poster_alive(post_stream: &mut TcpStream, own_copy: &mut TcpStream, own_parser: &mut FrameParser) {
    post_stream.write_all(&client_frame(true, PING, b"alive?", [5, 6, 7, 8])).unwrap();
    let mut buf = vec![0u8; 4096];
    let pong = loop {
        if let Some(f) = own_parser.next_frame().unwrap() {
            break f;
        }
        let n = own_copy.read(&mut buf).expect("the pong");
        assert!(n > 0, "the poster was closed");
        own_parser.push(&buf[..n]);
    };
    assert_eq!(
        (pong.opcode, pong.payload.as_slice()),
        (crate::common::PONG, &b"alive?"[..]),
        "the poster is not alive"
    );
}

/// How the sleeper's stream ended, once read at last.
struct SleeperEnd {
    /// The id after the last danmaku it got.
    next: u64,
    close: Option<u16>,
    eof: bool,
    /// Bytes of an unfinished frame at the end.
    partial: usize,
}

/// Reads what the sleeper was sent (for at most 10 s): danmaku without a gap, then a close
/// frame (answered with a 1000), then EOF.
fn read_sleeper(sleeper: Ws) -> SleeperEnd {
    let (mut stream, already) = sleeper.into_parts();
    let mut parser = FrameParser::new(already);
    let mut buf = vec![0u8; 256 * 1024];
    let (mut next, mut close, mut eof) = (1, None, false);
    let deadline = Instant::now() + Duration::from_secs(10);
    'read: while Instant::now() < deadline {
        while let Some(f) = parser.next_frame().unwrap() {
            match f.opcode {
                TEXT => {
                    assert!(close.is_none(), "a danmaku after the close frame");
                    assert_eq!(danmaku_id(&f.payload), Some(next), "the sleeper's stream has a gap");
                    next += 1;
                }
                CLOSE => {
                    close = f.close_code();
                    stream.write_all(&client_frame(true, CLOSE, &1000u16.to_be_bytes(), [9, 9, 9, 9])).unwrap();
                }
                PING => {}
                other => panic!("unexpected opcode {other:#x}"),
            }
        }
        stream.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
        match stream.read(&mut buf) {
            Ok(0) => {
                eof = true;
                break 'read;
            }
            Ok(n) => parser.push(&buf[..n]),
            Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => {}
            Err(e) => panic!("sleeper read: {e}"),
        }
    }
    SleeperEnd { next, close, eof, partial: parser.partial() }
}

/// The log line saying the sleeper (its local port) was closed with 1008.
fn sleeper_close_line(server: &Server, sleeper_port: u16) -> String {
    server.wait_for_log(&format!(":{sleeper_port} "), Duration::from_secs(2));
    server
        .logs()
        .into_iter()
        .find(|l| l.contains(&format!(":{sleeper_port} ")) && l.contains("1008"))
        .unwrap_or_else(|| panic!("no 1008 log line for port {sleeper_port}"))
}

/// The scenario of `a_wall_that_never_reads_is_closed_with_1008_and_the_others_get_everything`.
pub fn closed_with_1008_and_the_others_get_everything() {
    let mut server = Server::start(&["--max-backlog", "65536", "--rate", "0", "--close-timeout", "30"]);
    let addr = server.addr();
    // A small receive window, so that the kernel does not hide the backlog (Linux would
    // otherwise buffer megabytes for a peer that never reads).
    let sleeper = Ws::connect_on(crate::common::connect_with_rcvbuf(addr, 4096), PATH).unwrap();
    let sleeper_port = sleeper.stream.local_addr().unwrap().port();
    // Progress of every reader and of the poster's own copy: the poster stays at most WINDOW
    // posts ahead of the slowest of them, so only the sleeper can fall behind.
    let progress: Arc<Vec<AtomicU64>> = Arc::new((0..=READERS).map(|_| AtomicU64::new(0)).collect());
    let readers = spawn_readers(addr, &progress);
    let (mut post_stream, already) = Ws::connect(addr, PATH).into_parts();
    let own_reader = read_own_copy(post_stream.try_clone().unwrap(), already, &progress);
    let start = Instant::now();
    post_all(&mut post_stream, &progress);
    for (r, h) in readers.into_iter().enumerate() {
        h.join().unwrap().unwrap_or_else(|e| panic!("reader {r}: {e}"));
    }
    let (mut own_copy, mut own_parser) = own_reader.join().unwrap().unwrap();
    let took = start.elapsed();
    assert_poster_alive(&mut post_stream, &mut own_copy, &mut own_parser);
    // The sleeper was closed with 1008: the log says so, and so does the stream once read.
    let line = sleeper_close_line(&server, sleeper_port);
    let end = read_sleeper(sleeper);
    let (next, close) = (end.next, end.close);
    println!(
        "never-reading wall: {POSTS} posts to 5 readers + the poster in {took:?}, none lost; the sleeper got ids 1..{} \
         then close {close:?}; log: {line}",
        next - 1
    );
    assert_eq!(close, Some(1008), "the sleeper's stream did not end with a 1008 close");
    assert!(end.eof, "the server did not close TCP after the sleeper answered its close");
    assert_eq!(end.partial, 0, "the sleeper's stream ended inside a frame");
    assert!(next - 1 < POSTS, "the sleeper got everything: not a slow reader at all");
    assert_clean_log(&mut server, "never-reading wall");
}
