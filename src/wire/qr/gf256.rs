//! Arithmetic in GF(2⁸), the field of the QR code's Reed–Solomon codes (ISO/IEC 18004:2015
//! 7.5.2): bytes are polynomials over GF(2) reduced modulo the primitive polynomial
//! x⁸ + x⁴ + x³ + x² + 1 (0x11D), and α = 2 generates the multiplicative group.
//!
//! Addition is XOR; multiplication goes through logarithm and antilogarithm tables that are
//! built at compile time.

/// The field's primitive polynomial x⁸ + x⁴ + x³ + x² + 1 (7.5.2).
const PRIMITIVE: u16 = 0x11D;

/// `exp[i]` = αⁱ for i in 0..255; `log[αⁱ]` = i (`log[0]` is unused).
struct Tables {
    exp: [u8; 255],
    log: [u8; 256],
}

static TABLES: Tables = build_tables();

const fn build_tables() -> Tables {
    let mut exp = [0u8; 255];
    let mut log = [0u8; 256];
    let mut x: u16 = 1;
    let mut i = 0;
    while i < 255 {
        exp[i] = x as u8;
        log[x as usize] = i as u8;
        x <<= 1;
        if x & 0x100 != 0 {
            x ^= PRIMITIVE;
        }
        i += 1;
    }
    Tables { exp, log }
}

/// αⁿ (the exponent is taken modulo 255, the order of α).
pub(crate) fn exp(n: usize) -> u8 {
    TABLES.exp[n % 255]
}

/// The product of `a` and `b` in GF(2⁸).
pub(crate) fn mul(a: u8, b: u8) -> u8 {
    if a == 0 || b == 0 {
        return 0;
    }
    exp(usize::from(TABLES.log[usize::from(a)]) + usize::from(TABLES.log[usize::from(b)]))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Multiplication by repeated shift-and-reduce, independent of the tables.
    fn slow_mul(a: u8, b: u8) -> u8 {
        let (mut a, mut product) = (u16::from(a), 0u16);
        for bit in 0..8 {
            if b >> bit & 1 == 1 {
                product ^= a;
            }
            a <<= 1;
            if a & 0x100 != 0 {
                a ^= PRIMITIVE;
            }
        }
        product as u8
    }

    /// /work/shared/REFERENCES.md (QR codes): 0xB2·0xDD = 0xE6, 0xFF·0xFF = 0xE2.
    #[test]
    fn reference_products() {
        assert_eq!(mul(0xB2, 0xDD), 0xE6);
        assert_eq!(mul(0xFF, 0xFF), 0xE2);
    }

    #[test]
    fn tables_agree_with_shift_and_reduce_for_every_pair() {
        for a in 0..=255u8 {
            for b in 0..=255u8 {
                assert_eq!(mul(a, b), slow_mul(a, b), "{a:#04x} * {b:#04x}");
            }
        }
    }

    #[test]
    fn alpha_generates_every_nonzero_element() {
        let mut seen = [false; 256];
        for n in 0..255 {
            seen[usize::from(exp(n))] = true;
        }
        assert!(!seen[0]);
        assert!(seen[1..].iter().all(|&s| s), "α = 2 must be primitive under 0x11D");
        assert_eq!(exp(8), 0x1D, "α⁸ = x⁴ + x³ + x² + 1");
        assert_eq!(exp(255), 1);
    }
}
