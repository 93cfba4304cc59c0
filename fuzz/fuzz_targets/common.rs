//! Helpers shared by the fuzz targets (included with `mod common;`; not a target itself).
//!
//! Split points and other "free" choices are derived from a hash of the input, so a crashing
//! input always replays the same way, and the input itself stays a plain byte stream (an HTTP
//! request, a frame stream, a JSON text) that the seed corpus can hold as is.

#![allow(dead_code)]

/// 64-bit FNV-1a of the input: the seed for everything derived from it.
pub fn fnv(data: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in data {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

/// splitmix64: a tiny deterministic generator seeded from the input.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }

    pub fn from_input(data: &[u8]) -> Self {
        Rng(fnv(data))
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform-ish in `0..n` (`0` when `n == 0`).
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 { 0 } else { (self.next_u64() % n as u64) as usize }
    }

    /// Uniform-ish in `lo..=hi`.
    pub fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + self.below(hi - lo + 1)
    }

    pub fn bool(&mut self) -> bool {
        self.next_u64() & 1 == 1
    }
}

/// `count` cut points in `0..=len`, sorted (duplicates allowed: they make empty pieces,
/// which a sans-I/O state machine must accept too).
pub fn cut_points(len: usize, count: usize, rng: &mut Rng) -> Vec<usize> {
    let mut cuts: Vec<usize> = (0..count).map(|_| rng.below(len + 1)).collect();
    cuts.sort_unstable();
    cuts
}

/// `data` cut at `cuts` (sorted offsets into `data`).
pub fn pieces<'a>(data: &'a [u8], cuts: &[usize]) -> Vec<&'a [u8]> {
    let mut out = Vec::with_capacity(cuts.len() + 1);
    let mut start = 0;
    for &cut in cuts {
        let cut = cut.clamp(start, data.len());
        out.push(&data[start..cut]);
        start = cut;
    }
    out.push(&data[start..]);
    out
}

/// Several ways to cut `data` into pieces: one cut, a few cuts, fixed-size chunks, and one
/// byte at a time when `data` is at most `bytewise_max` long. Always includes at least one.
pub fn splittings<'a>(data: &'a [u8], rng: &mut Rng, bytewise_max: usize) -> Vec<Vec<&'a [u8]>> {
    let mut out = Vec::new();
    out.push(pieces(data, &cut_points(data.len(), 1, rng)));
    let count = rng.range(2, 8);
    out.push(pieces(data, &cut_points(data.len(), count, rng)));
    let size = rng.range(2, 17);
    out.push(data.chunks(size).collect());
    if data.len() <= bytewise_max {
        out.push(data.chunks(1).collect());
    }
    out
}
