//! Hostile HTTP exchanges over TCP: a mutated request sent in random pieces, then a
//! well-formed status line (RFC 9112 §4) or a close must come within a bounded time, and a
//! well-behaved client must still be served between them.

use std::collections::BTreeMap;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use crate::common::{HttpClient, Rng};
use crate::failures::{Failures, show};
use crate::http_mutations::{http_corpus, mutate_http};

pub(crate) const HTTP_SEED: u64 = 0xD4A1_5EED_0000_0001;
pub(crate) const HTTP_MUTATIONS: usize = 3000;
pub(crate) const HTTP_THREADS: usize = 20;
/// An answer (or a close) must come within this; `--request-timeout 1` ends truncated heads.
const HTTP_ANSWER_WITHIN: Duration = Duration::from_millis(3500);

/// What one hostile exchange gave.
pub(crate) enum HttpOutcome {
    /// A well-formed response head with this status.
    Status(u16),
    /// The server closed without a byte.
    Closed,
}

/// Sends `bytes` in `pieces` writes, half-closes if asked, and waits for a response head or a
/// close.
pub(crate) fn hostile_exchange(
    addr: SocketAddr,
    bytes: &[u8],
    rng: &mut Rng,
    half_close: bool,
) -> Result<HttpOutcome, String> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(2)).map_err(|e| format!("connect: {e}"))?;
    stream.set_nodelay(true).unwrap();
    stream.set_write_timeout(Some(Duration::from_secs(2))).unwrap();
    send_in_pieces(&mut stream, bytes, rng);
    if half_close {
        let _ = stream.shutdown(Shutdown::Write);
    }
    read_response_head(&mut stream)
}

/// Writes `bytes` in 1 to 4 pieces cut at random offsets, with short random pauses between.
fn send_in_pieces(stream: &mut TcpStream, bytes: &[u8], rng: &mut Rng) {
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
}

/// Reads until a complete response head, a close before any byte, or `HTTP_ANSWER_WITHIN`.
fn read_response_head(stream: &mut TcpStream) -> Result<HttpOutcome, String> {
    let deadline = Instant::now() + HTTP_ANSWER_WITHIN;
    let mut got = Vec::new();
    let mut buf = [0u8; 16384];
    loop {
        if let Some(outcome) = parse_response_head(&got)? {
            return Ok(outcome);
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

/// `Ok(Some(status))` for a complete head with a valid HTTP/1.1 status line (RFC 9112 §4),
/// `Ok(None)` while more bytes are needed, an error for a malformed head.
fn parse_response_head(got: &[u8]) -> Result<Option<HttpOutcome>, String> {
    if got.is_empty() {
        return Ok(None);
    }
    let mut slots = [httparse::EMPTY_HEADER; 100];
    let mut resp = httparse::Response::new(&mut slots);
    match resp.parse(got) {
        Ok(httparse::Status::Complete(_)) => {
            let code = resp.code.unwrap();
            let line_ok = got.starts_with(b"HTTP/1.1 ") && got.get(12) == Some(&b' ');
            if !line_ok || !(100..=599).contains(&code) {
                return Err(format!("bad status line: {}", show(got, 200)));
            }
            Ok(Some(HttpOutcome::Status(code)))
        }
        Ok(httparse::Status::Partial) => Ok(None),
        Err(e) => Err(format!("malformed response ({e}): {}", show(got, 300))),
    }
}

/// A well-behaved client gets `GET /` 200 within 1 s.
pub(crate) fn probe_http(addr: SocketAddr) -> Result<Duration, String> {
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

/// What the HTTP worker threads share: the corpus, the tallies, the probe times, the failures.
#[derive(Clone)]
pub(crate) struct HttpRun {
    addr: SocketAddr,
    host: String,
    corpus: Arc<Vec<Vec<u8>>>,
    pub(crate) failures: Failures,
    /// Mutations run so far.
    pub(crate) done: Arc<AtomicUsize>,
    /// Outcomes by status code ("closed", "FAILED").
    pub(crate) stats: Arc<Mutex<BTreeMap<String, usize>>>,
    /// How long each well-behaved probe took.
    pub(crate) probes: Arc<Mutex<Vec<Duration>>>,
}

impl HttpRun {
    pub(crate) fn new(addr: SocketAddr, host: String) -> HttpRun {
        HttpRun {
            addr,
            corpus: Arc::new(http_corpus(&host)),
            host,
            failures: Failures::default(),
            done: Arc::new(AtomicUsize::new(0)),
            stats: Arc::new(Mutex::new(BTreeMap::new())),
            probes: Arc::new(Mutex::new(Vec::new())),
        }
    }

    /// Worker `t` runs mutations `t`, `t + HTTP_THREADS`, ...; after every 100th mutation
    /// (over all workers) a normal `GET /` must still be served.
    pub(crate) fn worker(&self, t: usize) {
        for i in (t..HTTP_MUTATIONS).step_by(HTTP_THREADS) {
            if self.failures.count() > 50 {
                return;
            }
            self.mutation(i);
            if (self.done.fetch_add(1, Ordering::SeqCst) + 1).is_multiple_of(100) {
                match probe_http(self.addr) {
                    Ok(took) => self.probes.lock().unwrap().push(took),
                    Err(e) => self.failures.add(format!("after {} mutations, a normal GET /: {e}", i + 1)),
                }
            }
        }
    }

    /// Mutation `i`: a corpus request, 1 to 3 mutations, one exchange (seeded by `i`).
    fn mutation(&self, i: usize) {
        let mut rng = Rng::new(HTTP_SEED.wrapping_add(i as u64));
        let base = rng.below(self.corpus.len());
        let mut req = self.corpus[base].clone();
        let names: Vec<String> = (0..rng.range(1, 3)).map(|_| mutate_http(&mut rng, &mut req, &self.host)).collect();
        let half_close = rng.percent(90);
        let outcome = hostile_exchange(self.addr, &req, &mut rng, half_close);
        let key = match &outcome {
            Ok(HttpOutcome::Status(code)) => format!("{code}"),
            Ok(HttpOutcome::Closed) => "closed".to_string(),
            Err(_) => "FAILED".to_string(),
        };
        *self.stats.lock().unwrap().entry(key).or_default() += 1;
        if let Err(e) = outcome {
            self.failures.add(format!(
                "seed {HTTP_SEED:#x} mutation #{i} (corpus {base}, {names:?}, half-close {half_close}): {e}\n  request: {}",
                show(&req, 400)
            ));
        }
    }
}
