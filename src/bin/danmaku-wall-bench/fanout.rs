//! `fanout` (and its `bigroom` preset): P publishers post into one room of S subscribers
//! (publishers receive too); every delivery's latency is recorded and every expected delivery
//! accounted for. [`crate::publish`] decides when posts go out; [`crate::fanout_report`] turns
//! the outcome into figures.

use std::time::{Duration, Instant};

use crate::args::{Arrival, Common, Fanout};
use crate::client::{Handler, Net, Target};
use crate::fanout_report::{Outcome, report};
use crate::fleet::Fleet;
use crate::procinfo::{CpuMark, CpuWindow};
use crate::publish::Publishers;
use crate::stats::{Histogram, is_error, scan_token};

#[derive(PartialEq, Clone, Copy)]
enum Phase {
    Warmup,
    Measure,
    Drain,
}

/// Everything the receive path touches.
pub struct Recorder {
    origin: Instant,
    /// The measured window on the bench clock: posts sent in `[start, end)` count.
    pub win_start_ns: u64,
    pub win_end_ns: u64,
    pub hist: Histogram,
    /// `--latencies`: every measured delivery's latency in microseconds.
    pub raw: Option<Vec<u32>>,
    pub deliveries: u64,
    /// Measured deliveries by target (connection `token` goes to `token % targets`).
    pub per_target: Vec<u64>,
    pub payload_bytes: u64,
    /// Deliveries of warm-up posts (not counted).
    pub other: u64,
    pub errors: u64,
    /// Messages with neither a token nor an error.
    pub unparsed: u64,
    pub hellos: u64,
    pub open: usize,
    pub first_disconnect: Option<String>,
}

impl Recorder {
    fn new(origin: Instant, opts: &Fanout, targets: usize) -> Recorder {
        Recorder {
            origin,
            win_start_ns: u64::MAX,
            win_end_ns: u64::MAX,
            hist: Histogram::default(),
            raw: opts.latencies.as_ref().map(|_| Vec::new()),
            deliveries: 0,
            per_target: vec![0; targets],
            payload_bytes: 0,
            other: 0,
            errors: 0,
            unparsed: 0,
            hellos: 0,
            open: 0,
            first_disconnect: None,
        }
    }
}

/// The handler of the run: the recorder, the publishers and the phase.
struct Load {
    rec: Recorder,
    pubs: Publishers,
    phase: Phase,
    /// A publisher whose own post (or its error) just came back, for a sliding window.
    returned: Option<usize>,
}

impl Handler for Load {
    fn on_open(&mut self, _token: usize, _now: Instant) {
        self.rec.open += 1;
    }

    fn on_hello(&mut self, _token: usize, _data: &[u8]) {
        self.rec.hellos += 1;
    }

    #[inline]
    fn on_message(&mut self, token: usize, data: &[u8], now: Instant) {
        let rec = &mut self.rec;
        let Some((seq, ns)) = scan_token(data) else {
            if is_error(data) {
                rec.errors += 1;
                if token < self.pubs.count {
                    // The error stands in for the post's echo: free its window slot.
                    self.pubs.outstanding[token] = self.pubs.outstanding[token].saturating_sub(1);
                    self.returned = Some(token);
                }
            } else {
                rec.unparsed += 1;
            }
            return;
        };
        if self.pubs.is_own(token, seq) {
            self.pubs.outstanding[token] = self.pubs.outstanding[token].saturating_sub(1);
            self.returned = Some(token);
        }
        if ns >= rec.win_start_ns && ns < rec.win_end_ns {
            let latency = (now.duration_since(rec.origin).as_nanos() as u64).saturating_sub(ns);
            rec.hist.record(latency);
            if let Some(raw) = rec.raw.as_mut() {
                raw.push((latency / 1000).min(u64::from(u32::MAX)) as u32);
            }
            rec.deliveries += 1;
            let targets = rec.per_target.len();
            rec.per_target[token % targets] += 1;
            rec.payload_bytes += data.len() as u64;
        } else {
            rec.other += 1;
        }
    }

    /// Sliding window: the publisher whose post came back sends the next one at once.
    fn reply(&mut self, token: usize, out: &mut Vec<u8>) -> bool {
        if self.returned.take() != Some(token) || self.pubs.arrival != Arrival::Sliding || self.phase == Phase::Drain {
            return false;
        }
        self.pubs.build(token);
        out.extend_from_slice(&self.pubs.buf);
        self.pubs.sent_one(token, self.phase == Phase::Measure, self.rec.open);
        true
    }

    fn on_close(&mut self, _token: usize, was_open: bool, why: &str) {
        if was_open {
            self.rec.open -= 1;
            if self.rec.first_disconnect.is_none() {
                self.rec.first_disconnect = Some(why.to_string());
            }
        }
    }
}

impl Load {
    /// Sends publisher `i`'s next post.
    fn post(&mut self, i: usize, net: &mut Net) {
        self.pubs.build(i);
        let payload = std::mem::take(&mut self.pubs.buf);
        if net.send_text(i, &payload, self) {
            self.pubs.sent_one(i, self.phase == Phase::Measure, self.rec.open);
        }
        self.pubs.buf = payload;
    }

    /// Every publisher that is due posts; returns when the next one is due.
    fn post_due(&mut self, net: &mut Net, now: Instant, mut wake: Instant) -> Instant {
        let measuring = self.phase == Phase::Measure;
        for i in 0..self.pubs.count {
            // A dropped publisher posts no more (and is reported).
            while net.is_open(i) && self.pubs.due(i, now, measuring) {
                self.post(i, net);
            }
            if let Some(at) = self.pubs.next_due(i) {
                wake = wake.min(at);
            }
        }
        wake
    }

    /// Sliding window: fills every publisher's window once; the replies keep it full.
    fn open_windows(&mut self, net: &mut Net) {
        for i in 0..self.pubs.count {
            while net.is_open(i) && self.pubs.outstanding[i] < self.pubs.window {
                self.post(i, net);
            }
        }
    }
}

/// Connects every publisher and subscriber; returns how long it took.
fn connect_all(net: &mut Net, load: &mut Load, opts: &Fanout, hosts: &str) -> Result<f64, String> {
    net.add(opts.publishers);
    net.add(opts.subscribers);
    let start = Instant::now();
    while net.pending() > 0 {
        net.turn(Some(Instant::now() + Duration::from_millis(100)), load).map_err(|e| format!("poll: {e}"))?;
    }
    if (0..opts.publishers).all(|i| !net.is_open(i)) {
        let why = net.first_failure.as_deref().unwrap_or("unknown reason");
        return Err(format!("no publisher could connect to {hosts}: {why}"));
    }
    Ok(start.elapsed().as_secs_f64())
}

/// Warm-up, measured window and drain; returns the CPU marks around the window.
fn run_phases(
    net: &mut Net,
    load: &mut Load,
    opts: &Fanout,
    mut server: Option<&mut Fleet>,
) -> Result<(CpuMark, CpuMark), String> {
    let origin = load.rec.origin;
    let mut phase_end = Instant::now() + Duration::from_secs_f64(opts.warmup);
    let (mut cpu_start, mut cpu_end) = (None, None);
    if load.pubs.arrival == Arrival::Sliding {
        load.open_windows(net);
    }
    loop {
        let mut now = Instant::now();
        let ns_at = |t: Instant| t.duration_since(origin).as_nanos() as u64;
        if now >= phase_end {
            // The window is the time between the marks' clock readings; the marks ask the
            // server's `/metrics` outside it (before opening, after closing).
            (load.phase, phase_end) = match load.phase {
                Phase::Warmup => {
                    cpu_start = Some(CpuMark::opening(server.as_deref()));
                    now = Instant::now();
                    load.pubs.catch_up(now);
                    load.rec.win_start_ns = ns_at(now);
                    (Phase::Measure, now + Duration::from_secs_f64(opts.duration))
                }
                Phase::Measure => {
                    load.rec.win_end_ns = ns_at(now);
                    cpu_end = Some(CpuMark::closing(server.as_deref()));
                    (Phase::Drain, Instant::now() + Duration::from_secs_f64(opts.drain))
                }
                Phase::Drain => break,
            };
        }
        if load.phase == Phase::Drain && load.rec.deliveries >= load.pubs.expected {
            break;
        }
        let wake = if load.phase == Phase::Drain { phase_end } else { load.post_due(net, now, phase_end) };
        net.turn(Some(wake), load).map_err(|e| format!("poll: {e}"))?;
        if let Some(how) = server.as_deref_mut().and_then(Fleet::exited) {
            return Err(format!("the server exited during the run ({how})"));
        }
    }
    cpu_start.zip(cpu_end).ok_or_else(|| "the run ended before its window".to_string())
}

/// Runs the mode; prints the report; returns whether every check passed.
pub fn run(common: &Common, opts: &Fanout, targets: &[Target], mut server: Option<&mut Fleet>) -> Result<bool, String> {
    let origin = Instant::now();
    let rss_before = server.as_deref().and_then(Fleet::rss_kib);
    let host = &Target::hosts(targets);
    let mut net = Net::new(targets, &common.url.path, common.concurrency).map_err(|e| format!("poll: {e}"))?;
    let rec = Recorder::new(origin, opts, targets.len());
    let pubs = Publishers::new(origin, opts, Instant::now());
    let mut load = Load { rec, pubs, phase: Phase::Warmup, returned: None };
    let (p, s) = (opts.publishers, opts.subscribers);
    eprintln!("connecting {p} publisher(s) and {s} subscribers to ws://{host}{}", common.url.path);
    let connect_s = connect_all(&mut net, &mut load, opts, host)?;
    eprintln!(
        "{} of {} connected in {connect_s:.2} s; warming up {} s, measuring {} s",
        net.stats.open,
        p + s,
        opts.warmup,
        opts.duration
    );
    let (a, b) = run_phases(&mut net, &mut load, opts, server.as_deref_mut())?;
    let drain_s = origin.elapsed().as_secs_f64() - load.rec.win_end_ns as f64 / 1e9;
    let rss = (rss_before, server.as_deref().and_then(Fleet::rss_kib));
    let processes = server.as_deref().map_or(Vec::new(), |f| f.processes().into_iter().map(|(name, _)| name).collect());
    net.close_all();
    if let (Some(path), Some(raw)) = (&opts.latencies, &load.rec.raw) {
        write_latencies(path, raw)?;
    }
    let out = Outcome {
        connect_s,
        drain_s,
        cpu: CpuWindow::between(&a, &b),
        rss,
        net: net.stats,
        first_failure: net.first_failure.clone(),
        processes,
    };
    let r = report(common, opts, host, &load.rec, &load.pubs, &out);
    print!("{}", r.text());
    if common.json {
        println!("{}", r.json());
    }
    Ok(passed(&load, &out))
}

/// Every check of the run: nothing lost or extra, no connection failed or dropped, no post
/// rejected.
fn passed(load: &Load, out: &Outcome) -> bool {
    let (lost, extra) = (
        load.pubs.expected.saturating_sub(load.rec.deliveries),
        load.rec.deliveries.saturating_sub(load.pubs.expected),
    );
    lost == 0 && extra == 0 && out.net.connect_failures == 0 && out.net.disconnects == 0 && load.rec.errors == 0
}

/// `--latencies FILE`: one latency in microseconds per line.
fn write_latencies(path: &str, raw: &[u32]) -> Result<(), String> {
    use std::io::Write;
    let file = std::fs::File::create(path).map_err(|e| format!("--latencies {path}: {e}"))?;
    let mut w = std::io::BufWriter::new(file);
    for us in raw {
        writeln!(w, "{us}").map_err(|e| format!("--latencies {path}: {e}"))?;
    }
    w.flush().map_err(|e| format!("--latencies {path}: {e}"))
}
