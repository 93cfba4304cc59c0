use super::*;

/// Numeric mode (7.4.3), just enough for the Annex I example: mode `0001`, a 10-bit count
/// (versions 1-9), digits in groups of three as 10 bits (a last group of two as 7 bits, of
/// one as 4 bits).
fn push_numeric(buf: &mut BitBuffer, digits: &str) {
    buf.push(0b0001, 4);
    buf.push(digits.len() as u32, 10);
    for group in digits.as_bytes().chunks(3) {
        let value = group.iter().fold(0u32, |acc, &d| acc * 10 + u32::from(d - b'0'));
        buf.push(value, [0, 4, 7, 10][group.len()]);
    }
}

/// /work/shared/REFERENCES.md (QR codes), the standard's worked example (Annex I):
/// "01234567" at 1-M in numeric mode gives these 16 data codewords.
#[test]
fn annex_i_data_codewords() {
    let mut buf = BitBuffer::new();
    push_numeric(&mut buf, "01234567");
    assert_eq!(buf.len(), 4 + 10 + 10 + 10 + 7);
    let codewords = finish(buf, tables::layout(1, Ecc::M).data_codewords);
    let expected = [0x10, 0x20, 0x0C, 0x56, 0x61, 0x80, 0xEC, 0x11, 0xEC, 0x11, 0xEC, 0x11, 0xEC, 0x11, 0xEC, 0x11];
    assert_eq!(codewords, expected);
}

/// "AB" in byte mode at 1-M: 0100, count 00000010, 01000001, 01000010, terminator 0000,
/// then pads.
#[test]
fn byte_segment_golden_bits() {
    let codewords = data_codewords(b"AB", 1, Ecc::M).unwrap();
    let mut expected = vec![0x40, 0x24, 0x14, 0x20];
    expected.extend([0xEC, 0x11].iter().cycle().take(12));
    assert_eq!(codewords, expected);
}

/// From version 10 the count takes 16 bits.
#[test]
fn sixteen_bit_count_from_version_10() {
    let codewords = data_codewords(b"A", 10, Ecc::M).unwrap();
    assert_eq!(&codewords[..5], [0x40, 0x00, 0x14, 0x10, 0xEC]);
    assert_eq!(codewords.len(), tables::layout(10, Ecc::M).data_codewords);
}

/// A full symbol: the terminator is cut short when fewer than 4 bits remain, and no pad
/// codeword is added.
#[test]
fn exact_fit_and_one_byte_too_many() {
    let max = max_bytes(1, Ecc::M);
    assert_eq!(max, 14);
    let data = vec![0xFF; max];
    let codewords = data_codewords(&data, 1, Ecc::M).unwrap();
    assert_eq!(codewords.len(), 16);
    // 4 + 8 + 112 = 124 bits: 4 bits of terminator complete the 16th codeword.
    assert_eq!(codewords[15], 0xF0);
    assert!(data_codewords(&vec![0xFF; max + 1], 1, Ecc::M).is_none());
}

#[test]
fn push_keeps_bit_order() {
    let mut buf = BitBuffer::new();
    buf.push(0b1, 1);
    buf.push(0b0110, 4);
    buf.push(0b111, 3);
    buf.push(0b1, 1);
    assert_eq!(buf.len(), 9);
    assert_eq!(buf.into_bytes(), [0b1011_0111, 0b1000_0000]);
}
