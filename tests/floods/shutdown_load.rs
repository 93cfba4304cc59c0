//! SIGTERM under load: 300 WebSockets (some mid-frame, some that never answer a close) and 20
//! idle keep-alive connections. Every WebSocket gets one whole 1001 close frame (RFC 6455
//! §7.4.1: going away), every connection is closed, and the process exits 0.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::thread;
use std::time::{Duration, Instant};

use crate::common::{CLOSE, Frame, FrameParser, HttpClient, Server, TEXT, Ws, client_frame};
use crate::support::keep_alive;

/// A WebSocket waiting for the shutdown.
struct Pending {
    stream: TcpStream,
    /// Bytes read with the handshake, after it.
    already: Vec<u8>,
    /// It has sent the first 10 bytes of a 1000-byte frame.
    mid: bool,
    /// It never answers the server's close frame.
    silent: bool,
}

/// A text frame of 1000 `m`s.
fn thousand_ms() -> Vec<u8> {
    client_frame(true, TEXT, &[b'm'; 1000], [5, 6, 7, 8])
}

/// WebSocket `i`: on /echo or in one of 5 rooms, mid-frame or not, silent or not.
fn open_pending(addr: SocketAddr, i: usize) -> Pending {
    let path = if i.is_multiple_of(3) { "/echo".to_string() } else { format!("/ws?room=sd{}", i % 5) };
    let (mut stream, already) = Ws::connect(addr, &path).into_parts();
    let mid = i % 4 == 1;
    if mid {
        let mut frame = thousand_ms();
        frame.truncate(frame.len() - 990);
        stream.write_all(&frame).unwrap();
    }
    Pending { stream, already, mid, silent: i % 7 == 3 }
}

/// `n` pending WebSockets opened from `threads` threads, in one group per thread.
fn open_all(addr: SocketAddr, n: usize, threads: usize) -> Vec<Vec<Pending>> {
    (0..threads)
        .map(|t| thread::spawn(move || (t..n).step_by(threads).map(|i| open_pending(addr, i)).collect()))
        .map(|h| h.join().unwrap())
        .collect()
}

/// Reads socket `k` until EOF or 3.5 s after `t0`, answering the server's close frame with a
/// 1001 unless silent (finishing the frame in flight first if mid-message). Returns whether
/// EOF came (a parse error counts, noted in `errors`), the frames, and the parser.
fn read_until_eof(
    k: usize,
    p: Pending,
    t0: Instant,
    buf: &mut [u8],
    errors: &mut Vec<String>,
) -> (bool, Vec<Frame>, FrameParser) {
    let Pending { stream: mut s, already, mid, silent } = p;
    let mut parser = FrameParser::new(already);
    let mut frames = Vec::new();
    let mut replied = false;
    let eof = loop {
        match parser.next_frame() {
            Ok(Some(f)) => {
                if f.opcode == CLOSE && !silent && !replied {
                    if mid {
                        // Finish the frame in flight, then reply.
                        let mut rest = thousand_ms();
                        rest.drain(..rest.len() - 990);
                        let _ = s.write_all(&rest);
                    }
                    let _ = s.write_all(&client_frame(true, CLOSE, &1001u16.to_be_bytes(), [1, 1, 1, 1]));
                    replied = true;
                }
                frames.push(f);
                continue;
            }
            Ok(None) => {}
            Err(e) => {
                errors.push(format!("socket {k}: {e}"));
                break true;
            }
        }
        let left = Duration::from_millis(3500).saturating_sub(t0.elapsed());
        if left.is_zero() {
            break false;
        }
        s.set_read_timeout(Some(left)).unwrap();
        match s.read(buf) {
            Ok(0) => break true,
            Ok(n) => parser.push(&buf[..n]),
            Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => {}
            Err(_) => break true,
        }
    };
    (eof, frames, parser)
}

/// Watches one group of WebSockets through the shutdown on a thread; it returns what went
/// wrong: not closed in time, anything but one 1001 close frame, or EOF inside a frame.
fn watch(group: Vec<Pending>, t0: Instant) -> thread::JoinHandle<Vec<String>> {
    thread::spawn(move || {
        let mut buf = vec![0u8; 16384];
        let mut errors = Vec::new();
        for (k, p) in group.into_iter().enumerate() {
            let (mid, silent) = (p.mid, p.silent);
            let (eof, frames, parser) = read_until_eof(k, p, t0, &mut buf, &mut errors);
            let codes: Vec<Option<u16>> =
                frames.iter().map(|f| (f.opcode == CLOSE).then(|| f.close_code()).flatten()).collect();
            if !eof {
                errors.push(format!("socket {k} (mid {mid}, silent {silent}): not closed 3.5 s after SIGTERM"));
            } else if frames.len() != 1 || codes[0] != Some(1001) {
                errors.push(format!("socket {k} (mid {mid}, silent {silent}): frames {frames:?}"));
            } else if parser.partial() != 0 {
                errors.push(format!("socket {k}: EOF inside a frame ({} bytes)", parser.partial()));
            }
        }
        errors
    })
}

/// How many of the idle keep-alive connections are still open 3 s after `t0`; those closed
/// must have been sent nothing.
fn still_open(http: Vec<HttpClient>, t0: Instant) -> usize {
    let mut http_open = 0;
    for mut c in http {
        match c.eof_within(Duration::from_millis(3000).saturating_sub(t0.elapsed())) {
            Some(rest) => assert!(rest.is_empty(), "an idle HTTP connection got {:?}", String::from_utf8_lossy(&rest)),
            None => http_open += 1,
        }
    }
    http_open
}

/// The scenario of `sigterm_under_load_closes_every_websocket_with_a_whole_1001`.
pub fn closes_every_websocket_with_a_whole_1001() {
    let mut server = Server::start(&["--echo"]);
    let addr = server.addr();
    const N: usize = 300;
    let sockets = open_all(addr, N, 10);
    let http: Vec<HttpClient> = (0..20).map(|_| keep_alive(addr)).collect();
    thread::sleep(Duration::from_millis(200));
    let t0 = Instant::now();
    server.signal(libc::SIGTERM);
    let results: Vec<_> = sockets.into_iter().map(|group| watch(group, t0)).collect();
    let http_open = still_open(http, t0);
    let status = server.wait_exit(Duration::from_millis(2500).saturating_sub(t0.elapsed()));
    let exited_after = t0.elapsed();
    let errors: Vec<String> = results.into_iter().flat_map(|h| h.join().unwrap()).collect();
    println!(
        "shutdown under load: {N} WebSockets + 20 keep-alive; exit {status:?} after {exited_after:?}; {} problems",
        errors.len()
    );
    assert!(
        errors.is_empty(),
        "{} WebSockets misbehaved:\n{}",
        errors.len(),
        errors[..errors.len().min(10)].join("\n")
    );
    assert_eq!(http_open, 0, "HTTP connections left open");
    let status = status.expect("still running 2.5 s after SIGTERM");
    assert_eq!(status.code(), Some(0));
}
