//! The processes around the load: starting the server under test (`--spawn`), pinning it
//! and ourselves to cores, and reading CPU time and memory from `/proc` and `getrusage`.

use std::net::SocketAddr;
use std::process::Command;
use std::time::{Duration, Instant};

use danmaku_wall::kit::procfs::{machine_busy_seconds, rss_kib, self_cpu_seconds, write_calls};
use danmaku_wall::kit::spawn::{ServerProcess, SpawnOptions};

use crate::fleet::Fleet;

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
/// for every connection and every backlog the bench can build.
pub const SPAWN_ARGS: [&str; 8] =
    ["--rate", "0", "--ping-interval", "0", "--max-connections", "100000", "--max-backlog", "16777216"];

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

    /// Write system calls so far (`write`, `writev`, ...).
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
/// [`Fleet`]), our own (`getrusage`) and the whole machine's (to tell how much else ran).
#[derive(Clone)]
pub struct CpuMark {
    pub at: Instant,
    /// Each process of [`Fleet::processes`], in that order.
    pub parts: Vec<Option<f64>>,
    /// All of them together (`None` if one could not be read).
    pub server: Option<f64>,
    pub server_writes: Option<u64>,
    pub bench: f64,
    pub machine: Option<f64>,
}

impl CpuMark {
    pub fn now(fleet: Option<&Fleet>) -> CpuMark {
        let parts = fleet.map(Fleet::cpu_seconds).unwrap_or_default();
        let server = if parts.is_empty() { None } else { parts.iter().copied().sum() };
        CpuMark {
            at: Instant::now(),
            parts,
            server,
            server_writes: fleet.and_then(Fleet::write_calls),
            bench: self_cpu_seconds(),
            machine: machine_busy_seconds(),
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
    /// The server's write system calls.
    pub server_writes: Option<u64>,
    pub bench_cpu_s: f64,
    /// CPU seconds used by everything else on the machine (needs the server's figure).
    pub other_cpu_s: Option<f64>,
}

impl CpuWindow {
    pub fn between(a: &CpuMark, b: &CpuMark) -> CpuWindow {
        let delta = |a: Option<f64>, b: Option<f64>| a.zip(b).map(|(a, b)| (b - a).max(0.0));
        CpuWindow {
            wall_s: b.at.duration_since(a.at).as_secs_f64(),
            parts: a.parts.iter().zip(&b.parts).map(|(&a, &b)| delta(a, b)).collect(),
            server_cpu_s: delta(a.server, b.server),
            server_writes: a.server_writes.zip(b.server_writes).map(|(a, b)| b.saturating_sub(a)),
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
