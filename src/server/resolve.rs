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
//! the next name. No nameserver answering at all: the lookup stops there (as res_search(3)
//! does), so it takes at most about `TIMEOUT × ATTEMPTS × nameservers`.
//!
//! It blocks: call it before the event loop starts, or on a thread of its own.

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

/// What one question (a name and a type) got from the nameservers.
enum Asked {
    Found(IpAddr),
    /// The name exists without an address of that type.
    NoData,
    NoSuchName,
    /// Every nameserver that answered failed; why, for the last one.
    Failed(String),
    /// Nothing but silence.
    NoAnswer,
}

/// Looks `host` up with the machine's /etc/resolv.conf and /etc/hosts (a missing file counts
/// as an empty one, as for the C library).
pub fn lookup(host: &str) -> io::Result<IpAddr> {
    let resolv_conf = std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
    let hosts = std::fs::read_to_string("/etc/hosts").unwrap_or_default();
    lookup_with(host, &resolv_conf, &hosts, TIMEOUT)
}

/// Looks `host` up with this resolv.conf and hosts text, waiting `timeout` for each answer.
pub fn lookup_with(host: &str, resolv_conf: &str, hosts: &str, timeout: Duration) -> io::Result<IpAddr> {
    Resolver { timeout, ..Resolver::from_files(resolv_conf, hosts) }.lookup(host)
}

impl Resolver {
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

    /// The first address found for `host` (see the module's documentation for the order).
    pub fn lookup(&self, host: &str) -> io::Result<IpAddr> {
        if let Ok(ip) = host.parse() {
            return Ok(ip);
        }
        if host.eq_ignore_ascii_case("localhost") {
            return Ok(IpAddr::V4(Ipv4Addr::LOCALHOST));
        }
        let invalid =
            |e: DnsError| io::Error::new(io::ErrorKind::InvalidInput, format!("cannot look up {host:?}: {e}"));
        dns::validate_name(host).map_err(invalid)?;
        if let Some(ip) = hosts::lookup(&self.hosts, host) {
            return Ok(ip);
        }
        let names = self.conf.candidates(host);
        let mut failure = None;
        for name in &names {
            for qtype in [QueryType::A, QueryType::Aaaa] {
                match self.ask(name, qtype) {
                    Asked::Found(ip) => return Ok(ip),
                    Asked::NoData => {}
                    Asked::NoSuchName => break,
                    Asked::Failed(why) => {
                        failure = Some(why);
                        break;
                    }
                    Asked::NoAnswer => return Err(self.no_answer(host)),
                }
            }
        }
        let servers = plural(self.nameservers.len(), "nameserver");
        Err(match failure {
            Some(why) => io::Error::other(format!("cannot look up {host}: {why}")),
            None => io::Error::new(
                io::ErrorKind::NotFound,
                format!("no address for {host} (tried {servers} for {})", names.join(" ")),
            ),
        })
    }

    /// The error when no nameserver said anything.
    fn no_answer(&self, host: &str) -> io::Error {
        let servers: Vec<String> = self.nameservers.iter().map(SocketAddr::to_string).collect();
        let why = format!(
            "cannot look up {host}: no answer from {} ({}) within {:?}, {}",
            plural(servers.len(), "nameserver"),
            servers.join(", "),
            self.timeout,
            plural(self.attempts as usize, "try")
        );
        io::Error::new(io::ErrorKind::TimedOut, why)
    }

    /// Asks every nameserver in turn, [`Resolver::attempts`] rounds, until one answers.
    fn ask(&self, name: &str, qtype: QueryType) -> Asked {
        let mut failure = None;
        for _ in 0..self.attempts {
            for &server in &self.nameservers {
                let mut query = Vec::new();
                if dns::build_query(query_id(), name, qtype, &mut query).is_err() {
                    return Asked::NoSuchName; // Too long with this search domain: no such name.
                }
                let mut addresses = Vec::new();
                match self.exchange(server, &query, &mut addresses) {
                    Ok(Reply::NoSuchName) => return Asked::NoSuchName,
                    Ok(Reply::Answer { truncated }) => match addresses.first() {
                        Some(&ip) => return Asked::Found(ip),
                        None if truncated => {
                            failure = Some(format!("{server} sent a truncated answer (TC) and TCP is not used"));
                        }
                        None => return Asked::NoData,
                    },
                    Err(e) if e.kind() == io::ErrorKind::TimedOut => {}
                    Err(e) => failure = Some(format!("nameserver {server}: {e}")),
                }
            }
        }
        failure.map_or(Asked::NoAnswer, Asked::Failed)
    }

    /// Sends `query` to `server` from a fresh socket (a new random port each time) and waits
    /// for its answer, ignoring every datagram that is not that answer.
    fn exchange(&self, server: SocketAddr, query: &[u8], out: &mut Vec<IpAddr>) -> io::Result<Reply> {
        let any = if server.is_ipv4() { IpAddr::V4(Ipv4Addr::UNSPECIFIED) } else { IpAddr::V6(Ipv6Addr::UNSPECIFIED) };
        let socket = UdpSocket::bind(SocketAddr::new(any, 0))?;
        // Connected: the kernel drops datagrams from other addresses and reports ICMP errors.
        socket.connect(server)?;
        socket.send(query)?;
        let deadline = Instant::now() + self.timeout;
        let mut buffer = [0; RECEIVE_BUFFER];
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(io::Error::new(io::ErrorKind::TimedOut, "no answer"));
            }
            socket.set_read_timeout(Some(left))?;
            let (n, from) = match socket.recv_from(&mut buffer) {
                Ok(received) => received,
                Err(e) if matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => continue,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if from != server {
                continue;
            }
            match dns::parse_response(&buffer[..n], query, out) {
                Ok(reply) => return Ok(reply),
                Err(e @ DnsError::Server(_)) => return Err(io::Error::other(e.to_string())),
                Err(e) => {
                    out.clear();
                    log::debug!("ignored a datagram from {server}: {e}");
                }
            }
        }
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
