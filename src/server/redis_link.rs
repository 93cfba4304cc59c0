//! The node's two TCP connections to Redis (commands, subscriber), in the same `Poll` as
//! every client: non-blocking connects, reads fed to the [`Cluster`](crate::app::cluster)'s
//! sessions, their output written as the socket takes it, and reconnection with backoff
//! (about 100 ms, doubling up to 5 s). Nothing here waits for Redis: a connect in progress,
//! a reply not yet there, a full socket buffer are all just states the loop comes back to.

use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use mio::net::TcpStream;
use mio::{Interest, Token};

use crate::app::cluster::Cluster;
use crate::protocol::redis_session::SessionRole;
use crate::server::event_loop::{Server, time};
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
    host: String,
    port: u16,
    links: [Link; 2],
}

impl RedisLink {
    pub fn new(url: &RedisUrl, now: Instant) -> RedisLink {
        let link = |role, token| Link {
            role,
            token,
            stream: None,
            out: Vec::new(),
            retry_at: Some(now),
            backoff: FIRST_BACKOFF,
        };
        RedisLink {
            host: url.ip().map_or_else(|| url.host.clone(), |ip| ip.to_string()),
            port: url.port,
            links: [link(SessionRole::Commands, COMMANDS), link(SessionRole::Subscriber, SUBSCRIBER)],
        }
    }

    /// The earliest reconnection due.
    pub fn next_wake(&self) -> Option<Instant> {
        self.links.iter().filter_map(|l| l.retry_at).min()
    }

    /// Where Redis is: `--redis` must name it by address (checked when the flags are read).
    fn address(&self) -> io::Result<SocketAddr> {
        let ip = self.host.parse().map_err(|_| io::Error::other(format!("{} is not an IP address", self.host)))?;
        Ok(SocketAddr::new(ip, self.port))
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
        let address = if link.links.iter().any(|l| l.stream.is_none() && l.retry_at.is_some_and(|at| now >= at)) {
            Some(link.address())
        } else {
            None
        };
        write_links(link, cluster, now, &mut actions);
        for l in &mut link.links {
            if l.stream.is_some() && cluster.session_failed(l.role) {
                if let Some(mut stream) = l.stream.take() {
                    let _ = self.poll.registry().deregister(&mut stream);
                }
                l.out.clear();
                l.retry_at = Some(now + l.backoff);
                l.backoff = (l.backoff * 2).min(MAX_BACKOFF);
            }
            if cluster.session_ready(l.role) {
                l.backoff = FIRST_BACKOFF;
            }
            if l.stream.is_none() && l.retry_at.is_some_and(|at| now >= at) {
                match address.as_ref().map(|a| a.as_ref().map(|a| TcpStream::connect(*a))) {
                    Some(Ok(Ok(mut stream))) => {
                        let interest = Interest::READABLE | Interest::WRITABLE;
                        if self.poll.registry().register(&mut stream, l.token, interest).is_ok() {
                            let _ = stream.set_nodelay(true);
                            l.stream = Some(stream);
                            l.retry_at = None;
                            cluster.start_session(l.role, now);
                            continue;
                        }
                    }
                    Some(Ok(Err(e))) => log::debug!("cannot connect to Redis: {e}"),
                    Some(Err(e)) => log::debug!("cannot find Redis: {e}"),
                    None => {}
                }
                // Count it as a failed attempt (logged once by the cluster), and back off.
                cluster.closed(l.role, time(now), &mut actions);
                l.retry_at = Some(now + l.backoff);
                l.backoff = (l.backoff * 2).min(MAX_BACKOFF);
            }
        }
        write_links(link, cluster, now, &mut actions);
        self.app.counters.posts_accepted += std::mem::take(&mut cluster.posts_accepted);
        self.app.counters.deliveries += std::mem::take(&mut cluster.deliveries);
        self.perform(actions, now);
    }
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
