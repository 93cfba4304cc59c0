//! Starting the server binary under test and reading its address from the `listening on
//! http://HOST:PORT` line it logs once it accepts connections (INTERFACE.md, "Running").

use std::io::{self, BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// What the `listening on` line announces.
const LISTENING: &str = "listening on http://";

/// The address in a `... listening on http://HOST:PORT ...` log line.
pub fn parse_listening(line: &str) -> Option<SocketAddr> {
    let rest = &line[line.find(LISTENING)? + LISTENING.len()..];
    rest.split(|c: char| c.is_whitespace() || c == '/').next()?.parse().ok()
}

/// How to treat the spawned server's output and life.
#[derive(Debug, Clone)]
pub struct SpawnOptions {
    /// Keep every output line for [`ServerProcess::logs`] (tests); off for long runs.
    pub keep_logs: bool,
    /// Copy its warnings, errors and stderr lines to our stderr as they come (the bench).
    pub echo_problems: bool,
    /// Kill it when we die, even if we abort (`PR_SET_PDEATHSIG`).
    pub die_with_parent: bool,
    /// Longest wait for the `listening on` line.
    pub timeout: Duration,
}

impl Default for SpawnOptions {
    fn default() -> Self {
        SpawnOptions { keep_logs: true, echo_problems: false, die_with_parent: true, timeout: Duration::from_secs(10) }
    }
}

/// A running server process, killed on drop.
pub struct ServerProcess {
    child: Child,
    addr: SocketAddr,
    logs: Arc<Mutex<Vec<String>>>,
}

/// Reads `from` line by line into `logs` (stderr lines tagged `stderr: `); without
/// `keep_logs` only the first line and the `listening on` one are kept.
fn pump(from: impl Read + Send + 'static, tag: &'static str, logs: Arc<Mutex<Vec<String>>>, opts: &SpawnOptions) {
    let (keep, echo) = (opts.keep_logs, opts.echo_problems);
    thread::spawn(move || {
        for line in BufReader::new(from).lines() {
            let Ok(line) = line else { break };
            let line = format!("{tag}{line}");
            let problem = line.contains("WARN") || line.contains("ERROR") || !tag.is_empty();
            if echo && problem {
                eprintln!("server: {line}");
            }
            if let Ok(mut logs) = logs.lock()
                && (keep || logs.is_empty() || parse_listening(&line).is_some())
            {
                logs.push(line);
            }
        }
    });
}

impl ServerProcess {
    /// Spawns `command` with its output piped here and waits (at most `opts.timeout`) for its
    /// `listening on` line. The error says why, with what the process wrote.
    pub fn start(mut command: Command, opts: &SpawnOptions) -> Result<ServerProcess, String> {
        command.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
        if opts.die_with_parent {
            // SAFETY: prctl is async-signal-safe and touches no memory of ours.
            unsafe {
                command.pre_exec(|| {
                    libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                    Ok(())
                });
            }
        }
        let mut child = command.spawn().map_err(|e| format!("cannot start {:?}: {e}", command.get_program()))?;
        let logs = Arc::new(Mutex::new(Vec::new()));
        pump(child.stdout.take().expect("piped stdout"), "", Arc::clone(&logs), opts);
        pump(child.stderr.take().expect("piped stderr"), "stderr: ", Arc::clone(&logs), opts);
        let mut server = ServerProcess { child, addr: SocketAddr::from(([0, 0, 0, 0], 0)), logs };
        let deadline = Instant::now() + opts.timeout;
        loop {
            if let Some(addr) = server.logs().iter().find_map(|l| parse_listening(l)) {
                server.addr = addr;
                return Ok(server);
            }
            let exited = server.exit_status();
            if exited.is_some() || Instant::now() >= deadline {
                thread::sleep(Duration::from_millis(50)); // Let the readers catch the last lines.
                let why = exited.map_or("no 'listening on http://' line".to_string(), |s| format!("exited ({s})"));
                return Err(format!(
                    "the server {why} within {:?}; output:\n{}",
                    opts.timeout,
                    server.logs().join("\n")
                ));
            }
            thread::sleep(Duration::from_millis(5));
        }
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    /// The output lines kept so far (stderr ones start with `stderr: `).
    pub fn logs(&self) -> Vec<String> {
        self.logs.lock().map(|l| l.clone()).unwrap_or_default()
    }

    pub fn log_contains(&self, s: &str) -> bool {
        self.logs.lock().is_ok_and(|l| l.iter().any(|l| l.contains(s)))
    }

    /// Waits until a log line contains `s`; false after `timeout`.
    pub fn wait_for_log(&self, s: &str, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        while !self.log_contains(s) {
            if Instant::now() >= deadline {
                return false;
            }
            thread::sleep(Duration::from_millis(10));
        }
        true
    }

    pub fn signal(&self, sig: libc::c_int) -> io::Result<()> {
        // SAFETY: kill(2) on our own child's pid; it is not reaped before drop.
        let rc = unsafe { libc::kill(self.pid(), sig) };
        if rc == 0 { Ok(()) } else { Err(io::Error::last_os_error()) }
    }

    /// `Some(status)` once the process has exited.
    pub fn exit_status(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// Waits for the process to exit, at most `timeout`.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.exit_status() {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            thread::sleep(Duration::from_millis(5));
        }
    }

    /// SIGTERM, at most `grace` for it to exit, then SIGKILL. Says how it ended.
    pub fn stop(&mut self, grace: Duration) -> String {
        if let Some(status) = self.exit_status() {
            return format!("had already exited ({status})");
        }
        let _ = self.signal(libc::SIGTERM);
        match self.wait_exit(grace) {
            Some(status) => status.to_string(),
            None => {
                let _ = self.child.kill();
                let _ = self.child.wait();
                format!("killed after {grace:?}")
            }
        }
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listening_lines() {
        let line = "2024-01-01T00:00:00Z INFO  [danmaku_wall] listening on http://127.0.0.1:41234";
        assert_eq!(parse_listening(line), Some(SocketAddr::from(([127, 0, 0, 1], 41234))));
        assert_eq!(parse_listening("listening on http://[::1]:80/ (pages built in)").unwrap().port(), 80);
        assert_eq!(parse_listening("listening on http://nowhere"), None);
        assert_eq!(parse_listening("starting"), None);
    }

    #[test]
    fn a_process_that_prints_the_line() {
        let mut cmd = Command::new("sh");
        cmd.args(["-c", "echo 'listening on http://127.0.0.1:9'; echo oops >&2; exec sleep 30"]);
        let mut server = ServerProcess::start(cmd, &SpawnOptions::default()).unwrap();
        assert_eq!(server.addr().port(), 9);
        assert!(server.wait_for_log("stderr: oops", Duration::from_secs(5)));
        assert!(server.stop(Duration::from_secs(5)).contains("signal"));
    }

    #[test]
    fn a_process_that_does_not() {
        let mut cmd = Command::new("sh");
        cmd.args(["-c", "echo bye; exit 3"]);
        let err = ServerProcess::start(cmd, &SpawnOptions::default()).err().unwrap();
        assert!(err.contains("exited") && err.contains("bye"), "{err}");
    }
}
