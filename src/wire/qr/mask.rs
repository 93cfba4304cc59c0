//! Data masking (ISO/IEC 18004:2015 7.8): the eight mask patterns (7.8.2, Table 10) and the
//! penalty score used to choose among them (7.8.3, Table 11).
//!
//! A mask inverts the non-function modules where its condition holds (i = row, j = column).
//! Each masked symbol, with its format information written, is scored:
//! - N1 = 3: a run of 5 + i same-coloured modules in a row or column scores N1 + i;
//! - N2 = 3: every 2×2 block of one colour (overlapping blocks counted separately);
//! - N3 = 40: every 1:1:3:1:1 dark-light-dark-light-dark pattern in a row or column (at any
//!   scale n:n:3n:n:n) with a light area 4 modules (4n) wide before or after it; the quiet
//!   zone counts as light;
//! - N4 = 10: for every full 5 % the proportion of dark modules is away from 50 %.
//!
//! The mask with the lowest score is used (the lowest reference on a tie).

use super::matrix::Matrix;

const N1: u32 = 3;
const N2: u32 = 3;
const N3: u32 = 40;
const N4: u32 = 10;

/// Whether mask pattern `mask` (0..=7) inverts the module in row `i`, column `j` (Table 10).
// Written as the standard's conditions (`… mod 2 = 0`) so they can be compared at a glance.
#[allow(clippy::manual_is_multiple_of)]
pub(crate) fn inverts(mask: u8, i: usize, j: usize) -> bool {
    match mask {
        0 => (i + j) % 2 == 0,
        1 => i % 2 == 0,
        2 => j % 3 == 0,
        3 => (i + j) % 3 == 0,
        4 => (i / 2 + j / 3) % 2 == 0,
        5 => (i * j) % 2 + (i * j) % 3 == 0,
        6 => ((i * j) % 2 + (i * j) % 3) % 2 == 0,
        _ => ((i + j) % 2 + (i * j) % 3) % 2 == 0,
    }
}

/// Inverts the data modules of `m` selected by `mask`.
pub(crate) fn apply(m: &mut Matrix, mask: u8) {
    for y in 0..m.size() {
        for x in 0..m.size() {
            if !m.is_function(x, y) && inverts(mask, y, x) {
                m.set(x, y, !m.get(x, y));
            }
        }
    }
}

/// The total penalty of a finished symbol (7.8.3.1).
pub(crate) fn penalty(m: &Matrix) -> u32 {
    let size = m.size();
    let mut score = 0;
    for i in 0..size {
        let row: Vec<bool> = (0..size).map(|x| m.get(x, i)).collect();
        let column: Vec<bool> = (0..size).map(|y| m.get(i, y)).collect();
        score += run_penalty(&row) + run_penalty(&column);
        score += finder_penalty(&row) + finder_penalty(&column);
    }
    score + block_penalty(m) + balance_penalty(m)
}

/// N1 for one row or column: N1 + (length − 5) per run of 5 or more same-coloured modules.
fn run_penalty(line: &[bool]) -> u32 {
    let mut score = 0;
    let mut run = 0u32;
    for (i, &dark) in line.iter().enumerate() {
        run = if i > 0 && line[i - 1] == dark { run + 1 } else { 1 };
        let run_ends = line.get(i + 1) != Some(&dark);
        if run_ends && run >= 5 {
            score += N1 + (run - 5);
        }
    }
    score
}

/// N2: N2 per 2×2 block of one colour.
fn block_penalty(m: &Matrix) -> u32 {
    let mut score = 0;
    for y in 1..m.size() {
        for x in 1..m.size() {
            let c = m.get(x, y);
            if m.get(x - 1, y) == c && m.get(x, y - 1) == c && m.get(x - 1, y - 1) == c {
                score += N2;
            }
        }
    }
    score
}

/// N3 for one row or column: N3 per dark-light-dark-light-dark sequence of runs in the ratio
/// 1:1:3:1:1 (n:n:3n:n:n modules) with a light run of at least 4n before or after it; the
/// quiet zone beyond the line's ends is light and wide enough.
fn finder_penalty(line: &[bool]) -> u32 {
    let runs = runs(line);
    let mut score = 0;
    for i in 2..runs.len().saturating_sub(2) {
        let (dark, len) = runs[i];
        let n = len / 3;
        if !dark || len % 3 != 0 || (i - 2..=i + 2).any(|k| k != i && runs[k].1 != n) {
            continue;
        }
        // Runs alternate in colour, so runs i − 3 and i + 3, where they exist, are light; one
        // that touches the line's end continues into the quiet zone, so it is wide enough.
        let light_before = i <= 3 || runs[i - 3].1 >= 4 * n;
        let light_after = i + 4 >= runs.len() || runs[i + 3].1 >= 4 * n;
        if light_before || light_after {
            score += N3;
        }
    }
    score
}

/// The runs of one colour along a line, as (dark, length).
fn runs(line: &[bool]) -> Vec<(bool, usize)> {
    let mut runs: Vec<(bool, usize)> = Vec::new();
    for &dark in line {
        match runs.last_mut() {
            Some((colour, len)) if *colour == dark => *len += 1,
            _ => runs.push((dark, 1)),
        }
    }
    runs
}

/// N4: N4 for each full 5 % step of the dark proportion away from 50 %.
fn balance_penalty(m: &Matrix) -> u32 {
    let total = m.size() * m.size();
    let dark = (0..m.size()).flat_map(|y| (0..m.size()).map(move |x| (x, y))).filter(|&(x, y)| m.get(x, y)).count();
    // |dark/total − 1/2| / 5 % = |20·dark − 10·total| / total, rounded down.
    let steps = (20 * dark).abs_diff(10 * total) / total;
    N4 * steps as u32
}

#[cfg(test)]
#[path = "mask_tests.rs"]
mod tests;
