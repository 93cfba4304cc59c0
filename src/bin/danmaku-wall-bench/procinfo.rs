//! The processes around the load: starting the server under test (`--spawn`), pinning it
//! and ourselves to cores, and reading CPU time and memory from `/proc` and `getrusage`.

use std::net::SocketAddr;
use std::process::Command;
use std::time::{Duration, Instant};

use danmaku_wall::kit::procfs::{cpu_seconds, machine_busy_seconds, rss_kib, self_cpu_seconds, write_calls};
use danmaku_wall::kit::spawn::{ServerProcess, SpawnOptions};

/// The server being measured: started by us, or an existing process (`--pid`).
pub struct Server {
    pub pid: i32,
    process: Option<ServerProcess>,
    /// Where a spawned server listens.
    pub addr: Option<SocketAddr>,
}

/// The fixed flags a spawned server gets: free port, no rate limit, no heartbeats, room for
/// every connection and every backlog the bench can build.
pub const SPAWN_ARGS: [&str; 10] = [
    "--bind",
    "127.0.0.1:0",
    "--rate",
    "0",
    "--ping-interval",
    "0",
    "--max-connections",
    "100000",
    "--max-backlog",
    "16777216",
];

impl Server {
    pub fn attach(pid: i32) -> Result<Server, String> {
        if !std::path::Path::new(&format!("/proc/{pid}/stat")).exists() {
            return Err(format!("--pid {pid}: no such process"));
        }
        Ok(Server { pid, process: None, addr: None })
    }

    /// Starts `path` with [`SPAWN_ARGS`] and `extra` (the kit's [`ServerProcess`]: it waits at
    /// most 10 s for the `listening on` line, and the server dies with us). Its warnings,
    /// errors and stderr are copied to our stderr; its info lines are dropped.
    pub fn spawn(path: &str, extra: &[String]) -> Result<Server, String> {
        let mut cmd = Command::new(path);
        cmd.args(SPAWN_ARGS).args(extra);
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

    /// User plus system CPU seconds so far.
    pub fn cpu_seconds(&self) -> Option<f64> {
        cpu_seconds(self.pid)
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

/// CPU figures over a measured window: server (from `/proc`), our own (`getrusage`) and the
/// whole machine's (to tell how much else ran meanwhile).
#[derive(Clone, Copy)]
pub struct CpuMark {
    pub at: Instant,
    pub server: Option<f64>,
    pub server_writes: Option<u64>,
    pub bench: f64,
    pub machine: Option<f64>,
}

impl CpuMark {
    pub fn now(server: Option<&Server>) -> CpuMark {
        CpuMark {
            at: Instant::now(),
            server: server.and_then(Server::cpu_seconds),
            server_writes: server.and_then(Server::write_calls),
            bench: self_cpu_seconds(),
            machine: machine_busy_seconds(),
        }
    }
}

/// What happened between two [`CpuMark`]s.
#[derive(Clone, Copy, Default)]
pub struct CpuWindow {
    pub wall_s: f64,
    pub server_cpu_s: Option<f64>,
    /// The server's write system calls.
    pub server_writes: Option<u64>,
    pub bench_cpu_s: f64,
    /// CPU seconds used by everything else on the machine (needs the server's figure).
    pub other_cpu_s: Option<f64>,
}

impl CpuWindow {
    pub fn between(a: CpuMark, b: CpuMark) -> CpuWindow {
        CpuWindow {
            wall_s: b.at.duration_since(a.at).as_secs_f64(),
            server_cpu_s: a.server.zip(b.server).map(|(a, b)| (b - a).max(0.0)),
            server_writes: a.server_writes.zip(b.server_writes).map(|(a, b)| b.saturating_sub(a)),
            bench_cpu_s: (b.bench - a.bench).max(0.0),
            other_cpu_s: a
                .machine
                .zip(b.machine)
                .zip(a.server.zip(b.server))
                .map(|((ma, mb), (sa, sb))| ((mb - ma) - (sb - sa) - (b.bench - a.bench)).max(0.0)),
        }
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
