//! `--redis` with a host name: the stub resolver (`server::resolve`) against a fake
//! nameserver on 127.0.0.1 (a free port, answers written byte by byte here, not with the
//! crate's own encoder), and the binary's exit codes when the name cannot be found or the URL
//! is malformed.

use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use danmaku_wall::server::resolve::{Resolver, lookup_with};

/// What the fake nameserver does with a question for a name.
fn behaviour(name: &str, qtype: u16) -> Vec<Answer> {
    match (name, qtype) {
        ("redis.test.", 1) => vec![Answer::A([127, 0, 0, 1])],
        ("redis.test.", _) => vec![Answer::NoData],
        ("v6.test.", 1) => vec![Answer::NoData],
        ("v6.test.", 28) => vec![Answer::Aaaa(1)],
        ("spoofed.test.", _) => vec![Answer::WrongId([10, 6, 6, 6]), Answer::A([127, 0, 0, 2])],
        ("broken.test.", _) => vec![Answer::ServFail],
        ("quiet.test.", _) => vec![],
        _ => vec![Answer::NxDomain],
    }
}

#[derive(Clone, Copy)]
enum Answer {
    A([u8; 4]),
    /// `::N`
    Aaaa(u8),
    NoData,
    NxDomain,
    ServFail,
    /// An A answer with the ID plus one: must be ignored.
    WrongId([u8; 4]),
}

/// A nameserver on 127.0.0.1 that answers per [`behaviour`] and records the questions.
struct FakeDns {
    addr: SocketAddr,
    questions: Arc<Mutex<Vec<(String, u16)>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl FakeDns {
    fn start() -> FakeDns {
        let socket = UdpSocket::bind("127.0.0.1:0").expect("bind a UDP port on 127.0.0.1");
        socket.set_read_timeout(Some(Duration::from_millis(50))).unwrap();
        let addr = socket.local_addr().unwrap();
        let questions = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (q, s) = (questions.clone(), stop.clone());
        let thread = thread::spawn(move || serve(&socket, &q, &s));
        FakeDns { addr, questions, stop, thread: Some(thread) }
    }

    fn resolver(&self, resolv_conf: &str, hosts: &str) -> Resolver {
        let mut r = Resolver::from_files(resolv_conf, hosts);
        r.nameservers = vec![self.addr];
        r.timeout = Duration::from_millis(300);
        r
    }

    fn questions(&self) -> Vec<(String, u16)> {
        self.questions.lock().unwrap().clone()
    }
}

impl Drop for FakeDns {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn serve(socket: &UdpSocket, questions: &Mutex<Vec<(String, u16)>>, stop: &AtomicBool) {
    let mut buf = [0u8; 512];
    while !stop.load(Ordering::Relaxed) {
        let Ok((n, from)) = socket.recv_from(&mut buf) else { continue };
        let query = &buf[..n];
        let (name, question_end) = read_qname(query);
        let qtype = u16::from_be_bytes([query[question_end], query[question_end + 1]]);
        questions.lock().unwrap().push((name.clone(), qtype));
        for answer in behaviour(&name, qtype) {
            socket.send_to(&respond(query, question_end + 4, answer), from).unwrap();
        }
    }
}

/// The question's name as dotted lower-case text with a final dot (names are compared
/// case-insensitively, RFC 4343), and where QTYPE starts.
fn read_qname(query: &[u8]) -> (String, usize) {
    let mut pos = 12;
    let mut name = String::new();
    while query[pos] != 0 {
        let len = usize::from(query[pos]);
        name.push_str(&std::str::from_utf8(&query[pos + 1..pos + 1 + len]).unwrap().to_ascii_lowercase());
        name.push('.');
        pos += 1 + len;
    }
    (name, pos + 1)
}

/// RFC 1035 §4.1: the query's header and question, QR RA set, and `answer`.
fn respond(query: &[u8], question_end: usize, answer: Answer) -> Vec<u8> {
    let mut r = query[..question_end].to_vec();
    let rcode = match answer {
        Answer::NxDomain => 3,
        Answer::ServFail => 2,
        _ => 0,
    };
    r[2] = 0x81; // QR, RD
    r[3] = 0x80 | rcode; // RA
    let record = |rtype: u8, rdata: &[u8]| {
        let mut rr = vec![0xC0, 0x0C, 0, rtype, 0, 1, 0, 0, 0, 30, 0, rdata.len() as u8];
        rr.extend_from_slice(rdata);
        rr
    };
    let rr = match answer {
        Answer::A(ip) => record(1, &ip),
        Answer::WrongId(ip) => {
            r[1] = r[1].wrapping_add(1);
            record(1, &ip)
        }
        Answer::Aaaa(last) => record(28, &[[0; 15].as_slice(), &[last]].concat()),
        _ => Vec::new(),
    };
    if !rr.is_empty() {
        r[7] = 1; // ANCOUNT
        r.extend_from_slice(&rr);
    }
    r
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

#[test]
fn a_name_is_found_through_the_search_list() {
    let dns = FakeDns::start();
    let r = dns.resolver("search test\n", "");
    assert_eq!(r.lookup("redis").unwrap(), ip("127.0.0.1"));
    assert_eq!(dns.questions(), [("redis.test.".to_string(), 1)], "search domain first, A first");
    assert_eq!(r.lookup("redis.test").unwrap(), ip("127.0.0.1"), "one dot: as it is first");
    assert_eq!(r.lookup("REDIS.test.").unwrap(), ip("127.0.0.1"), "any case");
}

#[test]
fn aaaa_when_there_is_no_a() {
    let dns = FakeDns::start();
    assert_eq!(dns.resolver("", "").lookup("v6.test").unwrap(), ip("::1"));
    assert_eq!(dns.questions(), [("v6.test.".to_string(), 1), ("v6.test.".to_string(), 28)]);
}

#[test]
fn literals_localhost_and_hosts_file_ask_no_nameserver() {
    let dns = FakeDns::start();
    let r = dns.resolver("search test\n", "# comment\n10.1.2.3 cache redis # alias\n");
    assert_eq!(r.lookup("redis").unwrap(), ip("10.1.2.3"));
    assert_eq!(r.lookup("10.9.8.7").unwrap(), ip("10.9.8.7"));
    assert_eq!(r.lookup("fd00::1").unwrap(), ip("fd00::1"));
    assert_eq!(r.lookup("localhost").unwrap(), ip("127.0.0.1"));
    assert!(dns.questions().is_empty(), "{:?}", dns.questions());
}

#[test]
fn no_such_name_is_an_error_naming_the_host() {
    let dns = FakeDns::start();
    let r = dns.resolver("search test corp\n", "");
    let err = r.lookup("nothing").unwrap_err();
    assert_eq!(err.kind(), std::io::ErrorKind::NotFound);
    let message = err.to_string();
    assert!(message.contains("no address for nothing (tried 1 nameserver for"), "{message}");
    let asked: Vec<String> = dns.questions().into_iter().map(|(n, _)| n).collect();
    assert_eq!(asked, ["nothing.test.", "nothing.corp.", "nothing."], "NXDOMAIN ends a name: no AAAA");
}

#[test]
fn server_failure_is_an_error_saying_so() {
    let dns = FakeDns::start();
    let err = dns.resolver("", "").lookup("broken.test").unwrap_err();
    assert!(err.to_string().contains("SERVFAIL"), "{err}");
    assert_eq!(dns.questions().len(), 2, "both tries: {:?}", dns.questions());
}

#[test]
fn an_answer_with_another_id_is_ignored() {
    let dns = FakeDns::start();
    assert_eq!(dns.resolver("", "").lookup("spoofed.test").unwrap(), ip("127.0.0.2"));
}

#[test]
fn silence_is_an_error_after_the_timeouts() {
    let dns = FakeDns::start();
    let r = dns.resolver("search test\n", "");
    let started = Instant::now();
    let err = r.lookup("quiet").unwrap_err();
    let took = started.elapsed();
    assert_eq!(err.kind(), std::io::ErrorKind::TimedOut);
    let message = err.to_string();
    assert!(message.contains("cannot look up quiet: no answer from 1 nameserver"), "{message}");
    assert!(message.contains(&dns.addr.to_string()), "{message}");
    // Two tries of 300 ms for the first name, then the lookup stops (res_search(3) does too).
    assert!(took >= Duration::from_millis(600) && took < Duration::from_millis(1500), "{took:?}");
    assert_eq!(dns.questions(), [("quiet.test.".to_string(), 1), ("quiet.test.".to_string(), 1)]);
}

#[test]
fn a_silent_nameserver_is_skipped_for_the_next() {
    let dns = FakeDns::start();
    let silent = UdpSocket::bind("127.0.0.1:0").unwrap();
    let mut r = dns.resolver("", "");
    r.nameservers = vec![silent.local_addr().unwrap(), dns.addr];
    let started = Instant::now();
    assert_eq!(r.lookup("redis.test").unwrap(), ip("127.0.0.1"));
    assert!(started.elapsed() >= Duration::from_millis(300));
}

#[test]
fn lookup_with_reads_the_texts() {
    // Nothing listens on 127.0.0.1:53 here, or something does: either way the hosts text
    // answers first and no nameserver is needed.
    let found = lookup_with("cache", "nameserver 127.0.0.1\n", "10.0.0.9 cache\n", Duration::from_millis(200));
    assert_eq!(found.unwrap(), ip("10.0.0.9"));
    let bad = lookup_with("bad..name", "", "", Duration::from_millis(200)).unwrap_err();
    assert!(bad.to_string().contains("not a valid host name"), "{bad}");
}

fn run_server(redis_url: &str) -> (Option<i32>, String, Duration) {
    let started = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_danmaku-wall"))
        .args(["--bind", "127.0.0.1:0", "--redis", redis_url])
        .output()
        .expect("run danmaku-wall");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.code(), text, started.elapsed())
}

#[test]
fn a_name_that_cannot_be_found_exits_1_naming_it() {
    let (code, text, took) = run_server("redis://no-such-host.invalid:6379");
    assert_eq!(code, Some(1), "{text}");
    assert!(text.contains("no-such-host.invalid"), "{text}");
    assert!(text.contains("--redis"), "{text}");
    assert!(took < Duration::from_secs(10), "{took:?}");
}

#[test]
fn a_malformed_url_with_a_name_still_exits_2() {
    for url in ["redis://redis.example:99999", "redis://redis.example:x", "redis://bad..name:6379"] {
        let (code, text, _) = run_server(url);
        assert_eq!(code, Some(2), "{url}: {text}");
        assert!(text.contains("--redis"), "{url}: {text}");
    }
}
