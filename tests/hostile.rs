//! Deterministic hostile input at volume against the real binary over TCP: thousands of
//! mutated HTTP requests, mutated WebSocket frame streams on `/echo`, and mutated danmaku
//! JSON on `/ws`. Every mutation comes from a seeded xorshift generator (seed and index are
//! in every failure message, so a failure replays), every read is bounded in time, and the
//! server must stay alive and responsive throughout.

mod common;

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use common::{
    BINARY, CLOSE, CONTINUATION, FrameParser, HttpClient, PING, PONG, Recv, Rng, Server, TEXT, UpgradeRequest, Ws,
};
use danmaku_wall::wire::json::{self, Value};

/// Shows bytes for a failure message: printable ASCII as is, the rest escaped, cut at `max`.
fn show(bytes: &[u8], max: usize) -> String {
    let mut s: String = bytes[..bytes.len().min(max)].escape_ascii().to_string();
    if bytes.len() > max {
        s.push_str(&format!("…(+{} bytes)", bytes.len() - max));
    }
    s
}

/// Collects failures from worker threads; the test fails at the end with the first few.
#[derive(Default, Clone)]
struct Failures(Arc<Mutex<Vec<String>>>);

impl Failures {
    fn add(&self, what: String) {
        self.0.lock().unwrap().push(what);
    }

    fn count(&self) -> usize {
        self.0.lock().unwrap().len()
    }

    fn assert_none(&self, what: &str) {
        let all = self.0.lock().unwrap();
        assert!(
            all.is_empty(),
            "{what}: {} failures; the first ones:\n{}",
            all.len(),
            all.iter().take(12).cloned().collect::<Vec<_>>().join("\n\n")
        );
    }
}

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

// =============================================================================================
// Mutated HTTP requests
// =============================================================================================

const HTTP_SEED: u64 = 0xD4A1_5EED_0000_0001;
const HTTP_MUTATIONS: usize = 3000;
const HTTP_THREADS: usize = 20;
/// An answer (or a close) must come within this; `--request-timeout 1` ends truncated heads.
const HTTP_ANSWER_WITHIN: Duration = Duration::from_millis(3500);

fn http_corpus(host: &str) -> Vec<Vec<u8>> {
    let key = "dGhlIHNhbXBsZSBub25jZQ==";
    [
        format!("GET / HTTP/1.1\r\nHost: {host}\r\n\r\n"),
        format!(
            "GET /post HTTP/1.1\r\nHost: {host}\r\nUser-Agent: hostile/1.0\r\nAccept: text/html,*/*;q=0.8\r\nAccept-Encoding: gzip\r\n\r\n"
        ),
        format!("HEAD /wall?room=abc HTTP/1.1\r\nHost: {host}\r\nConnection: keep-alive\r\n\r\n"),
        format!("GET /index.html HTTP/1.1\r\nHost: {host}\r\nIf-None-Match: W/\"x\", \"y\", *\r\n\r\n"),
        "GET /wall HTTP/1.0\r\n\r\n".to_string(),
        String::from_utf8(UpgradeRequest::new(host, "/ws?room=fuzz", key).bytes()).unwrap(),
        String::from_utf8(
            UpgradeRequest::new(host, "/echo", key)
                .without("Connection")
                .with("Connection: keep-alive, Upgrade")
                .with(&format!("Origin: http://{host}"))
                .bytes(),
        )
        .unwrap(),
        format!("GET / HTTP/1.1\r\nHost: {host}\r\n\r\nHEAD /post HTTP/1.1\r\nHost: {host}\r\n\r\n"),
        format!("GET /missing.css HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"),
        format!(
            "GET /post HTTP/1.1\r\nHost: {host}\r\n\r\nGET /wall HTTP/1.1\r\nHost: {host}\r\n\r\nGET / HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
        ),
    ]
    .into_iter()
    .map(String::into_bytes)
    .collect()
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Byte offsets just after each `\n` (line starts after the first line).
fn line_starts(req: &[u8]) -> Vec<usize> {
    req.iter().enumerate().filter(|(_, b)| **b == b'\n').map(|(i, _)| i + 1).filter(|&i| i < req.len()).collect()
}

fn splice(req: &mut Vec<u8>, at: usize, remove: usize, insert: &[u8]) {
    let at = at.min(req.len());
    let end = (at + remove).min(req.len());
    req.splice(at..end, insert.iter().copied());
}

/// Applies one random mutation; returns its name (for failure messages).
fn mutate_http(rng: &mut Rng, req: &mut Vec<u8>, host: &str) -> String {
    let len = req.len();
    let pos = |rng: &mut Rng| rng.below(len + 1);
    match rng.below(16) {
        0 if len > 0 => {
            let at = rng.below(len);
            let bit = 1u8 << rng.below(8);
            req[at] ^= bit;
            format!("flip bit {bit:#x} at {at}")
        }
        1 => {
            let at = pos(rng);
            let b = rng.byte();
            req.insert(at, b);
            format!("insert {b:#04x} at {at}")
        }
        2 if len > 0 => {
            let at = rng.below(len);
            let n = rng.range(1, 8);
            splice(req, at, n, b"");
            format!("delete {n} at {at}")
        }
        3 => {
            let starts = line_starts(req);
            let Some(&start) = starts.get(rng.below(starts.len().max(1))) else {
                return "no line to duplicate".into();
            };
            let end = req[start..].iter().position(|&b| b == b'\n').map_or(req.len(), |e| start + e + 1);
            let line = req[start..end].to_vec();
            let times = if rng.percent(30) { rng.range(60, 90) } else { rng.range(1, 3) };
            let copies: Vec<u8> = line.iter().copied().cycle().take(line.len() * times).collect();
            splice(req, end, 0, &copies);
            format!("duplicate line {} ×{times}", show(&line, 40))
        }
        4 => {
            let n = *rng.pick(&[100, 4000, 8100, 8200, 9000, 20_000, 70_000]);
            let at = line_starts(req).first().copied().unwrap_or(len);
            if rng.percent(50) {
                let header = format!("X-Huge: {}\r\n", "a".repeat(n));
                splice(req, at, 0, header.as_bytes());
                format!("header of {n} bytes")
            } else {
                // An over-long request target.
                let target = find(req, b" ").map_or(0, |i| i + 1);
                splice(req, target + 1, 0, "p".repeat(n).as_bytes());
                format!("target +{n} bytes")
            }
        }
        5 => {
            let methods: [&[u8]; 20] = [
                b"POST",
                b"PUT",
                b"DELETE",
                b"OPTIONS",
                b"TRACE",
                b"CONNECT",
                b"PATCH",
                b"get",
                b"GeT",
                b"G",
                b"",
                b"GETT",
                b"BREW",
                b"M-SEARCH",
                b"\0GET",
                b"GET\0",
                "GÉT".as_bytes(),
                b"G(ET",
                b"GET GET",
                b"\xff\xfe",
            ];
            let method: Vec<u8> = if rng.percent(15) {
                (0..rng.range(1, 40)).map(|_| rng.byte()).collect()
            } else if rng.percent(10) {
                vec![b'X'; rng.range(100, 9000)]
            } else {
                rng.pick(&methods).to_vec()
            };
            let end = find(req, b" ").unwrap_or(0);
            splice(req, 0, end, &method);
            format!("method {}", show(&method, 40))
        }
        6 => {
            let at = pos(rng);
            req.insert(at, 0);
            format!("NUL at {at}")
        }
        7 => {
            let crlfs: Vec<usize> = (0..len.saturating_sub(1)).filter(|&i| &req[i..i + 2] == b"\r\n").collect();
            let Some(&at) = crlfs.get(rng.below(crlfs.len().max(1))) else {
                return "no CRLF".into();
            };
            let games: [&[u8]; 9] =
                [b"\n", b"\r", b"\r\r\n", b"\n\r", b"", b"\r\n\r\n", b"\r\n\tfolded", b"\r\n continued: x", b"\r \n"];
            let game = rng.pick(&games);
            if rng.percent(15) {
                let n = rng.range(1, 40);
                splice(req, 0, 0, &b"\r\n".repeat(n));
                format!("{n} leading CRLFs")
            } else {
                splice(req, at, 2, game);
                format!("CRLF at {at} → {}", show(game, 20))
            }
        }
        8 => {
            let at = rng.below(len.max(1));
            req.truncate(at);
            format!("truncate at {at}")
        }
        9 => {
            let n = rng.range(50, 80);
            let at = line_starts(req).first().copied().unwrap_or(len);
            let headers: String = (0..n).map(|i| format!("X-H{i}: {i}\r\n")).collect();
            splice(req, at, 0, headers.as_bytes());
            format!("{n} extra headers")
        }
        10 => {
            let long_path = format!("/{}", "a/".repeat(3000));
            let long_room = format!("/ws?room={}", "x".repeat(40));
            let absolute = format!("http://{host}/");
            let paths: [&str; 18] = [
                "/../../etc/passwd",
                "/%2e%2e/%2e%2e/etc/passwd",
                "/..%2f..%2fetc%2fpasswd",
                "/%00",
                "/\\..\\..\\windows\\win.ini",
                "*",
                absolute.as_str(),
                "//etc/passwd",
                "/index.html%00.css",
                long_path.as_str(),
                "/%",
                "/%zz",
                "/ws?room=bad%20room",
                long_room.as_str(),
                "/ws?room=",
                "/ws?room=a&room=b",
                "",
                "/wall?\u{1F600}",
            ];
            let path = rng.pick(&paths).as_bytes().to_vec();
            let start = find(req, b" ").map_or(0, |i| i + 1);
            let end = req[start..].iter().position(|&b| b == b' ').map_or(start, |e| start + e);
            splice(req, start, end - start, &path);
            format!("target {}", show(&path, 40))
        }
        11 => {
            let versions: [&[u8]; 11] = [
                b"HTTP/1.0",
                b"HTTP/2.0",
                b"HTTP/1.2",
                b"HTTP/1.",
                b"HTTP/11",
                b"http/1.1",
                b"HTTP/1.1 ",
                b"HTTP/9.9",
                b"",
                b"HTTP/1.1\0",
                b"HTTP/0.9",
            ];
            let v = rng.pick(&versions);
            match find(req, b"HTTP/1.") {
                Some(at) => {
                    splice(req, at, 8, v);
                    format!("version {}", show(v, 20))
                }
                None => "no version".into(),
            }
        }
        12 => {
            let bodies: [&str; 8] = [
                "Content-Length: 5\r\n",
                "Content-Length: 0\r\n",
                "Content-Length: -1\r\n",
                "Content-Length: 99999999999999999999999\r\n",
                "Content-Length: abc\r\n",
                "Transfer-Encoding: chunked\r\n",
                "Content-Length: 3\r\nContent-Length: 4\r\n",
                "Transfer-Encoding: gzip, chunked\r\nContent-Length: 2\r\n",
            ];
            let header = rng.pick(&bodies);
            let at = line_starts(req).first().copied().unwrap_or(len);
            splice(req, at, 0, header.as_bytes());
            if rng.percent(50) {
                req.extend_from_slice(b"hello0\r\n\r\n");
            }
            format!("body header {}", header.trim_end())
        }
        13 => {
            if rng.percent(50) {
                let n = rng.range(1, 200);
                req.extend((0..n).map(|_| rng.byte()));
                format!("{n} garbage bytes appended")
            } else {
                let copy = req.clone();
                req.extend_from_slice(&copy);
                "request repeated".into()
            }
        }
        14 => {
            let lines: [&[u8]; 10] = [
                b"Host : x\r\n",
                b"NoColon\r\n",
                b": empty-name\r\n",
                b"X-Obs: \x80\xff\xfe\r\n",
                "X-Ünïcode: ü\r\n".as_bytes(),
                b"X-Ctl: a\x01b\x7fc\r\n",
                b"\r\n",
                b" leading-space: x\r\n",
                b"Host: second.example\r\n",
                b"X-Tab:\t\tv\t\r\n",
            ];
            let line = rng.pick(&lines);
            let starts = line_starts(req);
            let at = starts.get(rng.below(starts.len().max(1))).copied().unwrap_or(len);
            splice(req, at, 0, line);
            format!("header line {}", show(line, 30))
        }
        _ => {
            let swaps: [(&[u8], &[u8]); 10] = [
                (b"Sec-WebSocket-Version: 13", b"Sec-WebSocket-Version: 8"),
                (b"Sec-WebSocket-Version: 13", b"Sec-WebSocket-Version: 13, 8"),
                (b"Sec-WebSocket-Version: 13", b"Sec-WebSocket-Version: abc"),
                (b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==", b"Sec-WebSocket-Key: short"),
                (b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==", b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==="),
                (b"Upgrade: websocket", b"Upgrade: h2c"),
                (b"Connection: Upgrade", b"Connection: close"),
                (b"Origin: http://", b"Origin: http://evil.example/"),
                (b"Host: ", b"Host: other.example\r\nX-Was-Host: "),
                (b"\r\n\r\n", b"\r\n\r\n\r\n"),
            ];
            let (from, to) = rng.pick(&swaps);
            match find(req, from) {
                Some(at) => {
                    splice(req, at, from.len(), to);
                    format!("{} → {}", show(from, 30), show(to, 30))
                }
                None => "swap without a match".into(),
            }
        }
    }
}

/// What one hostile exchange gave.
enum HttpOutcome {
    /// A well-formed response head with this status.
    Status(u16),
    /// The server closed without a byte.
    Closed,
}

/// Sends `bytes` in `pieces` writes, half-closes if asked, and waits for a response head or a
/// close.
fn hostile_exchange(addr: SocketAddr, bytes: &[u8], rng: &mut Rng, half_close: bool) -> Result<HttpOutcome, String> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(2)).map_err(|e| format!("connect: {e}"))?;
    stream.set_nodelay(true).unwrap();
    stream.set_write_timeout(Some(Duration::from_secs(2))).unwrap();
    let pieces = rng.range(1, 4);
    let mut cuts: Vec<usize> = (1..pieces).map(|_| rng.below(bytes.len().max(1))).collect();
    cuts.push(bytes.len());
    cuts.sort_unstable();
    let mut from = 0;
    for cut in cuts {
        if cut > from {
            if stream.write_all(&bytes[from..cut]).is_err() {
                break; // The server closed early (it may answer a bad head before its end).
            }
            from = cut;
            thread::sleep(Duration::from_micros(rng.below(1500) as u64));
        }
    }
    if half_close {
        let _ = stream.shutdown(Shutdown::Write);
    }
    let deadline = Instant::now() + HTTP_ANSWER_WITHIN;
    let mut got = Vec::new();
    let mut buf = [0u8; 16384];
    loop {
        if !got.is_empty() {
            let mut slots = [httparse::EMPTY_HEADER; 100];
            let mut resp = httparse::Response::new(&mut slots);
            match resp.parse(&got) {
                Ok(httparse::Status::Complete(_)) => {
                    let code = resp.code.unwrap();
                    let line_ok = got.starts_with(b"HTTP/1.1 ") && got.get(12) == Some(&b' ');
                    if !line_ok || !(100..=599).contains(&code) {
                        return Err(format!("bad status line: {}", show(&got, 200)));
                    }
                    return Ok(HttpOutcome::Status(code));
                }
                Ok(httparse::Status::Partial) => {}
                Err(e) => return Err(format!("malformed response ({e}): {}", show(&got, 300))),
            }
        }
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(format!("no answer and no close within {HTTP_ANSWER_WITHIN:?}; got {}", show(&got, 300)));
        }
        stream.set_read_timeout(Some(left)).unwrap();
        match stream.read(&mut buf) {
            Ok(0) => {
                return if got.is_empty() {
                    Ok(HttpOutcome::Closed)
                } else {
                    Err(format!("closed inside a response head: {}", show(&got, 300)))
                };
            }
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => {}
            Err(e) if matches!(e.kind(), io::ErrorKind::ConnectionReset | io::ErrorKind::ConnectionAborted) => {
                return if got.is_empty() {
                    Ok(HttpOutcome::Closed)
                } else {
                    Err(format!("reset inside a response head ({e}): {}", show(&got, 300)))
                };
            }
            Err(e) => return Err(format!("read: {e}")),
        }
    }
}

/// A well-behaved client gets `GET /` 200 within 1 s.
fn probe_http(addr: SocketAddr) -> Result<Duration, String> {
    let start = Instant::now();
    let mut c = HttpClient::connect(addr);
    c.send(format!("GET / HTTP/1.1\r\nHost: {addr}\r\n\r\n").as_bytes());
    let r = c.try_read_response(false, Duration::from_secs(1))?;
    let took = start.elapsed();
    if r.status != 200 || r.body.is_empty() {
        return Err(format!("probe got {} with {} bytes", r.status, r.body.len()));
    }
    if took > Duration::from_secs(1) {
        return Err(format!("probe took {took:?}"));
    }
    Ok(took)
}

#[test]
fn mutated_http_requests_get_a_status_line_or_a_close() {
    let start = Instant::now();
    let mut server = Server::start(&["--request-timeout", "1", "--echo"]);
    let addr = server.addr();
    let host = server.host();
    let corpus = Arc::new(http_corpus(&host));
    let failures = Failures::default();
    let done = Arc::new(AtomicUsize::new(0));
    let stats = Arc::new(Mutex::new(std::collections::BTreeMap::<String, usize>::new()));
    let probes = Arc::new(Mutex::new(Vec::<Duration>::new()));
    let workers: Vec<_> = (0..HTTP_THREADS)
        .map(|t| {
            let (corpus, failures, done, stats, probes, host) = (
                Arc::clone(&corpus),
                failures.clone(),
                Arc::clone(&done),
                Arc::clone(&stats),
                Arc::clone(&probes),
                host.clone(),
            );
            thread::spawn(move || {
                for i in (t..HTTP_MUTATIONS).step_by(HTTP_THREADS) {
                    if failures.count() > 50 {
                        return;
                    }
                    let mut rng = Rng::new(HTTP_SEED.wrapping_add(i as u64));
                    let base = rng.below(corpus.len());
                    let mut req = corpus[base].clone();
                    let names: Vec<String> = (0..rng.range(1, 3)).map(|_| mutate_http(&mut rng, &mut req, &host)).collect();
                    let half_close = rng.percent(90);
                    let outcome = hostile_exchange(addr, &req, &mut rng, half_close);
                    let key = match &outcome {
                        Ok(HttpOutcome::Status(code)) => format!("{code}"),
                        Ok(HttpOutcome::Closed) => "closed".to_string(),
                        Err(_) => "FAILED".to_string(),
                    };
                    *stats.lock().unwrap().entry(key).or_default() += 1;
                    if let Err(e) = outcome {
                        failures.add(format!(
                            "seed {HTTP_SEED:#x} mutation #{i} (corpus {base}, {names:?}, half-close {half_close}): {e}\n  request: {}",
                            show(&req, 400)
                        ));
                    }
                    if (done.fetch_add(1, Ordering::SeqCst) + 1) % 100 == 0 {
                        match probe_http(addr) {
                            Ok(took) => probes.lock().unwrap().push(took),
                            Err(e) => failures.add(format!("after {} mutations, a normal GET /: {e}", i + 1)),
                        }
                    }
                }
            })
        })
        .collect();
    for w in workers {
        w.join().expect("worker panicked");
    }
    let probes = probes.lock().unwrap();
    let slowest = probes.iter().max().copied().unwrap_or_default();
    println!(
        "mutated HTTP: {} requests in {:.1} s, outcomes {:?}, {} probes (slowest {slowest:?})",
        done.load(Ordering::SeqCst),
        start.elapsed().as_secs_f64(),
        stats.lock().unwrap(),
        probes.len()
    );
    failures.assert_none("mutated HTTP requests");
    assert_eq!(done.load(Ordering::SeqCst), HTTP_MUTATIONS);
    assert!(probes.len() >= HTTP_MUTATIONS / 100, "only {} probes ran", probes.len());
    probe_http(addr).expect("a normal request at the end");
    assert_alive_and_clean(&mut server, "mutated HTTP");
}

// =============================================================================================
// Mutated WebSocket frame streams on /echo
// =============================================================================================

const WS_SEED: u64 = 0xD4A1_5EED_0000_0002;
const WS_CONNECTIONS: usize = 640;
const WS_THREADS: usize = 16;
const WS_MAX_MESSAGE: usize = 65536;
/// Connections a worker runs between two responsiveness checks.
const WS_BATCH: usize = 10;

/// A client frame before serialisation, with every field a mutation may break.
#[derive(Debug, Clone)]
struct CFrame {
    fin: bool,
    rsv: u8,
    opcode: u8,
    masked: bool,
    mask: [u8; 4],
    payload: Vec<u8>,
    /// A length field that lies about the payload (or uses a longer form than needed).
    declared: Option<DeclaredLen>,
}

#[derive(Debug, Clone, Copy)]
enum DeclaredLen {
    /// The right value in the 16- or 64-bit form, even when shorter forms would do.
    Form(u8, u64),
    /// A different value than the payload's length, in its minimal form.
    Lie(u64),
}

impl CFrame {
    fn new(rng: &mut Rng, fin: bool, opcode: u8, payload: Vec<u8>) -> CFrame {
        let m = rng.next_u64().to_le_bytes();
        CFrame { fin, rsv: 0, opcode, masked: true, mask: [m[0], m[1], m[2], m[3]], payload, declared: None }
    }

    fn write(&self, out: &mut Vec<u8>) {
        out.push(u8::from(self.fin) << 7 | (self.rsv & 7) << 4 | (self.opcode & 0x0F));
        let mask_bit = if self.masked { 0x80 } else { 0 };
        let (form, len) = match self.declared {
            Some(DeclaredLen::Form(form, len)) => (form, len),
            Some(DeclaredLen::Lie(len)) => (minimal_form(len), len),
            None => (minimal_form(self.payload.len() as u64), self.payload.len() as u64),
        };
        match form {
            7 => out.push(mask_bit | len as u8),
            16 => {
                out.push(mask_bit | 126);
                out.extend_from_slice(&(len as u16).to_be_bytes());
            }
            _ => {
                out.push(mask_bit | 127);
                out.extend_from_slice(&len.to_be_bytes());
            }
        }
        if self.masked {
            out.extend_from_slice(&self.mask);
            out.extend(self.payload.iter().enumerate().map(|(i, b)| b ^ self.mask[i % 4]));
        } else {
            out.extend_from_slice(&self.payload);
        }
    }
}

fn minimal_form(len: u64) -> u8 {
    match len {
        0..=125 => 7,
        126..=0xFFFF => 16,
        _ => 64,
    }
}

fn random_text(rng: &mut Rng, max_chars: usize) -> String {
    let n = rng.below(max_chars + 1);
    let alphabet = ['a', 'b', 'z', ' ', '~', 'é', 'ß', '弹', '幕', '🎉', '\u{10FFFF}', '\u{FFFD}', '\0', '\u{7f}'];
    (0..n).map(|_| if rng.percent(70) { (b'a' + rng.below(26) as u8) as char } else { *rng.pick(&alphabet) }).collect()
}

fn random_bytes(rng: &mut Rng, n: usize) -> Vec<u8> {
    (0..n).map(|_| rng.byte()).collect()
}

/// Splits `data` into `parts` pieces at arbitrary byte positions (inside characters too).
fn split_at_random(rng: &mut Rng, data: &[u8], parts: usize) -> Vec<Vec<u8>> {
    let mut cuts: Vec<usize> = (1..parts).map(|_| rng.below(data.len() + 1)).collect();
    cuts.sort_unstable();
    let mut out = Vec::new();
    let mut from = 0;
    for cut in cuts.into_iter().chain([data.len()]) {
        out.push(data[from..cut].to_vec());
        from = cut;
    }
    out
}

/// A valid stream of client frames: messages (whole and fragmented), pings and pongs.
fn valid_frames(rng: &mut Rng) -> Vec<CFrame> {
    let mut frames = Vec::new();
    let messages = rng.range(2, 16);
    let mut big = 0;
    for _ in 0..messages {
        match rng.below(10) {
            0..=2 => {
                let text = random_text(rng, 120);
                frames.push(CFrame::new(rng, true, TEXT, text.into_bytes()));
            }
            3 | 4 => {
                let n = if big < 2 && rng.percent(8) {
                    big += 1;
                    *rng.pick(&[125, 126, 65535, 65536, 65537, 70_000])
                } else {
                    rng.below(300)
                };
                let data = random_bytes(rng, n);
                frames.push(CFrame::new(rng, true, BINARY, data));
            }
            5 | 6 => {
                // Fragmented, split anywhere (inside characters), control frames in between.
                let text = random_text(rng, 200);
                let opcode = if rng.percent(70) { TEXT } else { BINARY };
                let pieces = rng.range(2, 6);
                let parts = split_at_random(rng, text.as_bytes(), pieces);
                let last = parts.len() - 1;
                for (i, part) in parts.into_iter().enumerate() {
                    let op = if i == 0 { opcode } else { CONTINUATION };
                    frames.push(CFrame::new(rng, i == last, op, part));
                    if i < last && rng.percent(30) {
                        let p = {
                            let n = rng.below(20);
                            random_bytes(rng, n)
                        };
                        frames.push(CFrame::new(rng, true, PING, p));
                    }
                }
            }
            7 => {
                let p = {
                    let n = rng.below(126);
                    random_bytes(rng, n)
                };
                frames.push(CFrame::new(rng, true, PING, p));
            }
            8 => {
                let p = {
                    let n = rng.below(20);
                    random_bytes(rng, n)
                };
                frames.push(CFrame::new(rng, true, PONG, p));
            }
            _ => {
                // A text message whose fragments are 1 byte each.
                let text = random_text(rng, 12);
                let bytes = text.as_bytes();
                if bytes.is_empty() {
                    frames.push(CFrame::new(rng, true, TEXT, Vec::new()));
                }
                for (i, b) in bytes.iter().enumerate() {
                    let op = if i == 0 { TEXT } else { CONTINUATION };
                    frames.push(CFrame::new(rng, i + 1 == bytes.len(), op, vec![*b]));
                }
            }
        }
    }
    if rng.percent(10) {
        let code: u16 = *rng.pick(&[1000, 1000, 1001, 3000, 4999]);
        let mut p = code.to_be_bytes().to_vec();
        p.extend_from_slice("bye 再见".as_bytes());
        frames.push(CFrame::new(rng, true, CLOSE, p));
        // What follows a close is never read.
        let p = random_bytes(rng, 5);
        frames.push(CFrame::new(rng, true, TEXT, p));
    }
    frames
}

const BAD_UTF8: [&[u8]; 8] = [
    b"\xff",
    b"\xc0\xaf",
    b"\xed\xa0\x80",
    b"\xf4\x90\x80\x80",
    b"\xe2\x82",
    b"\x80",
    b"\xf8\x88\x80\x80\x80",
    b"\xce",
];

/// One frame-level mutation; returns its name.
fn mutate_frames(rng: &mut Rng, frames: &mut Vec<CFrame>) -> String {
    if frames.is_empty() {
        return "no frames".into();
    }
    let i = rng.below(frames.len());
    let f = &mut frames[i];
    match rng.below(13) {
        0 => {
            f.opcode = rng.below(16) as u8;
            format!("frame {i}: opcode {:#x}", f.opcode)
        }
        1 => {
            f.rsv = rng.range(1, 7) as u8;
            format!("frame {i}: rsv {}", f.rsv)
        }
        2 => {
            f.masked = false;
            format!("frame {i}: unmasked")
        }
        3 => {
            f.fin = !f.fin;
            format!("frame {i}: fin {}", f.fin)
        }
        4 => {
            let len = f.payload.len() as u64;
            let lie = match rng.below(6) {
                0 => len + rng.range(1, 10) as u64,
                1 => len.saturating_sub(rng.range(1, 10) as u64),
                2 => 1 << 62,
                3 => (1 << 63) | rng.next_u64(),
                4 => WS_MAX_MESSAGE as u64 + 1,
                _ => rng.range(126, 70_000) as u64,
            };
            f.declared = Some(DeclaredLen::Lie(lie));
            format!("frame {i}: declares {lie} bytes, has {len}")
        }
        5 => {
            let form = if rng.percent(50) { 16 } else { 64 };
            if form == 16 && f.payload.len() > 0xFFFF {
                return "no long form".into();
            }
            f.declared = Some(DeclaredLen::Form(form, f.payload.len() as u64));
            format!("frame {i}: {form}-bit length form")
        }
        6 if !f.payload.is_empty() => {
            let at = rng.below(f.payload.len());
            f.payload[at] ^= rng.byte() | 1;
            format!("frame {i}: payload byte {at} corrupted")
        }
        7 => {
            let bad = rng.pick(&BAD_UTF8);
            let at = rng.below(f.payload.len() + 1);
            f.payload.splice(at..at, bad.iter().copied());
            format!("frame {i}: {} inserted at {at}", show(bad, 10))
        }
        8 => {
            let n = rng.range(126, 200);
            let payload = random_bytes(rng, n);
            let ping = CFrame::new(rng, true, PING, payload);
            frames.insert(i, ping);
            format!("ping of {n} bytes before frame {i}")
        }
        9 => {
            let ping = CFrame::new(rng, false, PING, b"frag".to_vec());
            frames.insert(i, ping);
            format!("fragmented ping before frame {i}")
        }
        10 => {
            let code: u16 = *rng
                .pick(&[0, 999, 1000, 1001, 1003, 1004, 1005, 1006, 1014, 1015, 1016, 2999, 3000, 4999, 5000, 65535]);
            let mut payload = code.to_be_bytes().to_vec();
            match rng.below(4) {
                0 => payload.truncate(1),
                1 => {
                    let bad: &&[u8] = rng.pick(&BAD_UTF8);
                    payload.extend_from_slice(bad);
                }
                2 => payload.extend_from_slice("reason ✓".as_bytes()),
                _ => {}
            }
            let close = CFrame::new(rng, true, CLOSE, payload.clone());
            frames.insert(i, close);
            format!("close {} before frame {i}", show(&payload, 20))
        }
        11 => {
            let payload = {
                let n = rng.below(10);
                random_bytes(rng, n)
            };
            let fin = rng.percent(50);
            let orphan = CFrame::new(rng, fin, CONTINUATION, payload);
            frames.insert(i, orphan);
            format!("continuation before frame {i}")
        }
        _ => {
            let payload = random_text(rng, 10).into_bytes();
            let fin = rng.percent(50);
            let nested = CFrame::new(rng, fin, TEXT, payload);
            frames.insert(i, nested);
            format!("text frame inserted before frame {i}")
        }
    }
}

/// How a connection must end, according to the reference model.
#[derive(Debug, Clone, PartialEq, Eq)]
enum End {
    /// Still open (the stream ended between frames and the client did not close).
    Open,
    /// TCP closed without a close frame.
    Drop,
    /// A close frame with one of these codes, then TCP closed.
    Close(Vec<u16>),
    /// The error is in the last, incomplete frame: a close with one of these codes, or a
    /// drop (a server may wait for the whole header or payload before checking).
    CloseOrDrop(Vec<u16>),
}

/// What the server must send for `stream` (a reference model of RFC 6455 for a server with
/// `max_message`): the frames (opcode, payload) in order, then how it ends.
fn expected_for(stream: &[u8], max_message: usize, half_closed: bool) -> (Vec<(u8, Vec<u8>)>, End) {
    let mut out = Vec::new();
    let mut message: Option<(u8, Vec<u8>)> = None;
    let mut pos = 0;
    let eof = if half_closed { End::Drop } else { End::Open };
    loop {
        let rest = &stream[pos..];
        if rest.is_empty() {
            return (out, eof);
        }
        if rest.len() < 2 {
            return (out, End::Drop);
        }
        let (b0, b1) = (rest[0], rest[1]);
        let fin = b0 & 0x80 != 0;
        let opcode = b0 & 0x0F;
        let control = opcode & 0x08 != 0;
        let len7 = b1 & 0x7F;
        let mut early_error = b0 & 0x70 != 0 || !matches!(opcode, 0 | 1 | 2 | 8 | 9 | 10);
        if control && (!fin || len7 > 125) {
            early_error = true;
        }
        let masked = b1 & 0x80 != 0;
        let len_bytes = match len7 {
            126 => 2,
            127 => 8,
            _ => 0,
        };
        let header_len = 2 + len_bytes + if masked { 4 } else { 0 };
        if rest.len() < header_len {
            return (out, if early_error { End::CloseOrDrop(vec![1002]) } else { End::Drop });
        }
        let payload_len = match len7 {
            126 => u64::from(u16::from_be_bytes([rest[2], rest[3]])),
            127 => u64::from_be_bytes(rest[2..10].try_into().unwrap()),
            n => u64::from(n),
        };
        let mut codes = Vec::new();
        if early_error || payload_len >> 63 != 0 || !masked {
            codes.push(1002);
        }
        let have = message.as_ref().map_or(0, |(_, d)| d.len());
        match opcode {
            1 | 2 if message.is_some() => codes.push(1002),
            0 if message.is_none() => codes.push(1002),
            _ => {}
        }
        if matches!(opcode, 0..=2) && payload_len > (max_message - have.min(max_message)) as u64 {
            codes.push(1009);
        }
        if !codes.is_empty() {
            codes.sort_unstable();
            codes.dedup();
            return (out, End::Close(codes));
        }
        let mask: [u8; 4] = rest[header_len - 4..header_len].try_into().unwrap();
        let avail = (rest.len() - header_len).min(payload_len as usize);
        let payload: Vec<u8> =
            rest[header_len..header_len + avail].iter().enumerate().map(|(i, b)| b ^ mask[i % 4]).collect();
        let complete = avail as u64 == payload_len;
        if !control {
            let (msg_opcode, data) = message.get_or_insert_with(|| (opcode, Vec::new()));
            data.extend_from_slice(&payload);
            if *msg_opcode == TEXT
                && let Err(e) = std::str::from_utf8(data)
                && e.error_len().is_some()
            {
                return (out, if complete { End::Close(vec![1007]) } else { End::CloseOrDrop(vec![1007]) });
            }
        }
        if !complete {
            return (out, End::Drop);
        }
        match opcode {
            0..=2 => {
                if fin {
                    let (msg_opcode, data) = message.take().unwrap();
                    if msg_opcode == TEXT && std::str::from_utf8(&data).is_err() {
                        return (out, End::Close(vec![1007]));
                    }
                    out.push((msg_opcode, data));
                }
            }
            9 => out.push((PONG, payload)),
            10 => {}
            _ => {
                // A close: answered with its own code, or failed if the payload is invalid.
                let end = match payload.as_slice() {
                    [] => End::Close(vec![1000]),
                    [_] => End::Close(vec![1002]),
                    [hi, lo, reason @ ..] => {
                        let code = u16::from_be_bytes([*hi, *lo]);
                        if !matches!(code, 1000..=1003 | 1007..=1014 | 3000..=4999) {
                            End::Close(vec![1002])
                        } else if std::str::from_utf8(reason).is_err() {
                            End::Close(vec![1007])
                        } else {
                            End::Close(vec![code])
                        }
                    }
                };
                return (out, end);
            }
        }
        pos += header_len + payload_len as usize;
    }
}

/// A generated connection: the bytes, and a description for failure messages.
struct WsCase {
    stream: Vec<u8>,
    frames: usize,
    half_close: bool,
    what: String,
}

fn ws_case(index: usize) -> WsCase {
    let mut rng = Rng::new(WS_SEED.wrapping_add(index as u64));
    let mut frames = valid_frames(&mut rng);
    let mut names = Vec::new();
    let mutations = *rng.pick(&[0, 0, 0, 0, 1, 1, 1, 2, 2, 3]);
    for _ in 0..mutations {
        names.push(mutate_frames(&mut rng, &mut frames));
    }
    let mut stream = Vec::new();
    for f in &frames {
        f.write(&mut stream);
    }
    if rng.percent(20) && !stream.is_empty() {
        let at = rng.below(stream.len());
        stream.truncate(at);
        names.push(format!("stream cut at byte {at}"));
    }
    if rng.percent(4) && !stream.is_empty() {
        let at = rng.below(stream.len());
        stream[at] ^= 1 << rng.below(8);
        names.push(format!("bit flipped at byte {at}"));
    }
    if rng.percent(3) {
        let n = rng.range(1, 30);
        stream.extend((0..n).map(|_| rng.byte()));
        names.push(format!("{n} garbage bytes appended"));
    }
    let half_close = rng.percent(85);
    WsCase {
        stream,
        frames: frames.len(),
        half_close,
        what: format!("seed {WS_SEED:#x} connection #{index}: {} frames, {names:?}", frames.len()),
    }
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

/// Runs one hostile connection against `/echo` and checks the server against the model.
/// Returns how the connection ended and how many frames (echoes, pongs) were verified.
fn run_ws_case(addr: SocketAddr, case: &WsCase, rng: &mut Rng) -> Result<(End, usize), String> {
    let (expected, end) = expected_for(&case.stream, WS_MAX_MESSAGE, case.half_close);
    let ws = Ws::try_connect(addr, "/echo")?;
    let (mut stream, already) = ws.into_parts();
    let mut parser = FrameParser::new(already);
    // Random splits: headers and payloads arrive in pieces.
    let mut from = 0;
    while from < case.stream.len() {
        let n = if rng.percent(30) { rng.range(1, 8) } else { rng.range(1, 4096) };
        let to = (from + n).min(case.stream.len());
        if stream.write_all(&case.stream[from..to]).is_err() {
            break;
        }
        from = to;
        if rng.percent(10) {
            thread::sleep(Duration::from_micros(rng.below(2000) as u64));
        }
    }
    if case.half_close {
        let _ = stream.shutdown(Shutdown::Write);
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    if end == End::Open {
        // Read the expected frames, then a sentinel ping must come back as a pong.
        let mut buf = vec![0u8; 65536];
        let mut got = Vec::new();
        let sentinel = b"sentinel".to_vec();
        let mut sent_sentinel = false;
        loop {
            while let Some(f) = parser.next_frame()? {
                if !(f.opcode == PING && f.payload.is_empty()) {
                    got.push(f);
                }
            }
            if got.len() >= expected.len() && !sent_sentinel {
                let ping = CFrame::new(rng, true, PING, sentinel.clone());
                let mut bytes = Vec::new();
                ping.write(&mut bytes);
                stream.write_all(&bytes).map_err(|e| format!("sentinel: {e}"))?;
                sent_sentinel = true;
            }
            if got.len() > expected.len() {
                break;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(format!(
                    "timed out: got [{}], expected {} frames then the sentinel pong",
                    describe(&got),
                    expected.len()
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
        let sentinel_frame = got.pop().unwrap();
        compare_frames(&got, &expected)?;
        if sentinel_frame.opcode != PONG || sentinel_frame.payload != sentinel {
            return Err(format!(
                "expected the sentinel pong, got {:#x} {}",
                sentinel_frame.opcode,
                show(&sentinel_frame.payload, 40)
            ));
        }
        return Ok((end, expected.len()));
    }
    let (got, eof) = read_frames_until_eof(&mut stream, &mut parser, deadline)?;
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
    compare_frames(data, &expected)?;
    let code = match close {
        None => None,
        Some(f) => {
            if f.payload.len() < 2 || std::str::from_utf8(&f.payload[2..]).is_err() {
                return Err(format!("malformed close frame {}", show(&f.payload, 40)));
            }
            Some(u16::from_be_bytes([f.payload[0], f.payload[1]]))
        }
    };
    let ok = match (&end, code) {
        (End::Drop, None) => true,
        (End::Close(codes), Some(c)) => codes.contains(&c),
        (End::CloseOrDrop(_), None) => true,
        (End::CloseOrDrop(codes), Some(c)) => codes.contains(&c),
        _ => false,
    };
    if !ok {
        return Err(format!("expected {end:?}, got close code {code:?} after [{}]", describe(data)));
    }
    Ok((end, expected.len()))
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
fn probe_echo(addr: SocketAddr) -> Result<Duration, String> {
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
    let failures = Failures::default();
    let stats = Arc::new(Mutex::new(std::collections::BTreeMap::<String, usize>::new()));
    let frames_sent = Arc::new(AtomicUsize::new(0));
    let frames_verified = Arc::new(AtomicUsize::new(0));
    let probes = Arc::new(Mutex::new(Vec::<Duration>::new()));
    let workers: Vec<_> = (0..WS_THREADS)
        .map(|t| {
            let (failures, stats, frames_sent, frames_verified, probes) = (
                failures.clone(),
                Arc::clone(&stats),
                Arc::clone(&frames_sent),
                Arc::clone(&frames_verified),
                Arc::clone(&probes),
            );
            thread::spawn(move || {
                let mine: Vec<usize> = (t..WS_CONNECTIONS).step_by(WS_THREADS).collect();
                for batch in mine.chunks(WS_BATCH) {
                    for &i in batch {
                        if failures.count() > 30 {
                            return;
                        }
                        let case = ws_case(i);
                        frames_sent.fetch_add(case.frames, Ordering::Relaxed);
                        let mut rng = Rng::new(WS_SEED ^ 0xFFFF ^ i as u64);
                        match run_ws_case(addr, &case, &mut rng) {
                            Ok((end, verified)) => {
                                frames_verified.fetch_add(verified, Ordering::Relaxed);
                                let key = match end {
                                    End::Close(codes) => format!("close {codes:?}"),
                                    End::CloseOrDrop(codes) => format!("close-or-drop {codes:?}"),
                                    other => format!("{other:?}"),
                                };
                                *stats.lock().unwrap().entry(key).or_default() += 1;
                            }
                            Err(e) => failures.add(format!(
                                "{} (half-close {}): {e}\n  stream: {}",
                                case.what,
                                case.half_close,
                                show(&case.stream, 300)
                            )),
                        }
                    }
                    match probe_echo(addr) {
                        Ok(took) => probes.lock().unwrap().push(took),
                        Err(e) => failures.add(format!("after a batch of thread {t}: {e}")),
                    }
                }
            })
        })
        .collect();
    for w in workers {
        w.join().expect("worker panicked");
    }
    let probes = probes.lock().unwrap();
    println!(
        "mutated WebSocket: {WS_CONNECTIONS} connections, {} frames sent, {} echoes and pongs verified in {:.1} s; endings {:?}; {} probes (slowest {:?})",
        frames_sent.load(Ordering::Relaxed),
        frames_verified.load(Ordering::Relaxed),
        start.elapsed().as_secs_f64(),
        stats.lock().unwrap(),
        probes.len(),
        probes.iter().max()
    );
    failures.assert_none("mutated WebSocket streams");
    assert!(frames_sent.load(Ordering::Relaxed) >= 5000, "too few frames");
    assert!(frames_verified.load(Ordering::Relaxed) >= 2000, "too few echoes");
    probe_echo(addr).expect("an echo at the end");
    assert_alive_and_clean(&mut server, "mutated WebSocket");
}

// =============================================================================================
// Mutated danmaku JSON on /ws
// =============================================================================================

const JSON_SEED: u64 = 0xD4A1_5EED_0000_0003;
const JSON_ROOMS: usize = 4;
const JSON_POSTS_PER_ROOM: usize = 600;
const JSON_BATCH: usize = 40;

/// Valid posts and the `msg` their broadcast must carry.
fn valid_posts() -> Vec<(String, String)> {
    let hundred = "弹".repeat(100);
    vec![
        (r#"{"msg":"hello"}"#.into(), "hello".into()),
        (r##"{"msg":"弹幕 🎉","color":"#A1b2C3","size":"large","mode":"top"}"##.into(), "弹幕 🎉".into()),
        (r#"{"msg":"  spaced  ","size":"small","mode":"bottom","extra":[1,2,{"a":null}]}"#.into(), "spaced".into()),
        (r##"{"color":"#000000","msg":"order"}"##.into(), "order".into()),
        (r#"{"msg":"esc \"q\" \\ \/ \u00e9\u4e2d\ud83d\ude00"}"#.into(), "esc \"q\" \\ / é中😀".into()),
        (r#"{"msg":"x"}"#.into(), "x".into()),
        (format!(r#"{{"msg":"{hundred}"}}"#), hundred.clone()),
        (" \t\n{ \"msg\" : \"ws\" , \"mode\" : \"scroll\" } \r\n".into(), "ws".into()),
        (r#"{"msg":"<script>alert(1)</script>&amp;"}"#.into(), "<script>alert(1)</script>&amp;".into()),
    ]
}

fn invalid_posts() -> Vec<String> {
    vec![
        r#"{"msg":""}"#.into(),
        r#"{"msg":5}"#.into(),
        "{}".into(),
        "[]".into(),
        r#""msg""#.into(),
        r#"{"msg":"x","color":"red"}"#.into(),
        format!(r#"{{"msg":"{}"}}"#, "x".repeat(101)),
        r#"{"msg":"a\u0007"}"#.into(),
        r#"{"msg":"x","size":"Large"}"#.into(),
        r#"{"msg":"x",}"#.into(),
        r#"{"msg":"\ud800"}"#.into(),
        String::new(),
    ]
}

fn mutate_json(rng: &mut Rng, text: &mut Vec<char>) -> String {
    let len = text.len();
    let tokens = [
        "{", "}", "[", "]", "\"", ":", ",", "\\", " ", "\t", "\n", "0", "-", "e", ".", "true", "null", "\\u0000",
        "\\ud800", "\\udc00", "\\u", "弹", "😀", "\u{1}", "\u{7f}", "\u{85}", "\u{200b}", "\u{feff}", "\u{2028}",
        "\u{0}", "1e99999", "\"msg\":",
    ];
    match rng.below(10) {
        0 if len > 0 => {
            let at = rng.below(len);
            text.remove(at);
            format!("delete char {at}")
        }
        1 | 2 => {
            let at = rng.below(len + 1);
            let token = rng.pick(&tokens);
            text.splice(at..at, token.chars());
            format!("insert {token:?} at {at}")
        }
        3 if len > 0 => {
            let at = rng.below(len);
            let token = rng.pick(&tokens);
            text.splice(at..at + 1, token.chars());
            format!("replace char {at} by {token:?}")
        }
        4 if len > 0 => {
            let at = rng.below(len);
            let n = rng.range(1, 20).min(len - at);
            let copy: Vec<char> = text[at..at + n].to_vec();
            text.splice(at..at, copy);
            format!("duplicate {n} chars at {at}")
        }
        5 => {
            let at = rng.below(len + 1);
            text.truncate(at);
            format!("truncate at {at}")
        }
        6 => {
            let depth = *rng.pick(&[2, 20, 64, 65, 200, 5000, 20_000]);
            let nest = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
            let doc = format!(r#"{{"deep":{nest},"msg":"deep"}}"#);
            *text = doc.chars().collect();
            format!("nested {depth} deep")
        }
        7 => {
            let n = rng.range(95, 105);
            let unit = rng.pick(&["x", "弹", "😀", "e\u{301}", " "]);
            let doc = format!(r#"{{"msg":"{}"}}"#, unit.repeat(n));
            *text = doc.chars().collect();
            format!("msg of {n} × {unit:?}")
        }
        8 => {
            let fields = [
                r#","msg":5"#,
                r#","msg":"dup""#,
                r##","color":"#FFFFFF""##,
                r#","color":null"#,
                r#","size":"small""#,
                r#","mode":"TOP""#,
                r#","x":1e999"#,
                r#","n":-0.0e-0"#,
                r#","n":01"#,
                r#","s":"\uD83D\uDE00""#,
                r#","big":"#,
            ];
            let field = rng.pick(&fields);
            let at = text.iter().position(|&c| c == '{').map_or(0, |p| p + 1);
            let tail: Vec<char> = text.split_off(at);
            let mut field_chars: Vec<char> = field.trim_start_matches(',').chars().collect();
            if tail.first().is_some_and(|&c| c != '}') {
                field_chars.push(',');
            }
            text.extend(field_chars);
            text.extend(tail);
            format!("field {field}")
        }
        _ => {
            let n = rng.range(1, 30);
            let ws: Vec<char> = (0..n).map(|_| *rng.pick(&[' ', '\t', '\n', '\r', '\u{a0}', '\u{3000}'])).collect();
            let at = rng.below(len + 1);
            text.splice(at..at, ws);
            format!("{n} white space chars at {at}")
        }
    }
}

/// Checks a broadcast's fields; returns (id, msg).
fn check_danmaku(text: &str) -> Result<(u64, String), String> {
    let v = json::parse(text, 8).map_err(|e| format!("broadcast is not JSON ({e}): {text}"))?;
    let field = |k: &str| v.get(k).and_then(Value::as_str).ok_or_else(|| format!("no string {k} in {text}"));
    let id = v.get("id").and_then(Value::as_f64).ok_or_else(|| format!("no id in {text}"))?;
    let msg = field("msg")?;
    let chars = msg.chars().count();
    if !(1..=100).contains(&chars) || msg.trim() != msg || msg.chars().any(char::is_control) {
        return Err(format!("broadcast msg breaks the rules: {msg:?}"));
    }
    let color = field("color")?;
    if color.len() != 7
        || !color.starts_with('#')
        || !color[1..].bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return Err(format!("bad color {color:?}"));
    }
    if !["small", "medium", "large"].contains(&field("size")?) || !["scroll", "top", "bottom"].contains(&field("mode")?)
    {
        return Err(format!("bad size or mode in {text}"));
    }
    let time = v.get("time").and_then(Value::as_f64).ok_or_else(|| format!("no time in {text}"))?;
    if (common::unix_ms() as f64 - time).abs() > 60_000.0 {
        return Err(format!("time {time} is not now"));
    }
    Ok((id as u64, msg.to_string()))
}

fn check_error(text: &str) -> Result<(), String> {
    let v = json::parse(text, 8).map_err(|e| format!("reply is not JSON ({e}): {text}"))?;
    match (v.get("type").and_then(Value::as_str), v.get("error").and_then(Value::as_str)) {
        (Some("error"), Some(reason)) if !reason.trim().is_empty() => Ok(()),
        _ => Err(format!("neither a danmaku nor an error: {text}")),
    }
}

/// What a post is known to give, for the unmutated corpus.
enum Known {
    Msg(String),
    Error,
    Unknown,
}

fn json_room(addr: SocketAddr, room: usize) -> Result<(usize, usize), String> {
    let path = format!("/ws?room=fuzz{room}");
    let mut sender = Ws::try_connect(addr, &path)?;
    let mut watcher = Ws::try_connect(addr, &path)?;
    let valid = valid_posts();
    let invalid = invalid_posts();
    let mut next_id = 1u64;
    let mut rejected = 0;
    for batch in 0..JSON_POSTS_PER_ROOM / JSON_BATCH {
        let mut known = Vec::new();
        let mut sent = Vec::new();
        for k in 0..JSON_BATCH {
            let index = batch * JSON_BATCH + k;
            let mut rng = Rng::new(JSON_SEED.wrapping_add((room * 1_000_000 + index) as u64));
            let (mut text, mut expect) = if rng.percent(70) {
                let (t, m) = rng.pick(&valid).clone();
                (t.chars().collect::<Vec<char>>(), Known::Msg(m))
            } else {
                (rng.pick(&invalid).chars().collect(), Known::Error)
            };
            let mut names = Vec::new();
            if rng.percent(75) {
                for _ in 0..rng.range(1, 3) {
                    names.push(mutate_json(&mut rng, &mut text));
                }
                expect = Known::Unknown;
            }
            let text: String = text.into_iter().collect();
            if text.len() > 60_000 {
                known.push((Known::Error, format!("#{index} skipped (too long)"), String::new()));
                sent.push(false);
                continue;
            }
            sender.send_text(&text);
            sent.push(true);
            known.push((expect, format!("seed {JSON_SEED:#x} room {room} post #{index} {names:?}"), text));
        }
        let mut broadcasts = Vec::new();
        for ((expect, what, post), was_sent) in known.into_iter().zip(sent) {
            if !was_sent {
                continue;
            }
            let reply = match sender.recv_within(Duration::from_secs(5)) {
                Recv::Frame(f) if f.opcode == TEXT && f.fin => {
                    String::from_utf8(f.payload).map_err(|_| format!("{what}: reply not UTF-8"))?
                }
                other => {
                    return Err(format!(
                        "{what}: expected a reply, got {other:?}; post {}",
                        show(post.as_bytes(), 200)
                    ));
                }
            };
            let fail = |e: String| format!("{what}: {e}; post {}", show(post.as_bytes(), 200));
            if reply.starts_with(r#"{"type":"danmaku""#) {
                let (id, msg) = check_danmaku(&reply).map_err(fail)?;
                if id != next_id {
                    return Err(fail(format!("id {id}, expected {next_id}")));
                }
                next_id += 1;
                match expect {
                    Known::Msg(m) if m != msg => {
                        return Err(fail(format!("msg {msg:?}, expected {m:?}")));
                    }
                    Known::Error => {
                        return Err(fail(format!("an invalid post was broadcast: {reply}")));
                    }
                    _ => {}
                }
                broadcasts.push(reply);
            } else {
                check_error(&reply).map_err(fail)?;
                if let Known::Msg(m) = expect {
                    return Err(fail(format!("a valid post ({m:?}) was rejected: {reply}")));
                }
                rejected += 1;
            }
        }
        // The other member gets exactly the broadcasts, byte for byte, in order.
        for b in broadcasts {
            match watcher.recv_within(Duration::from_secs(5)) {
                Recv::Frame(f) if f.opcode == TEXT && f.payload == b.as_bytes() => {}
                other => {
                    return Err(format!("room {room} batch {batch}: the watcher expected {b}, got {other:?}"));
                }
            }
        }
    }
    match watcher.recv_within(Duration::from_millis(300)) {
        Recv::Timeout => {}
        other => {
            return Err(format!("room {room}: the watcher got something extra: {other:?}"));
        }
    }
    // Both connections are still open and well.
    sender.assert_alive();
    watcher.assert_alive();
    Ok(((next_id - 1) as usize, rejected))
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
