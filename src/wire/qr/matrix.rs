//! The module grid and its function patterns (ISO/IEC 18004:2015 6.3, 7.7.2): finder
//! patterns with their separators, timing patterns, alignment patterns, the dark module, and
//! the areas reserved for format and version information (7.9, 7.10).
//!
//! Coordinates are `(x, y)` = (column, row) from the top-left corner; `true` is dark.

use super::format;
use super::tables;

/// A square grid of modules, remembering which ones belong to function patterns (those are
/// never masked and never carry codewords).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Matrix {
    size: usize,
    dark: Vec<bool>,
    function: Vec<bool>,
}

impl Matrix {
    /// The grid of `version` with every function pattern drawn and the format and version
    /// information areas reserved (format bits are written later, per mask, by
    /// [`format::draw_format`]).
    pub(crate) fn new(version: u8) -> Self {
        let size = tables::size(version);
        let mut m = Self { size, dark: vec![false; size * size], function: vec![false; size * size] };
        m.draw_timing();
        m.draw_finder(3, 3);
        m.draw_finder(size - 4, 3);
        m.draw_finder(3, size - 4);
        m.draw_alignments(version);
        // Reserve the format areas (all light for now) and the dark module (7.9.1).
        format::draw_format(&mut m, 0);
        format::draw_version(&mut m, version);
        m
    }

    pub(crate) fn size(&self) -> usize {
        self.size
    }

    /// Whether the module at `(x, y)` is dark; modules outside the grid are light.
    pub(crate) fn get(&self, x: usize, y: usize) -> bool {
        x < self.size && y < self.size && self.dark[y * self.size + x]
    }

    /// Whether `(x, y)` belongs to a function pattern or reserved area.
    pub(crate) fn is_function(&self, x: usize, y: usize) -> bool {
        x < self.size && y < self.size && self.function[y * self.size + x]
    }

    /// Sets a data module (ignored outside the grid).
    pub(crate) fn set(&mut self, x: usize, y: usize, dark: bool) {
        if x < self.size && y < self.size {
            self.dark[y * self.size + x] = dark;
        }
    }

    /// Sets a module and marks it as part of a function pattern (ignored outside the grid).
    pub(crate) fn set_function(&mut self, x: usize, y: usize, dark: bool) {
        if x < self.size && y < self.size {
            self.dark[y * self.size + x] = dark;
            self.function[y * self.size + x] = true;
        }
    }

    /// The modules, row by row.
    pub(crate) fn into_modules(self) -> Vec<bool> {
        self.dark
    }

    /// Timing patterns (6.3.5): row 6 and column 6 alternate dark/light, dark on even
    /// coordinates. Drawn first; finders and alignment patterns overwrite their ends.
    fn draw_timing(&mut self) {
        for i in 0..self.size {
            self.set_function(6, i, i % 2 == 0);
            self.set_function(i, 6, i % 2 == 0);
        }
    }

    /// A finder pattern centred on `(cx, cy)` with its light separator (6.3.3, 6.3.4): by
    /// Chebyshev distance from the centre, 0-1 dark (3×3), 2 light, 3 dark (7×7 ring),
    /// 4 light (separator, clipped by the symbol's edge).
    fn draw_finder(&mut self, cx: usize, cy: usize) {
        for dy in -4isize..=4 {
            for dx in -4isize..=4 {
                let distance = dx.abs().max(dy.abs());
                let (Some(x), Some(y)) = (cx.checked_add_signed(dx), cy.checked_add_signed(dy)) else {
                    continue;
                };
                self.set_function(x, y, distance != 2 && distance != 4);
            }
        }
    }

    /// Alignment patterns (6.3.6, Annex E) at every pair of Table E.1 coordinates except the
    /// three that would overlap a finder: 5×5 dark ring, light ring, dark centre.
    fn draw_alignments(&mut self, version: u8) {
        let positions = tables::alignment_positions(version);
        let last = positions.len().saturating_sub(1);
        for (i, &cy) in positions.iter().enumerate() {
            for (j, &cx) in positions.iter().enumerate() {
                // Top-left, top-right and bottom-left corners hold finders.
                if (i, j) == (0, 0) || (i, j) == (0, last) || (i, j) == (last, 0) {
                    continue;
                }
                for dy in -2isize..=2 {
                    for dx in -2isize..=2 {
                        let distance = dx.abs().max(dy.abs());
                        self.set_function(cx.wrapping_add_signed(dx), cy.wrapping_add_signed(dy), distance != 1);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
#[path = "matrix_tests.rs"]
mod tests;

#[cfg(test)]
impl Matrix {
    /// A grid from rows of `#` (dark) and `.` (light), no function modules: for penalty tests.
    pub(crate) fn from_rows(rows: &[&str]) -> Self {
        let size = rows.len();
        let dark: Vec<bool> = rows.iter().flat_map(|r| r.bytes().map(|b| b == b'#')).collect();
        assert_eq!(dark.len(), size * size, "rows must form a square");
        Self { size, dark, function: vec![false; size * size] }
    }

    /// The grid as rows of `#` and `.`.
    pub(crate) fn to_rows(&self) -> Vec<String> {
        (0..self.size).map(|y| (0..self.size).map(|x| if self.get(x, y) { '#' } else { '.' }).collect()).collect()
    }
}
