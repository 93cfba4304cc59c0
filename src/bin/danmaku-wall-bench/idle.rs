//! `idle`: hold many quiet connections, weigh the server, then check that one broadcast
//! reaches every one of them.

use std::time::{Duration, Instant};

use crate::args::{Common, Idle};
use crate::client::{Handler, Net, Target};
use crate::fleet::Fleet;
use crate::procinfo::{CpuMark, CpuWindow, NOISE_PCT, SATURATION_PCT};
use crate::report::{Report, Value, int};
use crate::stats::{Histogram, is_error, scan_token};

/// How long the broadcast may take to reach everyone.
const BROADCAST_WAIT: Duration = Duration::from_secs(10);

struct Recorder {
    origin: Instant,
    /// The publisher's token, once it exists.
    publisher: usize,
    /// Per held connection: has the broadcast arrived.
    got: Vec<bool>,
    received: u64,
    duplicates: u64,
    errors: u64,
    unexpected: u64,
    hellos: u64,
    hist: Histogram,
    open: usize,
    first_disconnect: Option<String>,
    disconnects_before_broadcast: usize,
}

impl Handler for Recorder {
    fn on_open(&mut self, _token: usize, _now: Instant) {
        self.open += 1;
    }

    fn on_hello(&mut self, _token: usize, _data: &[u8]) {
        self.hellos += 1;
    }

    fn on_message(&mut self, token: usize, data: &[u8], now: Instant) {
        if token == self.publisher {
            if is_error(data) {
                self.errors += 1;
            }
            return;
        }
        match scan_token(data) {
            Some((0, ns)) => {
                let Some(got) = self.got.get_mut(token) else { return };
                if *got {
                    self.duplicates += 1;
                    return;
                }
                *got = true;
                self.received += 1;
                let now_ns = now.duration_since(self.origin).as_nanos() as u64;
                self.hist.record(now_ns.saturating_sub(ns));
            }
            _ => self.unexpected += 1,
        }
    }

    fn on_close(&mut self, _token: usize, was_open: bool, why: &str) {
        if was_open {
            self.open -= 1;
            if self.first_disconnect.is_none() {
                self.first_disconnect = Some(why.to_string());
            }
        }
    }
}

fn turn(net: &mut Net, until: Instant, rec: &mut Recorder) -> Result<(), String> {
    net.turn(Some(until), rec).map_err(|e| format!("poll: {e}"))
}

/// What the broadcast check found.
#[derive(Default)]
struct Broadcast {
    expected: u64,
    took_s: Option<f64>,
    server_cpu_s: Option<f64>,
}

/// Opens every connection, reporting progress; returns the CPU window of the connecting.
fn connect_all(net: &mut Net, rec: &mut Recorder, conns: usize, server: Option<&Fleet>) -> Result<CpuWindow, String> {
    let mark = CpuMark::now(server);
    net.add(conns);
    let mut last_progress = Instant::now();
    while net.pending() > 0 {
        turn(net, Instant::now() + Duration::from_millis(100), rec)?;
        if last_progress.elapsed() >= Duration::from_secs(2) {
            eprintln!("  {} open, {} pending, {} failed", net.stats.open, net.pending(), net.stats.connect_failures);
            last_progress = Instant::now();
        }
    }
    Ok(CpuWindow::between(&mark, &CpuMark::now(server)))
}

/// One more connection posts; every held one must receive it.
fn broadcast(net: &mut Net, rec: &mut Recorder, server: Option<&Fleet>) -> Result<Broadcast, String> {
    rec.publisher = net.add(1);
    let deadline = Instant::now() + Duration::from_secs(20);
    while net.pending() > 0 && Instant::now() < deadline {
        turn(net, Instant::now() + Duration::from_millis(100), rec)?;
    }
    if !net.is_open(rec.publisher) {
        let why = net.first_failure.as_deref().unwrap_or("timed out");
        return Err(format!("the broadcasting connection could not connect: {why}"));
    }
    // Held connections still open; the publisher is not one of them.
    let expected = (rec.open - 1) as u64;
    let mark = CpuMark::now(server);
    let ns = rec.origin.elapsed().as_nanos() as u64;
    let payload = format!("{{\"msg\":\"b0 {ns}\",\"color\":\"#ffffff\"}}");
    let sent_at = Instant::now();
    net.send_text(rec.publisher, payload.as_bytes(), rec);
    let deadline = sent_at + BROADCAST_WAIT;
    while rec.received < expected && Instant::now() < deadline {
        turn(net, deadline, rec)?;
    }
    let cpu = CpuWindow::between(&mark, &CpuMark::now(server));
    Ok(Broadcast { expected, took_s: Some(sent_at.elapsed().as_secs_f64()), server_cpu_s: cpu.server_cpu_s })
}

/// Runs the mode; prints the report; returns whether every check passed.
pub fn run(common: &Common, opts: &Idle, targets: &[Target], mut server: Option<&mut Fleet>) -> Result<bool, String> {
    let rss_before = server.as_deref().and_then(Fleet::rss_kib);
    let host = &Target::hosts(targets);
    let mut net = Net::new(targets, &common.url.path, common.concurrency).map_err(|e| format!("poll: {e}"))?;
    let mut rec = Recorder {
        origin: Instant::now(),
        publisher: usize::MAX,
        got: vec![false; opts.conns],
        received: 0,
        duplicates: 0,
        errors: 0,
        unexpected: 0,
        hellos: 0,
        hist: Histogram::default(),
        open: 0,
        first_disconnect: None,
        disconnects_before_broadcast: 0,
    };
    let (n, path, c) = (opts.conns, &common.url.path, common.concurrency);
    eprintln!("opening {n} connections to ws://{host}{path} ({c} handshakes in flight)");
    let connect = connect_all(&mut net, &mut rec, opts.conns, server.as_deref())?;
    let opened = net.stats.opened;
    eprintln!("{opened} open in {:.2} s; holding {} s", connect.wall_s, opts.hold);
    let hold_end = Instant::now() + Duration::from_secs_f64(opts.hold);
    while Instant::now() < hold_end {
        turn(&mut net, hold_end, &mut rec)?;
    }
    let held = rec.open;
    let rss = (rss_before, server.as_deref().and_then(Fleet::rss_kib));
    rec.disconnects_before_broadcast = net.stats.disconnects;
    if let Some(how) = server.as_deref_mut().and_then(Fleet::exited) {
        return Err(format!("the server exited while holding connections ({how})"));
    }
    let bc = if opts.broadcast { broadcast(&mut net, &mut rec, server.as_deref())? } else { Broadcast::default() };
    net.close_all();
    let r = report(common, opts, host, &rec, &net, (held, opened, connect, rss, &bc));
    print!("{}", r.text());
    if common.json {
        println!("{}", r.json());
    }
    let stats = net.stats;
    let lost = bc.expected.saturating_sub(rec.received);
    let all_held = held == opts.conns && stats.connect_failures == 0 && rec.disconnects_before_broadcast == 0;
    Ok(all_held && lost == 0 && rec.duplicates == 0 && rec.errors == 0)
}

/// Held and opened connections, the connecting CPU window, RSS before and holding, the broadcast.
type Measured<'a> = (usize, usize, CpuWindow, (Option<u64>, Option<u64>), &'a Broadcast);

/// Every figure of the run, each defined once.
fn report(common: &Common, opts: &Idle, host: &str, rec: &Recorder, net: &Net, m: Measured) -> Report {
    let (held, opened, connect, (rss_before, rss_after), bc) = m;
    let stats = net.stats;
    let opened = opened as u64;
    let rss_per_conn = rss_before.zip(rss_after).filter(|_| held > 0).map(|(b, a)| (a as f64 - b as f64) / held as f64);
    let per_cpu_s = connect.server_cpu_s.filter(|&s| s > 0.0).map(|s| opened as f64 / s);
    let lost = bc.expected.saturating_sub(rec.received);
    let bench_pct = connect.bench_pct();
    let mut r =
        Report::new(format!("danmaku-wall-bench idle: {} connections to ws://{host}{}", opts.conns, common.url.path));
    r.setting("mode", Value::Text("idle".to_string()))
        .setting("conns", Value::Int(opts.conns as u64))
        .setting("hold_s", Value::Num(opts.hold, 2))
        .setting("broadcast", Value::Flag(opts.broadcast))
        .add("connected", "connected", Value::Int(opened), "connections")
        .add("connect_s", "connecting took", Value::Num(connect.wall_s, 2), "s")
        .add("connects_per_s", "connects/s", Value::Num(opened as f64 / connect.wall_s, 0), "")
        .add("connect_failures", "connect failures", Value::Int(stats.connect_failures as u64), "")
        .add("connect_retries", "connect retries", Value::Int(stats.retries as u64), "")
        .add("held", "held", Value::Int(held as u64), "connections")
        .add("disconnects", "disconnects", Value::Int(stats.disconnects as u64), "")
        .add("server_rss_kib_before", "server RSS before", Value::opt_int(rss_before), "KiB")
        .add("server_rss_kib_after", "server RSS holding", Value::opt_int(rss_after), "KiB")
        .add("rss_per_conn_kib", "RSS per connection", Value::opt_num(rss_per_conn, 2), "KiB")
        .add("server_cpu_s", "server CPU connecting", Value::opt_num(connect.server_cpu_s, 2), "s")
        .add("handshakes_per_server_cpu_s", "handshakes/server CPU-s", Value::opt_num(per_cpu_s, 0), "")
        .add("hellos", "hello frames", Value::Int(rec.hellos), "(not deliveries)")
        .add("deliveries", "broadcast received", Value::Int(rec.received), "")
        .add("expected", "broadcast expected", Value::Int(bc.expected), "")
        .add("lost", "LOST", Value::Int(lost), "")
        .add("latency_ms", "broadcast latency", Value::latency(&rec.hist), "")
        .add("broadcast_s", "broadcast took", Value::opt_num(bc.took_s, 3), "s")
        .add("server_cpu_broadcast_s", "server CPU broadcasting", Value::opt_num(bc.server_cpu_s, 4), "s")
        .add("duplicates", "duplicates", Value::Int(rec.duplicates), "")
        .add("unexpected", "unexpected messages", Value::Int(rec.unexpected), "")
        .add("errors", "error frames", Value::Int(rec.errors), "")
        .add("bench_cpu_pct", "bench CPU connecting", Value::Num(bench_pct, 1), "% of one core")
        .add("bench_saturated", "bench core saturated", Value::Flag(bench_pct >= SATURATION_PCT), "")
        .add("other_cpu_pct", "other processes' CPU", Value::opt_num(connect.other_pct(), 1), "% of one core");
    idle_warnings(&mut r, net, &connect, lost);
    r
}

fn idle_warnings(r: &mut Report, net: &Net, connect: &CpuWindow, lost: u64) {
    let bench_pct = connect.bench_pct();
    let failures = net.stats.connect_failures;
    r.warn_if(connect.other_pct().is_some_and(|p| p >= NOISE_PCT), || {
        "other processes used the CPU while connecting: figures are noisy".to_string()
    })
    .warn_if(bench_pct >= SATURATION_PCT, || {
        format!("bench core saturated ({bench_pct:.0}% CPU): figures are a lower bound")
    })
    .warn_if(lost > 0, || format!("{} held connections did not receive the broadcast", int(lost)))
    .warn_if(failures > 0, || {
        format!("{failures} connections failed; first: {}", net.first_failure.as_deref().unwrap_or("?"))
    });
}
