use super::*;

/// The first rows of each mask pattern over a 6×6 corner (Table 10, Figure 23); `#` marks
/// an inverted module.
#[test]
fn mask_patterns_match_their_conditions() {
    let expected: [[&str; 3]; 8] = [
        ["#.#.#.", ".#.#.#", "#.#.#."],
        ["######", "......", "######"],
        ["#..#..", "#..#..", "#..#.."],
        ["#..#..", "..#..#", ".#..#."],
        ["###...", "###...", "...###"],
        ["######", "#.....", "#..#.."],
        ["######", "###...", "##.##."],
        ["#.#.#.", "...###", "#...##"],
    ];
    for (mask, rows) in expected.iter().enumerate() {
        for (i, row) in rows.iter().enumerate() {
            let got: String = (0..6).map(|j| if inverts(mask as u8, i, j) { '#' } else { '.' }).collect();
            assert_eq!(got, *row, "mask {mask} row {i}");
        }
    }
}

#[test]
fn apply_skips_function_modules_and_is_an_involution() {
    let template = Matrix::new(1);
    let mut m = template.clone();
    apply(&mut m, 0);
    assert_eq!(m.get(0, 0), template.get(0, 0), "finder untouched");
    assert!(m.get(20, 20), "(20, 20): i + j even, inverted");
    assert!(!m.get(19, 20));
    apply(&mut m, 0);
    assert_eq!(m, template);
}

/// N1 (Table 11): 5 in a row score 3, each further one 1 more; 4 score nothing.
#[test]
fn run_penalty_scores_runs_of_five_and_more() {
    let line = |s: &str| s.bytes().map(|b| b == b'#').collect::<Vec<bool>>();
    assert_eq!(run_penalty(&line("#.#.#.#.#.#")), 0);
    assert_eq!(run_penalty(&line("####.####.#")), 0);
    assert_eq!(run_penalty(&line("#####.#.#.#")), 3);
    assert_eq!(run_penalty(&line("#.######.#.")), 4);
    assert_eq!(run_penalty(&line("#.#.#.#......")), 3 + 1);
    assert_eq!(run_penalty(&line("#####.....#")), 6);
}

/// N3 (Table 11): 1:1:3:1:1 with 4 light modules before or after; outside is light.
#[test]
fn finder_penalty_needs_four_light_modules_on_one_side() {
    let line = |s: &str| s.bytes().map(|b| b == b'#').collect::<Vec<bool>>();
    assert_eq!(finder_penalty(&line("....#.###.#")), 40);
    assert_eq!(finder_penalty(&line("#.###.#....")), 40);
    assert_eq!(finder_penalty(&line("#.###.#")), 40, "the quiet zone is light");
    assert_eq!(finder_penalty(&line("#...#.###.#...#")), 0);
    assert_eq!(finder_penalty(&line("#.###.#.###.#")), 80, "each end touches the quiet zone");
    assert_eq!(finder_penalty(&line("##.#.###.#.##")), 0);
    assert_eq!(finder_penalty(&line("#..#.###.#")), 40, "a light run at the edge joins the quiet zone");
    assert_eq!(finder_penalty(&line("#...#.###.#.#")), 0);
    assert_eq!(finder_penalty(&line("##....#.###.#.#")), 40, "four light modules before");
}

/// N3 at a larger scale: n:n:3n:n:n with 4n light modules.
#[test]
fn finder_penalty_at_scale_two() {
    let line = |s: &str| s.bytes().map(|b| b == b'#').collect::<Vec<bool>>();
    assert_eq!(finder_penalty(&line("#........##..######..##..#")), 40);
    assert_eq!(finder_penalty(&line("#.......#..##..######..##..#")), 0, "7 light modules < 4n = 8 before, 2 after");
    assert_eq!(finder_penalty(&line("##..######..##.")), 40);
    assert_eq!(finder_penalty(&line("##..#####..##")), 0, "5 is not 3n");
}

/// N2 (Table 11): each 2×2 single-coloured block scores 3, overlapping ones too.
#[test]
fn block_penalty_counts_overlapping_blocks() {
    let m = Matrix::from_rows(&["###.", "###.", "#.#.", ".#.#"]);
    assert_eq!(block_penalty(&m), 2 * 3);
    let all_light = Matrix::from_rows(&["...", "...", "..."]);
    assert_eq!(block_penalty(&all_light), 4 * 3);
}

/// N4 (Table 11): 10 per full 5 % step away from 50 % dark.
#[test]
fn balance_penalty_steps_of_five_percent() {
    let row = |dark: usize| format!("{}{}", "#".repeat(dark), ".".repeat(10 - dark));
    let grid = |dark_rows: usize, extra: usize| {
        let rows: Vec<String> = (0..10)
            .map(|y| {
                if y < dark_rows {
                    row(10)
                } else if y == dark_rows {
                    row(extra)
                } else {
                    row(0)
                }
            })
            .collect();
        Matrix::from_rows(&rows.iter().map(String::as_str).collect::<Vec<_>>())
    };
    assert_eq!(balance_penalty(&grid(5, 0)), 0, "50 %");
    assert_eq!(balance_penalty(&grid(5, 4)), 0, "54 %");
    assert_eq!(balance_penalty(&grid(5, 5)), 10, "55 %");
    assert_eq!(balance_penalty(&grid(4, 6)), 0, "46 %");
    assert_eq!(balance_penalty(&grid(4, 5)), 10, "45 %");
    assert_eq!(balance_penalty(&grid(0, 0)), 100, "0 %");
    assert_eq!(balance_penalty(&grid(10, 0)), 100, "100 %");
}

/// The whole score adds the four rules: an all-light 5×5 grid has 10 runs of 5 (N1 = 30), 16
/// blocks (N2 = 48), no finder pattern, and 0 % dark (N4 = 100).
#[test]
fn penalty_adds_all_rules() {
    let m = Matrix::from_rows(&[".....", ".....", ".....", ".....", "....."]);
    assert_eq!(penalty(&m), 30 + 48 + 100);
}
