//! Timeouts: a partial head is closed at `--request-timeout`, an idle keep-alive
//! connection at `--keepalive-timeout`.

use std::io::Write;
use std::thread;
use std::time::{Duration, Instant};

use crate::common::{HttpClient, Server, get};
use crate::support::req;

/// The bytes a slow head gets back: a whole 408 response, or nothing (then EOF).
fn assert_408_or_nothing(bytes: &[u8], what: &str) {
    let text = String::from_utf8_lossy(bytes);
    assert!(
        bytes.is_empty() || (text.starts_with("HTTP/1.1 408 ") && text.contains("\r\n\r\n")),
        "{what}: unexpected answer: {text:?}"
    );
}

pub fn request_timeout_closes_a_partial_head() {
    let server = Server::start(&["--request-timeout", "1"]);
    let addr = server.addr();
    let start = Instant::now();
    let mut slow = HttpClient::connect(addr);
    slow.send(format!("GET / HTTP/1.1\r\nHost: {addr}\r\n").as_bytes());
    // Another connection is served meanwhile.
    thread::sleep(Duration::from_millis(200));
    let r = get(addr, "/");
    assert_eq!(r.status, 200);
    // A connection that sends nothing at all is closed too, and so is one that sent a byte.
    let mut silent = HttpClient::connect(addr);
    let mut one_byte = HttpClient::connect(addr);
    one_byte.send(b"G");
    let rest = slow.read_to_eof();
    let elapsed = start.elapsed();
    assert!(elapsed >= Duration::from_millis(800) && elapsed <= Duration::from_secs(3), "closed after {elapsed:?}");
    assert_408_or_nothing(&rest, "partial head");
    assert_408_or_nothing(&silent.read_to_eof(), "silent");
    assert_408_or_nothing(&one_byte.read_to_eof(), "one byte");
    // Dribbling bytes does not extend the deadline.
    let start = Instant::now();
    let mut dribbler = HttpClient::connect(addr);
    dribbler.send(b"GET / HTTP/1.1\r\n");
    loop {
        let _ = dribbler.stream.write_all(b"X-A: b\r\n");
        if dribbler.eof_within(Duration::from_millis(200)).is_some() {
            break;
        }
        assert!(start.elapsed() <= Duration::from_secs(3), "a dribbled head outlived --request-timeout");
    }
    assert!(start.elapsed() >= Duration::from_millis(800), "closed after {:?}", start.elapsed());
}

pub fn keepalive_timeout_closes_an_idle_connection() {
    let server = Server::start(&["--keepalive-timeout", "1"]);
    let addr = server.addr();
    let mut c = HttpClient::connect(addr);
    c.send(&req(addr, "GET", "/", ""));
    assert_eq!(c.read_response(false).status, 200);
    let idle_since = Instant::now();
    let rest = c.read_to_eof();
    let elapsed = idle_since.elapsed();
    assert!(rest.is_empty(), "sent after the response: {:?}", String::from_utf8_lossy(&rest));
    assert!(elapsed >= Duration::from_millis(800) && elapsed <= Duration::from_secs(3), "closed after {elapsed:?}");
}
