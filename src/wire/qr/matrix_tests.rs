use super::*;

/// Version 1 before any data or format bits: finders with separators, timing patterns and
/// the dark module at (8, 4V + 9) (6.3, 7.9.1, Figure 25). Format areas are reserved light.
#[test]
fn version_1_function_patterns() {
    let expected = [
        "#######.......#######",
        "#.....#.......#.....#",
        "#.###.#.......#.###.#",
        "#.###.#.......#.###.#",
        "#.###.#.......#.###.#",
        "#.....#.......#.....#",
        "#######.#.#.#.#######",
        ".....................",
        "......#..............",
        ".....................",
        "......#..............",
        ".....................",
        "......#..............",
        "........#............",
        "#######..............",
        "#.....#..............",
        "#.###.#..............",
        "#.###.#..............",
        "#.###.#..............",
        "#.....#..............",
        "#######..............",
    ];
    let m = Matrix::new(1);
    assert_eq!(m.to_rows(), expected);
    // Data modules stay free; the format areas and separators are reserved.
    assert!(!m.is_function(9, 9) && !m.is_function(20, 20) && !m.is_function(9, 0));
    assert!(m.is_function(8, 0) && m.is_function(0, 8) && m.is_function(20, 8) && m.is_function(8, 20));
    assert!(m.is_function(7, 7) && m.is_function(13, 7) && m.is_function(7, 13));
}

/// Version 7: six alignment patterns (3×3 positions less 3), one centred at (22, 22); the
/// ones on the timing patterns keep the timing pattern's dark modules.
#[test]
fn version_7_alignment_patterns() {
    let m = Matrix::new(7);
    let centre_ring = [(22, 22), (6, 22), (22, 6), (38, 22), (22, 38), (38, 38)];
    for (cx, cy) in centre_ring {
        assert!(m.get(cx, cy), "centre ({cx},{cy})");
        assert!(!m.get(cx + 1, cy) && !m.get(cx - 1, cy - 1), "light ring around ({cx},{cy})");
        assert!(m.get(cx + 2, cy + 2) && m.get(cx - 2, cy), "dark ring around ({cx},{cy})");
        assert!(m.is_function(cx + 2, cy - 2));
    }
    // No pattern at (38, 6) or (6, 38): their rings would cover (36, 8) and (8, 36).
    assert!(!m.is_function(36, 8) && !m.is_function(8, 36));
    // Version information areas are reserved: 6×3 above the bottom-left finder, 3×6 left of
    // the top-right one (7.10).
    assert!(m.is_function(0, 34) && m.is_function(5, 36) && m.is_function(34, 0) && m.is_function(36, 5));
}

#[test]
fn function_module_counts_match_the_capacity_formula() {
    for version in 1..=40 {
        let m = Matrix::new(version);
        let free =
            (0..m.size()).flat_map(|y| (0..m.size()).map(move |x| (x, y))).filter(|&(x, y)| !m.is_function(x, y));
        assert_eq!(free.count(), tables::data_modules(version), "version {version}");
    }
}

#[test]
fn outside_the_grid_is_light_and_ignored() {
    let mut m = Matrix::new(1);
    m.set(21, 0, true);
    m.set_function(0, 99, true);
    assert!(!m.get(21, 0) && !m.get(0, 99) && !m.is_function(21, 0));
}
