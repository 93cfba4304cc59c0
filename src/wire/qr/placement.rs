//! Symbol character placement (ISO/IEC 18004:2015 7.7.3, Figure 16).
//!
//! The codeword bits, most significant first, fill the non-function modules in two-module-wide
//! columns, starting at the bottom-right corner: upwards in the rightmost pair of columns, then
//! downwards in the next pair, and so on, right module before left module in each row. The
//! vertical timing pattern (column 6) is skipped entirely, so the pairs left of it are
//! (5, 4), (3, 2), (1, 0). Modules left over after the last codeword are remainder bits, 0.

use super::matrix::Matrix;

/// Places `codewords` (the final sequence of 7.6) into the free modules of `m`.
pub(crate) fn place(m: &mut Matrix, codewords: &[u8]) {
    let size = m.size();
    let total_bits = codewords.len() * 8;
    let mut next = 0usize;
    let mut upward = true;
    let mut right = size - 1;
    loop {
        if right == 6 {
            right = 5;
        }
        for step in 0..size {
            let y = if upward { size - 1 - step } else { step };
            for x in [right, right - 1] {
                if m.is_function(x, y) {
                    continue;
                }
                // Past the last codeword: a remainder bit, 0 (light before masking).
                let dark = next < total_bits && codewords[next / 8] >> (7 - next % 8) & 1 == 1;
                m.set(x, y, dark);
                next += 1;
            }
        }
        upward = !upward;
        if right < 3 {
            break;
        }
        right -= 2;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::qr::tables;

    /// Every free module is visited exactly once: with all-ones codewords covering the whole
    /// capacity, exactly 8 × total codewords modules turn dark, and the remainder bits stay light.
    #[test]
    fn fills_every_free_module_once() {
        for version in [1, 2, 6, 7, 14, 21, 40] {
            let mut m = Matrix::new(version);
            let free: usize = (0..m.size())
                .flat_map(|y| (0..m.size()).map(move |x| (x, y)))
                .filter(|&(x, y)| !m.is_function(x, y))
                .count();
            assert_eq!(free, tables::data_modules(version), "version {version}");
            let before = m.clone();
            place(&mut m, &vec![0xFF; tables::total_codewords(version)]);
            let mut newly_dark = 0;
            for y in 0..m.size() {
                for x in 0..m.size() {
                    assert_eq!(m.is_function(x, y), before.is_function(x, y));
                    if m.is_function(x, y) {
                        assert_eq!(m.get(x, y), before.get(x, y), "function module ({x},{y}) changed");
                    } else if m.get(x, y) {
                        newly_dark += 1;
                    }
                }
            }
            assert_eq!(newly_dark, tables::total_codewords(version) * 8, "version {version}");
        }
    }

    /// 7.7.3, Figure 16: in version 1 the first codeword's bits 7..0 fill the bottom-right
    /// 2×4 block right to left, bottom to top.
    #[test]
    fn first_codeword_goes_bottom_right_upwards() {
        let mut m = Matrix::new(1);
        place(&mut m, &[0b1010_0110]);
        let got: Vec<bool> = [(20, 20), (19, 20), (20, 19), (19, 19), (20, 18), (19, 18), (20, 17), (19, 17)]
            .iter()
            .map(|&(x, y)| m.get(x, y))
            .collect();
        assert_eq!(got, [true, false, true, false, false, true, true, false]);
    }
}
