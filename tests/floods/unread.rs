//! Clients that send without reading (HTTP pipelining, echo): the server must stop reading
//! from them until its replies drain, rather than buffer the replies.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::thread;
use std::time::{Duration, Instant};

use crate::common::{BINARY, FrameParser, Server, Ws, client_frame, connect, rss_kib};
use crate::support::{assert_clean_log, mib, served_within};

/// Takes every complete response at the front of `got` (each must be a 200); returns how
/// many. `answered` (those taken before) names the answer a failed assertion is about.
fn take_answers(got: &mut Vec<u8>, mut answered: usize) -> usize {
    let before = answered;
    loop {
        let mut slots = [httparse::EMPTY_HEADER; 32];
        let mut resp = httparse::Response::new(&mut slots);
        let Ok(httparse::Status::Complete(head)) = resp.parse(got) else {
            break;
        };
        assert_eq!(resp.code, Some(200), "answer {answered}");
        let len: usize = resp
            .headers
            .iter()
            .find(|h| h.name.eq_ignore_ascii_case("content-length"))
            .and_then(|h| std::str::from_utf8(h.value).ok()?.parse().ok())
            .expect("Content-Length");
        if got.len() < head + len {
            break;
        }
        got.drain(..head + len);
        answered += 1;
    }
    answered - before
}

/// Reads until `n` answers have come (within 20 s); returns the bytes left after them.
fn read_answers(stream: &mut TcpStream, n: usize) -> Vec<u8> {
    let mut got = Vec::new();
    let mut buf = vec![0u8; 65536];
    let mut answered = 0;
    let deadline = Instant::now() + Duration::from_secs(20);
    while answered < n {
        assert!(Instant::now() < deadline, "only {answered} of {n} answers");
        stream.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
        let read = stream.read(&mut buf).expect("read answers");
        assert!(read > 0, "EOF after {answered} answers");
        got.extend_from_slice(&buf[..read]);
        answered += take_answers(&mut got, answered);
    }
    got
}

/// The scenario of `a_client_that_pipelines_without_reading_is_paused_not_buffered`.
pub fn pipelining_client_is_paused_not_buffered() {
    let mut server = Server::start(&[]);
    let addr = server.addr();
    let pid = server.pid();
    served_within(addr, Duration::from_secs(2)).unwrap();
    let rss_before = rss_kib(pid);
    const N: usize = 2000;
    let mut stream = connect(addr);
    let mut writer = stream.try_clone().unwrap();
    let requests = format!("GET /wall HTTP/1.1\r\nHost: {addr}\r\n\r\n").repeat(N);
    let writing = thread::spawn(move || writer.write_all(requests.as_bytes()).map_err(|e| e.to_string()));
    // Not reading for a while: the server must stop reading too rather than queue ~N pages.
    thread::sleep(Duration::from_secs(1));
    let rss_paused = rss_kib(pid);
    let got = read_answers(&mut stream, N);
    writing.join().unwrap().expect("write the requests");
    println!(
        "pipelining without reading: {N} answers in order; RSS {:.1} MiB before, {:.1} MiB while the client did not read",
        mib(rss_before),
        mib(rss_paused)
    );
    assert!(got.is_empty(), "bytes after the last answer");
    assert!(rss_paused < rss_before + 4 * 1024, "RSS grew by {:.1} MiB", mib(rss_paused - rss_before));
    assert_clean_log(&mut server, "pipelining without reading");
}

/// Writes `n` binary messages of 64 KiB (message `i` all bytes `i % 251`) from a thread.
fn write_messages(mut writer: TcpStream, n: usize) -> thread::JoinHandle<Result<(), String>> {
    thread::spawn(move || {
        for i in 0..n {
            let payload = vec![(i % 251) as u8; 65536];
            writer.write_all(&client_frame(true, BINARY, &payload, [1, 2, 3, 4])).map_err(|e| e.to_string())?;
        }
        Ok::<(), String>(())
    })
}

/// Reads until `n` echoes have come (within 20 s), each the message written in its place.
fn read_echoes(stream: &mut TcpStream, already: Vec<u8>, n: usize) {
    let mut parser = FrameParser::new(already);
    let mut buf = vec![0u8; 65536];
    let mut echoed = 0;
    let deadline = Instant::now() + Duration::from_secs(20);
    while echoed < n {
        assert!(Instant::now() < deadline, "only {echoed} of {n} echoes");
        stream.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
        let read = stream.read(&mut buf).expect("read echoes");
        assert!(read > 0, "EOF after {echoed} echoes");
        parser.push(&buf[..read]);
        while let Some(f) = parser.next_frame().unwrap() {
            assert_eq!((f.opcode, f.payload.len()), (BINARY, 65536), "echo {echoed}");
            assert!(f.payload.iter().all(|&b| b == (echoed % 251) as u8), "echo {echoed} differs");
            echoed += 1;
        }
    }
}

/// The scenario of `an_echo_client_that_does_not_read_is_paused_not_buffered`.
pub fn echo_client_is_paused_not_buffered() {
    let mut server = Server::start(&["--echo"]);
    let addr = server.addr();
    let pid = server.pid();
    Ws::connect(addr, "/echo").assert_alive();
    let rss_before = rss_kib(pid);
    const N: usize = 300; // 64 KiB each: ~19 MiB echoed.
    let (mut stream, already) = Ws::connect(addr, "/echo").into_parts();
    let writing = write_messages(stream.try_clone().unwrap(), N);
    thread::sleep(Duration::from_secs(1));
    let rss_paused = rss_kib(pid);
    read_echoes(&mut stream, already, N);
    writing.join().unwrap().expect("write the messages");
    println!(
        "echo without reading: {N} × 64 KiB echoed in order; RSS {:.1} MiB before, {:.1} MiB while the client did not read",
        mib(rss_before),
        mib(rss_paused)
    );
    assert!(rss_paused < rss_before + 6 * 1024, "RSS grew by {:.1} MiB", mib(rss_paused - rss_before));
    assert_clean_log(&mut server, "echo without reading");
}
