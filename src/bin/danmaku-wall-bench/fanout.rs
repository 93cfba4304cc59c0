//! `fanout`: P publishers post into one room of S subscribers (publishers receive too); every
//! delivery's latency is recorded and every expected delivery accounted for.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crate::args::{Common, Fanout, Rate};
use crate::client::{Handler, Net};
use crate::procinfo::{CpuMark, CpuWindow, NOISE_PCT, SATURATION_PCT, Server};
use crate::report::{self, Json, Text};
use crate::stats::{Histogram, is_error, scan_token};

/// A publisher behind its schedule by more than this skips ahead rather than bursting.
const MAX_BEHIND: Duration = Duration::from_millis(100);

/// Everything the receive path touches. Publishers are tokens `0..publishers`.
struct Recorder {
    origin: Instant,
    publishers: usize,
    /// The measured window on the bench clock: posts sent in `[start, end)` count.
    win_start_ns: u64,
    win_end_ns: u64,
    hist: Histogram,
    deliveries: u64,
    payload_bytes: u64,
    /// Deliveries of warm-up posts (not counted).
    other: u64,
    errors: u64,
    /// Messages with neither a token nor an error.
    unparsed: u64,
    /// Per publisher: posts sent and not yet received back (or answered with an error).
    outstanding: Vec<u64>,
    open: usize,
    first_disconnect: Option<String>,
}

impl Handler for Recorder {
    fn on_open(&mut self, _token: usize, _now: Instant) {
        self.open += 1;
    }

    #[inline]
    fn on_message(&mut self, token: usize, data: &[u8], now: Instant) {
        let Some((seq, ns)) = scan_token(data) else {
            if is_error(data) {
                self.errors += 1;
                if token < self.publishers {
                    // The error stands in for the post's echo: free its window slot.
                    self.outstanding[token] = self.outstanding[token].saturating_sub(1);
                }
            } else {
                self.unparsed += 1;
            }
            return;
        };
        if token < self.publishers && (seq % self.publishers as u64) as usize == token {
            self.outstanding[token] = self.outstanding[token].saturating_sub(1);
        }
        if ns >= self.win_start_ns && ns < self.win_end_ns {
            let now_ns = now.duration_since(self.origin).as_nanos() as u64;
            self.hist.record(now_ns.saturating_sub(ns));
            self.deliveries += 1;
            self.payload_bytes += data.len() as u64;
        } else {
            self.other += 1;
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

/// The posting side.
struct Publishers {
    origin: Instant,
    count: usize,
    msg_bytes: usize,
    sent: Vec<u64>,
    /// `--rate R`: when each publisher's next post is due.
    next_due: Vec<Instant>,
    posts: u64,
    measured_posts: u64,
    expected: u64,
    skipped: u64,
    buf: Vec<u8>,
}

impl Publishers {
    /// Posts one danmaku from publisher `i`: `{"msg":"b<seq> <ns>~~~","color":"#ffffff"}`,
    /// seq = n·P + i so the publisher of a delivery is seq mod P.
    fn post(&mut self, i: usize, measuring: bool, net: &mut Net, rec: &mut Recorder) {
        let seq = self.sent[i] * self.count as u64 + i as u64;
        let ns = self.origin.elapsed().as_nanos() as u64;
        self.buf.clear();
        self.buf.extend_from_slice(b"{\"msg\":\"");
        let start = self.buf.len();
        push_token(&mut self.buf, seq, ns);
        while self.buf.len() - start < self.msg_bytes {
            self.buf.push(b'~');
        }
        self.buf.extend_from_slice(b"\",\"color\":\"#ffffff\"}");
        let payload = std::mem::take(&mut self.buf);
        if net.send_text(i, &payload, rec) {
            self.sent[i] += 1;
            self.posts += 1;
            rec.outstanding[i] += 1;
            if measuring {
                self.measured_posts += 1;
                self.expected += rec.open as u64;
            }
        }
        self.buf = payload;
    }
}

/// `b<seq> <ns>` without going through `fmt`.
fn push_token(buf: &mut Vec<u8>, seq: u64, ns: u64) {
    buf.push(b'b');
    push_u64(buf, seq);
    buf.push(b' ');
    push_u64(buf, ns);
}

fn push_u64(buf: &mut Vec<u8>, mut v: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    buf.extend_from_slice(&digits[i..]);
}

#[derive(PartialEq, Clone, Copy)]
enum Phase {
    Warmup,
    Measure,
    Drain,
}

/// Runs the mode; prints the report; returns whether every check passed.
pub fn run(
    common: &Common,
    opts: &Fanout,
    addr: SocketAddr,
    host: &str,
    server: Option<&mut Server>,
) -> Result<bool, String> {
    let origin = Instant::now();
    let p = opts.publishers;
    let total = p + opts.subscribers;
    let mut server = server;
    let rss_before = server.as_deref().and_then(Server::rss_kib);

    let mut net = Net::new(addr, host, &common.url.path, common.concurrency).map_err(|e| format!("poll: {e}"))?;
    let mut rec = Recorder {
        origin,
        publishers: p,
        win_start_ns: u64::MAX,
        win_end_ns: u64::MAX,
        hist: Histogram::default(),
        deliveries: 0,
        payload_bytes: 0,
        other: 0,
        errors: 0,
        unparsed: 0,
        outstanding: vec![0; p],
        open: 0,
        first_disconnect: None,
    };
    eprintln!("connecting {p} publisher(s) and {} subscribers to ws://{host}{}", opts.subscribers, common.url.path);
    net.add(p);
    net.add(opts.subscribers);
    let connect_start = Instant::now();
    while net.pending() > 0 {
        net.turn(Some(Instant::now() + Duration::from_millis(100)), &mut rec).map_err(|e| format!("poll: {e}"))?;
    }
    let connect_s = connect_start.elapsed().as_secs_f64();
    let live_publishers = (0..p).filter(|&i| net.is_open(i)).count();
    if live_publishers == 0 {
        return Err(format!(
            "no publisher could connect to {addr}: {}",
            net.first_failure.as_deref().unwrap_or("unknown reason")
        ));
    }
    eprintln!(
        "{} of {total} connected in {connect_s:.2} s; warming up {} s, measuring {} s",
        net.stats.open, opts.warmup, opts.duration
    );

    let interval = match opts.rate {
        Rate::PerSecond(r) => Duration::from_secs_f64(p as f64 / r),
        Rate::Max => Duration::ZERO,
    };
    let now = Instant::now();
    let mut pubs = Publishers {
        origin,
        count: p,
        msg_bytes: opts.msg_bytes,
        sent: vec![0; p],
        next_due: (0..p).map(|i| now + interval.mul_f64(i as f64 / p as f64)).collect(),
        posts: 0,
        measured_posts: 0,
        expected: 0,
        skipped: 0,
        buf: Vec::with_capacity(256),
    };

    let mut phase = Phase::Warmup;
    let mut phase_end = now + Duration::from_secs_f64(opts.warmup);
    let mut cpu_start = None;
    let mut cpu_end = None;
    loop {
        let now = Instant::now();
        if now >= phase_end {
            match phase {
                Phase::Warmup => {
                    rec.win_start_ns = now.duration_since(origin).as_nanos() as u64;
                    cpu_start = Some(CpuMark::now(server.as_deref()));
                    phase = Phase::Measure;
                    phase_end = now + Duration::from_secs_f64(opts.duration);
                }
                Phase::Measure => {
                    rec.win_end_ns = now.duration_since(origin).as_nanos() as u64;
                    cpu_end = Some(CpuMark::now(server.as_deref()));
                    phase = Phase::Drain;
                    phase_end = now + Duration::from_secs_f64(opts.drain);
                }
                Phase::Drain => break,
            }
        }
        if phase == Phase::Drain && rec.deliveries >= pubs.expected {
            break;
        }
        let measuring = phase == Phase::Measure;
        let mut wake = phase_end;
        if phase != Phase::Drain {
            for i in 0..p {
                if !net.is_open(i) {
                    continue; // A dropped publisher posts no more (and is reported).
                }
                match opts.rate {
                    Rate::Max => {
                        while rec.outstanding[i] < opts.window as u64 && net.is_open(i) {
                            pubs.post(i, measuring, &mut net, &mut rec);
                        }
                    }
                    Rate::PerSecond(_) => {
                        if now > pubs.next_due[i] + MAX_BEHIND {
                            if measuring {
                                let behind = now.duration_since(pubs.next_due[i]);
                                pubs.skipped += (behind.as_secs_f64() / interval.as_secs_f64()) as u64;
                            }
                            pubs.next_due[i] = now;
                        }
                        while pubs.next_due[i] <= now && net.is_open(i) {
                            pubs.post(i, measuring, &mut net, &mut rec);
                            pubs.next_due[i] += interval;
                        }
                        wake = wake.min(pubs.next_due[i]);
                    }
                }
            }
        }
        net.turn(Some(wake), &mut rec).map_err(|e| format!("poll: {e}"))?;
        if let Some(s) = server.as_deref_mut()
            && let Some(how) = s.exited()
        {
            return Err(format!("the server exited during the run ({how})"));
        }
    }
    let drain_s = Instant::now().duration_since(origin).as_secs_f64() - rec.win_end_ns as f64 / 1e9;
    let rss_after = server.as_deref().and_then(Server::rss_kib);
    net.close_all();

    let (Some(a), Some(b)) = (cpu_start, cpu_end) else { return Err("the run ended before its window".to_string()) };
    let cpu = CpuWindow::between(a, b);
    let window_s = (rec.win_end_ns - rec.win_start_ns) as f64 / 1e9;
    let lost = pubs.expected.saturating_sub(rec.deliveries);
    let extra = rec.deliveries.saturating_sub(pubs.expected);
    let deliveries_per_s = rec.deliveries as f64 / window_s;
    let per_cpu = cpu.server_cpu_s.filter(|&s| s > 0.0).map(|s| rec.deliveries as f64 / s);
    // Every write in the window against every delivery in it: how well the server batches.
    let per_write = cpu.server_writes.filter(|&w| w > 0).map(|w| rec.deliveries as f64 / w as f64);
    let bench_pct = cpu.bench_pct();
    let saturated = bench_pct >= SATURATION_PCT;
    let frame_bytes = (rec.deliveries > 0).then(|| rec.payload_bytes as f64 / rec.deliveries as f64 + 2.0);
    let stats = net.stats;
    let rate_label = match opts.rate {
        Rate::PerSecond(r) => format!("{r} posts/s requested"),
        Rate::Max => format!("max (window {} per publisher)", opts.window),
    };

    let mut t = Text::default();
    t.title(&format!(
        "danmaku-wall-bench fanout: {} subscribers + {} publisher(s) in one room, ws://{host}{}",
        opts.subscribers, p, common.url.path
    ));
    t.line("connected", format!("{} of {total} in {connect_s:.2} s ({} failed)", stats.opened, stats.connect_failures));
    t.line("rate", &rate_label);
    t.line("window", format!("{window_s:.2} s measured after {:.2} s warm-up; drain {drain_s:.2} s", opts.warmup));
    t.line(
        "posts",
        format!(
            "{} in window ({}/s)",
            report::int(pubs.measured_posts),
            report::big(pubs.measured_posts as f64 / window_s)
        ),
    );
    if pubs.skipped > 0 {
        t.line(
            "posts behind schedule",
            format!("{} skipped (the requested rate was not reached)", report::int(pubs.skipped)),
        );
    }
    t.line("deliveries", format!("{} of {} expected", report::int(rec.deliveries), report::int(pubs.expected)));
    t.line("LOST", report::int(lost));
    if extra > 0 {
        t.line("unexpected extra", report::int(extra));
    }
    t.line("deliveries/s", report::big(deliveries_per_s));
    t.line("broadcast frame", report::opt(frame_bytes, |b| format!("{b:.0} bytes")));
    t.line("latency", report::latency_line(&rec.hist));
    t.line("connect failures", report::int(stats.connect_failures as u64));
    t.line("error frames", report::int(rec.errors));
    if rec.unparsed > 0 {
        t.line("unrecognised messages", report::int(rec.unparsed));
    }
    t.line(
        "disconnects",
        format!(
            "{}{}",
            stats.disconnects,
            rec.first_disconnect.as_deref().map(|w| format!(" (first: {w})")).unwrap_or_default()
        ),
    );
    t.line(
        "server CPU",
        report::opt(cpu.server_cpu_s, |s| {
            format!("{s:.2} s in window ({:.1}% of a core)", cpu.server_pct().unwrap_or(0.0))
        }),
    );
    t.line("deliveries/server CPU-s", report::opt(per_cpu, report::big));
    t.line(
        "server write calls",
        match (cpu.server_writes, per_write) {
            (Some(w), Some(d)) => format!("{} in window ({d:.2} deliveries per write)", report::int(w)),
            // /proc counts write(2)/writev(2) only: a server that sends with send(2) or
            // sendmsg(2) shows none.
            (Some(_), None) => {
                "none counted (the server writes with send/sendmsg, which /proc does not count)".to_string()
            }
            (None, _) => "n/a".to_string(),
        },
    );
    t.line(
        "server RSS",
        format!(
            "{} before connecting, {} after",
            report::opt(rss_before, |k| format!("{} KiB", report::int(k))),
            report::opt(rss_after, |k| format!("{} KiB", report::int(k)))
        ),
    );
    t.line("bench CPU", format!("{bench_pct:.1}% of one core"));
    t.line("other processes' CPU", report::opt(cpu.other_pct(), |p| format!("{p:.1}% of one core")));
    if cpu.server_pct().is_some_and(|p| p >= SATURATION_PCT) {
        t.warn("server core saturated: this rate is the server's limit here");
    }
    if cpu.other_pct().is_some_and(|p| p >= NOISE_PCT) {
        t.warn("other processes used the CPU during the window: figures are noisy");
    }
    if saturated {
        t.warn(&format!("bench core saturated ({bench_pct:.0}% CPU): figures are a lower bound"));
    }
    if lost > 0 {
        t.warn(&format!("{} deliveries LOST", report::int(lost)));
    }
    if rec.errors > 0 {
        t.warn(&format!("{} posts rejected by the server (error frames)", report::int(rec.errors)));
    }
    if let Some(why) = &net.first_failure
        && stats.connect_failures > 0
    {
        t.warn(&format!("{} connections failed; first: {why}", stats.connect_failures));
    }
    print!("{}", t.finish());

    if common.json {
        let mut j = Json::default();
        j.str("mode", "fanout").int("subscribers", opts.subscribers as u64).int("publishers", p as u64);
        match opts.rate {
            Rate::PerSecond(r) => j.num("rate", r),
            Rate::Max => j.str("rate", "max"),
        };
        j.opt_int("window", (opts.rate == Rate::Max).then_some(opts.window as u64))
            .num("duration_s", window_s)
            .num("warmup_s", opts.warmup)
            .int("connected", stats.opened as u64)
            .num("connect_s", connect_s)
            .int("posts", pubs.measured_posts)
            .num("posts_per_s", pubs.measured_posts as f64 / window_s)
            .int("posts_skipped", pubs.skipped)
            .int("deliveries", rec.deliveries)
            .int("expected", pubs.expected)
            .int("lost", lost)
            .int("extra", extra)
            .num("deliveries_per_s", deliveries_per_s)
            .opt_num("frame_bytes", frame_bytes)
            .latency("latency_ms", &rec.hist)
            .int("connect_failures", stats.connect_failures as u64)
            .int("errors", rec.errors)
            .int("unrecognised", rec.unparsed)
            .int("disconnects", stats.disconnects as u64)
            .opt_num("server_cpu_s", cpu.server_cpu_s)
            .opt_num("server_cpu_pct", cpu.server_pct())
            .opt_num("deliveries_per_server_cpu_s", per_cpu)
            .opt_int("server_writes", cpu.server_writes)
            .opt_num("deliveries_per_write", per_write)
            .opt_int("server_rss_kib_before", rss_before)
            .opt_int("server_rss_kib_after", rss_after)
            .num("bench_cpu_pct", bench_pct)
            .bool("bench_saturated", saturated)
            .opt_num("other_cpu_pct", cpu.other_pct());
        println!("{}", j.finish());
    }
    Ok(lost == 0 && extra == 0 && stats.connect_failures == 0 && stats.disconnects == 0 && rec.errors == 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_round_trip() {
        let mut buf = b"{\"msg\":\"".to_vec();
        push_token(&mut buf, 1_000_007, 9_876_543_210);
        buf.extend_from_slice(b"~~\",\"color\":\"#ffffff\"}");
        assert_eq!(buf, br##"{"msg":"b1000007 9876543210~~","color":"#ffffff"}"##);
        assert_eq!(scan_token(&buf), Some((1_000_007, 9_876_543_210)));
        let mut zero = Vec::new();
        push_token(&mut zero, 0, 0);
        assert_eq!(zero, b"b0 0");
    }
}
