//! Hostile WebSocket connections on `/echo`: a generated stream sent in random pieces, the
//! server's frames read back and checked against the reference model, and a clean client
//! served between batches.

use std::collections::BTreeMap;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use crate::client_frame::CFrame;
use crate::common::{self, CLOSE, FrameParser, PING, PONG, Recv, Rng, TEXT, Ws};
use crate::echo_model::{End, expected_for};
use crate::failures::{Failures, show};
use crate::frame_streams::{WsCase, ws_case};

pub(crate) const WS_SEED: u64 = 0xD4A1_5EED_0000_0002;
pub(crate) const WS_CONNECTIONS: usize = 640;
pub(crate) const WS_THREADS: usize = 16;
pub(crate) const WS_MAX_MESSAGE: usize = 65536;
/// Connections a worker runs between two responsiveness checks.
const WS_BATCH: usize = 10;

/// Runs one hostile connection against `/echo` and checks the server against the model.
/// Returns how the connection ended and how many frames (echoes, pongs) were verified.
pub(crate) fn run_ws_case(addr: SocketAddr, case: &WsCase, rng: &mut Rng) -> Result<(End, usize), String> {
    let (expected, end) = expected_for(&case.stream, WS_MAX_MESSAGE, case.half_close);
    let ws = Ws::try_connect(addr, "/echo")?;
    let (mut stream, already) = ws.into_parts();
    let mut parser = FrameParser::new(already);
    send_in_random_pieces(&mut stream, &case.stream, rng);
    if case.half_close {
        let _ = stream.shutdown(Shutdown::Write);
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    if end == End::Open {
        check_still_open(&mut stream, &mut parser, &expected, rng, deadline)?;
    } else {
        check_ending(&mut stream, &mut parser, &expected, &end, deadline)?;
    }
    Ok((end, expected.len()))
}

/// Random splits: headers and payloads arrive in pieces, sometimes with a short pause.
fn send_in_random_pieces(stream: &mut TcpStream, bytes: &[u8], rng: &mut Rng) {
    let mut from = 0;
    while from < bytes.len() {
        let n = if rng.percent(30) { rng.range(1, 8) } else { rng.range(1, 4096) };
        let to = (from + n).min(bytes.len());
        if stream.write_all(&bytes[from..to]).is_err() {
            break;
        }
        from = to;
        if rng.percent(10) {
            thread::sleep(Duration::from_micros(rng.below(2000) as u64));
        }
    }
}

/// The payload of the ping sent after the expected frames; its pong must come back last.
const SENTINEL: &[u8] = b"sentinel";

/// The connection stays open: the expected frames come, then a sentinel ping gets its pong.
fn check_still_open(
    stream: &mut TcpStream,
    parser: &mut FrameParser,
    expected: &[(u8, Vec<u8>)],
    rng: &mut Rng,
    deadline: Instant,
) -> Result<(), String> {
    let mut got = read_through_sentinel(stream, parser, expected.len(), rng, deadline)?;
    let sentinel_frame = got.pop().unwrap();
    compare_frames(&got, expected)?;
    if sentinel_frame.opcode != PONG || sentinel_frame.payload != SENTINEL {
        return Err(format!(
            "expected the sentinel pong, got {:#x} {}",
            sentinel_frame.opcode,
            show(&sentinel_frame.payload, 40)
        ));
    }
    Ok(())
}

/// Reads `expected` frames, sends the sentinel ping, and reads one frame more (heartbeat
/// pings are dropped).
fn read_through_sentinel(
    stream: &mut TcpStream,
    parser: &mut FrameParser,
    expected: usize,
    rng: &mut Rng,
    deadline: Instant,
) -> Result<Vec<common::Frame>, String> {
    let mut buf = vec![0u8; 65536];
    let mut got = Vec::new();
    let mut sent_sentinel = false;
    loop {
        while let Some(f) = parser.next_frame()? {
            if !(f.opcode == PING && f.payload.is_empty()) {
                got.push(f);
            }
        }
        if got.len() >= expected && !sent_sentinel {
            let ping = CFrame::new(rng, true, PING, SENTINEL.to_vec());
            let mut bytes = Vec::new();
            ping.write(&mut bytes);
            stream.write_all(&bytes).map_err(|e| format!("sentinel: {e}"))?;
            sent_sentinel = true;
        }
        if got.len() > expected {
            return Ok(got);
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(format!(
                "timed out: got [{}], expected {} frames then the sentinel pong",
                describe(&got),
                expected
            ));
        }
        stream.set_read_timeout(Some(left)).unwrap();
        match stream.read(&mut buf) {
            Ok(0) => {
                return Err(format!("EOF on an open connection after [{}]", describe(&got)));
            }
            Ok(n) => parser.push(&buf[..n]),
            Err(e) if common::is_read_timeout(&e) => {}
            Err(e) => return Err(format!("read: {e} after [{}]", describe(&got))),
        }
    }
}

/// The connection ends: the expected frames, then TCP closes between frames, after a close
/// frame whose code the model allows, or without one if the model allows a drop.
fn check_ending(
    stream: &mut TcpStream,
    parser: &mut FrameParser,
    expected: &[(u8, Vec<u8>)],
    end: &End,
    deadline: Instant,
) -> Result<(), String> {
    let (got, eof) = read_frames_until_eof(stream, parser, deadline)?;
    if !eof {
        return Err(format!("not closed within 5 s (expected {end:?}); got [{}]", describe(&got)));
    }
    if parser.partial() != 0 {
        return Err(format!("TCP closed inside a frame ({} bytes of it) after [{}]", parser.partial(), describe(&got)));
    }
    let (data, close): (&[common::Frame], Option<&common::Frame>) = match got.last() {
        Some(f) if f.opcode == CLOSE => (&got[..got.len() - 1], Some(f)),
        _ => (&got[..], None),
    };
    compare_frames(data, expected)?;
    let code = close.map(close_code).transpose()?;
    let ok = match (end, code) {
        (End::Drop, None) => true,
        (End::Close(codes), Some(c)) => codes.contains(&c),
        (End::CloseOrDrop(_), None) => true,
        (End::CloseOrDrop(codes), Some(c)) => codes.contains(&c),
        _ => false,
    };
    if !ok {
        return Err(format!("expected {end:?}, got close code {code:?} after [{}]", describe(data)));
    }
    Ok(())
}

/// The code of a server's close frame, which must be well-formed (RFC 6455 §5.5.1).
fn close_code(f: &common::Frame) -> Result<u16, String> {
    if f.payload.len() < 2 || std::str::from_utf8(&f.payload[2..]).is_err() {
        return Err(format!("malformed close frame {}", show(&f.payload, 40)));
    }
    Ok(u16::from_be_bytes([f.payload[0], f.payload[1]]))
}

/// Reads frames from `stream` until EOF or `deadline` (heartbeat pings are dropped).
/// Returns the frames, whether EOF came, and bytes of an incomplete frame at the end.
fn read_frames_until_eof(
    stream: &mut TcpStream,
    parser: &mut FrameParser,
    deadline: Instant,
) -> Result<(Vec<common::Frame>, bool), String> {
    let mut frames = Vec::new();
    let mut buf = vec![0u8; 65536];
    loop {
        while let Some(f) = parser.next_frame()? {
            if !(f.opcode == PING && f.payload.is_empty()) {
                frames.push(f);
            }
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Ok((frames, false));
        }
        stream.set_read_timeout(Some(left)).unwrap();
        match stream.read(&mut buf) {
            Ok(0) => return Ok((frames, true)),
            Ok(n) => parser.push(&buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => {}
            Err(e) if matches!(e.kind(), io::ErrorKind::ConnectionReset | io::ErrorKind::ConnectionAborted) => {
                return Ok((frames, true));
            }
            Err(e) => return Err(format!("read: {e}")),
        }
    }
}

fn describe(frames: &[common::Frame]) -> String {
    let parts: Vec<String> = frames.iter().map(|f| format!("{:#x}:{}B", f.opcode, f.payload.len())).collect();
    parts.join(" ")
}

fn compare_frames(got: &[common::Frame], expected: &[(u8, Vec<u8>)]) -> Result<(), String> {
    let matches = got.len() == expected.len()
        && got.iter().zip(expected).all(|(g, (op, p))| g.fin && g.opcode == *op && g.payload == *p);
    if matches {
        return Ok(());
    }
    let first_diff = got.iter().zip(expected).position(|(g, (op, p))| !(g.fin && g.opcode == *op && g.payload == *p));
    let exp: Vec<String> = expected.iter().map(|(op, p)| format!("{op:#x}:{}B", p.len())).collect();
    let detail = first_diff.map_or(String::new(), |i| {
        format!(
            "; frame {i}: got {:#x} fin {} {}, expected {:#x} {}",
            got[i].opcode,
            got[i].fin,
            show(&got[i].payload, 60),
            expected[i].0,
            show(&expected[i].1, 60)
        )
    });
    Err(format!(
        "frames differ (first difference at {first_diff:?}): got [{}], expected [{}]{detail}",
        describe(got),
        exp.join(" ")
    ))
}

/// A clean connection gets an echo within 1 s (handshake included).
pub(crate) fn probe_echo(addr: SocketAddr) -> Result<Duration, String> {
    let start = Instant::now();
    let mut ws = Ws::try_connect(addr, "/echo")?;
    ws.send_text("still there?");
    loop {
        match ws.recv_within(Duration::from_secs(1).saturating_sub(start.elapsed())) {
            Recv::Frame(f) if f.opcode == PING => {}
            Recv::Frame(f) if f.opcode == TEXT && f.payload == b"still there?" => break,
            other => return Err(format!("probe echo: {other:?} after {:?}", start.elapsed())),
        }
    }
    let took = start.elapsed();
    if took > Duration::from_secs(1) {
        return Err(format!("probe echo took {took:?}"));
    }
    ws.close(1000, "");
    Ok(took)
}

/// What the WebSocket worker threads share: the tallies, the probe times, the failures.
#[derive(Clone)]
pub(crate) struct EchoRun {
    addr: SocketAddr,
    pub(crate) failures: Failures,
    /// Connections by how they ended.
    pub(crate) stats: Arc<Mutex<BTreeMap<String, usize>>>,
    pub(crate) frames_sent: Arc<AtomicUsize>,
    /// Echoes and pongs checked against the model.
    pub(crate) frames_verified: Arc<AtomicUsize>,
    /// How long each clean echo probe took.
    pub(crate) probes: Arc<Mutex<Vec<Duration>>>,
}

impl EchoRun {
    pub(crate) fn new(addr: SocketAddr) -> EchoRun {
        EchoRun {
            addr,
            failures: Failures::default(),
            stats: Arc::new(Mutex::new(BTreeMap::new())),
            frames_sent: Arc::new(AtomicUsize::new(0)),
            frames_verified: Arc::new(AtomicUsize::new(0)),
            probes: Arc::new(Mutex::new(Vec::new())),
        }
    }

    /// Worker `t` runs connections `t`, `t + WS_THREADS`, ... in batches of `WS_BATCH`; after
    /// each batch a clean client must get its echo.
    pub(crate) fn worker(&self, t: usize) {
        let mine: Vec<usize> = (t..WS_CONNECTIONS).step_by(WS_THREADS).collect();
        for batch in mine.chunks(WS_BATCH) {
            for &i in batch {
                if self.failures.count() > 30 {
                    return;
                }
                self.connection(i);
            }
            match probe_echo(self.addr) {
                Ok(took) => self.probes.lock().unwrap().push(took),
                Err(e) => self.failures.add(format!("after a batch of thread {t}: {e}")),
            }
        }
    }

    /// Connection `i`: generated from `WS_SEED + i`, sent in pieces cut by its own seed.
    fn connection(&self, i: usize) {
        let case = ws_case(i);
        self.frames_sent.fetch_add(case.frames, Ordering::Relaxed);
        let mut rng = Rng::new(WS_SEED ^ 0xFFFF ^ i as u64);
        match run_ws_case(self.addr, &case, &mut rng) {
            Ok((end, verified)) => {
                self.frames_verified.fetch_add(verified, Ordering::Relaxed);
                let key = match end {
                    End::Close(codes) => format!("close {codes:?}"),
                    End::CloseOrDrop(codes) => format!("close-or-drop {codes:?}"),
                    other => format!("{other:?}"),
                };
                *self.stats.lock().unwrap().entry(key).or_default() += 1;
            }
            Err(e) => self.failures.add(format!(
                "{} (half-close {}): {e}\n  stream: {}",
                case.what,
                case.half_close,
                show(&case.stream, 300)
            )),
        }
    }
}
