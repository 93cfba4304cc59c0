//! Per-version facts: symbol size, codeword capacity, the error-correction block structure of
//! every version at every level, alignment pattern positions and character-count widths.
//!
//! Sources in ISO/IEC 18004:2015: Table 1 (symbol size, 6.3.1), Table 3 (character count
//! indicator, 7.4.1), Table 9 (error correction characteristics, 7.5.1) and Annex E (alignment
//! pattern positions, Table E.1).

use super::Ecc;

/// The smallest and largest QR code versions (6.3.1).
pub(crate) const MIN_VERSION: u8 = 1;
pub(crate) const MAX_VERSION: u8 = 40;

/// Table 9: error-correction codewords per block, for versions 1..=40, at L, M, Q, H.
static EC_PER_BLOCK: [[u8; 40]; 4] = [
    [
        7, 10, 15, 20, 26, 18, 20, 24, 30, 18, 20, 24, 26, 30, 22, 24, 28, 30, 28, 28, //
        28, 28, 30, 30, 26, 28, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30,
    ],
    [
        10, 16, 26, 18, 24, 16, 18, 22, 22, 26, 30, 22, 22, 24, 24, 28, 28, 26, 26, 26, //
        26, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28,
    ],
    [
        13, 22, 18, 26, 18, 24, 18, 22, 20, 24, 28, 26, 24, 20, 30, 24, 28, 28, 26, 30, //
        28, 30, 30, 30, 30, 28, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30,
    ],
    [
        17, 28, 22, 16, 22, 28, 26, 26, 24, 28, 24, 28, 22, 24, 24, 30, 28, 28, 26, 28, //
        30, 24, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30,
    ],
];

/// Table 9: number of error-correction blocks, for versions 1..=40, at L, M, Q, H.
static BLOCKS: [[u8; 40]; 4] = [
    [
        1, 1, 1, 1, 1, 2, 2, 2, 2, 4, 4, 4, 4, 4, 6, 6, 6, 6, 7, 8, //
        8, 9, 9, 10, 12, 12, 12, 13, 14, 15, 16, 17, 18, 19, 19, 20, 21, 22, 24, 25,
    ],
    [
        1, 1, 1, 2, 2, 4, 4, 4, 5, 5, 5, 8, 9, 9, 10, 10, 11, 13, 14, 16, //
        17, 17, 18, 20, 21, 23, 25, 26, 28, 29, 31, 33, 35, 37, 38, 40, 43, 45, 47, 49,
    ],
    [
        1, 1, 2, 2, 4, 4, 6, 6, 8, 8, 8, 10, 12, 16, 12, 17, 16, 18, 21, 20, //
        23, 23, 25, 27, 29, 34, 34, 35, 38, 40, 43, 45, 48, 51, 53, 56, 59, 62, 65, 68,
    ],
    [
        1, 1, 2, 4, 4, 4, 5, 6, 8, 8, 11, 11, 16, 16, 18, 16, 19, 21, 25, 25, //
        25, 34, 30, 32, 35, 37, 40, 42, 45, 48, 51, 54, 57, 60, 63, 66, 70, 74, 77, 81,
    ],
];

/// How the codewords of one version at one level divide into blocks (Table 9, 7.6).
///
/// The data codewords are spread as evenly as possible: the first blocks hold
/// `data_codewords / blocks` each and the last `data_codewords % blocks` blocks one more.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BlockLayout {
    pub blocks: usize,
    pub ec_per_block: usize,
    /// Data codewords over all blocks.
    pub data_codewords: usize,
}

/// Modules per side: 21 for version 1, 4 more per version (6.3.1, Table 1).
pub(crate) fn size(version: u8) -> usize {
    4 * usize::from(version) + 17
}

/// Modules left for codewords once the function patterns and format/version information are
/// placed (Table 1, "data modules except (C)"), counted from the patterns' geometry.
pub(crate) fn data_modules(version: u8) -> usize {
    let size = size(version);
    // Three finders with their separators (8×8 each), the two timing patterns between the
    // separators, two copies of the 15 format bits and the dark module.
    let mut function = 3 * 64 + 2 * (size - 16) + 2 * 15 + 1;
    let k = alignment_positions(version).len();
    if k > 0 {
        // k×k alignment patterns less the three on the finders; the 2(k−2) of them that sit
        // on a timing pattern share 5 modules with it.
        function += 25 * (k * k - 3) - 5 * 2 * (k - 2);
    }
    if version >= 7 {
        function += 2 * 18;
    }
    size * size - function
}

/// Codewords in the symbol (Table 9 column "total number of codewords"); the modules left
/// over, `data_modules % 8`, are remainder bits (7.7.3).
pub(crate) fn total_codewords(version: u8) -> usize {
    data_modules(version) / 8
}

/// The block structure of `version` at `ecc` (Table 9). `version` must be 1..=40.
pub(crate) fn layout(version: u8, ecc: Ecc) -> BlockLayout {
    let row = ecc as usize;
    let i = usize::from(version.clamp(MIN_VERSION, MAX_VERSION) - 1);
    let blocks = usize::from(BLOCKS[row][i]);
    let ec_per_block = usize::from(EC_PER_BLOCK[row][i]);
    BlockLayout { blocks, ec_per_block, data_codewords: total_codewords(version) - blocks * ec_per_block }
}

/// Width of the byte-mode character count indicator (Table 3): 8 bits up to version 9,
/// 16 bits from version 10.
pub(crate) fn byte_count_bits(version: u8) -> usize {
    if version <= 9 { 8 } else { 16 }
}

/// Row/column coordinates of the alignment pattern centres (Annex E, Table E.1): 6, the last
/// at `size − 7`, and between them k − 2 more at a common even spacing, the leftover going
/// into the first gap. Version 1 has none.
pub(crate) fn alignment_positions(version: u8) -> Vec<usize> {
    if version < 2 {
        return Vec::new();
    }
    let k = usize::from(version) / 7 + 2;
    let last = size(version) - 7;
    let span = last - 6;
    // The even spacing that fits k − 1 gaps; Table E.1 lists 26 rather than 28 for version 32.
    let step = if version == 32 { 26 } else { span.div_ceil(2 * (k - 1)) * 2 };
    let mut positions: Vec<usize> = (0..k - 1).map(|i| last - i * step).collect();
    positions.push(6);
    positions.reverse();
    positions
}

#[cfg(test)]
#[path = "tables_tests.rs"]
mod tests;
