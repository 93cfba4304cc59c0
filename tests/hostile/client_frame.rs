//! A client frame before serialisation (RFC 6455 §5.2), with every field a mutation may break:
//! reserved bits, opcode, mask, and a length field that may lie or use a longer form.

use crate::common::Rng;

/// A client frame before serialisation, with every field a mutation may break.
#[derive(Debug, Clone)]
pub(crate) struct CFrame {
    pub(crate) fin: bool,
    pub(crate) rsv: u8,
    pub(crate) opcode: u8,
    pub(crate) masked: bool,
    pub(crate) mask: [u8; 4],
    pub(crate) payload: Vec<u8>,
    /// A length field that lies about the payload (or uses a longer form than needed).
    pub(crate) declared: Option<DeclaredLen>,
}

#[derive(Debug, Clone, Copy)]
pub(crate) enum DeclaredLen {
    /// The right value in the 16- or 64-bit form, even when shorter forms would do.
    Form(u8, u64),
    /// A different value than the payload's length, in its minimal form.
    Lie(u64),
}

impl CFrame {
    /// A well-formed masked frame with a random masking key (RFC 6455 §5.3).
    pub(crate) fn new(rng: &mut Rng, fin: bool, opcode: u8, payload: Vec<u8>) -> CFrame {
        let m = rng.next_u64().to_le_bytes();
        CFrame { fin, rsv: 0, opcode, masked: true, mask: [m[0], m[1], m[2], m[3]], payload, declared: None }
    }

    /// Serialises the frame (RFC 6455 §5.2), lies and all.
    pub(crate) fn write(&self, out: &mut Vec<u8>) {
        out.push(u8::from(self.fin) << 7 | (self.rsv & 7) << 4 | (self.opcode & 0x0F));
        let mask_bit = if self.masked { 0x80 } else { 0 };
        let (form, len) = match self.declared {
            Some(DeclaredLen::Form(form, len)) => (form, len),
            Some(DeclaredLen::Lie(len)) => (minimal_form(len), len),
            None => (minimal_form(self.payload.len() as u64), self.payload.len() as u64),
        };
        match form {
            7 => out.push(mask_bit | len as u8),
            16 => {
                out.push(mask_bit | 126);
                out.extend_from_slice(&(len as u16).to_be_bytes());
            }
            _ => {
                out.push(mask_bit | 127);
                out.extend_from_slice(&len.to_be_bytes());
            }
        }
        if self.masked {
            out.extend_from_slice(&self.mask);
            out.extend(self.payload.iter().enumerate().map(|(i, b)| b ^ self.mask[i % 4]));
        } else {
            out.extend_from_slice(&self.payload);
        }
    }
}

/// The shortest length form for `len`: 7, 16 or 64 bits (RFC 6455 §5.2, "Payload length").
fn minimal_form(len: u64) -> u8 {
    match len {
        0..=125 => 7,
        126..=0xFFFF => 16,
        _ => 64,
    }
}
