//! Slowloris: 300 heads trickled one byte every 200 ms, each closed at `--request-timeout`
//! while normal clients are still served, before, during and after the mass timeout.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::thread;
use std::time::{Duration, Instant};

use crate::common::{Server, connect, fd_count};
use crate::support::{assert_clean_log, served_within, settled_fd_count, wait_until};

/// One slow connection: how much of the head it has sent, what it got back, and how long
/// after opening the server closed it.
struct Loris {
    stream: TcpStream,
    opened: Instant,
    sent: usize,
    got: Vec<u8>,
    closed_after: Option<Duration>,
}

impl Loris {
    /// A non-blocking connection that has sent nothing yet.
    fn open(addr: SocketAddr) -> Loris {
        let stream = connect(addr);
        stream.set_nonblocking(true).unwrap();
        Loris { stream, opened: Instant::now(), sent: 0, got: Vec::new(), closed_after: None }
    }

    /// Sends the next byte of `head` if `write_now`, then reads all the server has sent,
    /// noting when it closed (EOF or reset).
    fn pump(&mut self, head: &[u8], write_now: bool, buf: &mut [u8]) {
        if write_now {
            match self.stream.write(&head[self.sent..self.sent + 1]) {
                Ok(_) => self.sent += 1,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(_) => {} // Reset: the read below sees it.
            }
        }
        loop {
            match self.stream.read(buf) {
                Ok(0) => {
                    self.closed_after = Some(self.opened.elapsed());
                    break;
                }
                Ok(n) => self.got.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => {
                    self.closed_after = Some(self.opened.elapsed());
                    break;
                }
            }
        }
    }
}

/// Trickles `head` into every open loris, one byte each 200 ms, until all are closed or 6 s
/// have passed since `start`; the thread returns them.
fn trickle(mut loris: Vec<Loris>, head: Vec<u8>, start: Instant) -> thread::JoinHandle<Vec<Loris>> {
    thread::spawn(move || {
        let mut next_byte = Instant::now();
        let mut buf = [0u8; 4096];
        while start.elapsed() < Duration::from_secs(6) && loris.iter().any(|l| l.closed_after.is_none()) {
            let write_now = Instant::now() >= next_byte;
            if write_now {
                next_byte += Duration::from_millis(200);
            }
            for l in loris.iter_mut().filter(|l| l.closed_after.is_none()) {
                l.pump(&head, write_now, &mut buf);
            }
            thread::sleep(Duration::from_millis(10));
        }
        loris
    })
}

/// A normal `GET /` every 250 ms until 3.2 s after `start`, each answered within 500 ms;
/// returns how long each took.
fn probe_meanwhile(addr: SocketAddr, start: Instant) -> Vec<Duration> {
    let mut probes = Vec::new();
    while start.elapsed() < Duration::from_millis(3200) {
        thread::sleep(Duration::from_millis(250));
        let took = served_within(addr, Duration::from_millis(500))
            .unwrap_or_else(|e| panic!("a normal GET / {:?} into the slowloris: {e}", start.elapsed()));
        probes.push(took);
    }
    probes
}

/// The scenario of `slowloris_heads_are_closed_and_others_are_served_meanwhile`.
pub fn heads_are_closed_and_others_are_served_meanwhile() {
    let mut server = Server::start(&["--request-timeout", "2"]);
    let addr = server.addr();
    let pid = server.pid();
    served_within(addr, Duration::from_secs(2)).unwrap();
    let fds_before = settled_fd_count(pid);
    const N: usize = 300;
    let head = format!("GET / HTTP/1.1\r\nHost: {addr}\r\nUser-Agent: slowloris\r\nX-Pad: {}\r\n\r\n", "p".repeat(200))
        .into_bytes();
    let loris: Vec<Loris> = (0..N).map(|_| Loris::open(addr)).collect();
    let start = Instant::now();
    let trickler = trickle(loris, head, start);
    // Meanwhile, normal clients are served promptly, before, during and after the mass timeout.
    let probes = probe_meanwhile(addr, start);
    let loris = trickler.join().unwrap();
    let closed: Vec<Duration> = loris.iter().filter_map(|l| l.closed_after).collect();
    let first = closed.iter().min().copied();
    let last = closed.iter().max().copied();
    let fds_after_close = fd_count(pid);
    drop(loris.into_iter().map(|l| (l.got, l.sent)).collect::<Vec<_>>());
    let fds_back = wait_until(Duration::from_secs(2), || fd_count(pid) <= fds_before + 3);
    println!(
        "slowloris: {N} connections, {} closed by the server (first after {first:?}, last after {last:?}); \
         {} probes, slowest {:?}; server fds {fds_before} before, {fds_after_close} at the end, {} after",
        closed.len(),
        probes.len(),
        probes.iter().max(),
        fd_count(pid)
    );
    assert_eq!(closed.len(), N, "not every slow head was closed within 6 s");
    assert!(first.unwrap() >= Duration::from_millis(1800), "closed before the request timeout: {first:?}");
    assert!(last.unwrap() <= Duration::from_secs(4), "closed late: {last:?}");
    assert!(probes.len() >= 8);
    assert!(fds_back, "server fds did not return to {fds_before} (+3): {}", fd_count(pid));
    assert_clean_log(&mut server, "slowloris");
}
