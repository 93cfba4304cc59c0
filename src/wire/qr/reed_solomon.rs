//! Reed–Solomon error-correction codewords (ISO/IEC 18004:2015 7.5.2 and Annex A).
//!
//! The EC codewords of a block are the remainder of the data polynomial, multiplied by xⁿ,
//! divided by the generator polynomial g(x) = (x − α⁰)(x − α¹)…(x − αⁿ⁻¹) of degree n, the
//! number of EC codewords per block (Table 9).

use super::gf256;

/// The generator polynomial of degree `degree` (Annex A), coefficients from x^(degree−1)
/// down to x⁰; the leading coefficient, always 1, is left out.
pub(crate) fn generator(degree: usize) -> Vec<u8> {
    // Coefficients highest first, leading 1 included while multiplying out.
    let mut poly = vec![1u8];
    for i in 0..degree {
        let root = gf256::exp(i);
        let mut next = vec![0u8; poly.len() + 1];
        for (j, &c) in poly.iter().enumerate() {
            // (c·x^k)(x + root): subtraction is addition (XOR) in GF(2⁸).
            next[j] ^= c;
            next[j + 1] ^= gf256::mul(c, root);
        }
        poly = next;
    }
    poly.remove(0);
    poly
}

/// The EC codewords of one block: `data`·xⁿ mod g(x), with `generator` as returned by
/// [`generator`] (n = `generator.len()`), highest coefficient first (7.5.2).
pub(crate) fn ec_codewords(data: &[u8], generator: &[u8]) -> Vec<u8> {
    let mut remainder = vec![0u8; generator.len()];
    for &byte in data {
        // Long division, one data codeword at a time (a shift register, as in Figure 9).
        let factor = byte ^ remainder.first().copied().unwrap_or(0);
        remainder.rotate_left(1);
        if let Some(last) = remainder.last_mut() {
            *last = 0;
        }
        for (r, &g) in remainder.iter_mut().zip(generator) {
            *r ^= gf256::mul(g, factor);
        }
    }
    remainder
}

#[cfg(test)]
mod tests {
    use super::*;

    /// /work/shared/REFERENCES.md (QR codes), from Annex A: degree 2 is `03 02`, degree 5
    /// is `1F C6 3F 93 74` (coefficients after the leading 1).
    #[test]
    fn reference_generator_polynomials() {
        assert_eq!(generator(2), [0x03, 0x02]);
        assert_eq!(generator(5), [0x1F, 0xC6, 0x3F, 0x93, 0x74]);
    }

    /// /work/shared/REFERENCES.md (QR codes), the standard's worked example (Annex I):
    /// "01234567" at 1-M has these 16 data codewords and these 10 EC codewords.
    #[test]
    fn annex_i_error_correction_codewords() {
        let data = [0x10, 0x20, 0x0C, 0x56, 0x61, 0x80, 0xEC, 0x11, 0xEC, 0x11, 0xEC, 0x11, 0xEC, 0x11, 0xEC, 0x11];
        let ec = ec_codewords(&data, &generator(10));
        assert_eq!(ec, [0xA5, 0x24, 0xD4, 0xC1, 0xED, 0x36, 0xC7, 0x87, 0x2C, 0x55]);
    }

    /// A codeword (data followed by its EC codewords) is a multiple of g(x): every root αⁱ
    /// of g makes it vanish.
    #[test]
    fn codewords_vanish_at_the_generator_roots() {
        let data: Vec<u8> = (0..40u8).map(|i| i.wrapping_mul(37) ^ 0x5A).collect();
        for degree in [7, 10, 13, 17, 22, 26, 28, 30] {
            let mut word = data.clone();
            word.extend(ec_codewords(&data, &generator(degree)));
            for i in 0..degree {
                let x = gf256::exp(i);
                let value = word.iter().fold(0u8, |acc, &c| gf256::mul(acc, x) ^ c);
                assert_eq!(value, 0, "degree {degree}, root α^{i}");
            }
        }
    }

    #[test]
    fn empty_data_gives_zero_remainder() {
        assert_eq!(ec_codewords(&[], &generator(7)), [0; 7]);
    }
}
