//! The final message codeword sequence (ISO/IEC 18004:2015 7.6): data codewords split into
//! the blocks of Table 9, EC codewords computed per block (7.5.2), then both interleaved.
//!
//! Interleaving takes the first data codeword of every block, then the second of every
//! block, and so on; the longer blocks (the last ones) supply one extra data codeword at
//! the end. The EC codewords follow, interleaved the same way. Spreading each block across
//! the symbol keeps a local burst of damage within every block's correction capacity.

use super::reed_solomon;
use super::tables::BlockLayout;

/// The data codewords `data` (exactly `layout.data_codewords` of them) followed by their EC
/// codewords, split into blocks and interleaved (7.6).
pub(crate) fn interleave(data: &[u8], layout: BlockLayout) -> Vec<u8> {
    let blocks = layout.blocks.max(1);
    let short_len = data.len() / blocks;
    let long_blocks = data.len() % blocks;
    let generator = reed_solomon::generator(layout.ec_per_block);
    let mut rest = data;
    let mut split: Vec<(&[u8], Vec<u8>)> = Vec::with_capacity(blocks);
    for i in 0..blocks {
        let len = if i < blocks - long_blocks { short_len } else { short_len + 1 };
        let (block, tail) = rest.split_at(len.min(rest.len()));
        split.push((block, reed_solomon::ec_codewords(block, &generator)));
        rest = tail;
    }
    let mut out = Vec::with_capacity(data.len() + blocks * layout.ec_per_block);
    for i in 0..=short_len {
        out.extend(split.iter().filter_map(|(block, _)| block.get(i)));
    }
    for i in 0..layout.ec_per_block {
        out.extend(split.iter().filter_map(|(_, ec)| ec.get(i)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::qr::Ecc;
    use crate::wire::qr::tables;

    /// A single block is just data followed by EC (Annex I: 1-M is one block of 16 + 10).
    #[test]
    fn one_block_is_data_then_ec() {
        let data = [0x10, 0x20, 0x0C, 0x56, 0x61, 0x80, 0xEC, 0x11, 0xEC, 0x11, 0xEC, 0x11, 0xEC, 0x11, 0xEC, 0x11];
        let out = interleave(&data, tables::layout(1, Ecc::M));
        assert_eq!(out[..16], data);
        assert_eq!(out[16..], [0xA5, 0x24, 0xD4, 0xC1, 0xED, 0x36, 0xC7, 0x87, 0x2C, 0x55]);
    }

    /// 5-Q (Table 9): 2 blocks of 15 and 2 of 16 data codewords, 18 EC codewords each. The
    /// sequence is D1 D16 D31 D47, D2 ..., and the long blocks' last codewords D46 D62 close
    /// the data part (7.6, Table 12 layout).
    #[test]
    fn uneven_blocks_interleave_in_standard_order() {
        let layout = tables::layout(5, Ecc::Q);
        assert_eq!((layout.blocks, layout.ec_per_block, layout.data_codewords), (4, 18, 62));
        let data: Vec<u8> = (1..=62).collect();
        let out = interleave(&data, layout);
        assert_eq!(out.len(), 134);
        assert_eq!(out[..8], [1, 16, 31, 47, 2, 17, 32, 48]);
        assert_eq!(out[56..62], [15, 30, 45, 61, 46, 62]);
        let generator = reed_solomon::generator(18);
        let ec_of_block_3 = reed_solomon::ec_codewords(&data[30..46], &generator);
        assert_eq!(out[62 + 2], ec_of_block_3[0]);
        assert_eq!(out[62 + 4 * 17 + 2], ec_of_block_3[17]);
    }
}
