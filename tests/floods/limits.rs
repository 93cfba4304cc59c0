//! Connection limits: past `--max-connections` new connections get a 503 until some close;
//! out of file descriptors, accepting pauses (without a busy loop) until one frees.

use std::net::SocketAddr;
use std::thread;
use std::time::{Duration, Instant};

use crate::common::{HttpClient, Server, Ws, cpu_seconds, fd_count};
use crate::support::{assert_clean_log, keep_alive, served_within};

/// A connection over the limit: a 503 (whether or not it sent a request), then EOF.
fn expect_503(addr: SocketAddr, send_request: bool) -> Result<(), String> {
    let mut c = HttpClient::connect(addr);
    if send_request {
        c.send(format!("GET / HTTP/1.1\r\nHost: {addr}\r\n\r\n").as_bytes());
    }
    let r = c.try_read_response(false, Duration::from_secs(2))?;
    if r.status != 503 {
        return Err(format!("status {}", r.status));
    }
    c.eof_within(Duration::from_secs(2)).ok_or("no EOF after the 503")?;
    Ok(())
}

/// The scenario of `past_max_connections_new_ones_get_503_until_some_close`.
pub fn new_ones_get_503_until_some_close() {
    let mut server = Server::start(&["--max-connections", "50"]);
    let addr = server.addr();
    let mut http: Vec<HttpClient> = (0..25).map(|_| keep_alive(addr)).collect();
    let mut ws: Vec<Ws> = (0..25).map(|i| Ws::connect(addr, &format!("/ws?room=cap{}", i % 3))).collect();
    for i in 51..=60 {
        expect_503(addr, i % 2 == 0).unwrap_or_else(|e| panic!("connection {i}: {e}"));
    }
    // The 50 are all still served.
    for c in &mut http {
        c.send(format!("HEAD / HTTP/1.1\r\nHost: {addr}\r\n\r\n").as_bytes());
        assert_eq!(c.read_response(true).status, 200);
    }
    for w in &mut ws {
        w.assert_alive();
    }
    // Close 10 (5 of each kind): 10 new ones are served.
    http.drain(..5);
    ws.drain(..5);
    let mut fresh = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(2);
    while fresh.len() < 10 {
        assert!(Instant::now() < deadline, "only {} new connections served after closing 10", fresh.len());
        let mut c = HttpClient::connect(addr);
        c.send(format!("GET /post HTTP/1.1\r\nHost: {addr}\r\n\r\n").as_bytes());
        match c.try_read_response(false, Duration::from_secs(2)) {
            Ok(r) if r.status == 200 => fresh.push(c),
            Ok(r) if r.status == 503 => thread::sleep(Duration::from_millis(20)), // The closes are not seen yet.
            other => panic!("a new connection after closing 10: {other:?}"),
        }
    }
    // Full again.
    expect_503(addr, true).expect("the 51st once full again");
    println!("max connections: 50 open, 10 refused with 503, 10 closed, 10 new ones served, full again");
    assert_clean_log(&mut server, "max connections");
}

/// Opens keep-alive connections (at most 100) until one is not answered and the server logs
/// "accepting paused"; returns those served and the one left waiting.
fn serve_until_paused(server: &Server) -> (Vec<HttpClient>, HttpClient) {
    let addr = server.addr();
    let mut served = Vec::new();
    let mut waiting = None;
    for _ in 0..100 {
        let mut c = HttpClient::connect(addr);
        c.send(format!("GET / HTTP/1.1\r\nHost: {addr}\r\n\r\n").as_bytes());
        match c.try_read_response(false, Duration::from_millis(300)) {
            Ok(r) => {
                assert_eq!(r.status, 200);
                served.push(c);
            }
            Err(_) if server.wait_for_log("accepting paused", Duration::from_secs(2)) => {
                waiting = Some(c);
                break;
            }
            Err(_) => {
                // Only slow: it must still be answered.
                assert_eq!(c.read_response(false).status, 200);
                served.push(c);
            }
        }
    }
    (served, waiting.expect("the server never ran out of descriptors"))
}

/// `n` connections that send `GET /wall` without waiting for the answer.
fn knock(addr: SocketAddr, n: usize) -> Vec<HttpClient> {
    (0..n)
        .map(|_| {
            let mut c = HttpClient::connect(addr);
            c.send(format!("GET /wall HTTP/1.1\r\nHost: {addr}\r\n\r\n").as_bytes());
            c
        })
        .collect()
}

/// The scenario of `out_of_descriptors_pauses_accepting_without_spinning`.
pub fn out_of_descriptors_pauses_accepting_without_spinning() {
    let mut server = Server::start_with_fd_limit(64, &[]);
    let addr = server.addr();
    let pid = server.pid();
    assert!(server.log_contains("open-file limit 64"), "log: {:?}", server.logs());
    let (mut served, mut waiting) = serve_until_paused(&server);
    let fds = fd_count(pid);
    // A few more knock while it is paused.
    let mut knocking = knock(addr, 5);
    let cpu_before = cpu_seconds(pid);
    thread::sleep(Duration::from_millis(1500));
    let cpu_used = cpu_seconds(pid) - cpu_before;
    println!(
        "fd exhaustion: {} connections served with a limit of 64 ({fds} fds open); while paused, {cpu_used:.2} s of CPU in 1.5 s",
        served.len()
    );
    assert!(served.len() >= 40, "only {} connections before running out", served.len());
    assert!(cpu_used < 0.3, "busy loop while out of descriptors: {cpu_used:.2} s of CPU in 1.5 s");
    // Free 20: the waiting ones are served, and new ones too.
    served.drain(..20);
    let r = waiting
        .try_read_response(false, Duration::from_secs(2))
        .expect("the waiting connection is served once fds are free");
    assert_eq!(r.status, 200);
    for (i, c) in knocking.iter_mut().enumerate() {
        let r = c.try_read_response(false, Duration::from_secs(2)).unwrap_or_else(|e| panic!("knocking {i}: {e}"));
        assert_eq!(r.status, 200);
    }
    for _ in 0..5 {
        served_within(addr, Duration::from_secs(1)).expect("a new connection after freeing descriptors");
    }
    assert!(server.is_running());
    let bad: Vec<String> =
        server.logs().into_iter().filter(|l| l.contains("ERROR") || l.contains("panicked")).collect();
    assert!(bad.is_empty(), "{bad:?}");
}
