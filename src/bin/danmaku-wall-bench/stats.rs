//! The receive path's arithmetic: a fixed-size log-linear latency histogram and the byte scan
//! that finds a post's `b<seq> <send_ns>` token in a delivery.

/// Sub-buckets per power of two: values keep their top 8 bits, so every bucket is at most
/// 1/128 (0.8 %) of its value wide.
const SUB_BITS: u32 = 8;
const SUB: usize = 1 << SUB_BITS;
const HALF: usize = SUB / 2;
/// Enough buckets for every `u64`.
const BUCKETS: usize = SUB + (64 - SUB_BITS as usize) * HALF;

/// An HdrHistogram-like histogram of nanosecond values: exact below 256 ns, then ≤ 0.8 %
/// relative error. Fixed size (about 60 KiB), no allocation per sample.
pub struct Histogram {
    counts: Box<[u64; BUCKETS]>,
    count: u64,
    min: u64,
    max: u64,
}

impl Default for Histogram {
    fn default() -> Self {
        Histogram { counts: Box::new([0; BUCKETS]), count: 0, min: u64::MAX, max: 0 }
    }
}

#[inline]
fn index_of(v: u64) -> usize {
    if v < SUB as u64 {
        return v as usize;
    }
    let msb = 63 - v.leading_zeros();
    let shift = msb - (SUB_BITS - 1);
    SUB + (shift as usize - 1) * HALF + ((v >> shift) as usize - HALF)
}

/// The lowest value and the width of bucket `i`.
fn bucket_range(i: usize) -> (u64, u64) {
    if i < SUB {
        return (i as u64, 1);
    }
    let shift = (i - SUB) / HALF + 1;
    let sub = ((i - SUB) % HALF + HALF) as u64;
    (sub << shift, 1 << shift)
}

impl Histogram {
    #[inline]
    pub fn record(&mut self, v: u64) {
        self.counts[index_of(v)] += 1;
        self.count += 1;
        self.min = self.min.min(v);
        self.max = self.max.max(v);
    }

    pub fn count(&self) -> u64 {
        self.count
    }

    pub fn max(&self) -> Option<u64> {
        (self.count > 0).then_some(self.max)
    }

    /// The value below which `p` percent of the samples lie (the middle of its bucket,
    /// clamped to the exact minimum and maximum). `None` when empty.
    pub fn percentile(&self, p: f64) -> Option<u64> {
        if self.count == 0 {
            return None;
        }
        let rank = ((p / 100.0 * self.count as f64).ceil() as u64).clamp(1, self.count);
        if rank == self.count {
            return Some(self.max);
        }
        let mut seen = 0;
        for (i, &c) in self.counts.iter().enumerate() {
            seen += c;
            if seen >= rank {
                let (low, width) = bucket_range(i);
                return Some((low + width / 2).clamp(self.min, self.max));
            }
        }
        Some(self.max)
    }
}

/// Finds the `b<seq> <send_ns>` token a publisher put in its post, anywhere in `payload`:
/// in the server's danmaku JSON (`..."msg":"b12 3456",...`) or in a plain rebroadcast of the
/// posted JSON. The `b` must not follow a letter or digit and the numbers must end at a
/// non-digit. A byte scan: no JSON parse, no allocation.
#[inline]
pub fn scan_token(payload: &[u8]) -> Option<(u64, u64)> {
    let mut from = 0;
    while let Some(off) = payload[from..].iter().position(|&b| b == b'b') {
        let at = from + off;
        from = at + 1;
        if at > 0 && payload[at - 1].is_ascii_alphanumeric() {
            continue;
        }
        let Some((seq, after_seq)) = number(payload, at + 1) else { continue };
        if payload.get(after_seq) != Some(&b' ') {
            continue;
        }
        let Some((ns, _)) = number(payload, after_seq + 1) else { continue };
        return Some((seq, ns));
    }
    None
}

/// A run of 1..=19 ASCII digits at `at` and where it ends.
#[inline]
fn number(bytes: &[u8], at: usize) -> Option<(u64, usize)> {
    let mut v: u64 = 0;
    let mut i = at;
    while let Some(&d) = bytes.get(i) {
        if !d.is_ascii_digit() {
            break;
        }
        if i - at == 19 {
            return None;
        }
        v = v * 10 + u64::from(d - b'0');
        i += 1;
    }
    (i > at).then_some((v, i))
}

/// Whether a delivery is the server's rejection (`{"type":"error",...}`).
pub fn is_error(payload: &[u8]) -> bool {
    const NEEDLE: &[u8] = b"\"type\":\"error\"";
    payload.windows(NEEDLE.len()).any(|w| w == NEEDLE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_contiguous_and_tight() {
        let mut last = 0;
        for v in (0..5000u64).chain([1 << 20, (1 << 20) + 1, 123_456_789, u64::MAX / 3, u64::MAX]) {
            let i = index_of(v);
            assert!(i < BUCKETS, "{v}");
            let (low, width) = bucket_range(i);
            assert!(low <= v && v - low < width, "{v} in [{low}, +{width})");
            assert!(width == 1 || (width as f64) / (low as f64) <= 1.0 / 128.0 + 1e-12, "{v}");
            if v < 5000 {
                assert!(i == last || i == last + 1);
                last = i;
            }
        }
        assert_eq!(index_of(u64::MAX), BUCKETS - 1);
    }

    #[test]
    fn percentiles() {
        let mut h = Histogram::default();
        assert_eq!(h.percentile(50.0), None);
        for v in 1..=10_000u64 {
            h.record(v * 1000); // 1 µs .. 10 ms
        }
        assert_eq!(h.count(), 10_000);
        let near = |got: u64, want: u64| (got as f64 - want as f64).abs() / want as f64 <= 0.01;
        for (p, want) in [(50.0, 5_000_000), (90.0, 9_000_000), (99.0, 9_900_000), (0.01, 1_000)] {
            let got = h.percentile(p).unwrap();
            assert!(near(got, want), "p{p}: {got} vs {want}");
        }
        assert_eq!(h.percentile(100.0), Some(10_000_000));
        assert_eq!(h.max(), Some(10_000_000));

        let mut one = Histogram::default();
        one.record(1_234_567);
        assert_eq!(one.percentile(50.0), Some(1_234_567));
        assert_eq!(one.percentile(99.0), Some(1_234_567));

        let mut small = Histogram::default();
        for v in [3, 3, 3, 7] {
            small.record(v);
        }
        assert_eq!(small.percentile(50.0), Some(3));
        assert_eq!(small.percentile(75.0), Some(3));
        assert_eq!(small.percentile(76.0), Some(7));
    }

    #[test]
    fn token_in_danmaku_json() {
        let d = br##"{"type":"danmaku","id":42,"msg":"b17 1234567890~~~~","color":"#ffffff","size":"medium","mode":"scroll","time":1700000000000}"##;
        assert_eq!(scan_token(d), Some((17, 1_234_567_890)));
        let first =
            br##"{"type":"danmaku","id":1,"msg":"b0 5","color":"#ffffff","size":"medium","mode":"scroll","time":1}"##;
        assert_eq!(scan_token(first), Some((0, 5)));
    }

    #[test]
    fn token_in_raw_rebroadcast() {
        assert_eq!(scan_token(br##"{"msg":"b9 88~~","color":"#ffffff"}"##), Some((9, 88)));
        assert_eq!(scan_token(br##"{ "color": "#ffffff", "msg": "b123 456" }"##), Some((123, 456)));
        assert_eq!(scan_token(b"b1 2"), Some((1, 2)));
    }

    #[test]
    fn token_not_fooled() {
        assert_eq!(scan_token(br#"{"type":"error","error":"rate limited"}"#), None);
        assert_eq!(scan_token(br#"{"msg":"ab1 2"}"#), None); // 'b' inside a word
        assert_eq!(scan_token(br#"{"msg":"b1x 2"}"#), None);
        assert_eq!(scan_token(br#"{"msg":"b1  2"}"#), None);
        assert_eq!(scan_token(br#"{"msg":"b 2"}"#), None);
        assert_eq!(scan_token(br#"{"msg":"b12 "}"#), None);
        assert_eq!(scan_token(b"b99999999999999999999 1"), None); // 20 digits
        // A false start before the real token.
        assert_eq!(scan_token(br#"{"mode":"b","msg":"b5 6"}"#), Some((5, 6)));
        assert_eq!(scan_token(b""), None);
    }

    #[test]
    fn error_frames() {
        assert!(is_error(br#"{"type":"error","error":"too fast"}"#));
        assert!(!is_error(br#"{"type":"danmaku","id":1}"#));
    }
}
