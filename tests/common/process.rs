//! What a server process is using, read from `/proc/PID` (proc(5)): open descriptors,
//! memory, CPU time.

use danmaku_wall::kit::procfs;

/// Open file descriptors of process `pid` (entries of `/proc/PID/fd`).
pub fn fd_count(pid: i32) -> usize {
    procfs::fd_count(pid).unwrap_or_else(|| panic!("cannot read /proc/{pid}/fd"))
}

/// Resident set size of process `pid` in KiB (`VmRSS` of `/proc/PID/status`).
pub fn rss_kib(pid: i32) -> u64 {
    proc_status_kib(pid, "VmRSS")
}

/// A `kB` field of `/proc/PID/status` (`VmRSS`, `VmData`, `VmHWM`, …) of process `pid`.
pub fn proc_status_kib(pid: i32, field: &str) -> u64 {
    procfs::status_kib(pid, field).unwrap_or_else(|| panic!("no {field} in /proc/{pid}/status"))
}

/// CPU time (user + system) process `pid` has used, in seconds (`/proc/PID/stat`).
pub fn cpu_seconds(pid: i32) -> f64 {
    procfs::cpu_seconds(pid).unwrap_or_else(|| panic!("cannot read /proc/{pid}/stat"))
}
