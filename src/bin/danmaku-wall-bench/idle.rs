//! `idle`: hold many quiet connections, weigh the server, then check that one broadcast
//! reaches every one of them.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use crate::args::{Common, Idle};
use crate::client::{Handler, Net};
use crate::procinfo::{CpuMark, CpuWindow, NOISE_PCT, SATURATION_PCT, Server};
use crate::report::{self, Json, Text};
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
    hist: Histogram,
    open: usize,
    first_disconnect: Option<String>,
    disconnects_before_broadcast: usize,
}

impl Handler for Recorder {
    fn on_open(&mut self, _token: usize, _now: Instant) {
        self.open += 1;
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

/// Runs the mode; prints the report; returns whether every check passed.
pub fn run(
    common: &Common,
    opts: &Idle,
    addr: SocketAddr,
    host: &str,
    mut server: Option<&mut Server>,
) -> Result<bool, String> {
    let origin = Instant::now();
    let rss_before = server.as_deref().and_then(Server::rss_kib);
    let mut net = Net::new(addr, host, &common.url.path, common.concurrency).map_err(|e| format!("poll: {e}"))?;
    let mut rec = Recorder {
        origin,
        publisher: usize::MAX,
        got: vec![false; opts.conns],
        received: 0,
        duplicates: 0,
        errors: 0,
        unexpected: 0,
        hist: Histogram::default(),
        open: 0,
        first_disconnect: None,
        disconnects_before_broadcast: 0,
    };

    eprintln!(
        "opening {} connections to ws://{host}{} ({} handshakes in flight)",
        opts.conns, common.url.path, common.concurrency
    );
    let connect_mark = CpuMark::now(server.as_deref());
    net.add(opts.conns);
    let mut last_progress = Instant::now();
    while net.pending() > 0 {
        turn(&mut net, Instant::now() + Duration::from_millis(100), &mut rec)?;
        if last_progress.elapsed() >= Duration::from_secs(2) {
            eprintln!("  {} open, {} pending, {} failed", net.stats.open, net.pending(), net.stats.connect_failures);
            last_progress = Instant::now();
        }
    }
    let connected_mark = CpuMark::now(server.as_deref());
    let connect = CpuWindow::between(connect_mark, connected_mark);
    let opened = net.stats.opened;
    eprintln!("{opened} open in {:.2} s; holding {} s", connect.wall_s, opts.hold);

    let hold_end = Instant::now() + Duration::from_secs_f64(opts.hold);
    while Instant::now() < hold_end {
        turn(&mut net, hold_end, &mut rec)?;
    }
    let held = rec.open;
    let rss_after = server.as_deref().and_then(Server::rss_kib);
    let rss_per_conn = rss_before.zip(rss_after).filter(|_| held > 0).map(|(b, a)| (a as f64 - b as f64) / held as f64);
    rec.disconnects_before_broadcast = net.stats.disconnects;
    if let Some(s) = server.as_deref_mut()
        && let Some(how) = s.exited()
    {
        return Err(format!("the server exited while holding connections ({how})"));
    }

    // The broadcast: one more connection posts; every held one must receive it.
    let mut expected = 0;
    let mut broadcast_s = None;
    let mut broadcast_cpu = None;
    if opts.broadcast {
        rec.publisher = net.add(1);
        let deadline = Instant::now() + Duration::from_secs(20);
        while net.pending() > 0 && Instant::now() < deadline {
            turn(&mut net, Instant::now() + Duration::from_millis(100), &mut rec)?;
        }
        if !net.is_open(rec.publisher) {
            return Err(format!(
                "the broadcasting connection could not connect: {}",
                net.first_failure.as_deref().unwrap_or("timed out")
            ));
        }
        // Held connections still open; the publisher is not one of them.
        expected = (rec.open - 1) as u64;
        let mark = CpuMark::now(server.as_deref());
        let ns = origin.elapsed().as_nanos() as u64;
        let payload = format!("{{\"msg\":\"b0 {ns}\",\"color\":\"#ffffff\"}}");
        let sent_at = Instant::now();
        net.send_text(rec.publisher, payload.as_bytes(), &mut rec);
        let deadline = sent_at + BROADCAST_WAIT;
        while rec.received < expected && Instant::now() < deadline {
            turn(&mut net, deadline, &mut rec)?;
        }
        broadcast_s = Some(sent_at.elapsed().as_secs_f64());
        broadcast_cpu = Some(CpuWindow::between(mark, CpuMark::now(server.as_deref())));
    }
    net.close_all();

    let stats = net.stats;
    let lost = expected.saturating_sub(rec.received);
    let bench_pct = connect.bench_pct();
    let saturated = bench_pct >= SATURATION_PCT;
    let kib = |k: u64| format!("{} KiB", report::int(k));

    let mut t = Text::default();
    t.title(&format!("danmaku-wall-bench idle: {} connections to ws://{host}{}", opts.conns, common.url.path));
    t.line(
        "connected",
        format!(
            "{} of {} in {:.2} s ({}/s)",
            report::int(opened as u64),
            report::int(opts.conns as u64),
            connect.wall_s,
            report::big(opened as f64 / connect.wall_s)
        ),
    );
    t.line("connect failures", report::int(stats.connect_failures as u64));
    t.line("connect retries", report::int(stats.retries as u64));
    t.line("held", format!("{} for {:.2} s", report::int(held as u64), opts.hold));
    t.line(
        "disconnects",
        format!(
            "{}{}",
            stats.disconnects,
            rec.first_disconnect.as_deref().map(|w| format!(" (first: {w})")).unwrap_or_default()
        ),
    );
    t.line("server RSS before", report::opt(rss_before, kib));
    t.line("server RSS holding", report::opt(rss_after, kib));
    t.line("RSS per connection", report::opt(rss_per_conn, |k| format!("{k:.2} KiB")));
    t.line(
        "server CPU connecting",
        report::opt(connect.server_cpu_s, |s| {
            format!(
                "{s:.2} s ({} handshakes per CPU-second)",
                report::big(if s > 0.0 { opened as f64 / s } else { f64::NAN })
            )
        }),
    );
    if opts.broadcast {
        t.line("broadcast received", format!("{} of {}", report::int(rec.received), report::int(expected)));
        t.line("LOST", report::int(lost));
        t.line("broadcast latency", report::latency_line(&rec.hist));
        if let Some(cpu) = broadcast_cpu.and_then(|c| c.server_cpu_s) {
            t.line("server CPU broadcasting", format!("{:.1} ms", cpu * 1e3));
        }
        if rec.duplicates + rec.unexpected + rec.errors > 0 {
            t.line(
                "odd messages",
                format!("{} duplicates, {} unexpected, {} errors", rec.duplicates, rec.unexpected, rec.errors),
            );
        }
    }
    t.line("bench CPU connecting", format!("{bench_pct:.1}% of one core"));
    t.line(
        "other processes' CPU",
        report::opt(connect.other_pct(), |p| format!("{p:.1}% of one core while connecting")),
    );
    if connect.other_pct().is_some_and(|p| p >= NOISE_PCT) {
        t.warn("other processes used the CPU while connecting: figures are noisy");
    }
    if saturated {
        t.warn(&format!("bench core saturated ({bench_pct:.0}% CPU): figures are a lower bound"));
    }
    if lost > 0 {
        t.warn(&format!("{} held connections did not receive the broadcast", report::int(lost)));
    }
    if let Some(why) = &net.first_failure
        && stats.connect_failures > 0
    {
        t.warn(&format!("{} connections failed; first: {why}", stats.connect_failures));
    }
    print!("{}", t.finish());

    if common.json {
        let mut j = Json::default();
        j.str("mode", "idle")
            .int("conns", opts.conns as u64)
            .int("connected", opened as u64)
            .int("held", held as u64)
            .num("connect_s", connect.wall_s)
            .num("connects_per_s", opened as f64 / connect.wall_s)
            .num("hold_s", opts.hold)
            .int("connect_failures", stats.connect_failures as u64)
            .int("connect_retries", stats.retries as u64)
            .int("disconnects", stats.disconnects as u64)
            .bool("broadcast", opts.broadcast)
            .int("deliveries", rec.received)
            .int("expected", expected)
            .int("lost", lost)
            .int("duplicates", rec.duplicates)
            .int("errors", rec.errors)
            .latency("latency_ms", &rec.hist)
            .opt_num("broadcast_s", broadcast_s)
            .opt_num("server_cpu_s", connect.server_cpu_s)
            .opt_num("server_cpu_broadcast_s", broadcast_cpu.and_then(|c| c.server_cpu_s))
            .opt_int("server_rss_kib_before", rss_before)
            .opt_int("server_rss_kib_after", rss_after)
            .opt_num("rss_per_conn_kib", rss_per_conn)
            .num("bench_cpu_pct", bench_pct)
            .bool("bench_saturated", saturated)
            .opt_num("other_cpu_pct", connect.other_pct());
        println!("{}", j.finish());
    }
    let all_held = held == opts.conns && stats.connect_failures == 0 && rec.disconnects_before_broadcast == 0;
    Ok(all_held && lost == 0 && rec.duplicates == 0 && rec.errors == 0)
}
