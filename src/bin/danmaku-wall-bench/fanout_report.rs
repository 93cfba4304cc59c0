//! The figures of a `fanout`/`bigroom` run, each defined once (key, label, value, unit) and
//! rendered as text and JSON by [`crate::report`].

use crate::args::{Common, Fanout, Rate};
use crate::buckets::Buckets;
use crate::client::NetStats;
use crate::fanout::Recorder;
use crate::metrics::SOCKET_WRITES;
use crate::procinfo::{CpuWindow, NOISE_PCT, SATURATION_PCT, WritesSource};
use crate::publish::Publishers;
use crate::report::{Report, Value, int};

/// What the run measured besides the recorder and the publishers.
pub struct Outcome {
    pub connect_s: f64,
    pub drain_s: f64,
    pub cpu: CpuWindow,
    /// The server's RSS before connecting and at the end of the run.
    pub rss: (Option<u64>, Option<u64>),
    pub net: NetStats,
    pub first_failure: Option<String>,
    /// The names of the measured processes (`server`, or `node1`... and `redis`), in the
    /// order of [`CpuWindow::parts`].
    pub processes: Vec<String>,
}

impl Outcome {
    fn is_cluster(&self) -> bool {
        self.processes.iter().any(|p| p == "redis")
    }
}

/// The run's settings (JSON only: the title says them).
fn settings(r: &mut Report, opts: &Fanout, window_s: f64) {
    r.setting("mode", Value::Text(opts.name.to_string()))
        .setting("subscribers", Value::Int(opts.subscribers as u64))
        .setting("publishers", Value::Int(opts.publishers as u64))
        .setting(
            "rate",
            match opts.rate {
                Rate::PerSecond(x) => Value::Num(x, 1),
                Rate::Max => Value::Text("max".to_string()),
            },
        )
        .setting("arrival", Value::Text(opts.arrival.name().to_string()))
        .setting("window", if opts.rate == Rate::Max { Value::Int(opts.window as u64) } else { Value::Missing })
        .setting("duration_s", Value::Num(window_s, 2))
        .setting("warmup_s", Value::Num(opts.warmup, 2))
        .setting("redis_nodes", opts.cluster.as_ref().map_or(Value::Missing, |c| Value::Int(c.nodes as u64)))
        .setting("reuse_port", Value::Flag(opts.cluster.as_ref().is_some_and(|c| c.reuse_port)));
}

/// With `--redis-nodes`: each process's CPU in the window and, when the nodes have ports of
/// their own, each node's measured deliveries.
fn cluster(r: &mut Report, rec: &Recorder, out: &Outcome) {
    if !out.is_cluster() {
        return;
    }
    for (i, name) in out.processes.iter().enumerate() {
        let cpu = out.cpu.parts.get(i).copied().flatten();
        r.add_named(
            format!("{name}_cpu_s").into(),
            format!("{name} CPU in window").into(),
            Value::opt_num(cpu, 2),
            "s",
        );
    }
    if rec.per_target.len() > 1 {
        for (i, &n) in rec.per_target.iter().enumerate() {
            let (key, label) = (format!("node{}_deliveries", i + 1), format!("node{} deliveries", i + 1));
            r.add_named(key.into(), label.into(), Value::Int(n), "");
        }
    }
}

/// Posts, deliveries, losses, latency.
fn deliveries(r: &mut Report, rec: &Recorder, pubs: &Publishers, out: &Outcome, window_s: f64) {
    let frame = (rec.deliveries > 0).then(|| rec.payload_bytes as f64 / rec.deliveries as f64 + 2.0);
    r.add("connected", "connected", Value::Int(out.net.opened as u64), "connections")
        .add("connect_s", "connecting took", Value::Num(out.connect_s, 2), "s")
        .add("drain_s", "drain took", Value::Num(out.drain_s, 2), "s")
        .add("posts", "posts in window", Value::Int(pubs.measured_posts), "")
        .add("posts_per_s", "posts/s", Value::Num(pubs.measured_posts as f64 / window_s, 0), "")
        .add("posts_skipped", "posts behind schedule", Value::Int(pubs.skipped), "skipped")
        .add("deliveries", "deliveries", Value::Int(rec.deliveries), "")
        .add("expected", "expected", Value::Int(pubs.expected), "")
        .add("lost", "LOST", Value::Int(pubs.expected.saturating_sub(rec.deliveries)), "")
        .add("extra", "unexpected extra", Value::Int(rec.deliveries.saturating_sub(pubs.expected)), "")
        .add("deliveries_per_s", "deliveries/s", Value::Num(rec.deliveries as f64 / window_s, 0), "")
        .add("frame_bytes", "broadcast frame", Value::opt_num(frame, 0), "bytes")
        .add("latency_ms", "latency", Value::latency(&rec.hist), "")
        .add("hellos", "hello frames", Value::Int(rec.hellos), "(not deliveries)")
        .add("connect_failures", "connect failures", Value::Int(out.net.connect_failures as u64), "")
        .add("errors", "error frames", Value::Int(rec.errors), "")
        .add("unrecognised", "unrecognised messages", Value::Int(rec.unparsed), "")
        .add("disconnects", "disconnects", Value::Int(out.net.disconnects as u64), "")
        .add(
            "first_disconnect",
            "first disconnect",
            rec.first_disconnect.clone().map_or(Value::Missing, Value::Text),
            "",
        );
}

/// The server's and the machine's costs in the window.
fn costs(r: &mut Report, rec: &Recorder, out: &Outcome) {
    let cpu = &out.cpu;
    let per_cpu = cpu.server_cpu_s.filter(|&s| s > 0.0).map(|s| rec.deliveries as f64 / s);
    // Every write in the window against every delivery in it: how well the server batches.
    // From the server's danmaku_socket_writes_total when every node has it, else from /proc
    // (write(2)/writev(2) only: a server that sends with send(2) shows none there).
    let per_write = cpu.server_writes.filter(|&w| w > 0).map(|w| rec.deliveries as f64 / w as f64);
    let writes_unit = cpu.writes_source.map_or("in window", WritesSource::unit);
    let writes_source = cpu.writes_source.map_or(Value::Missing, |s| Value::Text(s.name().to_string()));
    let bench_pct = cpu.bench_pct();
    // In a cluster "server" is every node and the Redis together.
    let (cpu_label, pct_label, per_label) = match out.is_cluster() {
        true => ("nodes+Redis CPU in window", "nodes+Redis CPU", "deliveries/cluster CPU-s"),
        false => ("server CPU in window", "server CPU", "deliveries/server CPU-s"),
    };
    r.add("server_cpu_s", cpu_label, Value::opt_num(cpu.server_cpu_s, 2), "s")
        .add("server_cpu_pct", pct_label, Value::opt_num(cpu.server_pct(), 1), "% of one core")
        .add("deliveries_per_server_cpu_s", per_label, Value::opt_num(per_cpu, 0), "")
        .add("server_writes", "server write calls", Value::opt_int(cpu.server_writes), writes_unit)
        .add("server_writes_source", "", writes_source, "")
        .add("deliveries_per_write", "deliveries per write", Value::opt_num(per_write, 2), "")
        .add("server_rss_kib_before", "server RSS before", Value::opt_int(out.rss.0), "KiB")
        .add("server_rss_kib_after", "server RSS after", Value::opt_int(out.rss.1), "KiB")
        .add("bench_cpu_pct", "bench CPU", Value::Num(bench_pct, 1), "% of one core")
        .add("bench_saturated", "bench core saturated", Value::Flag(bench_pct >= SATURATION_PCT), "")
        .add("other_cpu_pct", "other processes' CPU", Value::opt_num(cpu.other_pct(), 1), "% of one core");
}

/// The server's flush passes in the window ([`crate::buckets::FLUSH_PASS`]): how many, the mean, and the
/// buckets holding the median and the 99th percentile. JSON: one field each, `null` when
/// unknown (no histogram, or nodes sharing a port); a quantile beyond the last bucket is
/// `null` too, and `> 1000 ms` in the text.
fn flush_passes(r: &mut Report, passes: Option<&Buckets>) {
    let ms = |s: f64| (s * 1e6).round() / 1e3;
    let mean = passes.and_then(Buckets::mean).map(ms);
    let le = |q: f64| passes.and_then(|p| p.quantile_le(q)).map(ms);
    r.text_only("flush pass", passes.map_or(Value::Missing, |p| Value::Text(flush_summary(p))))
        .setting("flush_passes", Value::opt_int(passes.map(|p| p.count)))
        .setting("flush_pass_mean_ms", Value::opt_num(mean, 3))
        .setting("flush_pass_p50_le_ms", Value::opt_num(le(0.5), 3))
        .setting("flush_pass_p99_le_ms", Value::opt_num(le(0.99), 3));
}

/// `412 passes, mean 6.8 ms, p50 ≤ 7 ms, p99 ≤ 15 ms`.
fn flush_summary(passes: &Buckets) -> String {
    let ms = |s: f64| (s * 1e6).round() / 1e3;
    let Some(mean) = passes.mean() else {
        return format!("0 passes to {} or more walls in the window", danmaku_wall::protocol::coalesce::MIN_FANOUT);
    };
    let le = |q: f64| match passes.quantile_le(q) {
        Some(b) if b.is_finite() => format!("≤ {} ms", ms(b)),
        _ => format!("> {} ms", passes.last_finite().map_or(0.0, ms)),
    };
    format!("{} passes, mean {:.1} ms, p50 {}, p99 {}", int(passes.count), mean * 1e3, le(0.5), le(0.99))
}

fn warnings(r: &mut Report, rec: &Recorder, pubs: &Publishers, out: &Outcome) {
    let cpu = &out.cpu;
    let bench_pct = cpu.bench_pct();
    let lost = pubs.expected.saturating_sub(rec.deliveries);
    let failures = out.net.connect_failures;
    for (i, name) in out.processes.iter().enumerate() {
        r.warn_if(cpu.part_pct(i).is_some_and(|p| p >= SATURATION_PCT), || {
            format!("{name} core saturated: this rate is the {name}'s limit here")
        });
    }
    r.warn_if(cpu.other_pct().is_some_and(|p| p >= NOISE_PCT), || {
        "other processes used the CPU during the window: figures are noisy".to_string()
    })
    .warn_if(bench_pct >= SATURATION_PCT, || {
        format!("bench core saturated ({bench_pct:.0}% CPU): figures are a lower bound")
    })
    .warn_if(cpu.server_writes == Some(0), || no_writes(cpu))
    .warn_if(pubs.skipped > 0, || format!("{} posts skipped: the requested rate was not reached", int(pubs.skipped)))
    .warn_if(lost > 0, || format!("{} deliveries LOST", int(lost)))
    .warn_if(rec.errors > 0, || format!("{} posts rejected by the server (error frames)", int(rec.errors)))
    .warn_if(failures > 0, || {
        format!("{failures} connections failed; first: {}", out.first_failure.as_deref().unwrap_or("?"))
    });
}

/// Why no write call was counted, by source.
fn no_writes(cpu: &CpuWindow) -> String {
    match (cpu.writes_source, &cpu.socket_writes_failure) {
        (Some(WritesSource::Syscw), Some(why)) => format!(
            "no server write calls counted in /proc (a server writing with send/sendmsg shows none there; \
             {SOCKET_WRITES} unknown: {why})"
        ),
        (Some(WritesSource::Syscw), None) => "no server write calls counted in /proc".to_string(),
        _ => format!("{SOCKET_WRITES} did not move in the window"),
    }
}

/// Every figure of the run.
pub fn report(common: &Common, opts: &Fanout, host: &str, rec: &Recorder, pubs: &Publishers, out: &Outcome) -> Report {
    let window_s = (rec.win_end_ns - rec.win_start_ns) as f64 / 1e9;
    let rate = match opts.rate {
        Rate::PerSecond(x) => format!("{x} posts/s"),
        Rate::Max => format!("max, window {}", opts.window),
    };
    let nodes = match &opts.cluster {
        Some(c) if c.reuse_port => format!("; {} nodes on one port (--reuse-port) + Redis", c.nodes),
        Some(c) => format!("; {} nodes + Redis", c.nodes),
        None => String::new(),
    };
    let mut r = Report::new(format!(
        "danmaku-wall-bench {}: {} subscribers + {} publisher(s) in one room, ws://{host}{}{nodes}; {rate}, {} \
         arrivals, {window_s:.2} s measured after {:.2} s warm-up",
        opts.name,
        opts.subscribers,
        opts.publishers,
        common.url.path,
        opts.arrival.name(),
        opts.warmup
    ));
    settings(&mut r, opts, window_s);
    deliveries(&mut r, rec, pubs, out, window_s);
    costs(&mut r, rec, out);
    flush_passes(&mut r, out.cpu.flush_passes.as_ref());
    cluster(&mut r, rec, out);
    warnings(&mut r, rec, pubs, out);
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    fn passes(cumulative: &[u64], sum: f64) -> Buckets {
        let bounds = [0.005, 0.007, 0.015, f64::INFINITY];
        let count = *cumulative.last().unwrap();
        Buckets { bounds: bounds[..cumulative.len()].to_vec(), cumulative: cumulative.to_vec(), sum, count }
    }

    fn json_of(p: Option<&Buckets>) -> String {
        let mut r = Report::new(String::new());
        flush_passes(&mut r, p);
        r.json()
    }

    #[test]
    fn the_flush_pass_line_and_fields() {
        let p = passes(&[10, 300, 408, 412], 2.8016);
        assert_eq!(flush_summary(&p), "412 passes, mean 6.8 ms, p50 ≤ 7 ms, p99 ≤ 15 ms");
        assert_eq!(
            json_of(Some(&p)),
            r#"{"flush_passes":412,"flush_pass_mean_ms":6.8,"flush_pass_p50_le_ms":7,"flush_pass_p99_le_ms":15}"#
        );
        // The slowest beyond the last bound.
        let slow = passes(&[0, 0, 1, 3], 2.0);
        assert_eq!(flush_summary(&slow), "3 passes, mean 666.7 ms, p50 > 15 ms, p99 > 15 ms");
        assert!(json_of(Some(&slow)).ends_with(r#""flush_pass_p50_le_ms":null,"flush_pass_p99_le_ms":null}"#));
    }

    #[test]
    fn an_empty_or_unknown_window() {
        let none = passes(&[0, 0, 0, 0], 0.0);
        assert_eq!(flush_summary(&none), "0 passes to 64 or more walls in the window");
        let empty =
            r#"{"flush_passes":0,"flush_pass_mean_ms":null,"flush_pass_p50_le_ms":null,"flush_pass_p99_le_ms":null}"#;
        assert_eq!(json_of(Some(&none)), empty);
        assert_eq!(json_of(None), empty.replace(":0,", ":null,"));
        let mut r = Report::new(String::new());
        flush_passes(&mut r, None);
        assert!(r.text().contains("  flush pass                  n/a\n"), "{}", r.text());
    }

    #[test]
    fn the_warning_says_why_no_write_was_counted() {
        let why = "127.0.0.1:3000: GET /metrics: status 404 (is the server's --metrics on?)";
        let mut cpu = CpuWindow {
            server_writes: Some(0),
            writes_source: Some(WritesSource::Syscw),
            socket_writes_failure: Some(why.to_string()),
            ..CpuWindow::default()
        };
        assert_eq!(
            no_writes(&cpu),
            format!(
                "no server write calls counted in /proc (a server writing with send/sendmsg shows none there; \
                 danmaku_socket_writes_total unknown: {why})"
            )
        );
        cpu.socket_writes_failure = None;
        assert_eq!(no_writes(&cpu), "no server write calls counted in /proc");
        cpu.writes_source = Some(WritesSource::Metric);
        assert_eq!(no_writes(&cpu), "danmaku_socket_writes_total did not move in the window");
    }
}
