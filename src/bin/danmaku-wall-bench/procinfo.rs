//! The processes around the load: starting the server under test (`--spawn`), pinning it
//! and ourselves to cores, and reading CPU time and memory from `/proc` and `getrusage`.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// The server being measured: started by us, or an existing process (`--pid`).
pub struct Server {
    pub pid: i32,
    child: Option<Child>,
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
        Ok(Server { pid, child: None, addr: None })
    }

    /// Starts `path` with [`SPAWN_ARGS`] and `extra`, and waits (at most 10 s) for its
    /// `listening on http://HOST:PORT` line. Its stdout keeps being drained by a thread;
    /// stderr is ours. It dies with us (`PR_SET_PDEATHSIG`), even if we abort.
    pub fn spawn(path: &str, extra: &[String]) -> Result<Server, String> {
        let mut cmd = Command::new(path);
        cmd.args(SPAWN_ARGS).args(extra).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::inherit());
        // SAFETY: prctl is async-signal-safe and touches no memory of ours.
        unsafe {
            cmd.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
        let mut child = cmd.spawn().map_err(|e| format!("--spawn {path}: {e}"))?;
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut tx = Some(tx);
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                // The server's own warnings and errors (e.g. out of file descriptors) matter
                // to whoever reads the figures; its info lines do not.
                if line.contains("WARN") || line.contains("ERROR") {
                    eprintln!("server: {line}");
                }
                if let Some(at) = line.find("listening on http://")
                    && let Some(tx) = tx.take()
                {
                    let rest = &line[at + "listening on http://".len()..];
                    let addr = rest.split(|c: char| c.is_whitespace() || c == '/').next().unwrap_or("");
                    let _ = tx.send(addr.to_string());
                }
            }
        });
        let pid = child.id() as i32;
        let mut server = Server { pid, child: Some(child), addr: None };
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            match rx.recv_timeout(Duration::from_millis(50)) {
                Ok(addr) => {
                    let addr =
                        addr.parse().map_err(|e| format!("--spawn {path}: cannot read the port from {addr:?}: {e}"))?;
                    server.addr = Some(addr);
                    return Ok(server);
                }
                Err(mpsc::RecvTimeoutError::Timeout) if Instant::now() < deadline => {
                    if let Some(status) = server.exited() {
                        return Err(format!("--spawn {path}: the server exited ({status}) before listening"));
                    }
                }
                Err(_) => return Err(format!("--spawn {path}: no 'listening on http://' line within 10 s")),
            }
        }
    }

    /// `Some(reason)` once a spawned server has exited.
    pub fn exited(&mut self) -> Option<String> {
        let child = self.child.as_mut()?;
        match child.try_wait() {
            Ok(Some(status)) => Some(status.to_string()),
            _ => None,
        }
    }

    /// Stops a spawned server: SIGTERM, at most 5 s for it to exit, then SIGKILL. Returns
    /// how it ended. An attached server is left alone.
    pub fn stop(&mut self) -> Option<String> {
        let mut child = self.child.take()?;
        if let Ok(Some(status)) = child.try_wait() {
            return Some(format!("had already exited ({status})"));
        }
        // SAFETY: kill(2) on our own child's pid.
        unsafe { libc::kill(self.pid, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = child.try_wait() {
                return Some(status.to_string());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        let _ = child.wait();
        Some("killed after 5 s".to_string())
    }

    /// User plus system CPU seconds so far.
    pub fn cpu_seconds(&self) -> Option<f64> {
        proc_cpu_seconds(self.pid)
    }

    pub fn rss_kib(&self) -> Option<u64> {
        proc_rss_kib(self.pid)
    }

    /// Write system calls so far (`write`, `writev`, ...).
    pub fn write_calls(&self) -> Option<u64> {
        proc_write_calls(self.pid)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

fn clock_ticks() -> f64 {
    // SAFETY: sysconf has no memory effects.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if t > 0 { t as f64 } else { 100.0 }
}

/// utime + stime of `/proc/PID/stat` (fields 14 and 15), in seconds.
pub fn proc_cpu_seconds(pid: i32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    parse_stat_ticks(&stat).map(|t| t as f64 / clock_ticks())
}

fn parse_stat_ticks(stat: &str) -> Option<u64> {
    // The command name (field 2) is in parentheses and may hold spaces: skip past the last ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_ascii_whitespace();
    // rest starts at field 3 (state); utime is field 14, stime 15.
    let utime: u64 = fields.nth(11)?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(utime + stime)
}

/// `VmRSS` of `/proc/PID/status`, in KiB.
pub fn proc_rss_kib(pid: i32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line["VmRSS:".len()..].trim().trim_end_matches("kB").trim().parse().ok()
}

/// `syscw` of `/proc/PID/io`: how many write system calls (`write`, `writev`, ...) the process
/// has made. Deliveries divided by it is how many messages each write carried.
pub fn proc_write_calls(pid: i32) -> Option<u64> {
    let io = std::fs::read_to_string(format!("/proc/{pid}/io")).ok()?;
    parse_syscw(&io)
}

fn parse_syscw(io: &str) -> Option<u64> {
    io.lines().find_map(|l| l.strip_prefix("syscw:"))?.trim().parse().ok()
}

/// This process's user plus system CPU seconds (`getrusage(RUSAGE_SELF)`).
pub fn self_cpu_seconds() -> f64 {
    // SAFETY: getrusage fills the struct passed by pointer.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut usage);
        usage
    };
    let tv = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    tv(usage.ru_utime) + tv(usage.ru_stime)
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

/// Busy CPU seconds of the whole machine, all cores (`/proc/stat`: everything but idle and
/// iowait).
pub fn machine_busy_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    parse_machine_busy(stat.lines().next()?).map(|t| t as f64 / clock_ticks())
}

fn parse_machine_busy(cpu_line: &str) -> Option<u64> {
    let mut fields = cpu_line.split_ascii_whitespace();
    if fields.next()? != "cpu" {
        return None;
    }
    let ticks: Vec<u64> = fields.take(8).map(|f| f.parse().ok()).collect::<Option<_>>()?;
    let [user, nice, system, _idle, _iowait, irq, softirq, steal] = ticks[..] else { return None };
    Some(user + nice + system + irq + softirq + steal)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_fields() {
        let stat = "1234 (danmaku wall) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 75 0 0 20 0 1 0 5 1000 200";
        assert_eq!(parse_stat_ticks(stat), Some(325));
    }

    #[test]
    fn proc_stat_cpu_line() {
        assert_eq!(parse_machine_busy("cpu  100 5 50 9000 30 1 2 3 0 0"), Some(161));
        assert_eq!(parse_machine_busy("cpu0 100 5 50 9000 30 1 2 3 0 0"), None);
        assert!(machine_busy_seconds().is_some());
    }

    #[test]
    fn proc_io_write_calls() {
        let io = "rchar: 4096\nwchar: 512\nsyscr: 13\nsyscw: 1976977\nread_bytes: 0\n";
        assert_eq!(parse_syscw(io), Some(1_976_977));
        assert_eq!(parse_syscw("rchar: 1\n"), None);
    }

    #[test]
    fn own_process() {
        let pid = std::process::id() as i32;
        let before = proc_write_calls(pid).unwrap();
        use std::io::Write;
        let mut null = std::fs::OpenOptions::new().write(true).open("/dev/null").unwrap();
        null.write_all(b"one write(2)").unwrap();
        assert!(proc_write_calls(pid).unwrap() > before);
        assert!(proc_cpu_seconds(pid).is_some());
        assert!(proc_rss_kib(pid).unwrap() > 0);
        assert!(self_cpu_seconds() >= 0.0);
    }
}
