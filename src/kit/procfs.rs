//! What a process costs, read from `/proc` (proc(5)) and `getrusage(2)`: CPU time, memory,
//! open descriptors and write system calls. Every reader returns `None` when the file or
//! field is missing (the process is gone, or not ours to read).

fn clock_ticks() -> f64 {
    // SAFETY: sysconf has no memory effects.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if t > 0 { t as f64 } else { 100.0 }
}

/// utime + stime of `/proc/PID/stat` (fields 14 and 15), in seconds.
pub fn cpu_seconds(pid: i32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    parse_stat_ticks(&stat).map(|t| t as f64 / clock_ticks())
}

/// utime + stime, in clock ticks, from the text of `/proc/PID/stat`.
pub fn parse_stat_ticks(stat: &str) -> Option<u64> {
    // The command name (field 2) is in parentheses and may hold spaces: skip past the last ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_ascii_whitespace();
    // rest starts at field 3 (state); utime is field 14, stime 15.
    let utime: u64 = fields.nth(11)?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(utime + stime)
}

/// A `kB` field of `/proc/PID/status` (`VmRSS`, `VmData`, `VmHWM`, ...), in KiB.
pub fn status_kib(pid: i32, field: &str) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    parse_status_kib(&status, field)
}

/// A `kB` field from the text of `/proc/PID/status`.
pub fn parse_status_kib(status: &str, field: &str) -> Option<u64> {
    let value = status.lines().find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))?;
    value.split_whitespace().next()?.parse().ok()
}

/// Resident set size (`VmRSS`), in KiB.
pub fn rss_kib(pid: i32) -> Option<u64> {
    status_kib(pid, "VmRSS")
}

/// `syscw` of `/proc/PID/io`: how many write system calls (`write`, `writev`, ...) the process
/// has made. Deliveries divided by it is how many messages each write carried.
pub fn write_calls(pid: i32) -> Option<u64> {
    let io = std::fs::read_to_string(format!("/proc/{pid}/io")).ok()?;
    parse_syscw(&io)
}

/// `syscw` from the text of `/proc/PID/io`.
pub fn parse_syscw(io: &str) -> Option<u64> {
    io.lines().find_map(|l| l.strip_prefix("syscw:"))?.trim().parse().ok()
}

/// Open file descriptors (entries of `/proc/PID/fd`).
pub fn fd_count(pid: i32) -> Option<usize> {
    Some(std::fs::read_dir(format!("/proc/{pid}/fd")).ok()?.count())
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

/// Busy CPU seconds of the whole machine, all cores (`/proc/stat`: everything but idle and
/// iowait).
pub fn machine_busy_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    parse_machine_busy(stat.lines().next()?).map(|t| t as f64 / clock_ticks())
}

/// Busy ticks from the `cpu` line of `/proc/stat`.
pub fn parse_machine_busy(cpu_line: &str) -> Option<u64> {
    let mut fields = cpu_line.split_ascii_whitespace();
    if fields.next()? != "cpu" {
        return None;
    }
    let ticks: Vec<u64> = fields.take(8).map(|f| f.parse().ok()).collect::<Option<_>>()?;
    let [user, nice, system, _idle, _iowait, irq, softirq, steal] = ticks[..] else { return None };
    Some(user + nice + system + irq + softirq + steal)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_fields() {
        let stat = "1234 (danmaku wall) S 1 1234 1234 0 -1 4194560 100 0 0 0 250 75 0 0 20 0 1 0 5 1000 200";
        assert_eq!(parse_stat_ticks(stat), Some(325));
        assert_eq!(parse_stat_ticks("1234 (x) S 1"), None);
    }

    #[test]
    fn status_fields() {
        let status = "Name:\tx\nVmHWM:\t  2048 kB\nVmRSS:\t  1024 kB\n";
        assert_eq!(parse_status_kib(status, "VmRSS"), Some(1024));
        assert_eq!(parse_status_kib(status, "VmHWM"), Some(2048));
        assert_eq!(parse_status_kib(status, "VmData"), None);
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
        let before = write_calls(pid).unwrap();
        use std::io::Write;
        let mut null = std::fs::OpenOptions::new().write(true).open("/dev/null").unwrap();
        null.write_all(b"one write(2)").unwrap();
        assert!(write_calls(pid).unwrap() > before);
        assert!(cpu_seconds(pid).is_some());
        assert!(rss_kib(pid).unwrap() > 0);
        assert!(fd_count(pid).unwrap() >= 3);
        assert!(self_cpu_seconds() >= 0.0);
        assert_eq!(rss_kib(-1), None);
    }
}
