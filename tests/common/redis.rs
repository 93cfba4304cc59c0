//! A private `redis-server` for the cluster tests: on a free port picked at run time, with its
//! data in a temporary folder (append-only file, fsync on every write, so a SIGKILL loses
//! nothing Redis acknowledged), killed when dropped. If `redis-server` is missing the helper
//! tries `apt-get install -y redis-server` once, then fails with a clear message: never skips.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Once;
use std::time::{Duration, Instant};

static INSTALL: Once = Once::new();

fn ensure_installed() {
    INSTALL.call_once(|| {
        let present = || Command::new("redis-server").arg("--version").stdout(Stdio::null()).status().is_ok();
        if !present() {
            eprintln!("redis-server not found: trying `apt-get install -y redis-server`");
            let _ = Command::new("apt-get").args(["install", "-y", "redis-server"]).stdout(Stdio::null()).status();
        }
        assert!(present(), "the cluster tests need redis-server: install it with `apt-get install -y redis-server`");
    });
}

/// A redis-server process of our own.
pub struct Redis {
    child: Option<Child>,
    pub port: u16,
    dir: PathBuf,
    extra: Vec<String>,
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

impl Redis {
    /// Starts one with `extra` arguments (e.g. `--requirepass x`).
    pub fn start(extra: &[&str]) -> Redis {
        ensure_installed();
        let dir = std::env::temp_dir().join(format!("danmaku-redis-{}-{}", std::process::id(), free_port()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut redis =
            Redis { child: None, port: free_port(), dir, extra: extra.iter().map(|s| s.to_string()).collect() };
        redis.launch();
        redis
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    fn launch(&mut self) {
        let port = self.port.to_string();
        let dir = self.dir.to_string_lossy().into_owned();
        let mut args: Vec<&str> = vec!["--port", &port, "--bind", "127.0.0.1", "--dir", &dir, "--save", ""];
        args.extend(["--appendonly", "yes", "--appendfsync", "always"]);
        args.extend(self.extra.iter().map(String::as_str));
        let child = Command::new("redis-server")
            .args(&args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start redis-server ({e}): `apt-get install -y redis-server`"));
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(Instant::now() < deadline, "redis-server did not listen on port {} within 10 s", self.port);
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGKILL: no goodbye to anyone.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts it again on the same port with the same data folder.
    pub fn restart(&mut self) {
        self.kill();
        self.launch();
    }

    pub fn pid(&self) -> i32 {
        self.child.as_ref().map_or(0, |c| c.id() as i32)
    }

    /// One command over a fresh connection (after `AUTH password` if given); the raw reply.
    pub fn command(&self, password: Option<&str>, args: &[&str]) -> String {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        let mut out = Vec::new();
        let mut encode = |args: &[&str]| {
            out.extend(format!("*{}\r\n", args.len()).bytes());
            for a in args {
                out.extend(format!("${}\r\n{a}\r\n", a.len()).bytes());
            }
        };
        if let Some(p) = password {
            encode(&["AUTH", p]);
        }
        encode(args);
        stream.write_all(&out).unwrap();
        let mut reply = Vec::new();
        let mut buf = [0u8; 4096];
        let want_lines = if password.is_some() { 2 } else { 1 };
        while reply.iter().filter(|&&b| b == b'\n').count() < want_lines {
            let n = stream.read(&mut buf).unwrap();
            assert!(n > 0, "redis closed the connection");
            reply.extend_from_slice(&buf[..n]);
        }
        String::from_utf8_lossy(&reply).into_owned()
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
