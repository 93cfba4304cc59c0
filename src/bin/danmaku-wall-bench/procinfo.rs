//! The processes around the load: starting the server under test (`--spawn`), pinning it
//! and ourselves to cores, and reading CPU time and memory from `/proc` and `getrusage`.

use std::net::SocketAddr;
use std::process::Command;
use std::time::{Duration, Instant};

use danmaku_wall::kit::procfs::{machine_busy_seconds, rss_kib, self_cpu_seconds, write_calls};
use danmaku_wall::kit::spawn::{ServerProcess, SpawnOptions};

use crate::buckets::Buckets;
use crate::fleet::Fleet;
use crate::metrics::{Counted, SOCKET_WRITES};

/// The server being measured: started by us, or an existing process (`--pid`).
pub struct Server {
    pub pid: i32,
    process: Option<ServerProcess>,
    /// Where a spawned server listens.
    pub addr: Option<SocketAddr>,
}

/// Where a spawned single server binds: a free loopback port.
pub const SPAWN_BIND: &str = "127.0.0.1:0";

/// The fixed flags a spawned server gets besides `--bind`: no rate limit, no heartbeats, room
/// for every connection and every backlog the bench can build, and `GET /metrics` (its count
/// of socket writes, [`SOCKET_WRITES`]). A server without these flags (the comparison server)
/// ignores them.
pub const SPAWN_ARGS: [&str; 9] =
    ["--rate", "0", "--ping-interval", "0", "--max-connections", "100000", "--max-backlog", "16777216", "--metrics"];

impl Server {
    pub fn attach(pid: i32) -> Result<Server, String> {
        if !std::path::Path::new(&format!("/proc/{pid}/stat")).exists() {
            return Err(format!("--pid {pid}: no such process"));
        }
        Ok(Server { pid, process: None, addr: None })
    }

    /// Starts `path` with `--bind bind`, [`SPAWN_ARGS`] and `extra` (the kit's
    /// [`ServerProcess`]: it waits at most 10 s for the `listening on` line, and the server dies
    /// with us). Its warnings, errors and stderr are copied to our stderr; its info lines are
    /// dropped.
    pub fn spawn(path: &str, bind: &str, extra: &[String]) -> Result<Server, String> {
        let mut cmd = Command::new(path);
        cmd.arg("--bind").arg(bind).args(SPAWN_ARGS).args(extra);
        let opts = SpawnOptions { keep_logs: false, echo_problems: true, ..SpawnOptions::default() };
        let process = ServerProcess::start(cmd, &opts).map_err(|e| format!("--spawn {path}: {e}"))?;
        Ok(Server { pid: process.pid(), addr: Some(process.addr()), process: Some(process) })
    }

    /// `Some(reason)` once a spawned server has exited.
    pub fn exited(&mut self) -> Option<String> {
        self.process.as_mut()?.exit_status().map(|s| s.to_string())
    }

    /// Stops a spawned server: SIGTERM, at most 5 s for it to exit, then SIGKILL. Returns
    /// how it ended. An attached server is left alone.
    pub fn stop(&mut self) -> Option<String> {
        Some(self.process.take()?.stop(Duration::from_secs(5)))
    }

    pub fn rss_kib(&self) -> Option<u64> {
        rss_kib(self.pid)
    }

    /// Write system calls so far as `/proc` counts them (`write`, `writev`: not `send`).
    pub fn write_calls(&self) -> Option<u64> {
        write_calls(self.pid)
    }
}

/// Pins thread `tid` (0: the calling thread) to `cpu`.
fn pin_thread(tid: i32, cpu: usize) -> std::io::Result<()> {
    // SAFETY: the cpu_set_t is a plain bit set initialised by CPU_ZERO/CPU_SET.
    let rc = unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_ZERO(&mut set);
        libc::CPU_SET(cpu, &mut set);
        libc::sched_setaffinity(tid, std::mem::size_of::<libc::cpu_set_t>(), &set)
    };
    if rc == 0 { Ok(()) } else { Err(std::io::Error::last_os_error()) }
}

/// Pins every thread of process `pid` to `cpu`.
pub fn pin_process(pid: i32, cpu: usize) -> Result<(), String> {
    let tids: Vec<i32> = std::fs::read_dir(format!("/proc/{pid}/task"))
        .map(|dir| dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok()).collect())
        .unwrap_or_default();
    for tid in if tids.is_empty() { vec![pid] } else { tids } {
        pin_thread(tid, cpu).map_err(|e| format!("cannot pin pid {pid} (thread {tid}) to CPU {cpu}: {e}"))?;
    }
    Ok(())
}

pub fn pin_self(cpu: usize) -> Result<(), String> {
    pin_thread(0, cpu).map_err(|e| format!("cannot pin the bench to CPU {cpu}: {e}"))
}

/// CPU figures at one moment: the server side's (from `/proc`, every process of the
/// [`Fleet`]), our own (`getrusage`) and the whole machine's (to tell how much else ran); and
/// the server's write calls, as `/proc` counts them and as the server does.
#[derive(Clone)]
pub struct CpuMark {
    pub at: Instant,
    /// Each process of [`Fleet::processes`], in that order.
    pub parts: Vec<Option<f64>>,
    /// All of them together (`None` if one could not be read).
    pub server: Option<f64>,
    /// `syscw` of the nodes together (`write`/`writev` only).
    pub syscw: Option<u64>,
    /// [`SOCKET_WRITES`] of the nodes together, or why it is not known (only the marks of a
    /// measured window ask: [`opening`](Self::opening), [`closing`](Self::closing)).
    pub socket_writes: Result<u64, String>,
    /// The nodes' flush passes ([`crate::buckets::FLUSH_PASS`]), asked with `socket_writes`.
    pub flush_passes: Result<Buckets, String>,
    pub bench: f64,
    pub machine: Option<f64>,
}

impl CpuMark {
    /// CPU figures and `syscw`; `/metrics` is not asked.
    pub fn now(fleet: Option<&Fleet>) -> CpuMark {
        let parts = fleet.map(Fleet::cpu_seconds).unwrap_or_default();
        let server = if parts.is_empty() { None } else { parts.iter().copied().sum() };
        CpuMark {
            at: Instant::now(),
            parts,
            server,
            syscw: fleet.and_then(Fleet::write_calls),
            socket_writes: Err("not asked".to_string()),
            flush_passes: Err("not asked".to_string()),
            bench: self_cpu_seconds(),
            machine: machine_busy_seconds(),
        }
    }

    /// The mark opening a measured window: the server's counters first, then the CPU figures
    /// (a slow `/metrics` answer delays the window, never lengthens it).
    pub fn opening(fleet: Option<&Fleet>) -> CpuMark {
        let (socket_writes, flush_passes) = counted(fleet);
        CpuMark { socket_writes, flush_passes, ..CpuMark::now(fleet) }
    }

    /// The mark closing a measured window: the CPU figures first, then the server's counters.
    pub fn closing(fleet: Option<&Fleet>) -> CpuMark {
        let mark = CpuMark::now(fleet);
        let (socket_writes, flush_passes) = counted(fleet);
        CpuMark { socket_writes, flush_passes, ..mark }
    }
}

/// The server's write calls and flush passes, or why each is not known.
fn counted(fleet: Option<&Fleet>) -> (Result<u64, String>, Result<Buckets, String>) {
    match fleet.ok_or_else(|| "no server measured".to_string()).and_then(Fleet::counted) {
        Ok(Counted { socket_writes, flush_passes }) => (Ok(socket_writes), flush_passes),
        Err(why) => (Err(why.clone()), Err(why)),
    }
}

/// Where a window's count of the server's write calls comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WritesSource {
    /// The server's own counter, [`SOCKET_WRITES`] (every node answered at both marks).
    Metric,
    /// `syscw` of `/proc/PID/io`: `write(2)`/`writev(2)`, not `send(2)`/`sendmsg(2)`.
    Syscw,
}

impl WritesSource {
    pub fn name(self) -> &'static str {
        match self {
            WritesSource::Metric => SOCKET_WRITES,
            WritesSource::Syscw => "syscw",
        }
    }

    /// The unit of the figure in the text report.
    pub fn unit(self) -> &'static str {
        match self {
            WritesSource::Metric => "in window (danmaku_socket_writes_total)",
            WritesSource::Syscw => "in window (syscw)",
        }
    }
}

/// The server's write calls between two marks: the server's own counter when both marks have
/// it, else `/proc`'s `syscw` when both have that (a mix of the two is no difference).
/// Also returns why the counter was not used, if it was not.
pub fn writes_between(a: &CpuMark, b: &CpuMark) -> (Option<(u64, WritesSource)>, Option<String>) {
    match (&a.socket_writes, &b.socket_writes) {
        (Ok(x), Ok(y)) => (Some((y.saturating_sub(*x), WritesSource::Metric)), None),
        (Err(why), _) | (_, Err(why)) => {
            let syscw = a.syscw.zip(b.syscw).map(|(x, y)| (y.saturating_sub(x), WritesSource::Syscw));
            (syscw, Some(why.clone()))
        }
    }
}

/// What happened between two [`CpuMark`]s.
#[derive(Clone, Default)]
pub struct CpuWindow {
    pub wall_s: f64,
    /// CPU seconds of each process of the fleet ([`Fleet::processes`] order).
    pub parts: Vec<Option<f64>>,
    /// The server side's CPU seconds: every process of the fleet together.
    pub server_cpu_s: Option<f64>,
    /// The server's write system calls, and where that figure comes from.
    pub server_writes: Option<u64>,
    pub writes_source: Option<WritesSource>,
    /// Why the server's own counter was not used (`None` when it was).
    pub socket_writes_failure: Option<String>,
    /// The flush passes in the window, when both marks have them.
    pub flush_passes: Option<Buckets>,
    pub bench_cpu_s: f64,
    /// CPU seconds used by everything else on the machine (needs the server's figure).
    pub other_cpu_s: Option<f64>,
}

impl CpuWindow {
    pub fn between(a: &CpuMark, b: &CpuMark) -> CpuWindow {
        let delta = |a: Option<f64>, b: Option<f64>| a.zip(b).map(|(a, b)| (b - a).max(0.0));
        let (writes, socket_writes_failure) = writes_between(a, b);
        CpuWindow {
            wall_s: b.at.duration_since(a.at).as_secs_f64(),
            parts: a.parts.iter().zip(&b.parts).map(|(&a, &b)| delta(a, b)).collect(),
            server_cpu_s: delta(a.server, b.server),
            server_writes: writes.map(|(n, _)| n),
            writes_source: writes.map(|(_, source)| source),
            socket_writes_failure,
            flush_passes: match (&a.flush_passes, &b.flush_passes) {
                (Ok(a), Ok(b)) => b.since(a).ok(),
                _ => None,
            },
            bench_cpu_s: (b.bench - a.bench).max(0.0),
            other_cpu_s: a
                .machine
                .zip(b.machine)
                .zip(a.server.zip(b.server))
                .map(|((ma, mb), (sa, sb))| ((mb - ma) - (sb - sa) - (b.bench - a.bench)).max(0.0)),
        }
    }

    /// Process `i`'s CPU use as a percentage of one core.
    pub fn part_pct(&self, i: usize) -> Option<f64> {
        self.parts.get(i).copied().flatten().filter(|_| self.wall_s > 0.0).map(|s| 100.0 * s / self.wall_s)
    }

    /// What the rest of the machine used, as a percentage of one core: noise in the figures.
    pub fn other_pct(&self) -> Option<f64> {
        self.other_cpu_s.filter(|_| self.wall_s > 0.0).map(|s| 100.0 * s / self.wall_s)
    }

    /// Our CPU use as a percentage of one core.
    pub fn bench_pct(&self) -> f64 {
        if self.wall_s > 0.0 { 100.0 * self.bench_cpu_s / self.wall_s } else { 0.0 }
    }

    pub fn server_pct(&self) -> Option<f64> {
        self.server_cpu_s.filter(|_| self.wall_s > 0.0).map(|s| 100.0 * s / self.wall_s)
    }
}

/// The line the brief asks for when our own core is the limit.
pub const SATURATION_PCT: f64 = 90.0;

/// Other processes using more than this share of a core during the window make the
/// figures noisy; the report says so.
pub const NOISE_PCT: f64 = 10.0;

#[cfg(test)]
mod tests {
    use super::*;

    fn mark(syscw: Option<u64>, socket_writes: Result<u64, &str>) -> CpuMark {
        let socket_writes = socket_writes.map_err(str::to_string);
        CpuMark { syscw, socket_writes, ..CpuMark::now(None) }
    }

    #[test]
    fn the_servers_counter_when_both_marks_have_it() {
        let (a, b) = (mark(Some(10), Ok(1_000)), mark(Some(10), Ok(829_021)));
        assert_eq!(writes_between(&a, &b), (Some((828_021, WritesSource::Metric)), None));
        let w = CpuWindow::between(&a, &b);
        assert_eq!(
            (w.server_writes, w.writes_source, w.socket_writes_failure),
            (Some(828_021), Some(WritesSource::Metric), None)
        );
        // Without /proc figures (an attached server not ours to read) the counter still counts.
        assert_eq!(writes_between(&mark(None, Ok(5)), &mark(None, Ok(9))).0, Some((4, WritesSource::Metric)));
    }

    #[test]
    fn syscw_when_a_mark_lacks_the_counter() {
        let why = "127.0.0.1:1: status 404 (is the server's --metrics on?)";
        for (a, b) in [(Err(why), Ok(900)), (Ok(100), Err(why)), (Err(why), Err(why))] {
            let (a, b) = (mark(Some(40), a), mark(Some(100), b));
            assert_eq!(writes_between(&a, &b), (Some((60, WritesSource::Syscw)), Some(why.to_string())));
        }
        // Neither: unknown, and why.
        let (a, b) = (mark(None, Err(why)), mark(Some(100), Ok(3)));
        assert_eq!(writes_between(&a, &b), (None, Some(why.to_string())));
        let w = CpuWindow::between(&a, &b);
        assert_eq!((w.server_writes, w.writes_source), (None, None));
    }

    #[test]
    fn the_flush_passes_of_the_window() {
        let reading = |counts: [u64; 2], sum: f64| Buckets {
            bounds: vec![0.005, f64::INFINITY],
            cumulative: counts.to_vec(),
            sum,
            count: counts[1],
        };
        let a = CpuMark { flush_passes: Ok(reading([3, 4], 0.5)), ..mark(None, Ok(1)) };
        let b = CpuMark { flush_passes: Ok(reading([10, 14], 1.5)), ..mark(None, Ok(2)) };
        let w = CpuWindow::between(&a, &b).flush_passes.unwrap();
        assert_eq!((w.cumulative, w.count, w.sum), (vec![7, 10], 10, 1.0));
        let unknown = CpuMark { flush_passes: Err("no histogram".to_string()), ..mark(None, Ok(2)) };
        assert_eq!(CpuWindow::between(&a, &unknown).flush_passes, None);
        assert_eq!(CpuWindow::between(&unknown, &b).flush_passes, None);
    }

    #[test]
    fn counters_never_count_backwards() {
        assert_eq!(writes_between(&mark(None, Ok(9)), &mark(None, Ok(5))).0, Some((0, WritesSource::Metric)));
        assert_eq!(
            writes_between(&mark(Some(9), Err("x")), &mark(Some(5), Err("x"))).0,
            Some((0, WritesSource::Syscw))
        );
    }

    #[test]
    fn sources_are_named_in_the_report() {
        assert_eq!(WritesSource::Metric.name(), "danmaku_socket_writes_total");
        assert_eq!(WritesSource::Syscw.name(), "syscw");
        assert!(WritesSource::Metric.unit().ends_with("(danmaku_socket_writes_total)"));
        assert_eq!(WritesSource::Syscw.unit(), "in window (syscw)");
        // Only the marks of a window ask /metrics; without a server there is nothing to ask.
        assert_eq!(CpuMark::now(None).socket_writes, Err("not asked".to_string()));
        assert_eq!(CpuMark::opening(None).socket_writes, Err("no server measured".to_string()));
        assert_eq!(CpuMark::closing(None).socket_writes, Err("no server measured".to_string()));
        assert_eq!(CpuMark::closing(None).flush_passes, Err("no server measured".to_string()));
    }
}
