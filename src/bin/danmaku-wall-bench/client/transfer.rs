//! Bytes on open connections: reads into the shared scratch buffer fed to `WsConn`,
//! masked text frames out (RFC 6455 §5.3), short writes kept for the next writable event,
//! and what `feed` produced (messages, control replies, the end of the connection).

use std::io::{self, Read, Write};
use std::time::Instant;

use danmaku_wall::kit::messages::is_hello;
use danmaku_wall::protocol::ws_conn::WsEvent;
use danmaku_wall::wire::frame::Opcode;

use super::{Handler, Net, State};

impl Net {
    /// Ends an open connection (no close handshake: the bench is done with it or it broke).
    pub(super) fn drop_open(&mut self, token: usize, why: &str, h: &mut impl Handler) {
        let conn = &mut self.conns[token];
        if !matches!(conn.state, State::Open(_)) {
            return;
        }
        conn.state = State::Done;
        if let Some(mut stream) = conn.stream.take() {
            let _ = self.poll.registry().deregister(&mut stream);
        }
        self.stats.open -= 1;
        self.stats.disconnects += 1;
        h.on_close(token, true, why);
    }

    /// Writes what is left in the connection's out buffer.
    pub(super) fn flush(&mut self, token: usize, h: &mut impl Handler) {
        let conn = &mut self.conns[token];
        let Some(stream) = conn.stream.as_mut() else { return };
        while !conn.out.is_empty() {
            match stream.write(&conn.out) {
                Ok(n) => {
                    conn.out.drain(..n);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return self.on_transport_error(token, &format!("write: {e}"), h),
            }
        }
    }

    pub(super) fn on_transport_error(&mut self, token: usize, why: &str, h: &mut impl Handler) {
        match self.conns[token].state {
            State::Open(_) => self.drop_open(token, why, h),
            State::Connecting | State::Handshaking(_) => self.fail_attempt(token, true, why, Instant::now(), h),
            _ => {}
        }
    }

    /// Sends one text message (masked, as a client must) on an open connection. Returns
    /// false when the connection is not open.
    pub fn send_text(&mut self, token: usize, payload: &[u8], h: &mut impl Handler) -> bool {
        let Some(conn) = self.conns.get_mut(token) else { return false };
        let State::Open(ws) = &mut conn.state else { return false };
        let frame = ws.frame_bytes(Opcode::Text, payload);
        self.send_raw(token, frame, h);
        true
    }

    pub(super) fn send_raw(&mut self, token: usize, bytes: Vec<u8>, h: &mut impl Handler) {
        let conn = &mut self.conns[token];
        if !conn.out.is_empty() {
            conn.out.extend_from_slice(&bytes);
            return;
        }
        let Some(stream) = conn.stream.as_mut() else { return };
        loop {
            match stream.write(&bytes) {
                Ok(n) if n == bytes.len() => return,
                Ok(n) => {
                    conn.out.extend_from_slice(&bytes[n..]);
                    return;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    conn.out = bytes;
                    return;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return self.on_transport_error(token, &format!("write: {e}"), h),
            }
        }
    }

    /// Reads until the socket is drained (or a short read says it is), feeding the bytes to
    /// the connection's handshake or its `WsConn`.
    pub(super) fn on_readable(&mut self, token: usize, h: &mut impl Handler) {
        loop {
            let Some(conn) = self.conns.get_mut(token) else { return };
            let Some(stream) = conn.stream.as_mut() else { return };
            let n = match stream.read(&mut self.scratch) {
                Ok(0) => {
                    let why = "closed by the server";
                    return match conn.state {
                        State::Open(_) => self.drop_open(token, why, h),
                        _ => self.fail_attempt(token, true, why, Instant::now(), h),
                    };
                }
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return self.on_transport_error(token, &format!("read: {e}"), h),
            };
            let now = Instant::now();
            match &mut conn.state {
                State::Open(ws) => {
                    ws.feed(&mut self.scratch[..n], &mut self.ws_events);
                    self.dispatch(token, now, h);
                }
                State::Handshaking(_) => {
                    if !self.on_handshake_bytes(token, n, now, h) {
                        return;
                    }
                }
                _ => return,
            }
            if n < self.scratch.len() {
                // Edge-triggered epoll reports any byte that arrives after this short read;
                // skip the read that would only say EAGAIN.
                return;
            }
        }
    }

    /// Acts on what the connection's `feed` produced.
    pub(super) fn dispatch(&mut self, token: usize, now: Instant, h: &mut impl Handler) {
        let mut events = std::mem::take(&mut self.ws_events);
        for event in events.drain(..) {
            match event {
                WsEvent::Message(m) if is_hello(&m.data) => h.on_hello(token, &m.data),
                WsEvent::Message(m) => {
                    h.on_message(token, &m.data, now);
                    let mut out = std::mem::take(&mut self.reply);
                    out.clear();
                    if h.reply(token, &mut out) {
                        self.send_text(token, &out, h);
                    }
                    self.reply = out;
                }
                WsEvent::Send(bytes) => self.send_raw(token, bytes, h),
                WsEvent::Finish => {
                    self.flush(token, h);
                    self.drop_open(token, "closed by the server (close frame)", h);
                }
                WsEvent::Abort(why) => self.drop_open(token, why, h),
            }
        }
        self.ws_events = events;
    }
}
