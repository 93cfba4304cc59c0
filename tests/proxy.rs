//! TLS behind a proxy: a REAL nginx (Debian `nginx`) in front of the real binary, configured
//! from tests/proxy/nginx.conf.template (the config the README's "Deploying" section shows),
//! with a throwaway self-signed certificate, on a free port, as a child process stopped on
//! drop. HTTPS is driven with `curl -sk`, wss:// with tests/proxy/wss_client.py (python3's ssl
//! module: Rust has no TLS crate here).
//!
//! What it shows: pages, `/healthz` and WebSocket posts work through TLS and nginx; with
//! `--trust-proxy loopback`, a client that sends `X-Forwarded-For: 203.0.113.7` is seen as
//! 203.0.113.7 (nginx appends its peer, 127.0.0.1, which is trusted and skipped; 203.0.113.7 is
//! the right-most untrusted entry), in the access log and in the admins' `from`; a client that
//! sends none is seen as 127.0.0.1 (every entry trusted: the left-most); the same-origin check
//! passes for the proxied origin (`Host` keeps its port) and refuses another.
//!
//! nginx, openssl, curl and python3 are required: a missing one fails with the package to install.

mod common;

use std::io::ErrorKind;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Output, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use common::{Server, TempDir, Ws};
use danmaku_wall::wire::json::{self, Value};

const TOKEN: &str = "proxy-test-token-0123456789";
const HERE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/proxy");

/// Runs `program`, failing with the Debian package to install when it is missing.
fn run(program: &str, package: &str, args: &[&str]) -> Output {
    match Command::new(program).args(args).stdin(Stdio::null()).output() {
        Ok(out) => out,
        Err(e) if e.kind() == ErrorKind::NotFound => {
            panic!("`{program}` not found: install the Debian package {package} (apt-get install -y {package})")
        }
        Err(e) => panic!("cannot run {program}: {e}"),
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// nginx.conf.template with its placeholders filled in.
fn render_config(prefix: &str, https_port: u16, backend: SocketAddr) -> String {
    let template = std::fs::read_to_string(format!("{HERE}/nginx.conf.template")).expect("read the template");
    template
        .replace("@PREFIX@", prefix)
        .replace("@HTTPS_PORT@", &https_port.to_string())
        .replace("@CERT@", &format!("{prefix}/cert.pem"))
        .replace("@KEY@", &format!("{prefix}/key.pem"))
        .replace("@BACKEND@", &backend.to_string())
}

/// A running nginx in front of `backend`, stopped on drop.
struct Nginx {
    child: Child,
    port: u16,
    dir: TempDir,
}

impl Nginx {
    fn start(backend: SocketAddr) -> Nginx {
        let dir = TempDir::new("nginx");
        let prefix = dir.path.to_str().unwrap().to_string();
        let (key, cert) = (format!("{prefix}/key.pem"), format!("{prefix}/cert.pem"));
        let out = run(
            "openssl",
            "openssl",
            &["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost", "-days", "1"]
                .into_iter()
                .chain(["-keyout", &key, "-out", &cert])
                .collect::<Vec<_>>(),
        );
        assert!(out.status.success(), "openssl: {}", String::from_utf8_lossy(&out.stderr));
        let port = free_port();
        let conf = format!("{prefix}/nginx.conf");
        std::fs::write(&conf, render_config(&prefix, port, backend)).unwrap();
        let globals = format!("daemon off; pid {prefix}/nginx.pid; error_log stderr;");
        let spawned = Command::new("nginx")
            .args(["-c", &conf, "-p", &prefix, "-g", &globals])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn();
        let mut child = match spawned {
            Ok(child) => child,
            Err(e) if e.kind() == ErrorKind::NotFound => {
                panic!("`nginx` not found: install the Debian package nginx (apt-get install -y nginx)")
            }
            Err(e) => panic!("cannot run nginx: {e}"),
        };
        let deadline = Instant::now() + Duration::from_secs(5);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            if let Ok(Some(status)) = child.try_wait() {
                let mut err = String::new();
                use std::io::Read;
                let _ = child.stderr.take().map(|mut e| e.read_to_string(&mut err));
                panic!("nginx exited ({status}): {err}");
            }
            assert!(Instant::now() < deadline, "nginx did not listen on {port} within 5 s");
            thread::sleep(Duration::from_millis(20));
        }
        Nginx { child, port, dir }
    }

    /// `curl -sk https://127.0.0.1:PORT{path}`: status and body.
    fn curl(&self, path: &str) -> (u16, String) {
        let url = format!("https://127.0.0.1:{}{path}", self.port);
        let out = run("curl", "curl", &["-sk", "--max-time", "5", "-w", "\n%{http_code}", &url]);
        assert!(out.status.success(), "curl {url}: {out:?}");
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let (body, code) = text.rsplit_once('\n').expect("status line");
        (code.trim().parse().expect("status"), body.to_string())
    }

    /// tests/proxy/wss_client.py on `path` with `headers`, sending `send`, reading `expect`
    /// messages: (exit code, the lines it printed).
    fn wss(&self, path: &str, headers: &[&str], send: &[&str], expect: usize) -> (i32, Vec<String>) {
        let port = self.port.to_string();
        let expect = expect.to_string();
        let mut args = vec![
            format!("{HERE}/wss_client.py"),
            "--port".into(),
            port,
            "--path".into(),
            path.into(),
            "--expect".into(),
            expect,
        ];
        for h in headers {
            args.extend(["--header".to_string(), h.to_string()]);
        }
        for s in send {
            args.extend(["--send".to_string(), s.to_string()]);
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = run("python3", "python3", &args);
        let lines = String::from_utf8_lossy(&out.stdout).lines().map(str::to_string).collect();
        if !out.stderr.is_empty() {
            eprintln!("wss_client.py: {}", String::from_utf8_lossy(&out.stderr));
        }
        (out.status.code().unwrap_or(-1), lines)
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        // SIGTERM: nginx's fast shutdown (its worker goes with it); then make sure.
        // SAFETY: kill has no memory effects; the pid is our own child's.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(3);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = &self.dir;
    }
}

fn parse(text: &str) -> Value {
    json::parse(text, 16).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

fn str_of<'v>(v: &'v Value, key: &str) -> &'v str {
    v.get(key).and_then(Value::as_str).unwrap_or_else(|| panic!("no string {key} in {v:?}"))
}

fn backend(dir: &TempDir, extra: &[&str]) -> Server {
    let token = dir.join("token");
    std::fs::write(&token, TOKEN).unwrap();
    let mut flags = vec!["--trust-proxy", "loopback", "--rate", "0", "--admin-token-file", token.to_str().unwrap()];
    flags.extend_from_slice(extra);
    Server::start(&flags)
}

fn sign_in(addr: SocketAddr) -> Ws {
    let mut ws = Ws::connect(addr, "/admin/ws");
    ws.send_text(&format!(r#"{{"type":"auth","token":"{TOKEN}"}}"#));
    assert_eq!(str_of(&parse(&ws.recv_text()), "type"), "state");
    ws
}

fn next_post(admin: &mut Ws) -> Value {
    loop {
        let v = parse(&admin.recv_text());
        if str_of(&v, "type") == "post" {
            return v;
        }
    }
}

#[test]
fn https_through_nginx_serves_pages_health_and_settings() {
    let dir = TempDir::new("proxy-http");
    let server = backend(&dir, &["--public-url", "https://wall.example.org"]);
    let nginx = Nginx::start(server.addr());
    assert_eq!(nginx.curl("/healthz"), (200, "ok".to_string()));
    let (status, body) = nginx.curl("/settings.json");
    assert_eq!(status, 200);
    assert_eq!(str_of(&parse(&body), "public_url"), "https://wall.example.org");
    let (status, body) = nginx.curl("/wall");
    assert_eq!(status, 200);
    assert!(body.contains("id=\"wall\""), "the wall page: {body:.200}");
    assert_eq!(nginx.curl("/no-such-file").0, 404);
    // Plain HTTP on the TLS port is refused by nginx, not passed on.
    let out = run(
        "curl",
        "curl",
        &[
            "-s",
            "--max-time",
            "5",
            "-o",
            "/dev/null",
            "-w",
            "%{http_code}",
            &format!("http://127.0.0.1:{}/healthz", nginx.port),
        ],
    );
    assert_eq!(String::from_utf8_lossy(&out.stdout), "400");
}

#[test]
fn wss_through_nginx_posts_and_the_server_sees_the_forwarded_client() {
    let dir = TempDir::new("proxy-wss");
    let server = backend(&dir, &[]);
    let addr = server.addr();
    let nginx = Nginx::start(addr);
    let mut admin = sign_in(addr);
    let (mut direct, _) = Ws::join(addr, "tls");
    // A phone behind some other proxy that said 203.0.113.7; nginx appends 127.0.0.1.
    let (code, lines) =
        nginx.wss("/ws?room=tls", &["X-Forwarded-For: 203.0.113.7"], &[r#"{"msg":"over tls","ref":"t1"}"#], 3);
    assert_eq!(code, 0, "{lines:?}");
    let hello = parse(&lines[0]);
    assert_eq!((str_of(&hello, "type"), str_of(&hello, "room")), ("hello", "tls"));
    let mut rest: Vec<Value> = lines[1..].iter().map(|l| parse(l)).collect();
    rest.sort_by_key(|v| str_of(v, "type") != "ack");
    assert_eq!(rest[0], parse(r#"{"type":"ack","ref":"t1","id":1}"#));
    assert_eq!((str_of(&rest[1], "type"), str_of(&rest[1], "msg")), ("danmaku", "over tls"));
    // The wall connected directly sees the same danmaku.
    let seen = parse(&direct.recv_text());
    assert_eq!(seen, rest[1], "the same frame through nginx and directly");
    let post = next_post(&mut admin);
    assert_eq!(str_of(&post, "from"), "203.0.113.7", "{post:?}");
    assert!(server.wait_for_log("203.0.113.7 GET /ws 101", Duration::from_secs(2)), "{:?}", server.logs());
    // Without a header of its own, the client is nginx's peer: 127.0.0.1.
    let (code, lines) = nginx.wss("/ws?room=tls", &[], &[r#"{"msg":"plain"}"#], 2);
    assert_eq!(code, 0, "{lines:?}");
    assert_eq!(str_of(&next_post(&mut admin), "from"), "127.0.0.1");
    // A forged left part does not hide the address a trusted hop wrote after it.
    let (code, _) =
        nginx.wss("/ws?room=tls", &["X-Forwarded-For: 10.9.9.9, 198.51.100.77"], &[r#"{"msg":"forged"}"#], 2);
    assert_eq!(code, 0);
    assert_eq!(str_of(&next_post(&mut admin), "from"), "198.51.100.77");
    // A ban of the forwarded address holds through the proxy.
    admin.send_text(r#"{"type":"ban","address":"203.0.113.7","seconds":60}"#);
    let (code, lines) =
        nginx.wss("/ws?room=tls", &["X-Forwarded-For: 203.0.113.7"], &[r#"{"msg":"again","ref":"t2"}"#], 2);
    assert_eq!(code, 0, "{lines:?}");
    let reply = parse(&lines[1]);
    assert!(str_of(&reply, "error").contains("muted"), "{reply:?}");
}

#[test]
fn the_same_origin_check_passes_for_the_proxied_origin_only() {
    let dir = TempDir::new("proxy-origin");
    let server = backend(&dir, &[]);
    let nginx = Nginx::start(server.addr());
    let own = format!("Origin: https://127.0.0.1:{}", nginx.port);
    let (code, lines) = nginx.wss("/ws?room=o", &[&own], &[], 1);
    assert_eq!(code, 0, "a page served through the proxy may open its WebSocket: {lines:?}");
    assert_eq!(str_of(&parse(&lines[0]), "type"), "hello");
    let (code, lines) = nginx.wss("/ws?room=o", &["Origin: https://evil.example"], &[], 1);
    assert_eq!((code, lines), (2, vec!["STATUS 403".to_string()]));
    let (code, lines) = nginx.wss("/admin/ws", &["Origin: https://evil.example"], &[], 1);
    assert_eq!((code, lines), (2, vec!["STATUS 403".to_string()]));
}

#[test]
fn the_template_keeps_quiet_walls_alive_and_upgrades() {
    let template = std::fs::read_to_string(format!("{HERE}/nginx.conf.template")).unwrap();
    let directive = |name: &str| -> Vec<String> {
        template
            .lines()
            .map(str::trim)
            .filter(|l| l.starts_with(&format!("{name} ")))
            .map(|l| l[name.len()..].trim().trim_end_matches(';').to_string())
            .collect()
    };
    assert_eq!(directive("proxy_http_version"), ["1.1"]);
    assert_eq!(directive("proxy_set_header").len(), 5, "{:?}", directive("proxy_set_header"));
    assert!(directive("proxy_set_header").contains(&"X-Forwarded-For $proxy_add_x_forwarded_for".to_string()));
    assert!(directive("proxy_set_header").contains(&"Connection $connection_upgrade".to_string()));
    let timeout = &directive("proxy_read_timeout")[0];
    let secs: u64 = timeout.trim_end_matches('s').parse().expect("seconds");
    assert!(secs > 25 + 20, "proxy_read_timeout {secs} s must outlast the ping interval plus the ping timeout");
}

#[test]
fn a_quiet_wall_stays_connected_through_nginx_by_the_servers_pings() {
    let dir = TempDir::new("proxy-ping");
    let server = backend(&dir, &["--ping-interval", "1", "--ping-timeout", "1"]);
    let nginx = Nginx::start(server.addr());
    // Hello, then nothing for 3.5 s but pings (answered by the client), then a danmaku.
    let poster = thread::spawn({
        let addr = server.addr();
        move || {
            thread::sleep(Duration::from_millis(3500));
            let (mut ws, _) = Ws::join(addr, "quiet");
            ws.post("still there?", None);
            ws.recv_text();
        }
    });
    let (code, lines) = nginx.wss("/ws?room=quiet", &[], &[], 2);
    poster.join().unwrap();
    assert_eq!(code, 0, "{lines:?}");
    assert_eq!(str_of(&parse(&lines[1]), "msg"), "still there?");
}

#[test]
fn start_and_stop_scripts_run_the_same_config() {
    let dir = TempDir::new("proxy-scripts");
    let server = backend(&dir, &[]);
    let out = run("bash", "bash", &[&format!("{HERE}/start_nginx.sh"), &server.port().to_string()]);
    assert!(out.status.success(), "start_nginx.sh: {}", String::from_utf8_lossy(&out.stderr));
    let printed = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let (port, state) = printed.split_once(' ').unwrap_or_else(|| panic!("expected 'PORT DIR', got {printed:?}"));
    let pid: i32 = std::fs::read_to_string(format!("{state}/nginx.pid")).unwrap().trim().parse().unwrap();
    let url = format!("https://127.0.0.1:{port}/healthz");
    let curl = run("curl", "curl", &["-sk", "--max-time", "5", &url]);
    let healthy = String::from_utf8_lossy(&curl.stdout).into_owned();
    let stop = run("bash", "bash", &[&format!("{HERE}/stop_nginx.sh"), state]);
    assert_eq!(healthy, "ok");
    assert!(stop.status.success(), "stop_nginx.sh: {stop:?}");
    // SAFETY: signal 0 only checks that the process exists.
    assert_ne!(unsafe { libc::kill(pid, 0) }, 0, "nginx {pid} still running");
    assert!(!std::path::Path::new(state).exists(), "{state} left behind");
}
