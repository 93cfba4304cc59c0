//! Connection attempts: a TCP connect from the next loopback source address, the upgrade
//! request once connected, the server's answer checked (RFC 6455 §4.1, §4.2.2), retries of
//! transport failures and a deadline per attempt.

use std::io;
use std::time::{Duration, Instant};

use danmaku_wall::kit::upgrade::{key_from_nonce, upgrade_request};
use danmaku_wall::protocol::ws_conn::{Role, WsConn, WsLimits};
use danmaku_wall::wire::handshake::check_server_response;
use mio::{Interest, Token};

use super::{Handler, Net, State};
use crate::sock;

/// A connection attempt (TCP connect plus handshake) that takes longer than this failed.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(15);
/// Tries per connection before it counts as a connect failure (transport errors only: an
/// HTTP answer other than 101 is final).
const ATTEMPTS: u32 = 5;
/// Wait before trying again after a transient failure (EAGAIN, no free port, reset).
const RETRY_AFTER: Duration = Duration::from_millis(50);
/// Longest accepted message (the server's are ~150 bytes; errors are short too).
const MAX_MESSAGE: usize = 1 << 20;

impl Net {
    pub(super) fn next_random(&mut self) -> u64 {
        // xorshift64*
        let mut x = self.rng;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.rng = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Starts queued and due connection attempts while handshake slots are free.
    pub(super) fn start_attempts(&mut self, now: Instant, h: &mut impl Handler) {
        while self.in_flight < self.max_in_flight {
            let token = match self.retry.front() {
                Some(&(at, token)) if at <= now => {
                    self.retry.pop_front();
                    token
                }
                _ => match self.queue.pop_front() {
                    Some(token) => token,
                    None => break,
                },
            };
            self.start(token, now, h);
        }
    }

    pub(super) fn start(&mut self, token: usize, now: Instant, h: &mut impl Handler) {
        let mut nonce = [0u8; 16];
        nonce[..8].copy_from_slice(&self.next_random().to_le_bytes());
        nonce[8..].copy_from_slice(&self.next_random().to_le_bytes());
        let conn = &mut self.conns[token];
        conn.key = key_from_nonce(nonce);
        conn.attempt += 1;
        conn.out.clear();
        match sock::connect(self.targets[token % self.targets.len()].addr, &mut self.sources) {
            Ok(mut stream) => {
                if let Err(e) =
                    self.poll.registry().register(&mut stream, Token(token), Interest::READABLE | Interest::WRITABLE)
                {
                    return self.fail_attempt(token, false, &format!("register: {e}"), now, h);
                }
                let _ = stream.set_nodelay(true);
                conn.stream = Some(stream);
                conn.state = State::Connecting;
                self.in_flight += 1;
                self.deadlines.push_back((now + HANDSHAKE_TIMEOUT, token, conn.attempt));
            }
            Err(e) => {
                // EAGAIN / EADDRNOTAVAIL: out of local ports or SYN queue space for now.
                let transient = e.kind() == io::ErrorKind::WouldBlock
                    || matches!(e.raw_os_error(), Some(libc::EADDRNOTAVAIL | libc::EAGAIN | libc::EINTR));
                if transient && conn.attempt < ATTEMPTS * 20 {
                    conn.state = State::Waiting;
                    self.stats.retries += 1;
                    self.retry.push_back((now + RETRY_AFTER, token));
                } else {
                    conn.state = State::Done;
                    self.note_failure(format!("connect: {e}"));
                    self.stats.connect_failures += 1;
                    h.on_close(token, false, "connect failed");
                }
            }
        }
    }

    pub(super) fn note_failure(&mut self, why: String) {
        if self.first_failure.is_none() {
            self.first_failure = Some(why);
        }
    }

    /// An attempt in flight failed. Transport trouble is retried; an HTTP refusal is final.
    pub(super) fn fail_attempt(
        &mut self,
        token: usize,
        retryable: bool,
        why: &str,
        now: Instant,
        h: &mut impl Handler,
    ) {
        let conn = &mut self.conns[token];
        if matches!(conn.state, State::Connecting | State::Handshaking(_)) {
            self.in_flight -= 1;
        }
        if let Some(mut stream) = conn.stream.take() {
            let _ = self.poll.registry().deregister(&mut stream);
        }
        if retryable && conn.attempt < ATTEMPTS {
            conn.state = State::Waiting;
            self.stats.retries += 1;
            self.retry.push_back((now + RETRY_AFTER, token));
        } else {
            conn.state = State::Done;
            self.stats.connect_failures += 1;
            self.note_failure(why.to_string());
            h.on_close(token, false, why);
        }
    }

    pub(super) fn on_writable(&mut self, token: usize, h: &mut impl Handler) {
        let Some(conn) = self.conns.get_mut(token) else { return };
        let Some(stream) = conn.stream.as_mut() else { return };
        match conn.state {
            State::Connecting => {
                // mio: a writable event on a connecting socket means the attempt is over;
                // SO_ERROR says how, peer_addr whether it is really connected.
                let error = match stream.take_error() {
                    Ok(Some(e)) | Err(e) => Some(e),
                    Ok(None) => None,
                };
                if let Some(e) = error {
                    return self.fail_attempt(token, true, &format!("connect: {e}"), Instant::now(), h);
                }
                match stream.peer_addr() {
                    Ok(_) => {}
                    Err(e) if e.kind() == io::ErrorKind::NotConnected => return,
                    Err(e) => return self.fail_attempt(token, true, &format!("connect: {e}"), Instant::now(), h),
                }
                conn.state = State::Handshaking(Vec::new());
                conn.out = upgrade_request(&self.targets[token % self.targets.len()].host, &self.path, &conn.key);
                self.flush(token, h);
            }
            _ => {
                if !conn.out.is_empty() {
                    self.flush(token, h);
                }
            }
        }
    }

    /// Fails every attempt whose deadline has passed.
    pub(super) fn expire_attempts(&mut self, now: Instant, h: &mut impl Handler) {
        while let Some(&(at, token, attempt)) = self.deadlines.front() {
            if at > now {
                break;
            }
            self.deadlines.pop_front();
            let conn = &self.conns[token];
            if conn.attempt == attempt && matches!(conn.state, State::Connecting | State::Handshaking(_)) {
                self.fail_attempt(token, true, "handshake timed out", now, h);
            }
        }
    }

    /// `n` more bytes of the server's answer arrived in the scratch buffer: once the answer
    /// is complete and right the connection is open (and bytes after the answer are its
    /// first frames); a wrong answer is final. Returns false when the connection is gone.
    pub(super) fn on_handshake_bytes(&mut self, token: usize, n: usize, now: Instant, h: &mut impl Handler) -> bool {
        let conn = &mut self.conns[token];
        let State::Handshaking(buf) = &mut conn.state else { return false };
        buf.extend_from_slice(&self.scratch[..n]);
        let len = match check_server_response(buf, &conn.key) {
            Ok(None) => return true,
            Ok(Some(len)) => len,
            Err(e) => {
                let status = String::from_utf8_lossy(buf.split(|&b| b == b'\r').next().unwrap_or(b"")).into_owned();
                self.fail_attempt(token, false, &format!("handshake: {e} ({status})"), now, h);
                return false;
            }
        };
        let mut leftover = buf.split_off(len);
        let limits = WsLimits {
            max_message: MAX_MESSAGE,
            ping_interval: None,
            ping_timeout: Duration::from_secs(3600),
            close_timeout: Duration::from_secs(1),
        };
        let seed = self.rng as u32 ^ token as u32;
        let ws = WsConn::new(Role::Client, limits, now).with_mask_seed(seed);
        conn.state = State::Open(Box::new(ws));
        self.in_flight -= 1;
        self.stats.open += 1;
        self.stats.opened += 1;
        h.on_open(token, now);
        if !leftover.is_empty()
            && let State::Open(ws) = &mut self.conns[token].state
        {
            ws.feed(&mut leftover, &mut self.ws_events);
            self.dispatch(token, now, h);
        }
        true
    }
}
