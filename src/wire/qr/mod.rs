//! QR code encoder (ISO/IEC 18004:2015), for showing the wall's URL as a scannable SVG.
//!
//! [`encode`] turns bytes into a [`QrCode`] in byte mode at the chosen error-correction level,
//! in the smallest version (1..=40) that holds them:
//! 1. data encoding, 7.4 (`bits`): mode indicator, count, bytes, terminator, pad codewords;
//! 2. error correction, 7.5 (`reed_solomon` over `gf256`), with the block structure of
//!    Table 9 (`tables`) and interleaving, 7.6 (`codewords`);
//! 3. function patterns, 6.3 and 7.7.2 (`matrix`), and codeword placement, 7.7.3
//!    (`placement`);
//! 4. masking, 7.8 (`mask`): all eight patterns scored by the penalty rules of 7.8.3.1, the
//!    lowest kept;
//! 5. format information, 7.9, and version information, 7.10 (`format`).
//!
//! Output: [`QrCode::to_svg`] (module units, 4-module quiet zone) and [`QrCode::to_pgm`].
//!
//! `tests/qr_decode.rs` checks the result against independent software: zbarimg decodes it,
//! and libqrencode's `qrencode -8` gives the same symbol, module for module, in all 40
//! versions at all 4 levels, with the same mask chosen.

mod bits;
mod codewords;
mod format;
mod gf256;
mod mask;
mod matrix;
mod placement;
mod reed_solomon;
mod svg;
mod tables;

use std::fmt;

use matrix::Matrix;
pub use svg::QUIET_ZONE;

/// Error-correction level (7.5.1, Table 12): roughly 7 % (L), 15 % (M), 25 % (Q) or 30 % (H)
/// of the codewords can be restored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Ecc {
    L,
    M,
    Q,
    H,
}

/// Why a symbol could not be made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QrError {
    /// `len` bytes do not fit in a version 40 symbol at the chosen level, which holds `max`.
    TooLong { len: usize, max: usize },
    /// A forced mask pattern reference outside 0..=7 (7.8.2).
    BadMask { mask: u8 },
}

impl fmt::Display for QrError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            QrError::TooLong { len, max } => write!(
                f,
                "{len} bytes do not fit in a QR code: the largest symbol (version 40) holds {max} bytes \
                 at this error-correction level (ISO/IEC 18004 Table 7)"
            ),
            QrError::BadMask { mask } => write!(f, "mask pattern {mask} does not exist: QR codes have masks 0 to 7"),
        }
    }
}

impl std::error::Error for QrError {}

/// A finished QR code symbol.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QrCode {
    version: u8,
    size: usize,
    ecc: Ecc,
    mask: u8,
    /// Row by row, `true` = dark.
    modules: Vec<bool>,
}

/// Encodes `data` in byte mode at level `ecc`, in the smallest version that holds it, with the
/// mask of lowest penalty (7.8.3).
pub fn encode(data: &[u8], ecc: Ecc) -> Result<QrCode, QrError> {
    build(data, ecc, None)
}

/// Like [`encode`] but with mask pattern `mask` (0..=7) forced instead of chosen by penalty:
/// for comparing with other encoders symbol for symbol.
pub fn encode_with_mask(data: &[u8], ecc: Ecc, mask: u8) -> Result<QrCode, QrError> {
    if mask > 7 {
        return Err(QrError::BadMask { mask });
    }
    build(data, ecc, Some(mask))
}

fn build(data: &[u8], ecc: Ecc, forced_mask: Option<u8>) -> Result<QrCode, QrError> {
    let too_long = QrError::TooLong { len: data.len(), max: bits::max_bytes(tables::MAX_VERSION, ecc) };
    let version = smallest_version(data.len(), ecc).ok_or(too_long)?;
    let data_codewords = bits::data_codewords(data, version, ecc).ok_or(too_long)?;
    let mut unmasked = Matrix::new(version);
    placement::place(&mut unmasked, &codewords::interleave(&data_codewords, tables::layout(version, ecc)));
    let masked = |mask: u8| {
        let mut m = unmasked.clone();
        mask::apply(&mut m, mask);
        format::draw_format(&mut m, format::format_bits(ecc, mask));
        m
    };
    let (mask, matrix) = match forced_mask {
        Some(mask) => (mask, masked(mask)),
        None => (0..8u8).map(|k| (k, masked(k))).min_by_key(|(_, m)| mask::penalty(m)).ok_or(too_long)?,
    };
    Ok(QrCode { version, size: matrix.size(), ecc, mask, modules: matrix.into_modules() })
}

/// The smallest version whose data capacity at `ecc` holds `len` bytes in byte mode.
fn smallest_version(len: usize, ecc: Ecc) -> Option<u8> {
    (tables::MIN_VERSION..=tables::MAX_VERSION).find(|&v| len <= bits::max_bytes(v, ecc))
}

impl QrCode {
    /// The version, 1..=40 (6.3.1).
    pub fn version(&self) -> u8 {
        self.version
    }

    /// Modules per side, 4 × version + 17, without the quiet zone.
    pub fn size(&self) -> usize {
        self.size
    }

    /// The error-correction level.
    pub fn ecc(&self) -> Ecc {
        self.ecc
    }

    /// The mask pattern reference used, 0..=7 (7.8.2).
    pub fn mask(&self) -> u8 {
        self.mask
    }

    /// Whether the module in column `x`, row `y` is dark; anything outside the symbol is
    /// light (quiet zone).
    pub fn is_dark(&self, x: usize, y: usize) -> bool {
        x < self.size && y < self.size && self.modules[y * self.size + x]
    }

    /// The symbol as a standalone SVG in module units with a 4-module quiet zone; it has no
    /// width or height, so CSS sizes it.
    pub fn to_svg(&self) -> String {
        svg::to_svg(self)
    }

    /// The symbol as a binary PGM image, `scale` pixels per module, quiet zone included.
    pub fn to_pgm(&self, scale: usize) -> Vec<u8> {
        svg::to_pgm(self, scale)
    }
}

#[cfg(test)]
#[path = "qr_tests.rs"]
mod tests;
