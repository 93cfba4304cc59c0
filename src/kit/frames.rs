//! Frames as a client sees them (RFC 6455 §5): masked frames out, built with the crate's own
//! [`encode_frame`]; unmasked server frames in, parsed by [`FrameReader`] (the one parser of
//! the kit) on top of [`FrameHeader::decode`].

use crate::wire::frame::{FrameHeader, MAX_HEADER_LEN, Opcode, encode_frame};

/// Opcodes as plain numbers (§5.2), so tests can also write the reserved ones.
pub const CONTINUATION: u8 = 0x0;
pub const TEXT: u8 = 0x1;
pub const BINARY: u8 = 0x2;
pub const CLOSE: u8 = 0x8;
pub const PING: u8 = 0x9;
pub const PONG: u8 = 0xA;

/// One masked client frame (§5.2, §5.3: "a client MUST mask all frames"). A reserved
/// `opcode` is written as is, for tests of how the server refuses it.
pub fn client_frame(fin: bool, opcode: u8, payload: &[u8], mask: [u8; 4]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + 14);
    match Opcode::from_bits(opcode) {
        Some(op) => encode_frame(&mut out, fin, op, payload, Some(mask)),
        None => {
            // A reserved opcode: encode as binary, then patch the opcode bits.
            encode_frame(&mut out, fin, Opcode::Binary, payload, Some(mask));
            out[0] = (out[0] & 0xF0) | (opcode & 0x0F);
        }
    }
    out
}

/// A masked frame's header alone (§5.2), announcing `len` payload bytes that the caller
/// sends (or never sends). `opcode` must be a defined one; `None` otherwise.
pub fn client_header(fin: bool, opcode: u8, len: u64, mask: [u8; 4]) -> Option<Vec<u8>> {
    let header = FrameHeader { fin, opcode: Opcode::from_bits(opcode)?, mask: Some(mask), payload_len: len };
    let mut out = [0u8; MAX_HEADER_LEN];
    let n = header.encode(&mut out);
    Some(out[..n].to_vec())
}

/// The same frame unmasked (what a client must never send, §5.1). A reserved `opcode` is
/// written as is.
pub fn unmasked_frame(fin: bool, opcode: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + 10);
    let op = Opcode::from_bits(opcode).unwrap_or(Opcode::Binary);
    encode_frame(&mut out, fin, op, payload, None);
    out[0] = (out[0] & 0xF0) | (opcode & 0x0F);
    out
}

/// Masking keys from a xorshift32 generator: cheap, varied, reproducible from the seed.
#[derive(Debug, Clone)]
pub struct Masker(u32);

impl Masker {
    pub fn new(seed: u32) -> Masker {
        Masker(seed | 1)
    }

    pub fn next_mask(&mut self) -> [u8; 4] {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        self.0 = x;
        x.to_le_bytes()
    }
}

/// A frame from the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    pub fin: bool,
    pub opcode: u8,
    pub payload: Vec<u8>,
}

impl Frame {
    /// The payload as text. Panics if it is not UTF-8 (a server bug, §8.1).
    pub fn text(&self) -> &str {
        std::str::from_utf8(&self.payload).expect("text frame is UTF-8")
    }

    /// A close frame's status code (§5.5.1): `None` for an empty close payload. Panics on a
    /// frame that is not a close frame or holds a one-byte payload (a server bug).
    pub fn close_code(&self) -> Option<u16> {
        assert_eq!(self.opcode, CLOSE, "not a close frame: {self:?}");
        match self.payload.as_slice() {
            [] => None,
            [hi, lo, ..] => Some(u16::from_be_bytes([*hi, *lo])),
            [_] => panic!("close frame with a one-byte payload"),
        }
    }
}

/// Server frames parsed from a byte stream as it arrives: bytes pushed in, whole frames out,
/// without copying the buffer per frame (tests receive tens of thousands).
#[derive(Debug, Default)]
pub struct FrameReader {
    buf: Vec<u8>,
    pos: usize,
}

impl FrameReader {
    /// A reader that starts with `already`: bytes read past the handshake.
    pub fn new(already: Vec<u8>) -> FrameReader {
        FrameReader { buf: already, pos: 0 }
    }

    pub fn push(&mut self, bytes: &[u8]) {
        if self.pos > 0 && self.pos * 2 >= self.buf.len() {
            self.buf.drain(..self.pos);
            self.pos = 0;
        }
        self.buf.extend_from_slice(bytes);
    }

    /// The next whole frame, `Ok(None)` while it has not all arrived, `Err` if the bytes are
    /// not a valid server frame (a bad header, §5.2, or a mask, §5.1: "A server MUST NOT mask").
    pub fn next_frame(&mut self) -> Result<Option<Frame>, String> {
        let rest = &self.buf[self.pos..];
        let (header, header_len) = match FrameHeader::decode(rest) {
            Ok(Some(h)) => h,
            Ok(None) => return Ok(None),
            Err(e) => {
                let head = &rest[..rest.len().min(16)];
                return Err(format!("invalid frame header from the server ({e}): {head:02x?}"));
            }
        };
        if header.mask.is_some() {
            return Err("the server sent a masked frame".to_string());
        }
        let Some(end) = usize::try_from(header.payload_len).ok().and_then(|n| n.checked_add(header_len)) else {
            return Err(format!("absurd frame length {}", header.payload_len));
        };
        if rest.len() < end {
            return Ok(None);
        }
        let frame = Frame { fin: header.fin, opcode: header.opcode.bits(), payload: rest[header_len..end].to_vec() };
        self.pos += end;
        Ok(Some(frame))
    }

    /// Bytes of a frame that has not fully arrived.
    pub fn partial(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// The unparsed bytes, leaving the reader empty.
    pub fn take_rest(&mut self) -> Vec<u8> {
        let rest = self.buf.split_off(self.pos);
        self.buf.clear();
        self.pos = 0;
        rest
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::frame::apply_mask;

    #[test]
    fn client_frames_are_masked() {
        // RFC 6455 §5.7: a masked "Hello".
        let f = client_frame(true, TEXT, b"Hello", [0x37, 0xfa, 0x21, 0x3d]);
        assert_eq!(f, [0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58]);
        let mut payload = f[6..].to_vec();
        apply_mask(&mut payload, [0x37, 0xfa, 0x21, 0x3d], 0);
        assert_eq!(payload, b"Hello");
        assert_eq!(client_frame(true, 0x3, b"", [0; 4])[0], 0x83);
        assert_eq!(unmasked_frame(false, TEXT, b"Hel"), [0x01, 0x03, 0x48, 0x65, 0x6c]);
        assert_eq!(
            client_header(true, BINARY, 65536, [1, 2, 3, 4]).unwrap(),
            [0x82, 0xFF, 0, 0, 0, 0, 0, 1, 0, 0, 1, 2, 3, 4]
        );
        assert_eq!(client_header(true, 0x3, 0, [0; 4]), None);
    }

    #[test]
    fn reader_at_every_split() {
        // §5.7: an unmasked "Hello", a 256-byte binary frame and an empty close.
        let mut stream = vec![0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f, 0x82, 0x7E, 0x01, 0x00];
        stream.extend(std::iter::repeat_n(7u8, 256));
        stream.extend([0x88, 0x00]);
        for split in 0..=stream.len() {
            let mut r = FrameReader::new(stream[..split].to_vec());
            let mut frames = Vec::new();
            while let Some(f) = r.next_frame().unwrap() {
                frames.push(f);
            }
            r.push(&stream[split..]);
            while let Some(f) = r.next_frame().unwrap() {
                frames.push(f);
            }
            assert_eq!(frames.len(), 3, "split at {split}");
            assert_eq!(frames[0].text(), "Hello");
            assert_eq!((frames[1].opcode, frames[1].payload.len()), (BINARY, 256));
            assert_eq!(frames[2].close_code(), None);
            assert_eq!(r.partial(), 0);
        }
    }

    #[test]
    fn reader_refuses_masked_and_reserved() {
        let mut r = FrameReader::new(client_frame(true, TEXT, b"x", [1, 2, 3, 4]));
        assert!(r.next_frame().is_err());
        let mut r = FrameReader::new(vec![0x83, 0x00]);
        assert!(r.next_frame().is_err());
        let mut r = FrameReader::new(vec![0x81, 0x05, b'a']);
        assert_eq!(r.next_frame(), Ok(None));
        assert_eq!(r.take_rest(), [0x81, 0x05, b'a']);
    }

    #[test]
    fn masks_vary() {
        let mut m = Masker::new(7);
        let (a, b) = (m.next_mask(), m.next_mask());
        assert_ne!(a, b);
        assert_eq!(Masker::new(7).next_mask(), a);
    }
}
