//! One WebSocket connection after the handshake: frames in, messages out, control frames,
//! the close handshake and heartbeats (RFC 6455 §5, §6, §7).
//!
//! [`WsConn::feed`] takes bytes as the network delivers them, split anywhere, and pushes
//! [`WsEvent`]s: complete messages, frames to send (pongs, close), and when the TCP
//! connection should end. [`WsConn::on_timer`] drives heartbeats and the close deadline;
//! [`WsConn::next_wake`] says when it needs calling. Every protocol error becomes a close
//! code in one place, [`ProtocolError::close_code`] (`ws_error.rs`).

use std::time::{Duration, Instant};

use crate::wire::close::{CloseCode, close_payload, parse_close_payload};
use crate::wire::frame::{self, FrameHeader, MAX_HEADER_LEN, Opcode};
use crate::wire::utf8::Utf8Validator;

pub use super::ws_error::ProtocolError;

/// Which end of the connection this is. A server requires masked frames and sends unmasked
/// ones; a client the other way round (RFC 6455 §5.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Server,
    Client,
}

/// The limits and timers of one connection.
#[derive(Debug, Clone, Copy)]
pub struct WsLimits {
    /// Largest reassembled message, inclusive (1009 past it).
    pub max_message: usize,
    /// Send a ping this often; `None` turns heartbeats off.
    pub ping_interval: Option<Duration>,
    /// Drop the connection when nothing arrived this long after a ping.
    pub ping_timeout: Duration,
    /// How long to wait for the peer's close frame after sending ours.
    pub close_timeout: Duration,
}

/// A complete message (RFC 6455 §5.4, §5.6). A text message's data is valid UTF-8.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub opcode: Opcode,
    pub data: Vec<u8>,
}

/// What the connection asks of the shell, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WsEvent {
    /// A complete data message arrived.
    Message(Message),
    /// A frame to write (pong, ping, close).
    Send(Vec<u8>),
    /// The closing handshake is done or the connection failed: write what is queued,
    /// then close TCP (the server closes first, §7.1.1). Nothing more will be read.
    Finish,
    /// Close TCP now without a close frame: the peer is gone (heartbeat or close timeout).
    Abort(&'static str),
}

/// Where the closing handshake stands (RFC 6455 §7).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Open,
    /// We sent a close frame and wait for the peer's until the deadline (§7.1.2).
    CloseSent {
        deadline: Instant,
    },
    /// Done: nothing more is read or sent.
    Closed,
}

/// The frame whose payload is arriving.
#[derive(Debug, Clone, Copy)]
struct InFrame {
    header: FrameHeader,
    received: u64,
}

/// A fragmented or still-arriving data message (§5.4).
#[derive(Debug)]
struct Assembly {
    opcode: Opcode,
    data: Vec<u8>,
    utf8: Utf8Validator,
}

/// The state of one WebSocket connection. Small when idle: buffers exist only while a
/// frame or message is partly received.
#[derive(Debug)]
pub struct WsConn {
    role: Role,
    limits: WsLimits,
    state: State,
    /// Header bytes received so far, while a header is split across reads.
    header: [u8; MAX_HEADER_LEN],
    header_len: u8,
    frame: Option<InFrame>,
    message: Option<Box<Assembly>>,
    /// The payload of the control frame in progress (≤ 125 bytes, §5.5).
    control: Vec<u8>,
    /// Heartbeat (the contract's rule): when the next ping is due, and the time of the
    /// ping still waiting for any frame from the peer.
    next_ping: Option<Instant>,
    unanswered_ping: Option<Instant>,
    /// Client role: state of the masking-key generator (xorshift32, never zero).
    mask_state: u32,
}

impl WsConn {
    pub fn new(role: Role, limits: WsLimits, now: Instant) -> Self {
        WsConn {
            role,
            limits,
            state: State::Open,
            header: [0; MAX_HEADER_LEN],
            header_len: 0,
            frame: None,
            message: None,
            control: Vec::new(),
            next_ping: limits.ping_interval.map(|i| now + i),
            unanswered_ping: None,
            mask_state: 0x9E37_79B9,
        }
    }

    /// Seeds the client's masking keys (RFC 6455 §5.3 wants them unpredictable to
    /// JavaScript in a browser; this generator is for the load generator and tests).
    pub fn with_mask_seed(mut self, seed: u32) -> Self {
        self.mask_state = seed | 1;
        self
    }

    pub fn is_open(&self) -> bool {
        self.state == State::Open
    }

    pub fn is_closed(&self) -> bool {
        self.state == State::Closed
    }

    /// Feeds bytes from the network. `data` is a scratch buffer: payloads are unmasked in
    /// place. Events are pushed to `events` in the order they happen.
    pub fn feed(&mut self, data: &mut [u8], events: &mut Vec<WsEvent>) {
        if !data.is_empty() {
            // The contract's heartbeat: any frame (any bytes) answers the last ping.
            self.unanswered_ping = None;
        }
        let mut input = data;
        while !input.is_empty() && self.state != State::Closed {
            let consumed = match self.frame {
                None => self.read_header(input, events),
                Some(frame) => self.read_payload(frame, input, events),
            };
            // Both readers return at most `input.len()` (see their `take`), so in bounds.
            input = &mut input[consumed..];
        }
    }

    /// Reads (part of) a frame header; returns how many bytes of `input` it used.
    fn read_header(&mut self, input: &[u8], events: &mut Vec<WsEvent>) -> usize {
        let have = usize::from(self.header_len);
        let take = (MAX_HEADER_LEN - have).min(input.len());
        // `have` < 14 (a complete header is never kept) and `take` ≤ 14 − `have`, ≤ input.
        self.header[have..have + take].copy_from_slice(&input[..take]);
        // `have + take` ≤ 14 = `header.len()`, as above.
        match FrameHeader::decode(&self.header[..have + take]) {
            Ok(None) => {
                self.header_len = (have + take) as u8;
                take
            }
            Ok(Some((header, len))) => {
                self.header_len = 0;
                if let Err(e) = self.start_frame(header) {
                    self.fail(e, events);
                } else {
                    self.frame = Some(InFrame { header, received: 0 });
                    if header.payload_len == 0 {
                        self.end_frame(events);
                    }
                }
                // `have` bytes did not make a header, so the header is longer: no underflow;
                // it was decoded from `have + take` bytes, so this is ≤ `take` ≤ `input.len()`.
                len - have
            }
            Err(e) => {
                self.fail(ProtocolError::Frame(e), events);
                take
            }
        }
    }

    /// The checks a new frame's header must pass before its payload is read (§5.1, §5.4).
    fn start_frame(&mut self, header: FrameHeader) -> Result<(), ProtocolError> {
        match (self.role, header.mask) {
            (Role::Server, None) => return Err(ProtocolError::UnmaskedFrame),
            (Role::Client, Some(_)) => return Err(ProtocolError::MaskedFrame),
            _ => {}
        }
        let too_big =
            |have: usize| header.payload_len > (self.limits.max_message - have.min(self.limits.max_message)) as u64;
        match header.opcode {
            Opcode::Text | Opcode::Binary => {
                if self.message.is_some() {
                    return Err(ProtocolError::ExpectedContinuation);
                }
                if too_big(0) {
                    return Err(ProtocolError::MessageTooBig);
                }
                self.message = Some(Box::new(Assembly {
                    opcode: header.opcode,
                    // Reserve for what is announced, but at most a page: a header alone
                    // must not make us allocate; a longer message grows as it arrives.
                    data: Vec::with_capacity((header.payload_len as usize).min(4096)),
                    utf8: Utf8Validator::new(),
                }));
            }
            Opcode::Continuation => match &self.message {
                None => return Err(ProtocolError::UnexpectedContinuation),
                Some(m) if too_big(m.data.len()) => return Err(ProtocolError::MessageTooBig),
                Some(_) => {}
            },
            Opcode::Close | Opcode::Ping | Opcode::Pong => self.control.clear(),
        }
        Ok(())
    }

    /// Reads (part of) a payload; returns how many bytes of `input` it used.
    fn read_payload(&mut self, mut frame: InFrame, input: &mut [u8], events: &mut Vec<WsEvent>) -> usize {
        // `received` < `payload_len` while a frame is in progress (`end_frame` ends it on
        // equality), so no underflow; `take` ≤ `input.len()`, so the slice is in bounds.
        let remaining = frame.header.payload_len - frame.received;
        let take = remaining.min(input.len() as u64) as usize;
        let chunk = &mut input[..take];
        if let Some(key) = frame.header.mask {
            frame::apply_mask(chunk, key, frame.received as usize);
        }
        if frame.header.opcode.is_control() {
            self.control.extend_from_slice(chunk);
        } else if let Some(message) = &mut self.message {
            // §8.1 / Autobahn 6.4.*: fail as soon as the text cannot be UTF-8.
            if message.opcode == Opcode::Text && message.utf8.feed(chunk).is_err() {
                self.fail(ProtocolError::InvalidUtf8, events);
                return take;
            }
            message.data.extend_from_slice(chunk);
        }
        frame.received += take as u64;
        self.frame = Some(frame);
        if frame.received == frame.header.payload_len {
            self.end_frame(events);
        }
        take
    }

    /// A frame's payload is complete.
    fn end_frame(&mut self, events: &mut Vec<WsEvent>) {
        let Some(frame) = self.frame.take() else { return };
        match frame.header.opcode {
            Opcode::Text | Opcode::Binary | Opcode::Continuation => {
                if !frame.header.fin {
                    return;
                }
                let Some(mut message) = self.message.take() else { return };
                if message.opcode == Opcode::Text && message.utf8.finish().is_err() {
                    return self.fail(ProtocolError::InvalidUtf8, events);
                }
                // §5.5.1: after sending a close frame, data is no longer processed.
                if self.state == State::Open {
                    events.push(WsEvent::Message(Message { opcode: message.opcode, data: message.data }));
                }
            }
            // §5.5.2: "Upon receipt of a Ping frame, an endpoint MUST send a Pong frame in
            // response ... [with] identical Application data".
            Opcode::Ping => {
                if self.state == State::Open {
                    let data = std::mem::take(&mut self.control);
                    let pong = self.frame_bytes(Opcode::Pong, &data);
                    events.push(WsEvent::Send(pong));
                }
            }
            // §5.5.3: an unsolicited pong needs no answer; it already counted as activity.
            Opcode::Pong => log::trace!("pong received"),
            Opcode::Close => self.on_close_frame(events),
        }
        self.control = Vec::new();
    }

    /// §5.5.1: answer a close with a close (echoing its code), then end TCP.
    fn on_close_frame(&mut self, events: &mut Vec<WsEvent>) {
        let code = match parse_close_payload(&self.control) {
            Ok(Some((code, _reason))) => code,
            Ok(None) => CloseCode::NORMAL,
            Err(e) => return self.fail(ProtocolError::InvalidClose(e), events),
        };
        if self.state == State::Open {
            let reply = self.frame_bytes(Opcode::Close, &close_payload(code, ""));
            events.push(WsEvent::Send(reply));
        }
        self.state = State::Closed;
        events.push(WsEvent::Finish);
    }

    /// _Fail the WebSocket Connection_ (§7.1.7): send a close frame with the error's code
    /// and end TCP. We cannot trust the rest of the stream, so we do not wait for a reply.
    fn fail(&mut self, error: ProtocolError, events: &mut Vec<WsEvent>) {
        if self.state == State::Open {
            let close = self.frame_bytes(Opcode::Close, &close_payload(error.close_code(), &error.to_string()));
            events.push(WsEvent::Send(close));
        }
        self.state = State::Closed;
        self.frame = None;
        self.message = None;
        events.push(WsEvent::Finish);
    }

    /// Starts the closing handshake from our side (§7.1.2): send a close frame and wait
    /// for the peer's, at most [`WsLimits::close_timeout`].
    pub fn close(&mut self, code: CloseCode, reason: &str, now: Instant, events: &mut Vec<WsEvent>) {
        if self.state == State::Open {
            let close = self.frame_bytes(Opcode::Close, &close_payload(code, reason));
            events.push(WsEvent::Send(close));
            self.state = State::CloseSent { deadline: now + self.limits.close_timeout };
        }
    }

    /// Heartbeats and the close deadline. Call when [`next_wake`](Self::next_wake) has come.
    pub fn on_timer(&mut self, now: Instant, events: &mut Vec<WsEvent>) {
        match self.state {
            State::Closed => return,
            State::CloseSent { deadline } if now >= deadline => {
                self.state = State::Closed;
                return events.push(WsEvent::Abort("no close reply"));
            }
            _ => {}
        }
        if let Some(sent) = self.unanswered_ping
            && now >= sent + self.limits.ping_timeout
        {
            self.state = State::Closed;
            return events.push(WsEvent::Abort("no answer to ping"));
        }
        if let (Some(due), Some(interval)) = (self.next_ping, self.limits.ping_interval)
            && now >= due
            && self.state == State::Open
        {
            events.push(WsEvent::Send(self.frame_bytes(Opcode::Ping, b"")));
            self.unanswered_ping.get_or_insert(now);
            self.next_ping = Some(now + interval);
        }
    }

    /// When [`on_timer`](Self::on_timer) next has work to do.
    pub fn next_wake(&self) -> Option<Instant> {
        match self.state {
            State::Closed => None,
            State::CloseSent { deadline } => Some(deadline),
            State::Open => {
                let timeout = self.unanswered_ping.map(|sent| sent + self.limits.ping_timeout);
                match (self.next_ping, timeout) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                }
            }
        }
    }

    /// A whole frame as this role sends it: masked with a fresh key by a client (§5.3),
    /// unmasked by a server (§5.1). `&mut self`: a client's key generator advances.
    pub fn frame_bytes(&mut self, opcode: Opcode, payload: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(MAX_HEADER_LEN + payload.len());
        frame::encode_frame(&mut out, true, opcode, payload, self.next_mask());
        out
    }

    fn next_mask(&mut self) -> Option<[u8; 4]> {
        match self.role {
            Role::Server => None,
            Role::Client => {
                // xorshift32: cheap and never zero; see `with_mask_seed`.
                let mut x = self.mask_state;
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                self.mask_state = x;
                Some(x.to_le_bytes())
            }
        }
    }
}

#[cfg(test)]
#[path = "ws_conn_tests.rs"]
mod tests;
