//! The event loop: poll, accept, read, dispatch, flush, timers. One thread, one `Poll`.
//!
//! One danmaku's path through the shell, in file order:
//! [`Server::run`] polls → `read` (`io.rs`) takes the socket's bytes into the shared scratch
//! buffer → `on_bytes` (`dispatch.rs`) feeds them to the connection's `WsConn` → a complete
//! message goes to the application ([`crate::app::App::message`]), which answers with actions
//! → `perform` queues a broadcast's one shared frame on every member (`fan_out`) → at the end
//! of the turn the coalescer says flush or hold, and a flush pass (`flush_dirty`, `io.rs`)
//! writes each connection's queue with one vectored write.

use std::io;
use std::net::SocketAddr;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use mio::net::TcpListener;
use mio::{Events, Interest, Poll, Token, Waker};

use crate::app::{App, Time};
use crate::config::Config;
use crate::protocol::coalesce::Coalescer;
use crate::protocol::http_conn::HttpConn;
use crate::server::connections::{Connection, Connections, Protocol};
use crate::server::lifecycle::Lifecycle;
use crate::server::output::OutQueue;
use crate::server::pages::Pages;
use crate::server::redis_link;
use crate::server::system;
use crate::server::timers::Timers;
use crate::wall::Wall;
use crate::wall::blocklist::Blocklist;
use crate::wall::history::HistoryLimits;
use crate::wall::moderation::hold::{DEFAULT_MAX_PER_ROOM, DEFAULT_MAX_TOTAL, HoldQueue};
use crate::wall::room::Rooms;
use crate::wire::close::CloseCode;

const LISTENER: Token = Token(usize::MAX - 1);
const WAKER: Token = Token(usize::MAX - 2);

/// The shared read buffer: every socket is read into it, one at a time.
const SCRATCH_SIZE: usize = 64 * 1024;

/// After running out of file descriptors, try accepting again this often even if no
/// connection of ours has closed (another process may have freed some).
const ACCEPT_RETRY: Duration = Duration::from_millis(250);

/// How often the application's housekeeping runs (history expiry, admin sign-in deadlines
/// and `room` updates, which the contract wants within 1 s).
const TICK: Duration = Duration::from_millis(200);

/// Binds, then serves until SIGINT/SIGTERM.
pub fn run(config: Config) -> io::Result<()> {
    let mut server = Server::bind(config)?;
    system::install_signal_handlers(server.waker()?)?;
    log::info!("listening on http://{}", server.local_addr());
    server.run()
}

pub struct Server {
    pub(super) config: Config,
    pub(super) poll: Poll,
    listener: Option<TcpListener>,
    local_addr: SocketAddr,
    pub(super) conns: Connections,
    pub(super) timers: Timers,
    pub(super) app: App,
    pub(super) pages: Pages,
    pub(super) scratch: Vec<u8>,
    /// Connections with output queued for the next flush pass (see `io::flush_dirty`).
    pub(super) dirty: Vec<usize>,
    /// Connections whose reading was paused and may resume.
    pub(super) resume: Vec<usize>,
    /// Out of file descriptors: accepting waits for a connection to close (or the retry).
    pub(super) accept_retry: Option<Instant>,
    pub(super) shutdown_deadline: Option<Instant>,
    /// While output is held (`--flush-delay`): when it goes out at the latest.
    pub(super) flush_at: Option<Instant>,
    /// With `--redis`: the connections to Redis.
    pub(super) redis: Option<super::redis_link::RedisLink>,
    /// Decides at the end of each turn whether to flush or hold (`--flush-delay`).
    pub(super) coalescer: Coalescer,
    /// Broadcasts queued during this turn, for the coalescer.
    pub(super) broadcasts: u32,
    /// A flush pass under way (the loop polls without waiting until it is done).
    pub(super) pass: Option<super::io::FlushPass>,
    next_tick: Instant,
}

impl Server {
    /// Binds the listening socket and loads the pages and blocklist.
    pub fn bind(config: Config) -> io::Result<Server> {
        let pages = match &config.www {
            Some(dir) => Pages::from_dir(dir).map_err(|e| with_context(e, "--www", dir))?,
            None => Pages::embedded(),
        };
        let blocklist = match &config.blocklist {
            Some(path) => {
                let text = std::fs::read_to_string(path).map_err(|e| with_context(e, "--blocklist", path))?;
                Blocklist::parse(&text)
            }
            None => Blocklist::default(),
        };
        match system::raise_fd_limit() {
            Ok((soft, hard)) => log::info!("open-file limit {soft} (hard limit {hard})"),
            Err(e) => log::warn!("could not read the open-file limit: {e}"),
        }
        log::debug!("{} pages, {} blocked phrases", pages.len(), blocklist.len());
        let poll = Poll::new()?;
        let mut listener = system::bind_listener(config.bind, config.reuse_port, config.listen_backlog)?;
        poll.registry().register(&mut listener, LISTENER, Interest::READABLE)?;
        let local_addr = listener.local_addr()?;
        let limits = HistoryLimits { max_len: config.history, ttl: config.history_ttl };
        let rooms = Rooms::new(config.max_rooms, limits, unix_ms());
        let mut app = App::new(Wall::new(rooms, config.rate, blocklist), &config);
        let redis = match &config.redis {
            Some(url) => {
                let link = redis_link::RedisLink::start(url, Instant::now())?;
                let cluster = cluster_of(&config, url);
                // Hold keys name their node, so an approve on any node finds the post's node.
                app.wall.held = HoldQueue::new(DEFAULT_MAX_PER_ROOM, DEFAULT_MAX_TOTAL, &format!("{}-", cluster.node));
                app.cluster = Some(cluster);
                log::info!("cluster mode: rooms live in Redis at {}:{} (database {})", url.host, url.port, url.db);
                Some(link)
            }
            None => None,
        };
        let coalescer = Coalescer::new(config.flush_delay);
        Ok(Server {
            app,
            config,
            poll,
            listener: Some(listener),
            local_addr,
            conns: Connections::default(),
            timers: Timers::default(),
            pages,
            scratch: vec![0; SCRATCH_SIZE],
            dirty: Vec::new(),
            resume: Vec::new(),
            accept_retry: None,
            shutdown_deadline: None,
            flush_at: None,
            redis,
            coalescer,
            broadcasts: 0,
            pass: None,
            next_tick: Instant::now() + TICK,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// A waker for signal handlers and tests.
    pub fn waker(&self) -> io::Result<Waker> {
        Waker::new(self.poll.registry(), WAKER)
    }

    /// The loop. Returns after a shutdown has closed every connection (or run out of time).
    pub fn run(&mut self) -> io::Result<()> {
        let mut events = Events::with_capacity(1024);
        loop {
            self.poll_once(&mut events)?;
            let now = Instant::now();
            for event in events.iter() {
                match event.token() {
                    LISTENER => self.accept(now),
                    WAKER => {}
                    t @ (redis_link::COMMANDS | redis_link::SUBSCRIBER) => self.redis_event(t, now),
                    Token(token) => {
                        if event.is_writable() {
                            self.mark_dirty(token);
                        }
                        if event.is_readable() || event.is_read_closed() || event.is_error() {
                            self.read(token, now);
                        }
                    }
                }
            }
            self.after_events(now);
            if let Some(deadline) = self.shutdown_deadline
                && (self.conns.is_empty() || now >= deadline)
            {
                log::info!("shut down ({} connections left)", self.conns.len());
                return Ok(());
            }
        }
    }

    /// Waits for events until the next deadline of any kind.
    fn poll_once(&mut self, events: &mut Events) -> io::Result<()> {
        let now = Instant::now();
        let deadlines = [self.timers.next(), self.accept_retry, self.shutdown_deadline, self.redis_wake()];
        let wake = deadlines.into_iter().flatten().chain([self.next_tick]).min();
        // Round up so that we never wake a hair before a deadline and spin.
        let timeout = wake.map(|at| at.saturating_duration_since(now) + Duration::from_micros(500));
        // A held flush's deadline bounds latency: no margin (mio rounds up to whole ms, and
        // waking early only means holding a little longer).
        let hold = self.flush_at.map(|at| at.saturating_duration_since(now));
        let go_on = self.pass.is_some().then_some(Duration::ZERO);
        let timeout = timeout.into_iter().chain(hold).chain(go_on).min();
        match self.poll.poll(events, timeout) {
            Err(e) if e.kind() != io::ErrorKind::Interrupted => Err(e),
            _ => Ok(()),
        }
    }

    /// The rest of a turn: signals, accept retries, timers, housekeeping, the flush.
    fn after_events(&mut self, now: Instant) {
        if system::shutdown_requested() && self.shutdown_deadline.is_none() {
            self.begin_shutdown(now);
        }
        if self.accept_retry.is_some_and(|at| now >= at) {
            self.accept_retry = None;
            self.accept(now);
        }
        self.fire_timers(now);
        if now >= self.next_tick {
            self.next_tick = now + TICK;
            let mut actions = Vec::new();
            self.app.tick(now, &mut actions);
            self.perform(actions, now);
        }
        self.redis_turn(now);
        self.flush_if_due(now);
        self.conns.end_turn();
    }

    /// Accepts every pending connection.
    pub(super) fn accept(&mut self, now: Instant) {
        while let Some(listener) = &self.listener {
            let (mut socket, peer) = match listener.accept() {
                Ok(accepted) => accepted,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if matches!(e.kind(), io::ErrorKind::Interrupted | io::ErrorKind::ConnectionAborted) => continue,
                Err(e) if matches!(e.raw_os_error(), Some(libc::EMFILE | libc::ENFILE)) => {
                    // Leave the rest in the kernel's backlog; never spin on EMFILE.
                    if self.accept_retry.is_none() {
                        log::warn!("out of file descriptors ({} open connections): accepting paused", self.conns.len());
                    }
                    self.accept_retry = Some(now + ACCEPT_RETRY);
                    return;
                }
                Err(e) => {
                    log::warn!("accept failed: {e}");
                    return;
                }
            };
            if self.conns.len() >= self.config.max_connections {
                super::io::reject_over_capacity(&mut socket);
                continue;
            }
            let _ = socket.set_nodelay(true);
            let http = HttpConn::new(now, self.config.request_timeout);
            let id = self.conns.insert_with(|id| Connection {
                socket,
                peer,
                id,
                protocol: Protocol::Http(http),
                out: OutQueue::default(),
                lifecycle: Lifecycle::Open,
                queued: false,
                writable_interest: false,
                scheduled: None,
                closed_because: None,
                held_input: None,
            });
            let Some(conn) = self.conns.get_mut(id.token) else { continue };
            if let Err(e) = self.poll.registry().register(&mut conn.socket, Token(id.token), Interest::READABLE) {
                log::warn!("cannot register a connection: {e}");
                self.conns.remove(id.token);
                continue;
            }
            log::trace!("accepted {peer} as {}", id.token);
            self.reschedule(id.token);
        }
    }

    /// Runs every timer that is due.
    fn fire_timers(&mut self, now: Instant) {
        while let Some((at, id)) = self.timers.pop_due(now) {
            let Some(conn) = self.conns.get_mut(id.token) else { continue };
            if conn.id != id || conn.scheduled != Some(at) {
                continue; // A stale entry: the connection is gone or was rescheduled.
            }
            conn.scheduled = None;
            if conn.lifecycle.deadline().is_some_and(|deadline| now >= deadline) {
                self.drop_conn(id.token, "close timeout", now);
                continue;
            }
            self.on_timer(id.token, now);
            self.reschedule(id.token);
        }
    }

    pub(super) fn reschedule(&mut self, token: usize) {
        if let Some(conn) = self.conns.get_mut(token) {
            self.timers.schedule(conn.id, conn.next_wake(), &mut conn.scheduled);
        }
    }

    /// SIGINT/SIGTERM: stop accepting, send 1001 to every WebSocket, close HTTP connections,
    /// and give close replies at most `shutdown_grace`.
    pub fn begin_shutdown(&mut self, now: Instant) {
        let tokens = self.conns.tokens();
        log::info!("shutting down: closing {} connections", tokens.len());
        if let Some(mut listener) = self.listener.take() {
            let _ = self.poll.registry().deregister(&mut listener);
        }
        self.accept_retry = None;
        self.shutdown_deadline = Some(now + self.config.shutdown_grace);
        for token in tokens {
            self.close_websocket(token, CloseCode::GOING_AWAY, "server shutting down", now);
        }
    }
}

/// The node's cluster state for `--redis`: history bounds shared with every node, room keys
/// kept a day ([`KEY_TTL_SECS`](crate::app::cluster::KEY_TTL_SECS)), and entropy for epochs.
fn cluster_of(config: &Config, url: &crate::wire::redis_url::RedisUrl) -> crate::app::cluster::Cluster {
    use crate::app::cluster::{Cluster, KEY_TTL_SECS};
    let age_ms = config.history_ttl.as_millis().min(u128::from(u64::MAX)) as u64;
    let key_ttl_secs = KEY_TTL_SECS.max(config.history_ttl.as_secs().saturating_mul(2));
    let policy = crate::protocol::cluster_script::HistoryPolicy { size: config.history as u64, age_ms, key_ttl_secs };
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    let seed = nanos ^ (u128::from(std::process::id()) << 64) ^ (&policy as *const _ as usize as u128);
    Cluster::new(url, config.redis_prefix.clone(), policy, config.max_backlog, seed)
}

/// The time now, as the application wants it.
pub(super) fn time(now: Instant) -> Time {
    Time { now, unix_ms: unix_ms() }
}

/// Milliseconds since the Unix epoch (the wall clock).
fn unix_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

/// A file or folder named by a flag could not be used: a bad value of that flag (exit 2).
fn with_context(e: io::Error, flag: &str, path: &std::path::Path) -> io::Error {
    io::Error::new(e.kind(), crate::config::BadFlagValue(format!("{flag} {}: {e}", path.display())))
}
