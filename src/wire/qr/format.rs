//! Format information (ISO/IEC 18004:2015 7.9, Annex C) and version information (7.10,
//! Annex D): their BCH codes and where their bits go.
//!
//! Format information is 5 bits, the EC level (L `01`, M `00`, Q `11`, H `10`, Table 12) and
//! the mask pattern reference, extended by a (15,5) BCH code with generator
//! x¹⁰ + x⁸ + x⁵ + x⁴ + x² + x + 1 and XOR-ed with `101010000010010` (0x5412) so that it is
//! never all zero. Version information (versions 7 and up) is the 6-bit version extended by
//! an (18,6) BCH code with generator x¹² + x¹¹ + x¹⁰ + x⁹ + x⁸ + x⁵ + x² + 1.

use super::Ecc;
use super::matrix::Matrix;

/// Generator of the (15,5) BCH code (Annex C).
const FORMAT_GENERATOR: u32 = 0b101_0011_0111;
/// The format information mask (7.9.1).
const FORMAT_MASK: u32 = 0b101_0100_0001_0010;
/// Generator of the (18,6) BCH code (Annex D).
const VERSION_GENERATOR: u32 = 0b1_1111_0010_0101;

/// `data` · x^(degree of `generator`) with the remainder modulo `generator` appended.
fn bch(data: u32, generator: u32) -> u32 {
    let degree = 31 - generator.leading_zeros();
    let mut remainder = data << degree;
    for shift in (0..=31 - degree).rev() {
        if remainder >> (shift + degree) & 1 == 1 {
            remainder ^= generator << shift;
        }
    }
    data << degree | remainder
}

/// The EC level's two format bits (Table 12).
fn level_bits(ecc: Ecc) -> u32 {
    match ecc {
        Ecc::L => 0b01,
        Ecc::M => 0b00,
        Ecc::Q => 0b11,
        Ecc::H => 0b10,
    }
}

/// The 15 format information bits for `ecc` and `mask` (0..=7), already masked (7.9.1).
pub(crate) fn format_bits(ecc: Ecc, mask: u8) -> u32 {
    bch(level_bits(ecc) << 3 | u32::from(mask & 7), FORMAT_GENERATOR) ^ FORMAT_MASK
}

/// The 18 version information bits for `version` (7.10).
pub(crate) fn version_bits(version: u8) -> u32 {
    bch(u32::from(version), VERSION_GENERATOR)
}

/// Writes both copies of the 15 format bits `bits` (from [`format_bits`]; 0 just reserves the
/// areas) and the dark module (7.9.1, Figure 25). Bit 0 is the least significant.
pub(crate) fn draw_format(m: &mut Matrix, bits: u32) {
    let size = m.size();
    let bit = |i: usize| bits >> i & 1 == 1;
    // Around the top-left finder: bits 0-7 down column 8 from the top (skipping the timing
    // row 6), then bits 8-14 leftwards along row 8 (skipping the timing column 6).
    for i in 0..6 {
        m.set_function(8, i, bit(i));
        m.set_function(i, 8, bit(14 - i));
    }
    m.set_function(8, 7, bit(6));
    m.set_function(8, 8, bit(7));
    m.set_function(7, 8, bit(8));
    // Second copy: bits 0-7 along row 8 from the right edge leftwards, bits 8-14 down
    // column 8 in the bottom-left corner.
    for i in 0..8 {
        m.set_function(size - 1 - i, 8, bit(i));
    }
    for i in 8..15 {
        m.set_function(8, size - 15 + i, bit(i));
    }
    // The dark module beside the bottom-left finder, at (8, 4V + 9) (7.9.1).
    m.set_function(8, size - 8, true);
}

/// Writes both 6×3 copies of the version information for `version` ≥ 7 (7.10, Figure 27):
/// bit i sits at (i / 3, size − 11 + i % 3) above the bottom-left finder and transposed
/// left of the top-right finder.
pub(crate) fn draw_version(m: &mut Matrix, version: u8) {
    if version < 7 {
        return;
    }
    let bits = version_bits(version);
    let size = m.size();
    for i in 0..18 {
        let dark = bits >> i & 1 == 1;
        let (a, b) = (i / 3, size - 11 + i % 3);
        m.set_function(a, b, dark);
        m.set_function(b, a, dark);
    }
}

#[cfg(test)]
#[path = "format_tests.rs"]
mod tests;
