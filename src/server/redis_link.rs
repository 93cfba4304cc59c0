//! The node's two TCP connections to Redis (commands, subscriber), in the same `Poll` as
//! every client: non-blocking connects, reads fed to the [`Cluster`](crate::app::cluster)'s
//! sessions, their output written as the socket takes it, and reconnection with backoff
//! (about 100 ms, doubling up to 5 s). Nothing here waits for Redis: a connect in progress,
//! a reply not yet there, a full socket buffer are all just states the loop comes back to.
//!
//! A Redis host given by name is looked up once before the loop starts ([`RedisLink::start`]),
//! and again whenever a connection to it fails, by a [`Lookup`] the loop polls every turn
//! (so at least every tick) without blocking: the old address is used until a new one comes.

use std::io::{self, Read, Write};
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use mio::net::TcpStream;
use mio::{Interest, Poll, Token};

use crate::app::cluster::Cluster;
use crate::protocol::redis_session::SessionRole;
use crate::server::event_loop::{Server, time};
use crate::server::resolve::{self, Lookup, Resolver};
use crate::wire::redis_url::RedisUrl;

const FIRST_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// The commands connection's poll token.
pub const COMMANDS: Token = Token(usize::MAX - 3);
/// The subscriber connection's poll token.
pub const SUBSCRIBER: Token = Token(usize::MAX - 4);

/// One of the two connections.
#[derive(Debug)]
struct Link {
    role: SessionRole,
    token: Token,
    stream: Option<TcpStream>,
    /// Bytes the socket has not taken yet.
    out: Vec<u8>,
    /// When to connect (again); `None` while connected or connecting.
    retry_at: Option<Instant>,
    backoff: Duration,
}

/// Both connections and where they go.
#[derive(Debug)]
pub struct RedisLink {
    /// The host of `--redis`, looked up again when a connection fails if it is a name.
    host: String,
    is_name: bool,
    /// Where Redis is (the last address the host was found at).
    address: SocketAddr,
    /// The lookup under way, if any (at most one).
    lookup: Option<Lookup>,
    /// The last lookup again failed (logged once until one succeeds).
    lookup_failing: bool,
    /// Looks up again with this; `None`: the machine's files, read again each time.
    resolver: Option<Resolver>,
    /// The host moved: connections still up to the old address are closed and made again,
    /// so commands and subscriber never talk to two different servers.
    moved: bool,
    links: [Link; 2],
}

impl RedisLink {
    /// Finds the `--redis` host (blocking: a name is looked up, see [`resolve`]) and plans
    /// both connections for `now`. A name that cannot be found is an error.
    pub fn start(url: &RedisUrl, now: Instant) -> io::Result<RedisLink> {
        let ip = match url.ip() {
            Some(ip) => ip,
            None => {
                let ip = resolve::lookup(&url.host).map_err(|e| io::Error::new(e.kind(), format!("--redis: {e}")))?;
                log::info!("Redis host {} is at {ip}", url.host);
                ip
            }
        };
        let link = |role, token| Link {
            role,
            token,
            stream: None,
            out: Vec::new(),
            retry_at: Some(now),
            backoff: FIRST_BACKOFF,
        };
        Ok(RedisLink {
            host: url.host.clone(),
            is_name: url.ip().is_none(),
            address: SocketAddr::new(ip, url.port),
            lookup: None,
            lookup_failing: false,
            resolver: None,
            moved: false,
            links: [link(SessionRole::Commands, COMMANDS), link(SessionRole::Subscriber, SUBSCRIBER)],
        })
    }

    /// The earliest reconnection due.
    pub fn next_wake(&self) -> Option<Instant> {
        self.links.iter().filter_map(|l| l.retry_at).min()
    }

    /// After a failed connection: starts looking a named host up again, unless a lookup
    /// is already under way. Never blocks (reads /etc/resolv.conf and /etc/hosts, though).
    fn look_up_again(&mut self, now: Instant) {
        if !self.is_name || self.lookup.is_some() {
            return;
        }
        let resolver = self.resolver.clone().unwrap_or_else(Resolver::from_system);
        match resolver.start(&self.host, false) {
            Ok(lookup) => self.lookup = Some(lookup),
            Err(done) => self.found(done, now),
        }
    }

    /// Moves the lookup under way on, and takes its result when it is done.
    fn poll_lookup(&mut self, now: Instant) {
        let Some(done) = self.lookup.as_mut().and_then(Lookup::poll) else { return };
        self.lookup = None;
        self.found(done, now);
    }

    /// A lookup's result: a new address is used from now on (connections not up are tried
    /// at once); a failure keeps the old one.
    fn found(&mut self, result: io::Result<IpAddr>, now: Instant) {
        let old = self.address.ip();
        match result {
            Ok(ip) if ip != old => {
                log::info!("Redis host {} is now at {ip} (was {old})", self.host);
                self.address.set_ip(ip);
                self.lookup_failing = false;
                self.moved = true;
                for l in self.links.iter_mut().filter(|l| l.stream.is_none()) {
                    l.retry_at = Some(now);
                }
            }
            Ok(_) => self.lookup_failing = false,
            Err(e) if !self.lookup_failing => {
                self.lookup_failing = true;
                log::warn!("looking Redis up again failed, still using {old}: {e}");
            }
            Err(e) => log::debug!("looking Redis up again failed, still using {old}: {e}"),
        }
    }
}

impl Link {
    /// A failed attempt or a lost connection: try again later, later each time.
    fn back_off(&mut self, now: Instant) {
        self.retry_at = Some(now + self.backoff);
        self.backoff = (self.backoff * 2).min(MAX_BACKOFF);
    }
}

impl Server {
    /// When the Redis side next needs the loop (session deadlines, reconnections).
    pub(super) fn redis_wake(&self) -> Option<Instant> {
        let link = self.redis.as_ref()?.next_wake();
        let sessions = self.app.cluster.as_ref().and_then(|c| c.next_wake());
        link.into_iter().chain(sessions).min()
    }

    /// A poll event on one of the Redis connections.
    pub(super) fn redis_event(&mut self, token: Token, now: Instant) {
        let Some(i) = self.redis.as_ref().and_then(|r| r.links.iter().position(|l| l.token == token)) else { return };
        let mut scratch = std::mem::take(&mut self.scratch);
        let mut actions = Vec::new();
        while let (Some(link), Some(cluster)) = (self.redis.as_mut(), self.app.cluster.as_mut()) {
            let link = &mut link.links[i];
            let Some(stream) = link.stream.as_mut() else { break };
            match stream.read(&mut scratch) {
                Ok(0) => {
                    cluster.closed(link.role, time(now), &mut actions);
                    break;
                }
                Ok(n) => cluster.feed(link.role, &scratch[..n], time(now), &mut actions),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    log::debug!("Redis connection: {e}");
                    cluster.closed(link.role, time(now), &mut actions);
                    break;
                }
            }
        }
        self.scratch = scratch;
        self.perform(actions, now);
    }

    /// Once per loop turn: timers, reconnections, and writing what the sessions queued.
    pub(super) fn redis_turn(&mut self, now: Instant) {
        let (Some(link), Some(cluster)) = (self.redis.as_mut(), self.app.cluster.as_mut()) else { return };
        let mut actions = Vec::new();
        if cluster.next_wake().is_some_and(|at| now >= at) {
            cluster.on_timer(time(now), &mut actions);
        }
        link.poll_lookup(now);
        if std::mem::take(&mut link.moved) {
            for l in &mut link.links {
                if let Some(mut stream) = l.stream.take() {
                    let _ = self.poll.registry().deregister(&mut stream);
                    l.out.clear();
                    cluster.closed(l.role, time(now), &mut actions);
                }
                l.retry_at = Some(now);
            }
        }
        write_links(link, cluster, now, &mut actions);
        let mut failed = false;
        for l in &mut link.links {
            if l.stream.is_some() && cluster.session_failed(l.role) {
                if let Some(mut stream) = l.stream.take() {
                    let _ = self.poll.registry().deregister(&mut stream);
                }
                l.out.clear();
                l.back_off(now);
                failed = true;
            }
            if cluster.session_ready(l.role) {
                l.backoff = FIRST_BACKOFF;
            }
            if l.stream.is_none()
                && l.retry_at.is_some_and(|at| now >= at)
                && !connect(&self.poll, l, link.address, cluster, now)
            {
                // Count it as a failed attempt (logged once by the cluster), and back off.
                cluster.closed(l.role, time(now), &mut actions);
                l.back_off(now);
                failed = true;
            }
        }
        if failed {
            link.look_up_again(now);
        }
        write_links(link, cluster, now, &mut actions);
        self.app.counters.posts_accepted += std::mem::take(&mut cluster.posts_accepted);
        self.app.counters.posts_rejected += std::mem::take(&mut cluster.posts_refused);
        self.app.counters.deliveries += std::mem::take(&mut cluster.deliveries);
        self.perform(actions, now);
    }
}

/// Starts a non-blocking connect of `l` to `address`; false if it could not even start.
fn connect(poll: &Poll, l: &mut Link, address: SocketAddr, cluster: &mut Cluster, now: Instant) -> bool {
    let mut stream = match TcpStream::connect(address) {
        Ok(stream) => stream,
        Err(e) => {
            log::debug!("cannot connect to Redis at {address}: {e}");
            return false;
        }
    };
    if let Err(e) = poll.registry().register(&mut stream, l.token, Interest::READABLE | Interest::WRITABLE) {
        log::debug!("cannot register a Redis connection: {e}");
        return false;
    }
    let _ = stream.set_nodelay(true);
    l.stream = Some(stream);
    l.retry_at = None;
    cluster.start_session(l.role, now);
    true
}

/// Moves what the sessions queued to their sockets.
fn write_links(link: &mut RedisLink, cluster: &mut Cluster, now: Instant, actions: &mut Vec<crate::app::Action>) {
    for l in &mut link.links {
        l.out.extend(cluster.take_output(l.role));
        if let Some(stream) = l.stream.as_mut()
            && !l.out.is_empty()
            && let Err(e) = write_some(stream, &mut l.out)
        {
            log::debug!("Redis connection: {e}");
            cluster.closed(l.role, time(now), actions);
        }
    }
}

/// Writes what the socket takes now; the rest waits for the next writable event.
fn write_some(stream: &mut TcpStream, out: &mut Vec<u8>) -> io::Result<()> {
    let mut written = 0;
    while written < out.len() {
        match stream.write(&out[written..]) {
            Ok(0) => return Err(io::Error::new(io::ErrorKind::WriteZero, "Redis took no bytes")),
            Ok(n) => written += n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => {
                out.drain(..written);
                return Err(e);
            }
        }
    }
    out.drain(..written);
    Ok(())
}

#[cfg(test)]
#[path = "redis_link_tests.rs"]
mod tests;
