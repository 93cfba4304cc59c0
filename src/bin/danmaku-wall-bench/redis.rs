//! The bench's own Redis for `--redis-nodes`: a `redis-server` child on a free loopback port,
//! with persistence off (`--save '' --appendonly no`), ready once it answers `PING` with
//! `+PONG` (Redis docs, "PING"; RESP simple string), killed when dropped or when the bench
//! dies (`PR_SET_PDEATHSIG`).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// Longest wait for a started `redis-server` to answer `PING`.
const READY_TIMEOUT: Duration = Duration::from_secs(10);
/// Ports tried before giving up (another process may take the free port we picked).
const PORT_TRIES: usize = 3;
/// Output lines kept, for the error when it does not start.
const KEEP_LINES: usize = 20;

/// A running private `redis-server`.
pub struct RedisServer {
    child: Child,
    pub port: u16,
    output: Arc<Mutex<Vec<String>>>,
}

/// The arguments of a private, memory-only Redis on `127.0.0.1:port`.
pub fn redis_args(port: u16) -> Vec<String> {
    let args = ["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"];
    let quiet = ["--loglevel", "warning", "--daemonize", "no"];
    args.iter().chain(quiet.iter()).map(|s| s.to_string()).collect()
}

/// A loopback port nobody listens on right now.
pub fn free_port() -> Result<u16, String> {
    let socket = TcpListener::bind("127.0.0.1:0").map_err(|e| format!("no free port: {e}"))?;
    socket.local_addr().map(|a| a.port()).map_err(|e| format!("no free port: {e}"))
}

/// Whether a Redis on `port` answers `PING` with `+PONG` within `timeout`.
pub fn pings(port: u16, timeout: Duration) -> bool {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let Ok(mut stream) = TcpStream::connect_timeout(&addr, timeout) else { return false };
    let _ = stream.set_read_timeout(Some(timeout));
    if stream.write_all(b"PING\r\n").is_err() {
        return false;
    }
    let mut reply = [0u8; 7];
    stream.read_exact(&mut reply).is_ok() && &reply == b"+PONG\r\n"
}

impl RedisServer {
    /// Starts `binary` (e.g. `redis-server`) on a free port and waits until it answers.
    pub fn start(binary: &str) -> Result<RedisServer, String> {
        let mut last = String::new();
        for _ in 0..PORT_TRIES {
            match RedisServer::start_on(binary, free_port()?) {
                Ok(redis) => return Ok(redis),
                Err(why) => last = why,
            }
        }
        Err(last)
    }

    fn start_on(binary: &str, port: u16) -> Result<RedisServer, String> {
        let mut cmd = Command::new(binary);
        cmd.args(redis_args(port)).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
        // SAFETY: prctl is async-signal-safe and touches no memory of ours.
        unsafe {
            cmd.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
        let mut child = cmd.spawn().map_err(|e| {
            format!(
                "--redis-server {binary}: cannot start it ({e}); install Redis (Debian: apt-get install redis-server)"
            )
        })?;
        let output = Arc::new(Mutex::new(Vec::new()));
        keep_tail(child.stdout.take().expect("piped stdout"), Arc::clone(&output));
        keep_tail(child.stderr.take().expect("piped stderr"), Arc::clone(&output));
        let mut redis = RedisServer { child, port, output };
        let deadline = Instant::now() + READY_TIMEOUT;
        while !pings(port, Duration::from_millis(200)) {
            let exited = redis.child.try_wait().ok().flatten();
            if exited.is_some() || Instant::now() >= deadline {
                thread::sleep(Duration::from_millis(50)); // Let the readers catch the last lines.
                let why =
                    exited.map_or(format!("did not answer PING within {READY_TIMEOUT:?}"), |s| format!("exited ({s})"));
                return Err(format!("{binary} on port {port} {why}; output:\n{}", redis.output()));
            }
            thread::sleep(Duration::from_millis(10));
        }
        Ok(redis)
    }

    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    /// `redis://127.0.0.1:PORT`, for the nodes' `--redis`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// `Some(reason)` once it has exited.
    pub fn exited(&mut self) -> Option<String> {
        self.child.try_wait().ok().flatten().map(|s| s.to_string())
    }

    /// Its last output lines.
    pub fn output(&self) -> String {
        self.output.lock().map(|l| l.join("\n")).unwrap_or_default()
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Reads `from` line by line, keeping the last [`KEEP_LINES`] (and never blocking the child
/// on a full pipe).
fn keep_tail(from: impl Read + Send + 'static, lines: Arc<Mutex<Vec<String>>>) {
    thread::spawn(move || {
        for line in BufReader::new(from).lines() {
            let Ok(line) = line else { break };
            if let Ok(mut lines) = lines.lock() {
                if lines.len() == KEEP_LINES {
                    lines.remove(0);
                }
                lines.push(line);
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_turn_persistence_off() {
        let args = redis_args(6390);
        let at = |flag: &str| args.iter().position(|a| a == flag).map(|i| args[i + 1].as_str());
        assert_eq!(at("--port"), Some("6390"));
        assert_eq!(at("--bind"), Some("127.0.0.1"));
        assert_eq!(at("--save"), Some(""));
        assert_eq!(at("--appendonly"), Some("no"));
    }

    #[test]
    fn starts_answers_and_is_gone_when_dropped() {
        let mut redis = RedisServer::start("redis-server")
            .unwrap_or_else(|e| panic!("this test needs redis-server (apt-get install redis-server): {e}"));
        let (port, pid) = (redis.port, redis.pid());
        assert!(pings(port, Duration::from_secs(2)), "no PONG on {port}");
        assert_eq!(redis.url(), format!("redis://127.0.0.1:{port}"));
        assert!(danmaku_wall::kit::procfs::cpu_seconds(pid).is_some());
        assert_eq!(redis.exited(), None);
        drop(redis);
        assert!(!pings(port, Duration::from_millis(200)), "redis still answers on {port}");
        assert!(!std::path::Path::new(&format!("/proc/{pid}")).exists(), "redis pid {pid} still exists");
    }

    #[test]
    fn a_missing_binary_says_how_to_get_it() {
        let err = RedisServer::start("/nonexistent/redis-server").err().expect("no such binary");
        assert!(err.contains("cannot start") && err.contains("apt-get"), "{err}");
    }

    #[test]
    fn a_failing_binary_shows_its_output() {
        // `false` exits at once: the error names it and says it exited.
        let err = RedisServer::start("false").err().expect("false is no Redis");
        assert!(err.contains("exited"), "{err}");
    }
}
