//! A reference model of RFC 6455 for the `/echo` server: given the bytes a client sends, the
//! frames the server must send back (echoes and pongs, in order) and how the connection must
//! end (open, dropped, or closed with one of a few codes).

use std::ops::ControlFlow::{self, Break, Continue};

use crate::common::{PONG, TEXT};

/// How a connection must end, according to the reference model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum End {
    /// Still open (the stream ended between frames and the client did not close).
    Open,
    /// TCP closed without a close frame.
    Drop,
    /// A close frame with one of these codes, then TCP closed.
    Close(Vec<u16>),
    /// The error is in the last, incomplete frame: a close with one of these codes, or a
    /// drop (a server may wait for the whole header or payload before checking).
    CloseOrDrop(Vec<u16>),
}

/// What the server must send for `stream` (a reference model of RFC 6455 for a server with
/// `max_message`): the frames (opcode, payload) in order, then how it ends.
pub(crate) fn expected_for(stream: &[u8], max_message: usize, half_closed: bool) -> (Vec<(u8, Vec<u8>)>, End) {
    let mut model = Model { out: Vec::new(), message: None, max_message };
    let mut pos = 0;
    loop {
        match model.frame(&stream[pos..], half_closed) {
            Continue(used) => pos += used,
            Break(end) => return (model.out, end),
        }
    }
}

/// One frame header as the model reads it (RFC 6455 §5.2).
struct Header {
    fin: bool,
    opcode: u8,
    control: bool,
    masked: bool,
    /// A reserved bit or opcode, or a fragmented or over-long control frame: known from the
    /// first two bytes.
    early_error: bool,
    header_len: usize,
    payload_len: u64,
}

impl Header {
    /// Reads the header at the start of `rest` (at least 2 bytes long); breaks with how the
    /// connection ends if the header is incomplete.
    fn read(rest: &[u8]) -> ControlFlow<End, Header> {
        let (b0, b1) = (rest[0], rest[1]);
        let fin = b0 & 0x80 != 0;
        let opcode = b0 & 0x0F;
        let control = opcode & 0x08 != 0;
        let len7 = b1 & 0x7F;
        let reserved = b0 & 0x70 != 0 || !matches!(opcode, 0 | 1 | 2 | 8 | 9 | 10);
        let early_error = reserved || (control && (!fin || len7 > 125));
        let masked = b1 & 0x80 != 0;
        let len_bytes = match len7 {
            126 => 2,
            127 => 8,
            _ => 0,
        };
        let header_len = 2 + len_bytes + if masked { 4 } else { 0 };
        if rest.len() < header_len {
            return Break(if early_error { End::CloseOrDrop(vec![1002]) } else { End::Drop });
        }
        let payload_len = match len7 {
            126 => u64::from(u16::from_be_bytes([rest[2], rest[3]])),
            127 => u64::from_be_bytes(rest[2..10].try_into().unwrap()),
            n => u64::from(n),
        };
        Continue(Header { fin, opcode, control, masked, early_error, header_len, payload_len })
    }

    /// The payload bytes present in `rest`, unmasked (RFC 6455 §5.3); the frame is masked.
    fn unmasked_payload(&self, rest: &[u8]) -> Vec<u8> {
        let mask: [u8; 4] = rest[self.header_len - 4..self.header_len].try_into().unwrap();
        let avail = (rest.len() - self.header_len).min(self.payload_len as usize);
        rest[self.header_len..self.header_len + avail].iter().enumerate().map(|(i, b)| b ^ mask[i % 4]).collect()
    }
}

/// The model's state between frames.
struct Model {
    /// The frames the server must send so far: (opcode, payload).
    out: Vec<(u8, Vec<u8>)>,
    /// The message being received: its opcode and data so far.
    message: Option<(u8, Vec<u8>)>,
    max_message: usize,
}

impl Model {
    /// Reads one frame from `rest`: continues with its length, or breaks with how the
    /// connection ends.
    fn frame(&mut self, rest: &[u8], half_closed: bool) -> ControlFlow<End, usize> {
        if rest.is_empty() {
            return Break(if half_closed { End::Drop } else { End::Open });
        }
        if rest.len() < 2 {
            return Break(End::Drop);
        }
        let header = Header::read(rest)?;
        self.check_header(&header)?;
        let payload = header.unmasked_payload(rest);
        let complete = payload.len() as u64 == header.payload_len;
        if !header.control {
            self.add_data(header.opcode, &payload, complete)?;
        }
        if !complete {
            return Break(End::Drop);
        }
        self.complete_frame(&header, payload)?;
        Continue(header.header_len + header.payload_len as usize)
    }

    /// Protocol errors (1002: RFC 6455 §5.1-§5.4) and a message over the limit (1009, §7.4.1)
    /// known from the header: a close with every code that applies.
    fn check_header(&self, h: &Header) -> ControlFlow<End> {
        let mut codes = Vec::new();
        if h.early_error || h.payload_len >> 63 != 0 || !h.masked {
            codes.push(1002);
        }
        let have = self.message.as_ref().map_or(0, |(_, d)| d.len());
        match h.opcode {
            1 | 2 if self.message.is_some() => codes.push(1002),
            0 if self.message.is_none() => codes.push(1002),
            _ => {}
        }
        if matches!(h.opcode, 0..=2) && h.payload_len > (self.max_message - have.min(self.max_message)) as u64 {
            codes.push(1009);
        }
        if codes.is_empty() {
            return Continue(());
        }
        codes.sort_unstable();
        codes.dedup();
        Break(End::Close(codes))
    }

    /// Adds a data frame's payload to the message; invalid UTF-8 in a text message fails
    /// as soon as it is seen (1007, RFC 6455 §8.1), even before the frame is complete.
    fn add_data(&mut self, opcode: u8, payload: &[u8], complete: bool) -> ControlFlow<End> {
        let (msg_opcode, data) = self.message.get_or_insert_with(|| (opcode, Vec::new()));
        data.extend_from_slice(payload);
        if *msg_opcode == TEXT
            && let Err(e) = std::str::from_utf8(data)
            && e.error_len().is_some()
        {
            return Break(if complete { End::Close(vec![1007]) } else { End::CloseOrDrop(vec![1007]) });
        }
        Continue(())
    }

    /// A complete frame: a final fragment echoes its message, a ping gets its pong
    /// (RFC 6455 §5.5.2), a pong nothing, a close ends the connection.
    fn complete_frame(&mut self, h: &Header, payload: Vec<u8>) -> ControlFlow<End> {
        match h.opcode {
            0..=2 => {
                if h.fin {
                    let (msg_opcode, data) = self.message.take().unwrap();
                    if msg_opcode == TEXT && std::str::from_utf8(&data).is_err() {
                        return Break(End::Close(vec![1007]));
                    }
                    self.out.push((msg_opcode, data));
                }
            }
            9 => self.out.push((PONG, payload)),
            10 => {}
            _ => return Break(close_answer(&payload)),
        }
        Continue(())
    }
}

/// A close is answered with its own code, or failed if its payload is invalid (RFC 6455
/// §5.5.1, §7.4.1).
fn close_answer(payload: &[u8]) -> End {
    match payload {
        [] => End::Close(vec![1000]),
        [_] => End::Close(vec![1002]),
        [hi, lo, reason @ ..] => {
            let code = u16::from_be_bytes([*hi, *lo]);
            if !matches!(code, 1000..=1003 | 1007..=1014 | 3000..=4999) {
                End::Close(vec![1002])
            } else if std::str::from_utf8(reason).is_err() {
                End::Close(vec![1007])
            } else {
                End::Close(vec![code])
            }
        }
    }
}
