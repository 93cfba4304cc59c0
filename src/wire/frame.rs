//! The base framing protocol: frame headers and masking (RFC 6455 §5.2, §5.3).
//!
//! This module knows nothing about connections or roles. It turns the first bytes of a frame
//! into a [`FrameHeader`] and back, and applies a masking key. Which side must mask, how
//! fragments form a message and what an error means for the connection are decided in
//! [`crate::protocol::ws_conn`].
//!
//! ```text
//!  0                   1                   2                   3
//!  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//! +-+-+-+-+-------+-+-------------+-------------------------------+
//! |F|R|R|R| opcode|M| Payload len |    Extended payload length    |
//! |I|S|S|S|  (4)  |A|     (7)     |             (16/64)           |
//! |N|V|V|V|       |S|             |   (if payload len==126/127)   |
//! | |1|2|3|       |K|             |                               |
//! +-+-+-+-+-------+-+-------------+ - - - - - - - - - - - - - - - +
//! |     Extended payload length continued, if payload len == 127  |
//! + - - - - - - - - - - - - - - - +-------------------------------+
//! |                               |Masking-key, if MASK set to 1  |
//! +-------------------------------+-------------------------------+
//! ```

use std::fmt;

/// Longest possible frame header: 2 + 8 (64-bit length) + 4 (masking key).
pub const MAX_HEADER_LEN: usize = 14;

/// Largest payload of a control frame (RFC 6455 §5.5: "125 bytes or less").
pub const MAX_CONTROL_PAYLOAD: usize = 125;

/// The opcodes RFC 6455 §5.2 defines; the reserved ones (3-7, 0xB-0xF) are errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Opcode {
    Continuation,
    Text,
    Binary,
    Close,
    Ping,
    Pong,
}

impl Opcode {
    /// RFC 6455 §5.2: `%x0` continuation, `%x1` text, `%x2` binary, `%x8` close, `%x9` ping,
    /// `%xA` pong. Anything else is reserved and yields `None`.
    pub fn from_bits(bits: u8) -> Option<Opcode> {
        match bits {
            0x0 => Some(Opcode::Continuation),
            0x1 => Some(Opcode::Text),
            0x2 => Some(Opcode::Binary),
            0x8 => Some(Opcode::Close),
            0x9 => Some(Opcode::Ping),
            0xA => Some(Opcode::Pong),
            _ => None,
        }
    }

    pub fn bits(self) -> u8 {
        match self {
            Opcode::Continuation => 0x0,
            Opcode::Text => 0x1,
            Opcode::Binary => 0x2,
            Opcode::Close => 0x8,
            Opcode::Ping => 0x9,
            Opcode::Pong => 0xA,
        }
    }

    /// RFC 6455 §5.5: control frames have opcodes whose most significant bit is 1.
    pub fn is_control(self) -> bool {
        self.bits() & 0x8 != 0
    }
}

/// A decoded frame header. The payload follows it on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameHeader {
    pub fin: bool,
    pub opcode: Opcode,
    /// The masking key, present when the MASK bit is set (RFC 6455 §5.3).
    pub mask: Option<[u8; 4]>,
    pub payload_len: u64,
}

/// A header that no endpoint may accept, whatever its role (RFC 6455 §5.2, §5.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameError {
    /// RSV1-3 set without a negotiated extension (§5.2: "MUST be 0 unless an extension is
    /// negotiated").
    ReservedBits,
    /// Opcode 3-7 or 0xB-0xF (§5.2: "MUST _Fail the WebSocket Connection_").
    ReservedOpcode(u8),
    /// A control frame with FIN clear (§5.5: "Control frames MUST NOT be fragmented").
    FragmentedControl,
    /// A control frame with more than 125 bytes of payload (§5.5).
    ControlTooLong,
    /// A 64-bit length with its most significant bit set (§5.2).
    LengthTooLarge,
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FrameError::ReservedBits => f.write_str("reserved bits set"),
            FrameError::ReservedOpcode(op) => write!(f, "reserved opcode {op:#x}"),
            FrameError::FragmentedControl => f.write_str("fragmented control frame"),
            FrameError::ControlTooLong => f.write_str("control frame payload over 125 bytes"),
            FrameError::LengthTooLarge => f.write_str("payload length has its top bit set"),
        }
    }
}

impl FrameHeader {
    /// Decodes a header from the start of `buf` (RFC 6455 §5.2).
    ///
    /// Returns `Ok(None)` when `buf` does not yet hold the whole header, so the caller can
    /// wait for more bytes; otherwise the header and how many bytes it took.
    pub fn decode(buf: &[u8]) -> Result<Option<(FrameHeader, usize)>, FrameError> {
        let [b0, b1, ..] = *buf else { return Ok(None) };
        if b0 & 0x70 != 0 {
            return Err(FrameError::ReservedBits);
        }
        let fin = b0 & 0x80 != 0;
        let opcode = Opcode::from_bits(b0 & 0x0F).ok_or(FrameError::ReservedOpcode(b0 & 0x0F))?;
        let masked = b1 & 0x80 != 0;
        let len7 = b1 & 0x7F;
        if opcode.is_control() {
            if !fin {
                return Err(FrameError::FragmentedControl);
            }
            if usize::from(len7) > MAX_CONTROL_PAYLOAD {
                return Err(FrameError::ControlTooLong);
            }
        }
        let len_bytes = match len7 {
            126 => 2,
            127 => 8,
            _ => 0,
        };
        let header_len = 2 + len_bytes + if masked { 4 } else { 0 };
        let Some(rest) = buf.get(2..header_len) else { return Ok(None) };
        // `rest` holds exactly `len_bytes` then 0 or 4 bytes, so the indexing below is in bounds.
        let (len_field, mask_field) = rest.split_at(len_bytes);
        let payload_len = match len7 {
            126 => u64::from(u16::from_be_bytes([len_field[0], len_field[1]])),
            127 => {
                let mut be = [0u8; 8];
                be.copy_from_slice(len_field);
                let len = u64::from_be_bytes(be);
                // §5.2: "the most significant bit MUST be 0".
                if len >> 63 != 0 {
                    return Err(FrameError::LengthTooLarge);
                }
                len
            }
            short => u64::from(short),
        };
        let mask = if masked {
            let mut key = [0u8; 4];
            key.copy_from_slice(mask_field);
            Some(key)
        } else {
            None
        };
        Ok(Some((FrameHeader { fin, opcode, mask, payload_len }, header_len)))
    }

    /// Encodes this header into `out`, using the shortest length form (§5.2: "the minimal
    /// number of bytes MUST be used to encode the length"), and returns its length.
    pub fn encode(&self, out: &mut [u8; MAX_HEADER_LEN]) -> usize {
        // `out` holds 14 bytes; the indexes below are constants, and `n` + 4 ≤ 10 + 4.
        out[0] = (if self.fin { 0x80 } else { 0 }) | self.opcode.bits();
        let mask_bit = if self.mask.is_some() { 0x80 } else { 0 };
        let mut n = match self.payload_len {
            len @ 0..=125 => {
                out[1] = mask_bit | len as u8;
                2
            }
            len @ 126..=0xFFFF => {
                out[1] = mask_bit | 126;
                out[2..4].copy_from_slice(&(len as u16).to_be_bytes());
                4
            }
            len => {
                out[1] = mask_bit | 127;
                out[2..10].copy_from_slice(&len.to_be_bytes());
                10
            }
        };
        if let Some(key) = self.mask {
            out[n..n + 4].copy_from_slice(&key);
            n += 4;
        }
        n
    }
}

/// XORs `data` with the masking key (RFC 6455 §5.3). `offset` is the position of `data[0]`
/// within the payload, so a payload that arrives in pieces can be unmasked piece by piece.
/// Masking and unmasking are the same operation.
pub fn apply_mask(data: &mut [u8], key: [u8; 4], offset: usize) {
    // §5.3: "octet i of the transformed data is the XOR of octet i of the original data
    // with octet at index i modulo 4 of the masking key". Rotating the key to `offset`
    // lets the loop below work on whole 4-byte chunks, which the compiler vectorises.
    let key: [u8; 4] = std::array::from_fn(|i| key[(offset + i) % 4]); // `% 4`: in bounds
    let mut chunks = data.chunks_exact_mut(4);
    for chunk in &mut chunks {
        for (b, k) in chunk.iter_mut().zip(key) {
            *b ^= k;
        }
    }
    for (b, k) in chunks.into_remainder().iter_mut().zip(key) {
        *b ^= k;
    }
}

/// Appends one whole frame (header and payload) to `out`. With a key, the payload is
/// masked as a client must (§5.3); a server sends `None`.
pub fn encode_frame(out: &mut Vec<u8>, fin: bool, opcode: Opcode, payload: &[u8], mask: Option<[u8; 4]>) {
    let header = FrameHeader { fin, opcode, mask, payload_len: payload.len() as u64 };
    let mut head = [0u8; MAX_HEADER_LEN];
    let n = header.encode(&mut head);
    out.reserve(n + payload.len());
    out.extend_from_slice(&head[..n]); // `encode` returns at most 14 = `head.len()`
    let start = out.len(); // ≤ `out.len()` after the payload is appended: in bounds
    out.extend_from_slice(payload);
    if let Some(key) = mask {
        apply_mask(&mut out[start..], key, 0);
    }
}

/// A whole unmasked frame in a fresh buffer: what a server sends.
pub fn server_frame(opcode: Opcode, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    encode_frame(&mut out, true, opcode, payload, None);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_all(buf: &[u8]) -> (FrameHeader, usize) {
        FrameHeader::decode(buf).unwrap().unwrap()
    }

    /// RFC 6455 §5.7: "A single-frame unmasked text message".
    const HELLO_UNMASKED: [u8; 7] = [0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f];
    /// RFC 6455 §5.7: "A single-frame masked text message".
    const HELLO_MASKED: [u8; 11] = [0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58];

    #[test]
    fn rfc_5_7_unmasked_hello() {
        let (h, n) = decode_all(&HELLO_UNMASKED);
        assert_eq!(h, FrameHeader { fin: true, opcode: Opcode::Text, mask: None, payload_len: 5 });
        assert_eq!(&HELLO_UNMASKED[n..], b"Hello");
        assert_eq!(server_frame(Opcode::Text, b"Hello"), HELLO_UNMASKED);
    }

    #[test]
    fn rfc_5_7_masked_hello() {
        let (h, n) = decode_all(&HELLO_MASKED);
        assert_eq!(h.mask, Some([0x37, 0xfa, 0x21, 0x3d]));
        let mut payload = HELLO_MASKED[n..].to_vec();
        apply_mask(&mut payload, h.mask.unwrap(), 0);
        assert_eq!(payload, b"Hello");
        let mut out = Vec::new();
        encode_frame(&mut out, true, Opcode::Text, b"Hello", Some([0x37, 0xfa, 0x21, 0x3d]));
        assert_eq!(out, HELLO_MASKED);
    }

    #[test]
    fn rfc_5_7_fragmented_hello() {
        let first = [0x01, 0x03, 0x48, 0x65, 0x6c];
        let second = [0x80, 0x02, 0x6c, 0x6f];
        let (h1, _) = decode_all(&first);
        let (h2, _) = decode_all(&second);
        assert_eq!((h1.fin, h1.opcode, h1.payload_len), (false, Opcode::Text, 3));
        assert_eq!((h2.fin, h2.opcode, h2.payload_len), (true, Opcode::Continuation, 2));
        let mut out = Vec::new();
        encode_frame(&mut out, false, Opcode::Text, b"Hel", None);
        encode_frame(&mut out, true, Opcode::Continuation, b"lo", None);
        assert_eq!(out, [&first[..], &second[..]].concat());
    }

    #[test]
    fn rfc_5_7_ping_and_pong() {
        let ping = [0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f];
        let pong = [0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58];
        assert_eq!(decode_all(&ping).0.opcode, Opcode::Ping);
        let (h, n) = decode_all(&pong);
        assert_eq!(h.opcode, Opcode::Pong);
        let mut payload = pong[n..].to_vec();
        apply_mask(&mut payload, h.mask.unwrap(), 0);
        assert_eq!(payload, b"Hello");
    }

    #[test]
    fn rfc_5_7_256_bytes_and_64_kib() {
        let (h, n) = decode_all(&[0x82, 0x7E, 0x01, 0x00]);
        assert_eq!((h.opcode, h.payload_len, n), (Opcode::Binary, 256, 4));
        let (h, n) = decode_all(&[0x82, 0x7F, 0, 0, 0, 0, 0, 0x01, 0x00, 0x00]);
        assert_eq!((h.opcode, h.payload_len, n), (Opcode::Binary, 65536, 10));
        let frame = server_frame(Opcode::Binary, &[0u8; 256]);
        assert_eq!(&frame[..4], &[0x82, 0x7E, 0x01, 0x00]);
        let frame = server_frame(Opcode::Binary, &vec![0u8; 65536]);
        assert_eq!(&frame[..10], &[0x82, 0x7F, 0, 0, 0, 0, 0, 0x01, 0x00, 0x00]);
    }

    #[test]
    fn length_form_boundaries() {
        for (len, header_len) in [(0u64, 2), (125, 2), (126, 4), (0xFFFF, 4), (0x1_0000, 10), (1 << 40, 10)] {
            let h = FrameHeader { fin: true, opcode: Opcode::Binary, mask: Some([1, 2, 3, 4]), payload_len: len };
            let mut buf = [0u8; MAX_HEADER_LEN];
            let n = h.encode(&mut buf);
            assert_eq!(n, header_len + 4, "len {len}");
            assert_eq!(FrameHeader::decode(&buf[..n]), Ok(Some((h, n))));
        }
    }

    #[test]
    fn incomplete_headers_ask_for_more_at_every_split() {
        let h = FrameHeader { fin: true, opcode: Opcode::Text, mask: Some([9, 8, 7, 6]), payload_len: 70_000 };
        let mut buf = [0u8; MAX_HEADER_LEN];
        let n = h.encode(&mut buf);
        for split in 0..n {
            assert_eq!(FrameHeader::decode(&buf[..split]), Ok(None), "split {split}");
        }
        assert_eq!(FrameHeader::decode(&buf[..n]), Ok(Some((h, n))));
    }

    #[test]
    fn invalid_headers() {
        assert_eq!(FrameHeader::decode(&[0xC1, 0x80]), Err(FrameError::ReservedBits));
        assert_eq!(FrameHeader::decode(&[0x91, 0x80]), Err(FrameError::ReservedBits));
        assert_eq!(FrameHeader::decode(&[0xA1, 0x80]), Err(FrameError::ReservedBits));
        for op in [3u8, 4, 5, 6, 7, 0xB, 0xC, 0xD, 0xE, 0xF] {
            assert_eq!(FrameHeader::decode(&[0x80 | op, 0x80]), Err(FrameError::ReservedOpcode(op)));
        }
        assert_eq!(FrameHeader::decode(&[0x09, 0x80]), Err(FrameError::FragmentedControl));
        assert_eq!(FrameHeader::decode(&[0x89, 0xFE]), Err(FrameError::ControlTooLong));
        assert_eq!(FrameHeader::decode(&[0x88, 0xFE]), Err(FrameError::ControlTooLong));
        let too_long = [0x82, 0xFF, 0x80, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4];
        assert_eq!(FrameHeader::decode(&too_long), Err(FrameError::LengthTooLarge));
    }

    #[test]
    fn masking_in_pieces_matches_masking_at_once() {
        let key = [0x12, 0x34, 0x56, 0x78];
        let data: Vec<u8> = (0..=255u8).cycle().take(1000).collect();
        let mut whole = data.clone();
        apply_mask(&mut whole, key, 0);
        for (i, b) in whole.iter().enumerate() {
            assert_eq!(*b, data[i] ^ key[i % 4]);
        }
        for split in 0..=data.len() {
            let mut pieces = data.clone();
            let (a, b) = pieces.split_at_mut(split);
            apply_mask(a, key, 0);
            apply_mask(b, key, split);
            assert_eq!(pieces, whole, "split {split}");
        }
        for size in 1..=data.len() {
            let mut pieces = data.clone();
            for (i, piece) in pieces.chunks_mut(size).enumerate() {
                apply_mask(piece, key, i * size);
            }
            assert_eq!(pieces, whole, "pieces of {size}");
        }
    }
}
