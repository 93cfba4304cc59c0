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
    closed: [u64; 5],
}

impl Counters {
    pub fn closed(&mut self, reason: CloseReason) {
        self.closed[reason as usize] += 1;
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
}
