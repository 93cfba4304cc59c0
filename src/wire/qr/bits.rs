//! The data bit stream (ISO/IEC 18004:2015 7.4): a byte-mode segment, the terminator and the
//! pad codewords that fill the symbol's data capacity.
//!
//! Byte mode (7.4.5): mode indicator `0100` (Table 2), a character count of 8 bits (versions
//! 1-9) or 16 bits (10-40) (Table 3), then each byte as 8 bits. The terminator (7.4.9) is up to
//! four 0 bits; the stream is then padded with 0 bits to a codeword boundary and with the pad
//! codewords `11101100` and `00010001` alternately until the capacity is full (7.4.10).

use super::Ecc;
use super::tables;

/// Byte mode's mode indicator (Table 2).
const BYTE_MODE: u32 = 0b0100;
/// The pad codewords, used alternately (7.4.10).
const PADS: [u8; 2] = [0xEC, 0x11];

/// A sequence of bits, most significant bit of each codeword first.
#[derive(Debug, Default, Clone)]
pub(crate) struct BitBuffer {
    bytes: Vec<u8>,
    len: usize,
}

impl BitBuffer {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// Bits pushed so far.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Appends the low `count` bits of `value` (`count` ≤ 32), most significant first.
    pub(crate) fn push(&mut self, value: u32, count: usize) {
        for i in (0..count).rev() {
            if self.len.is_multiple_of(8) {
                self.bytes.push(0);
            }
            let bit = (value >> i & 1) as u8;
            if let Some(last) = self.bytes.last_mut() {
                *last |= bit << (7 - self.len % 8);
            }
            self.len += 1;
        }
    }

    /// The bits as codewords; a partial last codeword is padded with 0 bits.
    pub(crate) fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }
}

/// Bits a byte-mode segment of `len` bytes takes in `version`.
pub(crate) fn byte_segment_bits(len: usize, version: u8) -> usize {
    4 + tables::byte_count_bits(version) + 8 * len
}

/// The most bytes one byte-mode segment can carry in `version` at `ecc`.
pub(crate) fn max_bytes(version: u8, ecc: Ecc) -> usize {
    let capacity = tables::layout(version, ecc).data_codewords * 8;
    (capacity - byte_segment_bits(0, version)) / 8
}

/// Appends `data` as one byte-mode segment (7.4.5). The caller has checked that its length
/// fits the count field of `version` (at most [`max_bytes`]).
pub(crate) fn push_byte_segment(buf: &mut BitBuffer, data: &[u8], version: u8) {
    buf.push(BYTE_MODE, 4);
    buf.push(data.len() as u32, tables::byte_count_bits(version));
    for &byte in data {
        buf.push(u32::from(byte), 8);
    }
}

/// Ends the stream (7.4.9, 7.4.10): terminator, 0 bits to a codeword boundary, then pad
/// codewords up to `capacity` codewords. The caller has checked that the stream fits.
pub(crate) fn finish(mut buf: BitBuffer, capacity: usize) -> Vec<u8> {
    let terminator = (capacity * 8).saturating_sub(buf.len()).min(4);
    buf.push(0, terminator);
    let mut codewords = buf.into_bytes();
    let mut pads = PADS.iter().cycle();
    while codewords.len() < capacity {
        codewords.extend(pads.next());
    }
    codewords
}

/// The data codewords for `data` in byte mode at `version` and `ecc` (7.4), or `None` if they
/// do not fit.
pub(crate) fn data_codewords(data: &[u8], version: u8, ecc: Ecc) -> Option<Vec<u8>> {
    if data.len() > max_bytes(version, ecc) {
        return None;
    }
    let mut buf = BitBuffer::new();
    push_byte_segment(&mut buf, data, version);
    Some(finish(buf, tables::layout(version, ecc).data_codewords))
}

#[cfg(test)]
#[path = "bits_tests.rs"]
mod tests;
