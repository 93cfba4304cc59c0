//! Floods against the real binary over loopback: slowloris heads, reset storms, tiny
//! fragments, announced-but-never-sent payloads, a wall that never reads, more connections
//! than allowed, running out of file descriptors, and SIGTERM under load. Each test checks
//! the server's own resources (`/proc/PID`: descriptors, resident memory, CPU time) as well
//! as what clients see, and prints the figures it measured.
//!
//! The tests take a lock so that they run one at a time: most assert timings or resource
//! figures that a neighbour hammering the same two cores would blur.

mod common;

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant};

use common::{
    BINARY, CLOSE, CONTINUATION, FrameParser, HttpClient, PING, Recv, Server, TEXT, Ws, abort_with_rst, client_frame,
    connect, cpu_seconds, danmaku_id, fd_count, proc_status_kib, rss_kib, upgrade_request,
};

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn exclusive() -> MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner())
}

fn wait_until(timeout: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if cond() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        thread::sleep(Duration::from_millis(20));
    }
}

/// `GET /` on a fresh connection answered 200 within `within`; returns how long it took.
fn served_within(addr: SocketAddr, within: Duration) -> Result<Duration, String> {
    let start = Instant::now();
    let mut c = HttpClient::connect(addr);
    c.send(format!("GET / HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").as_bytes());
    let r = c.try_read_response(false, within)?;
    if r.status != 200 || r.body.is_empty() {
        return Err(format!("status {} with {} bytes", r.status, r.body.len()));
    }
    Ok(start.elapsed())
}

/// An idle keep-alive HTTP connection, after one request.
fn keep_alive(addr: SocketAddr) -> HttpClient {
    let mut c = HttpClient::connect(addr);
    c.send(format!("GET / HTTP/1.1\r\nHost: {addr}\r\n\r\n").as_bytes());
    let r = c.read_response(false);
    assert_eq!(r.status, 200);
    assert!(!r.says_close());
    c
}

fn assert_clean_log(server: &mut Server, what: &str) {
    assert!(server.is_running(), "{what}: the server exited");
    let bad = server.log_problems();
    assert!(bad.is_empty(), "{what}: errors in the log:\n{}", bad.join("\n"));
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

/// Waits for the fd count to settle (the log thread, lazily opened files) and returns it.
fn settled_fd_count(pid: i32) -> usize {
    thread::sleep(Duration::from_millis(100));
    fd_count(pid)
}

// ---------------------------------------------------------------------------------------------
// Slowloris
// ---------------------------------------------------------------------------------------------

struct Loris {
    stream: TcpStream,
    opened: Instant,
    sent: usize,
    got: Vec<u8>,
    closed_after: Option<Duration>,
}

#[test]
fn slowloris_heads_are_closed_and_others_are_served_meanwhile() {
    let _one = exclusive();
    let mut server = Server::start(&["--request-timeout", "2"]);
    let addr = server.addr();
    let pid = server.pid();
    served_within(addr, Duration::from_secs(2)).unwrap();
    let fds_before = settled_fd_count(pid);
    const N: usize = 300;
    let head = format!("GET / HTTP/1.1\r\nHost: {addr}\r\nUser-Agent: slowloris\r\nX-Pad: {}\r\n\r\n", "p".repeat(200))
        .into_bytes();
    let mut loris: Vec<Loris> = (0..N)
        .map(|_| {
            let stream = connect(addr);
            stream.set_nonblocking(true).unwrap();
            Loris { stream, opened: Instant::now(), sent: 0, got: Vec::new(), closed_after: None }
        })
        .collect();
    let start = Instant::now();
    let trickler = thread::spawn(move || {
        let mut next_byte = Instant::now();
        let mut buf = [0u8; 4096];
        while start.elapsed() < Duration::from_secs(6) && loris.iter().any(|l| l.closed_after.is_none()) {
            let write_now = Instant::now() >= next_byte;
            if write_now {
                next_byte += Duration::from_millis(200);
            }
            for l in loris.iter_mut().filter(|l| l.closed_after.is_none()) {
                if write_now {
                    match l.stream.write(&head[l.sent..l.sent + 1]) {
                        Ok(_) => l.sent += 1,
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                        Err(_) => {} // Reset: the read below sees it.
                    }
                }
                loop {
                    match l.stream.read(&mut buf) {
                        Ok(0) => {
                            l.closed_after = Some(l.opened.elapsed());
                            break;
                        }
                        Ok(n) => l.got.extend_from_slice(&buf[..n]),
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                        Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                        Err(_) => {
                            l.closed_after = Some(l.opened.elapsed());
                            break;
                        }
                    }
                }
            }
            thread::sleep(Duration::from_millis(10));
        }
        loris
    });
    // Meanwhile, normal clients are served promptly, before, during and after the mass timeout.
    let mut probes = Vec::new();
    while start.elapsed() < Duration::from_millis(3200) {
        thread::sleep(Duration::from_millis(250));
        let took = served_within(addr, Duration::from_millis(500))
            .unwrap_or_else(|e| panic!("a normal GET / {:?} into the slowloris: {e}", start.elapsed()));
        probes.push(took);
    }
    let loris = trickler.join().unwrap();
    let closed: Vec<Duration> = loris.iter().filter_map(|l| l.closed_after).collect();
    let first = closed.iter().min().copied();
    let last = closed.iter().max().copied();
    let fds_after_close = fd_count(pid);
    drop(loris.into_iter().map(|l| (l.got, l.sent)).collect::<Vec<_>>());
    let fds_back = wait_until(Duration::from_secs(2), || fd_count(pid) <= fds_before + 3);
    println!(
        "slowloris: {N} connections, {} closed by the server (first after {first:?}, last after {last:?}); \
         {} probes, slowest {:?}; server fds {fds_before} before, {fds_after_close} at the end, {} after",
        closed.len(),
        probes.len(),
        probes.iter().max(),
        fd_count(pid)
    );
    assert_eq!(closed.len(), N, "not every slow head was closed within 6 s");
    assert!(first.unwrap() >= Duration::from_millis(1800), "closed before the request timeout: {first:?}");
    assert!(last.unwrap() <= Duration::from_secs(4), "closed late: {last:?}");
    assert!(probes.len() >= 8);
    assert!(fds_back, "server fds did not return to {fds_before} (+3): {}", fd_count(pid));
    assert_clean_log(&mut server, "slowloris");
}

// ---------------------------------------------------------------------------------------------
// Reset storm
// ---------------------------------------------------------------------------------------------

#[test]
fn a_reset_storm_leaves_no_descriptor_behind() {
    let _one = exclusive();
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
    let workers: Vec<_> = (0..THREADS)
        .map(|t| {
            thread::spawn(move || {
                for i in (t..TOTAL).step_by(THREADS) {
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
            })
        })
        .collect();
    for w in workers {
        w.join().unwrap();
    }
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
    assert_clean_log(&mut server, "reset storm");
}

// ---------------------------------------------------------------------------------------------
// Memory: tiny fragments and announced lengths
// ---------------------------------------------------------------------------------------------

/// Samples the RSS of `pid` every 5 ms until told to stop; returns the peak.
fn rss_sampler(pid: i32) -> (Arc<AtomicBool>, thread::JoinHandle<u64>) {
    let stop = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&stop);
    let handle = thread::spawn(move || {
        let mut peak = 0;
        while !flag.load(Ordering::SeqCst) {
            peak = peak.max(rss_kib(pid));
            thread::sleep(Duration::from_millis(5));
        }
        peak.max(rss_kib(pid))
    });
    (stop, handle)
}

/// A text message as `count` one-byte fragments (FIN on the last if `finish`).
fn one_byte_fragments(count: usize, finish: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(count * 7);
    for i in 0..count {
        let opcode = if i == 0 { TEXT } else { CONTINUATION };
        let byte = b'a' + (i % 26) as u8;
        let mask = (i as u32).wrapping_mul(0x9E37_79B9).to_le_bytes();
        out.extend_from_slice(&client_frame(finish && i + 1 == count, opcode, &[byte], mask));
    }
    out
}

#[test]
fn one_byte_fragments_are_reassembled_up_to_max_message_and_no_further() {
    let _one = exclusive();
    let mut server = Server::start(&["--echo", "--max-message", "65536"]);
    let addr = server.addr();
    let pid = server.pid();
    // Warm up: one message at the limit, so the baseline includes what a big message costs.
    let mut warm = Ws::connect(addr, "/echo");
    warm.send_binary(&vec![7u8; 65536]);
    assert_eq!(warm.recv().payload.len(), 65536);
    drop(warm);
    thread::sleep(Duration::from_millis(100));
    let rss_before = rss_kib(pid);

    // Exactly the limit (inclusive), one byte per fragment: echoed whole.
    let start = Instant::now();
    let mut ws = Ws::connect(addr, "/echo");
    ws.send_raw(&one_byte_fragments(65536, true));
    let f = ws.recv();
    let expected: Vec<u8> = (0..65536).map(|i| b'a' + (i % 26) as u8).collect();
    assert_eq!((f.opcode, f.fin, f.payload.len()), (TEXT, true, 65536));
    assert!(f.payload == expected, "the reassembled message differs");
    ws.assert_alive();
    let at_limit = start.elapsed();

    // 200,000 fragments, no FIN: 1009 once the total passes 65536.
    let (stop, sampler) = rss_sampler(pid);
    let start = Instant::now();
    let mut ws = Ws::connect(addr, "/echo");
    let flood = one_byte_fragments(200_000, false);
    ws.send_raw(&flood);
    ws.shutdown_write();
    let frames = ws.drain_to_eof();
    let flood_took = start.elapsed();
    stop.store(true, Ordering::SeqCst);
    let peak = sampler.join().unwrap();
    assert_eq!(frames.len(), 1, "expected only a close frame: {frames:?}");
    assert_eq!(frames[0].close_code(), Some(1009));
    let rss_after = rss_kib(pid);
    println!(
        "tiny fragments: 65,536 one-byte fragments echoed in {at_limit:?}; 200,000 closed with 1009 in {flood_took:?}; \
         RSS {:.1} MiB before, peak {:.1} MiB (+{:.1}), {:.1} MiB after",
        mib(rss_before),
        mib(peak),
        mib(peak.saturating_sub(rss_before)),
        mib(rss_after)
    );
    assert!(peak < rss_before + 4 * 1024, "RSS grew by {:.1} MiB during the flood", mib(peak - rss_before));
    assert_clean_log(&mut server, "tiny fragments");
}

/// A masked frame header (no payload) announcing `len` bytes.
fn header_only(opcode: u8, len: u64) -> Vec<u8> {
    common::client_header(true, opcode, len, [0x11, 0x22, 0x33, 0x44]).expect("a defined opcode")
}

#[test]
fn announced_lengths_are_not_allocated_up_front() {
    let _one = exclusive();
    let mut server = Server::start(&["--echo"]);
    let addr = server.addr();
    let pid = server.pid();
    Ws::connect(addr, "/echo").assert_alive();
    thread::sleep(Duration::from_millis(100));
    let rss_start = rss_kib(pid);

    // 2^62 bytes announced: 1009 at once, without waiting for any of them.
    let mut ws = Ws::connect(addr, "/echo");
    let start = Instant::now();
    ws.send_raw(&header_only(TEXT, 1 << 62));
    let f = match ws.recv_within(Duration::from_secs(1)) {
        Recv::Frame(f) => f,
        other => panic!("no answer within 1 s to a 2^62-byte header: {other:?}"),
    };
    let answered = start.elapsed();
    assert_eq!(f.close_code(), Some(1009), "{f:?}");
    ws.expect_eof();
    let rss_giant = rss_kib(pid);

    // 1000 connections, idle first (what a connection costs), then each announcing a 60 KiB
    // frame and sending only its header (what the announcement costs on top).
    const N: usize = 1000;
    const THREADS: usize = 4;
    let open: Vec<_> = (0..THREADS)
        .map(|_| {
            thread::spawn(move || {
                (0..N / THREADS).map(|_| Ws::connect(addr, "/echo").into_parts().0).collect::<Vec<_>>()
            })
        })
        .collect();
    let mut sockets: Vec<TcpStream> = open.into_iter().flat_map(|h| h.join().unwrap()).collect();
    thread::sleep(Duration::from_millis(200));
    let (rss_idle, data_idle) = (rss_kib(pid), proc_status_kib(pid, "VmData"));
    for s in &mut sockets {
        s.write_all(&header_only(TEXT, 60 * 1024)).unwrap();
    }
    let fds_held = fd_count(pid);
    thread::sleep(Duration::from_millis(300));
    let (rss_held, data_held) = (rss_kib(pid), proc_status_kib(pid, "VmData"));
    let growth = rss_held.saturating_sub(rss_start);
    let announced = rss_held.saturating_sub(rss_idle);
    // Still responsive with them all waiting, and the payloads are still welcome.
    served_within(addr, Duration::from_secs(1)).unwrap();
    let mut last = Ws::connect(addr, "/echo");
    last.send_raw(&header_only(BINARY, 3));
    last.send_raw(&[0x11 ^ b'a', 0x22 ^ b'b', 0x33 ^ b'c']);
    assert_eq!(last.recv().payload, b"abc");
    drop(sockets);
    let back = wait_until(Duration::from_secs(2), || fd_count(pid) < 20);
    println!(
        "announced lengths: 2^62 answered with 1009 in {answered:?}; RSS {:.1} MiB at start, {:.1} MiB after it; \
         {N} idle WebSockets: RSS {:.1} MiB; the same announcing 60 KiB each ({fds_held} server fds): RSS {:.1} MiB \
         (+{:.1} MiB in all, +{:.1} MiB for the announcements = {:.1} KiB each; VmData +{:.1} MiB reserved)",
        mib(rss_start),
        mib(rss_giant),
        mib(rss_idle),
        mib(rss_held),
        mib(growth),
        mib(announced),
        announced as f64 / N as f64,
        mib(data_held.saturating_sub(data_idle))
    );
    assert!(answered < Duration::from_millis(500), "1009 took {answered:?}");
    assert!(rss_giant < rss_start + 1024, "a 2^62 announcement cost {} KiB", rss_giant - rss_start);
    // The contract's bound: at most 64 KiB reserved per message is 64 MiB for 1000. What is
    // resident is far less (reserved pages never written are not); the tighter bounds are
    // about twice what was observed (4.5 MiB in all, of which ~3.9 for the announcements: one touched page each).
    assert!(growth < 64 * 1024, "RSS grew by {:.1} MiB", mib(growth));
    assert!(growth < 10 * 1024, "RSS grew by {:.1} MiB (observed ~4.5 MiB)", mib(growth));
    assert!(announced < 8 * 1024, "the announcements cost {:.1} MiB of RSS", mib(announced));
    assert!(back, "connections not released: {} fds", fd_count(pid));
    assert_clean_log(&mut server, "announced lengths");
}

// ---------------------------------------------------------------------------------------------
// Clients that send without reading
// ---------------------------------------------------------------------------------------------

#[test]
fn a_client_that_pipelines_without_reading_is_paused_not_buffered() {
    let _one = exclusive();
    let mut server = Server::start(&[]);
    let addr = server.addr();
    let pid = server.pid();
    served_within(addr, Duration::from_secs(2)).unwrap();
    let rss_before = rss_kib(pid);
    const N: usize = 2000;
    let mut stream = connect(addr);
    let mut writer = stream.try_clone().unwrap();
    let requests = format!("GET /wall HTTP/1.1\r\nHost: {addr}\r\n\r\n").repeat(N);
    let writing = thread::spawn(move || writer.write_all(requests.as_bytes()).map_err(|e| e.to_string()));
    // Not reading for a while: the server must stop reading too rather than queue ~N pages.
    thread::sleep(Duration::from_secs(1));
    let rss_paused = rss_kib(pid);
    let mut got = Vec::new();
    let mut buf = vec![0u8; 65536];
    let mut answered = 0;
    let deadline = Instant::now() + Duration::from_secs(20);
    while answered < N {
        assert!(Instant::now() < deadline, "only {answered} of {N} answers");
        stream.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
        let n = stream.read(&mut buf).expect("read answers");
        assert!(n > 0, "EOF after {answered} answers");
        got.extend_from_slice(&buf[..n]);
        loop {
            let mut slots = [httparse::EMPTY_HEADER; 32];
            let mut resp = httparse::Response::new(&mut slots);
            let Ok(httparse::Status::Complete(head)) = resp.parse(&got) else {
                break;
            };
            assert_eq!(resp.code, Some(200), "answer {answered}");
            let len: usize = resp
                .headers
                .iter()
                .find(|h| h.name.eq_ignore_ascii_case("content-length"))
                .and_then(|h| std::str::from_utf8(h.value).ok()?.parse().ok())
                .expect("Content-Length");
            if got.len() < head + len {
                break;
            }
            got.drain(..head + len);
            answered += 1;
        }
    }
    writing.join().unwrap().expect("write the requests");
    println!(
        "pipelining without reading: {N} answers in order; RSS {:.1} MiB before, {:.1} MiB while the client did not read",
        mib(rss_before),
        mib(rss_paused)
    );
    assert!(got.is_empty(), "bytes after the last answer");
    assert!(rss_paused < rss_before + 4 * 1024, "RSS grew by {:.1} MiB", mib(rss_paused - rss_before));
    assert_clean_log(&mut server, "pipelining without reading");
}

#[test]
fn an_echo_client_that_does_not_read_is_paused_not_buffered() {
    let _one = exclusive();
    let mut server = Server::start(&["--echo"]);
    let addr = server.addr();
    let pid = server.pid();
    Ws::connect(addr, "/echo").assert_alive();
    let rss_before = rss_kib(pid);
    const N: usize = 300; // 64 KiB each: ~19 MiB echoed.
    let (mut stream, already) = Ws::connect(addr, "/echo").into_parts();
    let mut writer = stream.try_clone().unwrap();
    let writing = thread::spawn(move || {
        for i in 0..N {
            let payload = vec![(i % 251) as u8; 65536];
            writer.write_all(&client_frame(true, BINARY, &payload, [1, 2, 3, 4])).map_err(|e| e.to_string())?;
        }
        Ok::<(), String>(())
    });
    thread::sleep(Duration::from_secs(1));
    let rss_paused = rss_kib(pid);
    let mut parser = FrameParser::new(already);
    let mut buf = vec![0u8; 65536];
    let mut echoed = 0;
    let deadline = Instant::now() + Duration::from_secs(20);
    while echoed < N {
        assert!(Instant::now() < deadline, "only {echoed} of {N} echoes");
        stream.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
        let n = stream.read(&mut buf).expect("read echoes");
        assert!(n > 0, "EOF after {echoed} echoes");
        parser.push(&buf[..n]);
        while let Some(f) = parser.next_frame().unwrap() {
            assert_eq!((f.opcode, f.payload.len()), (BINARY, 65536), "echo {echoed}");
            assert!(f.payload.iter().all(|&b| b == (echoed % 251) as u8), "echo {echoed} differs");
            echoed += 1;
        }
    }
    writing.join().unwrap().expect("write the messages");
    println!(
        "echo without reading: {N} × 64 KiB echoed in order; RSS {:.1} MiB before, {:.1} MiB while the client did not read",
        mib(rss_before),
        mib(rss_paused)
    );
    assert!(rss_paused < rss_before + 6 * 1024, "RSS grew by {:.1} MiB", mib(rss_paused - rss_before));
    assert_clean_log(&mut server, "echo without reading");
}

// ---------------------------------------------------------------------------------------------
// A wall that never reads
// ---------------------------------------------------------------------------------------------

const POSTS: u64 = 20_000;

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
            Err(e) if common::is_read_timeout(&e) => {}
            Err(e) => return Err(format!("{who}: read: {e} after id {}", next - 1)),
        }
    }
}

#[test]
fn a_wall_that_never_reads_is_closed_with_1008_and_the_others_get_everything() {
    let _one = exclusive();
    let mut server = Server::start(&["--max-backlog", "65536", "--rate", "0", "--close-timeout", "30"]);
    let addr = server.addr();
    let path = "/ws?room=flood";
    // A small receive window, so that the kernel does not hide the backlog (Linux would
    // otherwise buffer megabytes for a peer that never reads).
    let sleeper = Ws::connect_on(common::connect_with_rcvbuf(addr, 4096), path).unwrap();
    let sleeper_port = sleeper.stream.local_addr().unwrap().port();
    const READERS: usize = 5;
    // Progress of every reader and of the poster's own copy: the poster stays at most WINDOW
    // posts ahead of the slowest of them, so only the sleeper can fall behind.
    let progress: Arc<Vec<AtomicU64>> = Arc::new((0..=READERS).map(|_| AtomicU64::new(0)).collect());
    let readers: Vec<_> = (0..READERS)
        .map(|r| {
            let (mut stream, already) = Ws::connect(addr, path).into_parts();
            let progress = Arc::clone(&progress);
            thread::spawn(move || {
                let mut parser = FrameParser::new(already);
                read_all_ids(&mut stream, &mut parser, POSTS, &progress[r], &format!("reader {r}"))
            })
        })
        .collect();
    let poster = Ws::connect(addr, path);
    let (mut post_stream, already) = poster.into_parts();
    let mut own_copy = post_stream.try_clone().unwrap();
    let own_progress = Arc::clone(&progress);
    let own_reader = thread::spawn(move || {
        let mut parser = FrameParser::new(already);
        read_all_ids(&mut own_copy, &mut parser, POSTS, &own_progress[READERS], "poster").map(|()| (own_copy, parser))
    });
    const WINDOW: u64 = 200;
    let start = Instant::now();
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
    for (r, h) in readers.into_iter().enumerate() {
        h.join().unwrap().unwrap_or_else(|e| panic!("reader {r}: {e}"));
    }
    let (mut own_copy, mut own_parser) = own_reader.join().unwrap().unwrap();
    let took = start.elapsed();
    // The poster is still alive: a ping gets its pong.
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
    assert_eq!((pong.opcode, pong.payload.as_slice()), (common::PONG, &b"alive?"[..]), "the poster is not alive");
    // The sleeper was closed with 1008: the log says so, and so does the stream once read.
    server.wait_for_log(&format!(":{sleeper_port} "), Duration::from_secs(2));
    let line = server
        .logs()
        .into_iter()
        .find(|l| l.contains(&format!(":{sleeper_port} ")) && l.contains("1008"))
        .unwrap_or_else(|| panic!("no 1008 log line for port {sleeper_port}"));
    let (mut stream, already) = sleeper.into_parts();
    let mut parser = FrameParser::new(already);
    let mut buf = vec![0u8; 256 * 1024];
    let mut next = 1;
    let mut close = None;
    let mut eof = false;
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
    println!(
        "never-reading wall: {POSTS} posts to 5 readers + the poster in {took:?}, none lost; the sleeper got ids 1..{} \
         then close {close:?}; log: {line}",
        next - 1
    );
    assert_eq!(close, Some(1008), "the sleeper's stream did not end with a 1008 close");
    assert!(eof, "the server did not close TCP after the sleeper answered its close");
    assert_eq!(parser.partial(), 0, "the sleeper's stream ended inside a frame");
    assert!(next - 1 < POSTS, "the sleeper got everything: not a slow reader at all");
    assert_clean_log(&mut server, "never-reading wall");
}

// ---------------------------------------------------------------------------------------------
// Connection limits
// ---------------------------------------------------------------------------------------------

/// A connection over the limit: a 503 (whether or not it sent a request), then EOF.
fn expect_503(addr: SocketAddr, send_request: bool) -> Result<(), String> {
    let mut c = HttpClient::connect(addr);
    if send_request {
        c.send(format!("GET / HTTP/1.1\r\nHost: {addr}\r\n\r\n").as_bytes());
    }
    let r = c.try_read_response(false, Duration::from_secs(2))?;
    if r.status != 503 {
        return Err(format!("status {}", r.status));
    }
    c.eof_within(Duration::from_secs(2)).ok_or("no EOF after the 503")?;
    Ok(())
}

#[test]
fn past_max_connections_new_ones_get_503_until_some_close() {
    let _one = exclusive();
    let mut server = Server::start(&["--max-connections", "50"]);
    let addr = server.addr();
    let mut http: Vec<HttpClient> = (0..25).map(|_| keep_alive(addr)).collect();
    let mut ws: Vec<Ws> = (0..25).map(|i| Ws::connect(addr, &format!("/ws?room=cap{}", i % 3))).collect();
    for i in 51..=60 {
        expect_503(addr, i % 2 == 0).unwrap_or_else(|e| panic!("connection {i}: {e}"));
    }
    // The 50 are all still served.
    for c in &mut http {
        c.send(format!("HEAD / HTTP/1.1\r\nHost: {addr}\r\n\r\n").as_bytes());
        assert_eq!(c.read_response(true).status, 200);
    }
    for w in &mut ws {
        w.assert_alive();
    }
    // Close 10 (5 of each kind): 10 new ones are served.
    http.drain(..5);
    ws.drain(..5);
    let mut fresh = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(2);
    while fresh.len() < 10 {
        assert!(Instant::now() < deadline, "only {} new connections served after closing 10", fresh.len());
        let mut c = HttpClient::connect(addr);
        c.send(format!("GET /post HTTP/1.1\r\nHost: {addr}\r\n\r\n").as_bytes());
        match c.try_read_response(false, Duration::from_secs(2)) {
            Ok(r) if r.status == 200 => fresh.push(c),
            Ok(r) if r.status == 503 => thread::sleep(Duration::from_millis(20)), // The closes are not seen yet.
            other => panic!("a new connection after closing 10: {other:?}"),
        }
    }
    // Full again.
    expect_503(addr, true).expect("the 51st once full again");
    println!("max connections: 50 open, 10 refused with 503, 10 closed, 10 new ones served, full again");
    assert_clean_log(&mut server, "max connections");
}

#[test]
fn out_of_descriptors_pauses_accepting_without_spinning() {
    let _one = exclusive();
    let mut server = Server::start_with_fd_limit(64, &[]);
    let addr = server.addr();
    let pid = server.pid();
    assert!(server.log_contains("open-file limit 64"), "log: {:?}", server.logs());
    let mut served = Vec::new();
    let mut waiting = None;
    for _ in 0..100 {
        let mut c = HttpClient::connect(addr);
        c.send(format!("GET / HTTP/1.1\r\nHost: {addr}\r\n\r\n").as_bytes());
        match c.try_read_response(false, Duration::from_millis(300)) {
            Ok(r) => {
                assert_eq!(r.status, 200);
                served.push(c);
            }
            Err(_) if server.wait_for_log("accepting paused", Duration::from_secs(2)) => {
                waiting = Some(c);
                break;
            }
            Err(_) => {
                // Only slow: it must still be answered.
                assert_eq!(c.read_response(false).status, 200);
                served.push(c);
            }
        }
    }
    let mut waiting = waiting.expect("the server never ran out of descriptors");
    let fds = fd_count(pid);
    // A few more knock while it is paused.
    let mut knocking: Vec<HttpClient> = (0..5)
        .map(|_| {
            let mut c = HttpClient::connect(addr);
            c.send(format!("GET /wall HTTP/1.1\r\nHost: {addr}\r\n\r\n").as_bytes());
            c
        })
        .collect();
    let cpu_before = cpu_seconds(pid);
    thread::sleep(Duration::from_millis(1500));
    let cpu_used = cpu_seconds(pid) - cpu_before;
    println!(
        "fd exhaustion: {} connections served with a limit of 64 ({fds} fds open); while paused, {cpu_used:.2} s of CPU in 1.5 s",
        served.len()
    );
    assert!(served.len() >= 40, "only {} connections before running out", served.len());
    assert!(cpu_used < 0.3, "busy loop while out of descriptors: {cpu_used:.2} s of CPU in 1.5 s");
    // Free 20: the waiting ones are served, and new ones too.
    served.drain(..20);
    let r = waiting
        .try_read_response(false, Duration::from_secs(2))
        .expect("the waiting connection is served once fds are free");
    assert_eq!(r.status, 200);
    for (i, c) in knocking.iter_mut().enumerate() {
        let r = c.try_read_response(false, Duration::from_secs(2)).unwrap_or_else(|e| panic!("knocking {i}: {e}"));
        assert_eq!(r.status, 200);
    }
    for _ in 0..5 {
        served_within(addr, Duration::from_secs(1)).expect("a new connection after freeing descriptors");
    }
    assert!(server.is_running());
    let bad: Vec<String> =
        server.logs().into_iter().filter(|l| l.contains("ERROR") || l.contains("panicked")).collect();
    assert!(bad.is_empty(), "{bad:?}");
}

// ---------------------------------------------------------------------------------------------
// Shutdown under load
// ---------------------------------------------------------------------------------------------

/// A WebSocket waiting for the shutdown: socket, bytes already read, mid-message, silent.
type Pending = (TcpStream, Vec<u8>, bool, bool);

#[test]
fn sigterm_under_load_closes_every_websocket_with_a_whole_1001() {
    let _one = exclusive();
    let mut server = Server::start(&["--echo"]);
    let addr = server.addr();
    const N: usize = 300;
    const THREADS: usize = 10;
    // (socket, already-read bytes, mid-message, silent)
    let sockets: Vec<Vec<Pending>> = (0..THREADS)
        .map(|t| {
            thread::spawn(move || {
                (t..N)
                    .step_by(THREADS)
                    .map(|i| {
                        let path = if i % 3 == 0 { "/echo".to_string() } else { format!("/ws?room=sd{}", i % 5) };
                        let (mut s, already) = Ws::connect(addr, &path).into_parts();
                        let mid = i % 4 == 1;
                        if mid {
                            let mut frame = client_frame(true, TEXT, &[b'm'; 1000], [5, 6, 7, 8]);
                            frame.truncate(frame.len() - 990);
                            s.write_all(&frame).unwrap();
                        }
                        (s, already, mid, i % 7 == 3)
                    })
                    .collect()
            })
        })
        .map(|h| h.join().unwrap())
        .collect();
    let http: Vec<HttpClient> = (0..20).map(|_| keep_alive(addr)).collect();
    thread::sleep(Duration::from_millis(200));
    let t0 = Instant::now();
    server.signal(libc::SIGTERM);
    let results: Vec<_> = sockets
        .into_iter()
        .map(|group| {
            thread::spawn(move || {
                let mut buf = vec![0u8; 16384];
                let mut errors = Vec::new();
                for (k, (mut s, already, mid, silent)) in group.into_iter().enumerate() {
                    let mut parser = FrameParser::new(already);
                    let mut frames = Vec::new();
                    let mut replied = false;
                    let eof = loop {
                        match parser.next_frame() {
                            Ok(Some(f)) => {
                                if f.opcode == CLOSE && !silent && !replied {
                                    if mid {
                                        // Finish the frame in flight, then reply.
                                        let mut rest = client_frame(true, TEXT, &[b'm'; 1000], [5, 6, 7, 8]);
                                        rest.drain(..rest.len() - 990);
                                        let _ = s.write_all(&rest);
                                    }
                                    let _ =
                                        s.write_all(&client_frame(true, CLOSE, &1001u16.to_be_bytes(), [1, 1, 1, 1]));
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
                        match s.read(&mut buf) {
                            Ok(0) => break true,
                            Ok(n) => parser.push(&buf[..n]),
                            Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => {}
                            Err(_) => break true,
                        }
                    };
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
        })
        .collect();
    let mut http_open = 0;
    for mut c in http {
        match c.eof_within(Duration::from_millis(3000).saturating_sub(t0.elapsed())) {
            Some(rest) => assert!(rest.is_empty(), "an idle HTTP connection got {:?}", String::from_utf8_lossy(&rest)),
            None => http_open += 1,
        }
    }
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
