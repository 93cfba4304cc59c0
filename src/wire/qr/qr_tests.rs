use super::*;

const LEVELS: [Ecc; 4] = [Ecc::L, Ecc::M, Ecc::Q, Ecc::H];

/// /work/shared/REFERENCES.md (QR codes): byte capacity at level M, versions 1..=10, checked by
/// encoding: the maximum lands in that version, one byte more in the next.
#[test]
fn capacity_boundaries_at_level_m() {
    let capacities = [14, 26, 42, 62, 84, 106, 122, 152, 180, 213];
    for (i, &max) in capacities.iter().enumerate() {
        let version = i as u8 + 1;
        assert_eq!(encode(&vec![b'a'; max], Ecc::M).unwrap().version(), version, "{max} bytes");
        assert_eq!(encode(&vec![b'a'; max + 1], Ecc::M).unwrap().version(), version + 1, "{} bytes", max + 1);
    }
}

/// The smallest version is chosen for every length at every level (and `encode` uses it).
#[test]
fn smallest_version_for_every_length() {
    for ecc in LEVELS {
        for len in 0..=bits::max_bytes(40, ecc) {
            let v = smallest_version(len, ecc).unwrap();
            assert!(len <= bits::max_bytes(v, ecc), "{ecc:?} {len} bytes in version {v}");
            assert!(v == 1 || len > bits::max_bytes(v - 1, ecc), "{ecc:?} {len} bytes fit in version {}", v - 1);
        }
        assert_eq!(smallest_version(bits::max_bytes(40, ecc) + 1, ecc), None);
        for len in [0, 1, 100, 300] {
            assert_eq!(encode(&vec![b'/'; len], ecc).unwrap().version(), smallest_version(len, ecc).unwrap());
        }
    }
}

/// The limit: version 40's capacity fits, one byte more is refused with a clear message.
#[test]
fn too_long_at_every_level() {
    for (ecc, max) in LEVELS.into_iter().zip([2953, 2331, 1663, 1273]) {
        let code = encode(&vec![b'x'; max], ecc).unwrap();
        assert_eq!((code.version(), code.size()), (40, 177));
        let err = encode(&vec![b'x'; max + 1], ecc).unwrap_err();
        assert_eq!(err, QrError::TooLong { len: max + 1, max });
        assert_eq!(
            err.to_string(),
            format!(
                "{} bytes do not fit in a QR code: the largest symbol (version 40) holds {max} bytes at this \
                 error-correction level (ISO/IEC 18004 Table 7)",
                max + 1
            )
        );
    }
}

#[test]
fn forced_mask_is_checked_and_kept() {
    assert_eq!(encode_with_mask(b"x", Ecc::M, 8), Err(QrError::BadMask { mask: 8 }));
    assert!(QrError::BadMask { mask: 8 }.to_string().contains("masks 0 to 7"));
    for mask in 0..8 {
        assert_eq!(encode_with_mask(b"hello", Ecc::Q, mask).unwrap().mask(), mask);
    }
    let chosen = encode(b"https://wall.example.org/post?room=main", Ecc::M).unwrap();
    assert_eq!(encode_with_mask(b"https://wall.example.org/post?room=main", Ecc::M, chosen.mask()), Ok(chosen));
}

/// The chosen mask has the lowest penalty of the eight (7.8.3); ties go to the lowest.
#[test]
fn chosen_mask_has_lowest_penalty() {
    let data = b"https://wall.example.org/post?room=main";
    let score = |code: &QrCode| {
        let rows: Vec<String> = (0..code.size())
            .map(|y| (0..code.size()).map(|x| if code.is_dark(x, y) { '#' } else { '.' }).collect())
            .collect();
        mask::penalty(&Matrix::from_rows(&rows.iter().map(String::as_str).collect::<Vec<_>>()))
    };
    let scores: Vec<u32> = (0..8).map(|k| score(&encode_with_mask(data, Ecc::M, k).unwrap())).collect();
    let best = (0..8).min_by_key(|&k| scores[k]).unwrap();
    assert_eq!(usize::from(encode(data, Ecc::M).unwrap().mask()), best, "scores {scores:?}");
}

/// Annex I's symbol is 1-M; reading the format information back from a finished symbol gives
/// the level and mask (7.9.1).
#[test]
fn format_information_in_the_symbol() {
    for ecc in LEVELS {
        let code = encode(b"01234567", ecc).unwrap();
        let read = (0..8).fold(0u32, |acc, i| acc | u32::from(code.is_dark(code.size() - 1 - i, 8)) << i)
            | (8..15).fold(0u32, |acc, i| acc | u32::from(code.is_dark(8, code.size() - 15 + i)) << i);
        assert_eq!(read, format::format_bits(ecc, code.mask()), "{ecc:?}");
        assert_eq!(code.ecc(), ecc);
    }
}

#[test]
fn outside_is_light() {
    let code = encode(b"x", Ecc::M).unwrap();
    assert!(code.is_dark(0, 0));
    assert!(!code.is_dark(21, 0) && !code.is_dark(0, 21) && !code.is_dark(usize::MAX, 3));
}

/// The SVG: viewBox with the quiet zone, crisp edges, white background, one black path whose
/// runs cover exactly the dark modules, no width/height.
#[test]
fn svg_shape() {
    let code = encode(b"https://wall.example.org/post?room=main", Ecc::M).unwrap();
    let svg = code.to_svg();
    let full = code.size() + 8;
    let head = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {full} {full}\" shape-rendering=\"crispEdges\">\
         <rect width=\"{full}\" height=\"{full}\" fill=\"#fff\"/><path fill=\"#000\" d=\"M"
    );
    assert!(svg.starts_with(&head), "{svg}");
    assert!(svg.ends_with("\"/></svg>"));
    assert_eq!(svg.matches("<path").count(), 1);
    let d = &svg[head.len() - 1..svg.len() - "\"/></svg>".len()];
    let mut painted = vec![false; code.size() * code.size()];
    for square in d.split('z').filter(|s| !s.is_empty()) {
        // "M{x},{y}h{run}v1h-{run}"
        let (xy, rest) = square[1..].split_once('h').unwrap();
        let (x, y) = xy.split_once(',').unwrap();
        let (x, y): (usize, usize) = (x.parse().unwrap(), y.parse().unwrap());
        let (run, back) = rest.split_once("v1h-").unwrap();
        assert_eq!(run, back);
        for dx in 0..run.parse::<usize>().unwrap() {
            let i = (y - 4) * code.size() + x - 4 + dx;
            assert!(!painted[i], "painted twice");
            painted[i] = true;
        }
    }
    for y in 0..code.size() {
        for x in 0..code.size() {
            assert_eq!(painted[y * code.size() + x], code.is_dark(x, y), "({x},{y})");
        }
    }
}

#[test]
fn pgm_layout() {
    let code = encode(b"x", Ecc::M).unwrap();
    let pgm = code.to_pgm(3);
    let side = (21 + 8) * 3;
    let header = format!("P5\n{side} {side}\n255\n");
    assert!(pgm.starts_with(header.as_bytes()));
    let pixels = &pgm[header.len()..];
    assert_eq!(pixels.len(), side * side);
    assert_eq!(pixels[0], 255, "quiet zone");
    assert_eq!(pixels[12 * side + 12], 0, "top-left finder corner at (4, 4) modules");
    assert_eq!(pixels[15 * side + 15], 255, "finder's light ring at (1, 1)");
    assert_eq!(pixels[18 * side + 20], 0, "finder's centre at (2, 2)");
    assert_eq!(code.to_pgm(0).len(), code.to_pgm(1).len(), "scale 0 draws at 1");
}
