//! Looking a host name up without the C library (the binary is static: no getaddrinfo, no
//! NSS modules; see .cargo/config.toml): the `files dns` order of nsswitch.conf(5) done by
//! hand. An IP literal or `localhost` is the address itself; otherwise hosts(5) first
//! ([`crate::wire::hosts`]), then the nameservers of resolv.conf(5)
//! ([`crate::wire::resolv_conf`]) over UDP (RFC 1035 §4.2.1; messages of [`crate::wire::dns`]).
//!
//! For each name to try (search list and `ndots`), A is asked before AAAA; each question goes
//! to each nameserver in turn, for [`ATTEMPTS`] rounds, waiting [`TIMEOUT`] for each answer.
//! A datagram that is not the answer to the question asked (another source, another ID,
//! another question, garbage) is ignored. The name does not exist, or has no address: the
//! next name. A server error (SERVFAIL, refused, ICMP unreachable): the next server, then
//! the next name. No nameserver answering a question at all: the lookup stops there (as
//! res_search(3) does), so silent nameservers cost `TIMEOUT × ATTEMPTS × nameservers`.
//!
//! [`lookup`] blocks (the server calls it once, before its loop starts). A [`Lookup`] does
//! the same steps without ever blocking: the event loop polls it once a turn.

use std::hash::BuildHasher;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use crate::wire::dns::{self, DnsError, QueryType, Reply};
use crate::wire::hosts;
use crate::wire::resolv_conf::ResolvConf;

/// RFC 1035 §4.2.1: nameservers listen on UDP port 53.
pub const DNS_PORT: u16 = 53;
/// How long to wait for each answer.
pub const TIMEOUT: Duration = Duration::from_millis(1500);
/// Rounds over the nameservers.
pub const ATTEMPTS: u32 = 2;
/// Room for any UDP answer (RFC 1035 §4.2.1 allows 512 bytes; some servers send more).
const RECEIVE_BUFFER: usize = 4096;

/// Where and how to look names up.
#[derive(Debug, Clone)]
pub struct Resolver {
    /// Asked in this order; resolv.conf's (at most 3) on port 53, or else 127.0.0.1:53.
    pub nameservers: Vec<SocketAddr>,
    /// resolv.conf's search list and `ndots` (its `nameservers` are in the field above).
    pub conf: ResolvConf,
    /// The text of hosts(5).
    pub hosts: String,
    pub timeout: Duration,
    pub attempts: u32,
}

/// What one exchange (a question to a nameserver) came to.
enum Outcome {
    Found(IpAddr),
    /// The name exists without an address of that type.
    NoData,
    NoSuchName,
    /// The server failed (an RCODE, ICMP unreachable, a truncated empty answer): why.
    Failed(String),
    /// No answer in time.
    Silent,
}

/// The question on the wire.
#[derive(Debug)]
struct Sent {
    socket: UdpSocket,
    server: SocketAddr,
    query: Vec<u8>,
    deadline: Instant,
}

/// One lookup under way: which name, type, and try it is at.
#[derive(Debug)]
pub struct Lookup {
    resolver: Resolver,
    host: String,
    names: Vec<String>,
    name: usize,
    /// 0: A, 1: AAAA.
    qtype: usize,
    /// Round × nameservers + nameserver.
    turn: usize,
    /// Why the last failing nameserver failed; whether one failed on this question.
    failure: Option<String>,
    question_failed: bool,
    blocking: bool,
    sent: Option<Sent>,
}

/// Looks `host` up with the machine's /etc/resolv.conf and /etc/hosts (blocking).
pub fn lookup(host: &str) -> io::Result<IpAddr> {
    Resolver::from_system().lookup(host)
}

/// Looks `host` up with this resolv.conf and hosts text, waiting `timeout` for each answer.
pub fn lookup_with(host: &str, resolv_conf: &str, hosts: &str, timeout: Duration) -> io::Result<IpAddr> {
    Resolver { timeout, ..Resolver::from_files(resolv_conf, hosts) }.lookup(host)
}

impl Resolver {
    /// A resolver configured by /etc/resolv.conf and /etc/hosts (a missing file counts as
    /// an empty one, as for the C library).
    pub fn from_system() -> Resolver {
        let resolv_conf = std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
        let hosts = std::fs::read_to_string("/etc/hosts").unwrap_or_default();
        Resolver::from_files(&resolv_conf, &hosts)
    }

    /// A resolver configured by resolv.conf and hosts text.
    pub fn from_files(resolv_conf: &str, hosts: &str) -> Resolver {
        let conf = ResolvConf::parse(resolv_conf);
        let mut nameservers: Vec<SocketAddr> =
            conf.nameservers.iter().map(|ip| SocketAddr::new(*ip, DNS_PORT)).collect();
        if nameservers.is_empty() {
            // resolv.conf(5): "If no nameserver entries are present, the default is to use
            // the name server on the local machine."
            nameservers.push(SocketAddr::from((Ipv4Addr::LOCALHOST, DNS_PORT)));
        }
        Resolver { nameservers, conf, hosts: hosts.to_string(), timeout: TIMEOUT, attempts: ATTEMPTS }
    }

    /// The first address found for `host` (blocking; see the module's documentation).
    pub fn lookup(&self, host: &str) -> io::Result<IpAddr> {
        let mut lookup = match self.start(host, true) {
            Ok(lookup) => lookup,
            Err(done) => return done,
        };
        loop {
            if let Some(done) = lookup.poll() {
                return done;
            }
        }
    }

    /// Starts looking `host` up (`blocking`: each [`Lookup::poll`] waits for an answer).
    /// What needs no nameserver (an IP literal, `localhost`, a bad name, a hosts(5) entry)
    /// is the `Err` side: the lookup's result, already there.
    pub fn start(&self, host: &str, blocking: bool) -> Result<Lookup, io::Result<IpAddr>> {
        if let Ok(ip) = host.parse() {
            return Err(Ok(ip));
        }
        if host.eq_ignore_ascii_case("localhost") {
            return Err(Ok(IpAddr::V4(Ipv4Addr::LOCALHOST)));
        }
        if let Err(e) = dns::validate_name(host) {
            return Err(Err(io::Error::new(io::ErrorKind::InvalidInput, format!("cannot look up {host:?}: {e}"))));
        }
        if let Some(ip) = hosts::lookup(&self.hosts, host) {
            return Err(Ok(ip));
        }
        let mut names = self.conf.candidates(host);
        // A search domain may make a name too long: no such name, nothing to ask.
        names.retain(|name| dns::validate_name(name).is_ok());
        let (host, resolver) = (host.to_string(), self.clone());
        Ok(Lookup {
            resolver,
            host,
            names,
            name: 0,
            qtype: 0,
            turn: 0,
            failure: None,
            question_failed: false,
            blocking,
            sent: None,
        })
    }
}

impl Lookup {
    /// Moves the lookup on: sends the next question, takes an answer that came, gives up
    /// on a nameserver whose time is up. `None`: not done yet (poll again later); never
    /// `None` when blocking.
    pub fn poll(&mut self) -> Option<io::Result<IpAddr>> {
        loop {
            let outcome = match self.sent.as_mut() {
                None => match self.send() {
                    Ok(()) => continue,
                    Err(e) => Outcome::Failed(e.to_string()),
                },
                Some(sent) => receive(sent, self.blocking)?,
            };
            self.sent = None;
            if let Some(done) = self.advance(outcome) {
                return Some(done);
            }
        }
    }

    /// Sends the question the lookup is at, from a fresh socket (a new random port).
    fn send(&mut self) -> io::Result<()> {
        let r = &self.resolver;
        let server = r.nameservers[self.turn % r.nameservers.len()];
        let qtype = if self.qtype == 0 { QueryType::A } else { QueryType::Aaaa };
        let mut query = Vec::new();
        dns::build_query(query_id(), &self.names[self.name], qtype, &mut query)
            .map_err(|e| io::Error::other(e.to_string()))?;
        let any = if server.is_ipv4() { IpAddr::V4(Ipv4Addr::UNSPECIFIED) } else { IpAddr::V6(Ipv6Addr::UNSPECIFIED) };
        let socket = UdpSocket::bind(SocketAddr::new(any, 0))?;
        // Connected: the kernel drops datagrams from other addresses and reports ICMP errors.
        socket.connect(server)?;
        socket.set_nonblocking(!self.blocking)?;
        socket.send(&query)?;
        self.sent = Some(Sent { socket, server, query, deadline: Instant::now() + r.timeout });
        Ok(())
    }

    /// The next step after an exchange; `Some` when the lookup is over.
    fn advance(&mut self, outcome: Outcome) -> Option<io::Result<IpAddr>> {
        match outcome {
            Outcome::Found(ip) => return Some(Ok(ip)),
            Outcome::NoData if self.qtype == 0 => self.ask(self.name, 1),
            Outcome::NoData | Outcome::NoSuchName => self.ask(self.name + 1, 0),
            Outcome::Failed(why) => {
                (self.failure, self.question_failed) = (Some(why), true);
                self.turn += 1;
            }
            Outcome::Silent => self.turn += 1,
        }
        if self.turn >= self.resolver.attempts as usize * self.resolver.nameservers.len() {
            if !self.question_failed {
                // Only silence: give up, as res_search(3) does, rather than wait again.
                return Some(Err(self.no_answer()));
            }
            self.ask(self.name + 1, 0);
        }
        (self.name >= self.names.len()).then(|| Err(self.not_found()))
    }

    /// Moves on to a question: this name (index), this type (0: A, 1: AAAA), the first try.
    fn ask(&mut self, name: usize, qtype: usize) {
        (self.name, self.qtype, self.turn, self.question_failed) = (name, qtype, 0, false);
    }

    /// Every name tried: none has an address, or servers failed.
    fn not_found(&self) -> io::Error {
        let host = &self.host;
        match &self.failure {
            Some(why) => io::Error::other(format!("cannot look up {host}: {why}")),
            None => {
                let servers = plural(self.resolver.nameservers.len(), "nameserver");
                let why = format!("no address for {host} (tried {servers} for {})", self.names.join(" "));
                io::Error::new(io::ErrorKind::NotFound, why)
            }
        }
    }

    /// No nameserver said anything.
    fn no_answer(&self) -> io::Error {
        let r = &self.resolver;
        let servers: Vec<String> = r.nameservers.iter().map(SocketAddr::to_string).collect();
        let why = format!(
            "cannot look up {}: no answer from {} ({}) within {} ms, {}",
            self.host,
            plural(servers.len(), "nameserver"),
            servers.join(", "),
            r.timeout.as_millis() as u64,
            plural(r.attempts as usize, "try")
        );
        io::Error::new(io::ErrorKind::TimedOut, why)
    }
}

/// Takes the answer to `sent` if it came (blocking: waits for it), skipping every datagram
/// that is not that answer. `None`: nothing yet (non-blocking only).
fn receive(sent: &mut Sent, blocking: bool) -> Option<Outcome> {
    let server = sent.server;
    let mut buffer = [0; RECEIVE_BUFFER];
    loop {
        let left = sent.deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Some(Outcome::Silent);
        }
        if blocking && let Err(e) = sent.socket.set_read_timeout(Some(left)) {
            return Some(Outcome::Failed(e.to_string()));
        }
        let (n, from) = match sent.socket.recv_from(&mut buffer) {
            Ok(received) => received,
            Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) && !blocking => {
                return None;
            }
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut | io::ErrorKind::Interrupted
                ) =>
            {
                continue;
            }
            Err(e) => return Some(Outcome::Failed(format!("nameserver {server}: {e}"))),
        };
        let mut addresses = Vec::new();
        let reply = match dns::parse_response(&buffer[..n], &sent.query, &mut addresses) {
            _ if from != server => continue,
            Ok(reply) => reply,
            Err(e @ DnsError::Server(_)) => return Some(Outcome::Failed(format!("nameserver {server}: {e}"))),
            Err(e) => {
                log::debug!("ignored a datagram from {server}: {e}");
                continue;
            }
        };
        return Some(match (reply, addresses.first()) {
            (Reply::NoSuchName, _) => Outcome::NoSuchName,
            (Reply::Answer { .. }, Some(&ip)) => Outcome::Found(ip),
            (Reply::Answer { truncated: true }, None) => {
                Outcome::Failed(format!("nameserver {server} sent a truncated answer (TC) and TCP is not used"))
            }
            (Reply::Answer { truncated: false }, None) => Outcome::NoData,
        });
    }
}

/// RFC 5452 §9.2: an unpredictable ID (std's hasher keys are random per process).
fn query_id() -> u16 {
    static COUNT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = COUNT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    std::collections::hash_map::RandomState::new().hash_one((n, Instant::now())) as u16
}

/// "1 nameserver", "3 nameservers", "2 tries".
fn plural(n: usize, word: &str) -> String {
    match (n, word.strip_suffix('y')) {
        (1, _) => format!("1 {word}"),
        (_, Some(stem)) => format!("{n} {stem}ies"),
        _ => format!("{n} {word}s"),
    }
}
