//! Counters as plain data, and their exposition at `/metrics` (the contract's "Operating
//! it"; Prometheus text format 0.0.4, written by [`crate::wire::prometheus`]).

use crate::wire::prometheus::{Exposition, Kind};

/// Why connections closed: a bounded set of labels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CloseReason {
    /// The peer closed (FIN, or the closing handshake it started).
    Peer,
    /// A read, write or registration error.
    Error,
    /// A heartbeat, request, keep-alive or close deadline passed.
    Timeout,
    /// Fell behind past `--max-backlog` (1008).
    Slow,
    /// Ended by the server: a protocol violation, a policy, a shutdown.
    Server,
}

impl CloseReason {
    pub const ALL: [CloseReason; 5] =
        [CloseReason::Peer, CloseReason::Error, CloseReason::Timeout, CloseReason::Slow, CloseReason::Server];

    pub fn label(self) -> &'static str {
        match self {
            CloseReason::Peer => "peer",
            CloseReason::Error => "error",
            CloseReason::Timeout => "timeout",
            CloseReason::Slow => "slow",
            CloseReason::Server => "server",
        }
    }
}

/// Counters that only go up.
#[derive(Debug, Clone, Default)]
pub struct Counters {
    pub posts_accepted: u64,
    pub posts_rejected: u64,
    pub posts_held: u64,
    /// Danmaku frames queued to connections (a broadcast to N members counts N).
    pub deliveries: u64,
    /// Write system calls to client sockets (each may carry several frames: deliveries per
    /// write is how well output coalesces).
    pub socket_writes: u64,
    /// Flush passes to at least [`crate::protocol::coalesce::MIN_FANOUT`] connections: how long
    /// one broadcast takes to be written to every wall.
    pub flush_passes: Histogram,
    closed: [u64; 5],
}

impl Counters {
    pub fn closed(&mut self, reason: CloseReason) {
        self.closed[reason as usize] += 1;
    }
}

/// The bucket bounds of [`Histogram`], in seconds: fine steps around the coalescer's 8 ms
/// bound, coarser beyond.
pub const PASS_BOUNDS: [f64; 20] = [
    0.0005, 0.001, 0.002, 0.003, 0.004, 0.005, 0.006, 0.007, 0.008, 0.009, 0.01, 0.012, 0.015, 0.02, 0.03, 0.05, 0.1,
    0.2, 0.5, 1.0,
];

/// Durations counted into the fixed buckets [`PASS_BOUNDS`], as a Prometheus histogram counts
/// them (text format 0.0.4: bucket `le` is an inclusive upper bound; what exceeds the last
/// bound counts only in the `+Inf` bucket, i.e. the count). Plain data: no allocation.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Histogram {
    /// Observations in each bucket alone (not cumulative): `(PASS_BOUNDS[i-1], PASS_BOUNDS[i]]`.
    buckets: [u64; PASS_BOUNDS.len()],
    sum: f64,
    count: u64,
}

impl Histogram {
    /// Counts one duration of `seconds` (a negative or NaN one as 0).
    pub fn observe(&mut self, seconds: f64) {
        let seconds = if seconds > 0.0 { seconds } else { 0.0 };
        // The first bound not below the value: `le` is inclusive.
        let i = PASS_BOUNDS.partition_point(|&bound| bound < seconds);
        if let Some(n) = self.buckets.get_mut(i) {
            *n += 1;
        }
        self.sum += seconds;
        self.count += 1;
    }

    /// Cumulative counts, one per bound of [`PASS_BOUNDS`].
    pub fn cumulative(&self) -> [u64; PASS_BOUNDS.len()] {
        let mut total = 0;
        self.buckets.map(|n| {
            total += n;
            total
        })
    }

    pub fn sum(&self) -> f64 {
        self.sum
    }

    pub fn count(&self) -> u64 {
        self.count
    }
}

/// Gauges, read when `/metrics` is asked for.
#[derive(Debug, Clone, Copy, Default)]
pub struct Gauges {
    pub http: u64,
    pub ws: u64,
    pub admin: u64,
    pub rooms: u64,
    /// With `--redis`: whether the node is connected to Redis.
    pub redis_up: Option<bool>,
}

/// The exposition: every family with `# HELP` and `# TYPE`.
pub fn render(counters: &Counters, gauges: &Gauges) -> String {
    let mut out = Exposition::new();
    out.family("danmaku_connections", Kind::Gauge, "Open connections by kind.");
    for (kind, n) in [("http", gauges.http), ("ws", gauges.ws), ("admin", gauges.admin)] {
        out.sample("danmaku_connections", &[("kind", kind)], n);
    }
    out.family("danmaku_rooms", Kind::Gauge, "Rooms that exist (with members, history or settings).");
    out.sample("danmaku_rooms", &[], gauges.rooms);
    out.family("danmaku_posts_total", Kind::Counter, "Posts by outcome.");
    for (result, n) in
        [("accepted", counters.posts_accepted), ("rejected", counters.posts_rejected), ("held", counters.posts_held)]
    {
        out.sample("danmaku_posts_total", &[("result", result)], n);
    }
    out.family("danmaku_deliveries_total", Kind::Counter, "Danmaku frames queued to connections.");
    out.sample("danmaku_deliveries_total", &[], counters.deliveries);
    out.family("danmaku_socket_writes_total", Kind::Counter, "Write system calls to client sockets.");
    out.sample("danmaku_socket_writes_total", &[], counters.socket_writes);
    out.family(
        "danmaku_flush_pass_seconds",
        Kind::Histogram,
        "Flush passes to at least 64 connections: time from the first write to the last.",
    );
    let passes = &counters.flush_passes;
    out.histogram("danmaku_flush_pass_seconds", &[], &PASS_BOUNDS, &passes.cumulative(), passes.sum(), passes.count());
    out.family("danmaku_closed_total", Kind::Counter, "Closed connections by reason.");
    for reason in CloseReason::ALL {
        out.sample("danmaku_closed_total", &[("reason", reason.label())], counters.closed[reason as usize]);
    }
    if let Some(up) = gauges.redis_up {
        out.family("danmaku_redis_up", Kind::Gauge, "1 while connected to Redis.");
        out.sample("danmaku_redis_up", &[], u64::from(up));
    }
    out.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_family_is_there_and_counts_move() {
        let mut c = Counters { posts_accepted: 3, deliveries: 3000, socket_writes: 250, ..Default::default() };
        c.closed(CloseReason::Slow);
        c.closed(CloseReason::Slow);
        let g = Gauges { http: 1, ws: 2, admin: 0, rooms: 4, redis_up: Some(true) };
        let text = render(&c, &g);
        for line in [
            "# TYPE danmaku_connections gauge",
            "danmaku_connections{kind=\"ws\"} 2",
            "danmaku_rooms 4",
            "# TYPE danmaku_posts_total counter",
            "danmaku_posts_total{result=\"accepted\"} 3",
            "danmaku_deliveries_total 3000",
            "danmaku_socket_writes_total 250",
            "danmaku_closed_total{reason=\"slow\"} 2",
            "danmaku_redis_up 1",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} missing in\n{text}");
        }
        assert!(!render(&c, &Gauges::default()).contains("redis"), "only with --redis");
    }

    #[test]
    fn le_is_inclusive_at_every_edge() {
        for (i, &bound) in PASS_BOUNDS.iter().enumerate() {
            let mut h = Histogram::default();
            h.observe(bound);
            let cumulative = h.cumulative();
            assert!(cumulative[..i].iter().all(|&n| n == 0), "{bound} counted below its bucket");
            assert!(cumulative[i..].iter().all(|&n| n == 1), "{bound} not in le={bound}");
            // Just above the edge: the next bucket (or only +Inf after the last bound).
            let mut above = Histogram::default();
            above.observe(bound * 1.000_001);
            assert_eq!(above.cumulative()[i], 0, "just above {bound}");
            assert_eq!(above.count(), 1);
        }
    }

    #[test]
    fn observations_sum_and_count() {
        let mut h = Histogram::default();
        for s in [0.0, 0.0004, 0.0068, 0.0068, 0.015, 2.5, -1.0, f64::NAN] {
            h.observe(s);
        }
        assert_eq!(h.count(), 8);
        assert!((h.sum() - (0.0004 + 0.0136 + 0.015 + 2.5)).abs() < 1e-12, "{}", h.sum());
        let c = h.cumulative();
        // 0, 0.0004, -1 and NaN in le=0.0005; the two 6.8 ms in le=0.007; 15 ms at its edge.
        assert_eq!((c[0], c[5], c[6], c[7], c[11], c[12], c[19]), (4, 4, 4, 6, 6, 7, 7));
    }

    #[test]
    fn the_histogram_is_rendered() {
        let mut c = Counters::default();
        c.flush_passes.observe(0.0068);
        c.flush_passes.observe(3.0);
        let text = render(&c, &Gauges::default());
        for line in [
            "# HELP danmaku_flush_pass_seconds Flush passes to at least 64 connections: time from the first write to \
             the last.",
            "# TYPE danmaku_flush_pass_seconds histogram",
            "danmaku_flush_pass_seconds_bucket{le=\"0.0005\"} 0",
            "danmaku_flush_pass_seconds_bucket{le=\"0.007\"} 1",
            "danmaku_flush_pass_seconds_bucket{le=\"1\"} 1",
            "danmaku_flush_pass_seconds_bucket{le=\"+Inf\"} 2",
            "danmaku_flush_pass_seconds_count 2",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} missing in\n{text}");
        }
        assert_eq!(text.matches("danmaku_flush_pass_seconds_bucket").count(), PASS_BOUNDS.len() + 1);
        let sum = text.lines().find_map(|l| l.strip_prefix("danmaku_flush_pass_seconds_sum ")).unwrap();
        assert!((sum.parse::<f64>().unwrap() - 3.0068).abs() < 1e-12, "{sum}");
    }
}
