use super::*;
use crate::wire::qr::bits;

const LEVELS: [Ecc; 4] = [Ecc::L, Ecc::M, Ecc::Q, Ecc::H];

/// Bytes that fit in byte mode: mode indicator, count, 8 bits per byte.
fn byte_capacity(version: u8, ecc: Ecc) -> usize {
    (layout(version, ecc).data_codewords * 8 - 4 - byte_count_bits(version)) / 8
}

/// /work/shared/REFERENCES.md (QR codes): byte capacity at level M for versions 1..=10.
#[test]
fn byte_capacity_at_level_m_versions_1_to_10() {
    let expected = [14, 26, 42, 62, 84, 106, 122, 152, 180, 213];
    let got: Vec<usize> = (1..=10).map(|v| byte_capacity(v, Ecc::M)).collect();
    assert_eq!(got, expected);
    let max: Vec<usize> = (1..=10).map(|v| bits::max_bytes(v, Ecc::M)).collect();
    assert_eq!(max, expected);
}

/// Facts from Table 1 / Table 9 of ISO/IEC 18004:2015: total codewords and remainder bits
/// for a few versions, and the largest symbol's byte capacity at each level (Table 7).
#[test]
fn totals_and_version_40_capacities() {
    let totals = [(1, 26, 0), (2, 44, 7), (7, 196, 0), (14, 581, 3), (21, 1156, 4), (40, 3706, 0)];
    for (v, total, remainder) in totals {
        assert_eq!(total_codewords(v), total, "version {v}");
        assert_eq!(data_modules(v) % 8, remainder, "version {v}");
    }
    let v40: Vec<usize> = LEVELS.iter().map(|&e| byte_capacity(40, e)).collect();
    assert_eq!(v40, [2953, 2331, 1663, 1273]);
}

/// Every version/level's blocks hold at least one data codeword, and the EC level's order
/// L < M < Q < H holds for EC codeword totals.
#[test]
fn every_layout_is_consistent() {
    for v in MIN_VERSION..=MAX_VERSION {
        let mut last_ec = 0;
        for ecc in LEVELS {
            let l = layout(v, ecc);
            assert!(l.data_codewords >= l.blocks, "v{v} {ecc:?}");
            assert_eq!(l.data_codewords + l.blocks * l.ec_per_block, total_codewords(v));
            let ec = l.blocks * l.ec_per_block;
            assert!(ec > last_ec, "v{v} {ecc:?}: EC codewords must grow with the level");
            last_ec = ec;
        }
    }
}

/// Rows of Annex E, Table E.1.
#[test]
fn alignment_positions_match_table_e1() {
    let rows: [(u8, &[usize]); 8] = [
        (1, &[]),
        (2, &[6, 18]),
        (7, &[6, 22, 38]),
        (15, &[6, 26, 48, 70]),
        (22, &[6, 26, 50, 74, 98]),
        (32, &[6, 34, 60, 86, 112, 138]),
        (36, &[6, 24, 50, 76, 102, 128, 154]),
        (40, &[6, 30, 58, 86, 114, 142, 170]),
    ];
    for (v, positions) in rows {
        assert_eq!(alignment_positions(v), positions, "version {v}");
    }
}

#[test]
fn sizes_and_count_widths() {
    assert_eq!(size(1), 21);
    assert_eq!(size(40), 177);
    assert_eq!(byte_count_bits(9), 8);
    assert_eq!(byte_count_bits(10), 16);
}
