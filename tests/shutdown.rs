//! SIGTERM and SIGINT: every WebSocket gets a 1001 close, idle HTTP connections are closed,
//! close replies are awaited at most 2 s, and the process exits 0.

mod common;

use std::time::{Duration, Instant};

use common::{HttpClient, Server, Ws};

fn idle_keep_alive(server: &Server) -> HttpClient {
    let addr = server.addr();
    let mut c = HttpClient::connect(addr);
    c.send(format!("GET / HTTP/1.1\r\nHost: {addr}\r\n\r\n").as_bytes());
    let r = c.read_response(false);
    assert_eq!(r.status, 200);
    assert!(!r.says_close());
    c
}

#[test]
fn sigterm_closes_everything_with_1001_and_exits_0() {
    let mut server = Server::start(&["--echo"]);
    let addr = server.addr();
    let mut sockets = vec![
        Ws::connect(addr, "/ws?room=a"),
        Ws::connect(addr, "/ws?room=a"),
        Ws::connect(addr, "/ws?room=b"),
        Ws::connect(addr, "/echo"),
    ];
    for ws in &mut sockets {
        ws.assert_alive();
    }
    let mut idle = idle_keep_alive(&server);
    let mut fresh = HttpClient::connect(addr); // Connected, nothing sent yet.
    let start = Instant::now();
    server.signal(libc::SIGTERM);
    for (i, ws) in sockets.iter_mut().enumerate() {
        assert_eq!(ws.recv_close(), Some(1001), "WebSocket {i}");
        ws.close(1001, "");
        let after = ws.drain_to_eof();
        assert!(after.is_empty(), "WebSocket {i}: frames after the close: {after:?}");
    }
    let rest = idle.read_to_eof();
    assert!(rest.is_empty(), "idle HTTP connection got {:?}", String::from_utf8_lossy(&rest));
    fresh.read_to_eof();
    drop(sockets);
    drop(idle);
    drop(fresh);
    let status = server.wait_exit(Duration::from_millis(2500)).expect("still running 2.5 s after SIGTERM");
    assert!(status.success(), "exit status {status:?}");
    assert_eq!(status.code(), Some(0));
    // Everyone answered, so there was no reason to wait out the 2 s.
    assert!(
        start.elapsed() < Duration::from_millis(1900),
        "exit took {:?} although every peer replied",
        start.elapsed()
    );
}

#[test]
fn sigterm_does_not_wait_more_than_2s_for_silent_peers() {
    let mut server = Server::start(&[]);
    let addr = server.addr();
    // These never answer the close frame, never close TCP.
    let mut silent = vec![Ws::connect(addr, "/ws?room=a"), Ws::connect(addr, "/ws?room=a")];
    let _idle = idle_keep_alive(&server);
    let start = Instant::now();
    server.signal(libc::SIGTERM);
    for ws in &mut silent {
        assert_eq!(ws.recv_close(), Some(1001));
    }
    let status = server.wait_exit(Duration::from_millis(2500)).expect("still running 2.5 s after SIGTERM");
    assert!(status.success(), "exit status {status:?}");
    assert!(
        start.elapsed() >= Duration::from_millis(1500),
        "exited after {:?} without waiting for close replies",
        start.elapsed()
    );
}

#[test]
fn sigint_exits_0_too() {
    let mut server = Server::start(&[]);
    let addr = server.addr();
    let mut ws = Ws::connect(addr, "/ws");
    let mut idle = idle_keep_alive(&server);
    let start = Instant::now();
    server.signal(libc::SIGINT);
    assert_eq!(ws.recv_close(), Some(1001));
    ws.close(1001, "");
    ws.expect_eof();
    idle.read_to_eof();
    drop(ws);
    drop(idle);
    let status = server.wait_exit(Duration::from_millis(2500)).expect("still running 2.5 s after SIGINT");
    assert_eq!(status.code(), Some(0));
    assert!(start.elapsed() < Duration::from_millis(2500));
}

#[test]
fn an_idle_server_exits_at_once() {
    let mut server = Server::start(&[]);
    let start = Instant::now();
    server.signal(libc::SIGTERM);
    let status = server.wait_exit(Duration::from_millis(2500)).expect("still running after SIGTERM");
    assert_eq!(status.code(), Some(0));
    assert!(start.elapsed() < Duration::from_millis(500), "took {:?}", start.elapsed());
}
