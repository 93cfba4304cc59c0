use super::*;
use crate::wire::qr::tables;

/// Annex C, Table C.1 of ISO/IEC 18004:2015 (format information bit sequences after
/// masking); M with mask 0 = 101010000010010 is also in /work/shared/REFERENCES.md.
#[rustfmt::skip]
const TABLE_C1: [(Ecc, [&str; 8]); 4] = [
    (Ecc::L, ["111011111000100", "111001011110011", "111110110101010", "111100010011101",
              "110011000101111", "110001100011000", "110110001000001", "110100101110110"]),
    (Ecc::M, ["101010000010010", "101000100100101", "101111001111100", "101101101001011",
              "100010111111001", "100000011001110", "100111110010111", "100101010100000"]),
    (Ecc::Q, ["011010101011111", "011000001101000", "011111100110001", "011101000000110",
              "010010010110100", "010000110000011", "010111011011010", "010101111101101"]),
    (Ecc::H, ["001011010001001", "001001110111110", "001110011100111", "001100111010000",
              "000011101100010", "000001001010101", "000110100001100", "000100000111011"]),
];

#[test]
fn format_bits_for_every_level_and_mask() {
    for (ecc, words) in TABLE_C1 {
        for (mask, word) in words.iter().enumerate() {
            assert_eq!(format!("{:015b}", format_bits(ecc, mask as u8)), *word, "{ecc:?} mask {mask}");
        }
    }
}

/// /work/shared/REFERENCES.md: version 7 = 000111110010010100; Annex D, Table D.1 for 8 and 40.
#[test]
fn version_bits_from_table_d1() {
    assert_eq!(format!("{:018b}", version_bits(7)), "000111110010010100");
    assert_eq!(format!("{:018b}", version_bits(8)), "001000010110111100");
    assert_eq!(format!("{:018b}", version_bits(40)), "101000110001101001");
}

/// The codes' minimum distances: 7 for BCH(15,5), 8 for BCH(18,6) over versions 7..=40.
#[test]
fn codes_keep_their_minimum_distance() {
    let levels = [Ecc::L, Ecc::M, Ecc::Q, Ecc::H];
    let formats: Vec<u32> = levels.iter().flat_map(|&e| (0..8).map(move |k| format_bits(e, k))).collect();
    let versions: Vec<u32> = (7..=40).map(version_bits).collect();
    for (words, distance) in [(formats, 7), (versions, 8)] {
        for (i, a) in words.iter().enumerate() {
            for b in &words[i + 1..] {
                assert!((a ^ b).count_ones() >= distance, "{a:b} vs {b:b}");
            }
        }
    }
}

/// Reads the format bits back from both copies in a symbol (Figure 25).
#[test]
fn both_format_copies_read_back() {
    let bits = format_bits(Ecc::Q, 5);
    for version in [1, 7, 40] {
        let mut m = Matrix::new(version);
        draw_format(&mut m, bits);
        let size = tables::size(version);
        let first: Vec<(usize, usize)> = [
            (8, 0),
            (8, 1),
            (8, 2),
            (8, 3),
            (8, 4),
            (8, 5),
            (8, 7),
            (8, 8),
            (7, 8),
            (5, 8),
            (4, 8),
            (3, 8),
            (2, 8),
            (1, 8),
            (0, 8),
        ]
        .to_vec();
        let second: Vec<(usize, usize)> =
            (0..8).map(|i| (size - 1 - i, 8)).chain((8..15).map(|i| (8, size - 15 + i))).collect();
        for copy in [first, second] {
            let read = copy.iter().enumerate().fold(0u32, |acc, (i, &(x, y))| acc | u32::from(m.get(x, y)) << i);
            assert_eq!(read, bits, "version {version}");
        }
        assert!(m.get(8, size - 8), "dark module");
    }
}

/// The version information block above the bottom-left finder of version 7 (Figure 27):
/// bit i at column i / 3, row size − 11 + i % 3, and the same transposed.
#[test]
fn version_block_layout() {
    let m = Matrix::new(7);
    let bits = version_bits(7);
    for i in 0..18 {
        let dark = bits >> i & 1 == 1;
        assert_eq!(m.get(i / 3, 34 + i % 3), dark, "bit {i} bottom-left");
        assert_eq!(m.get(34 + i % 3, i / 3), dark, "bit {i} top-right");
    }
    assert!(!Matrix::new(6).is_function(0, 30), "no version information below version 7");
}
