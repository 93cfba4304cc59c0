//! `--redis-nodes N`: the server under test as a cluster (INTERFACE.md, "Cluster"): a private
//! Redis ([`crate::redis`]), then N nodes from `--spawn`, each with `--redis URL`, on one free
//! port each or all on one port with `--reuse-port`. The run starts once every node answers
//! `GET /healthz` with `200` (the contract's readiness signal: serving and connected to Redis).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::thread;
use std::time::{Duration, Instant};

use crate::args::Cluster;
use crate::fleet::Fleet;
use crate::procinfo::{SPAWN_BIND, Server};
use crate::redis::RedisServer;

/// Longest wait for the nodes to be ready.
const READY_TIMEOUT: Duration = Duration::from_secs(15);
/// With a shared port the bench cannot pick the node a connection reaches: it waits for this
/// many `200`s in a row per node (each from a new connection, hashed to a node by the
/// kernel); a node not ready yet is missed with odds of about e^-10.
const SHARED_PORT_STREAK: usize = 10;

/// The flags of node number `i` (from 0) besides `--bind` and [`crate::procinfo::SPAWN_ARGS`]:
/// the Redis, the shared port, then the user's `--server-arg`s.
pub fn node_args(redis_url: &str, reuse_port: bool, extra: &[String]) -> Vec<String> {
    let mut args = vec!["--redis".to_string(), redis_url.to_string()];
    if reuse_port {
        args.push("--reuse-port".to_string());
    }
    args.extend(extra.iter().cloned());
    args
}

/// Starts the Redis and the nodes and waits until every node is ready.
pub fn start(path: &str, extra: &[String], c: &Cluster) -> Result<Fleet, String> {
    let redis = RedisServer::start(&c.redis_server)?;
    eprintln!("redis-server listening on 127.0.0.1:{} (pid {})", redis.port, redis.pid());
    let args = node_args(&redis.url(), c.reuse_port, extra);
    let mut nodes: Vec<Server> = Vec::with_capacity(c.nodes);
    for i in 0..c.nodes {
        // With --reuse-port the first node picks the port and the others bind it too.
        let bind = match (c.reuse_port, nodes.first().and_then(|n| n.addr)) {
            (true, Some(addr)) => addr.to_string(),
            _ => SPAWN_BIND.to_string(),
        };
        let node = Server::spawn(path, &bind, &args).map_err(|e| format!("node {}: {e}", i + 1))?;
        eprintln!(
            "node {} listening on {} (pid {})",
            i + 1,
            node.addr.map_or("?".to_string(), |a| a.to_string()),
            node.pid
        );
        nodes.push(node);
    }
    let mut fleet = Fleet { nodes, redis: Some(redis), shared_port: c.reuse_port, metrics_at: Vec::new() };
    wait_ready(&mut fleet)?;
    Ok(fleet)
}

/// Waits until every node answers `/healthz` with `200`.
fn wait_ready(fleet: &mut Fleet) -> Result<(), String> {
    let deadline = Instant::now() + READY_TIMEOUT;
    let addrs: Vec<SocketAddr> = fleet.nodes.iter().filter_map(|n| n.addr).collect();
    let targets: Vec<(SocketAddr, usize)> = if fleet.shared_port {
        vec![(addrs[0], SHARED_PORT_STREAK * addrs.len())]
    } else {
        addrs.iter().map(|&a| (a, 1)).collect()
    };
    for (addr, streak) in targets {
        let mut run = 0;
        while run < streak {
            if let Some(how) = fleet.exited() {
                return Err(format!("the cluster did not start: {how}"));
            }
            let status = healthz(addr);
            if status == Some(200) {
                run += 1;
                continue;
            }
            run = 0;
            if Instant::now() >= deadline {
                let got = status.map_or("no answer".to_string(), |s| format!("status {s}"));
                return Err(format!(
                    "GET /healthz on {addr}: {got} after {READY_TIMEOUT:?} (is the node connected to Redis?)"
                ));
            }
            thread::sleep(Duration::from_millis(50));
        }
    }
    Ok(())
}

/// The status code of `GET /healthz` on `addr`, from a new connection; `None` when it does not
/// answer within a second.
pub fn healthz(addr: SocketAddr) -> Option<u16> {
    let timeout = Duration::from_secs(1);
    let mut stream = TcpStream::connect_timeout(&addr, timeout).ok()?;
    stream.set_read_timeout(Some(timeout)).ok()?;
    let request = format!("GET /healthz HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).ok()?;
    let mut head = Vec::new();
    let mut buf = [0u8; 512];
    while !head.windows(2).any(|w| w == b"\r\n") {
        let n = stream.read(&mut buf).ok()?;
        if n == 0 || head.len() > 4096 {
            return None;
        }
        head.extend_from_slice(&buf[..n]);
    }
    status_code(&head)
}

/// The status code of an HTTP/1.x status line (RFC 9112 §4: `HTTP/1.1 SP 3DIGIT SP reason`).
pub fn status_code(head: &[u8]) -> Option<u16> {
    let line = head.split(|&b| b == b'\r').next()?;
    let rest = line.strip_prefix(b"HTTP/1.")?.get(2..)?;
    let code = rest.get(..3)?;
    if !code.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(code).ok()?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_flags() {
        let extra = ["--log".to_string(), "warn".to_string()];
        assert_eq!(
            node_args("redis://127.0.0.1:7000", false, &extra),
            ["--redis", "redis://127.0.0.1:7000", "--log", "warn"]
        );
        assert_eq!(
            node_args("redis://127.0.0.1:7000", true, &[]),
            ["--redis", "redis://127.0.0.1:7000", "--reuse-port"]
        );
    }

    #[test]
    fn status_lines() {
        assert_eq!(status_code(b"HTTP/1.1 200 OK\r\n"), Some(200));
        assert_eq!(status_code(b"HTTP/1.0 503 Service Unavailable\r\nx"), Some(503));
        assert_eq!(status_code(b"HTTP/1.1 20"), None);
        assert_eq!(status_code(b"HTTP/2 200\r\n"), None);
        assert_eq!(status_code(b"SSH-2.0\r\n"), None);
    }

    #[test]
    fn healthz_of_a_plain_listener() {
        // A one-shot HTTP answer on a free port: the probe reads its status code; a port
        // nobody listens on gives none.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let server = thread::spawn(move || {
            let (mut s, _) = listener.accept().unwrap();
            let mut buf = [0u8; 256];
            let _ = s.read(&mut buf);
            s.write_all(b"HTTP/1.1 503 Service Unavailable\r\ncontent-length: 0\r\n\r\n").unwrap();
        });
        assert_eq!(healthz(addr), Some(503));
        server.join().unwrap();
        assert_eq!(healthz(addr), None);
    }

    #[test]
    fn a_node_that_cannot_start_stops_the_cluster_with_a_reason() {
        // `false` is no server: the bench's Redis starts, the node does not, and the error
        // names the node; the Redis is stopped with it (dropped).
        let c = Cluster { nodes: 2, reuse_port: false, redis_server: "redis-server".to_string() };
        let err = start("false", &[], &c).err().expect("false is no node");
        assert!(err.starts_with("node 1: ") && err.contains("exited"), "{err}");
    }
}
