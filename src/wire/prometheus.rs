//! A writer for the Prometheus text exposition format, version 0.0.4 (the format `GET /metrics`
//! answers with, the contract's `--metrics`). From the format's description: each metric family
//! is introduced by `# HELP name text` (text escapes `\` and newline) and `# TYPE name kind`,
//! then one line per sample, `name{label="value",...} value`, where label values escape `\`,
//! `"` and newline; counters are named `*_total`; lines end with `\n`. A histogram family
//! `name` is written as the samples `name_bucket{le="bound"}` (cumulative counts, bounds in
//! increasing order, the last `le="+Inf"` equal to the count), `name_sum` and `name_count`.

use std::fmt::Write;

/// The `Content-Type` of the exposition.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4";

/// A metric family's type (the `# TYPE` line).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Counter,
    Gauge,
    Untyped,
    Histogram,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
            Kind::Untyped => "untyped",
            Kind::Histogram => "histogram",
        }
    }
}

/// The text of one exposition, family after family.
#[derive(Debug, Default)]
pub struct Exposition {
    out: String,
}

impl Exposition {
    pub fn new() -> Self {
        Exposition::default()
    }

    /// Starts a family: its `# HELP` and `# TYPE` lines. A counter's name must end in `_total`.
    /// Names are the program's own, never input: they are checked in debug builds only.
    pub fn family(&mut self, name: &str, kind: Kind, help: &str) {
        debug_assert!(valid_metric_name(name), "metric name {name:?}");
        debug_assert!(kind != Kind::Counter || name.ends_with("_total"), "counter {name:?} must end in _total");
        self.out.push_str("# HELP ");
        self.out.push_str(name);
        self.out.push(' ');
        escape(&mut self.out, help, false);
        let _ = writeln!(self.out, "\n# TYPE {name} {}", kind.as_str()); // writing to a String cannot fail
    }

    /// One sample with a whole-number value.
    pub fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: u64) {
        self.labels(name, labels);
        let _ = writeln!(self.out, " {value}");
    }

    /// One sample with a floating-point value (`NaN`, `+Inf` and `-Inf` as the format spells them).
    pub fn sample_f64(&mut self, name: &str, labels: &[(&str, &str)], value: f64) {
        self.labels(name, labels);
        let _ = match value {
            v if v.is_nan() => writeln!(self.out, " NaN"),
            v if v == f64::INFINITY => writeln!(self.out, " +Inf"),
            v if v == f64::NEG_INFINITY => writeln!(self.out, " -Inf"),
            v => writeln!(self.out, " {v}"),
        };
    }

    /// The samples of one histogram of family `name` (a [`Kind::Histogram`] family): one
    /// `name_bucket` per finite bound in `bounds` (increasing) with its cumulative count in
    /// `cumulative` (same length, non-decreasing, at most `count`), then `le="+Inf"` with
    /// `count`, then `name_sum` and `name_count`. `labels` come before `le` on every sample.
    pub fn histogram(
        &mut self,
        name: &str,
        labels: &[(&str, &str)],
        bounds: &[f64],
        cumulative: &[u64],
        sum: f64,
        count: u64,
    ) {
        debug_assert_eq!(bounds.len(), cumulative.len(), "{name}: one cumulative count per bound");
        debug_assert!(bounds.windows(2).all(|w| w[0] < w[1]), "{name}: bounds increase");
        debug_assert!(bounds.iter().all(|b| b.is_finite()), "{name}: +Inf is written by itself");
        debug_assert!(cumulative.windows(2).all(|w| w[0] <= w[1]), "{name}: counts are cumulative");
        debug_assert!(cumulative.last().is_none_or(|&c| c <= count), "{name}: buckets within the count");
        let bucket = format!("{name}_bucket");
        for (bound, n) in bounds.iter().zip(cumulative) {
            // Rust's f64 Display: the shortest text that reads back the same, never an exponent.
            self.sample(&bucket, &with_le(labels, &bound.to_string()), *n);
        }
        self.sample(&bucket, &with_le(labels, "+Inf"), count);
        self.sample_f64(&format!("{name}_sum"), labels, sum);
        self.sample(&format!("{name}_count"), labels, count);
    }

    fn labels(&mut self, name: &str, labels: &[(&str, &str)]) {
        debug_assert!(valid_metric_name(name), "metric name {name:?}");
        self.out.push_str(name);
        if labels.is_empty() {
            return;
        }
        self.out.push('{');
        for (i, (label, value)) in labels.iter().enumerate() {
            debug_assert!(valid_label_name(label), "label name {label:?}");
            if i > 0 {
                self.out.push(',');
            }
            self.out.push_str(label);
            self.out.push_str("=\"");
            escape(&mut self.out, value, true);
            self.out.push('"');
        }
        self.out.push('}');
    }

    /// The text so far.
    pub fn as_str(&self) -> &str {
        &self.out
    }

    pub fn finish(self) -> String {
        self.out
    }
}

/// `labels` and then `le="le"`.
fn with_le<'a>(labels: &[(&'a str, &'a str)], le: &'a str) -> Vec<(&'a str, &'a str)> {
    labels.iter().copied().chain([("le", le)]).collect()
}

/// `\` → `\\`, newline → `\n`, and in label values also `"` → `\"`.
fn escape(out: &mut String, text: &str, quote: bool) {
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '"' if quote => out.push_str("\\\""),
            c => out.push(c),
        }
    }
}

/// `[a-zA-Z_:][a-zA-Z0-9_:]*`
fn valid_metric_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    bytes.next().is_some_and(|b| b.is_ascii_alphabetic() || b == b'_' || b == b':')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b':')
}

/// `[a-zA-Z_][a-zA-Z0-9_]*`, and not starting with the reserved `__`.
fn valid_label_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    !name.starts_with("__")
        && bytes.next().is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn golden_exposition() {
        let mut e = Exposition::new();
        e.family("danmaku_connections", Kind::Gauge, "Open connections by kind.");
        e.sample("danmaku_connections", &[("kind", "http")], 3);
        e.sample("danmaku_connections", &[("kind", "ws")], 120);
        e.family("danmaku_posts_total", Kind::Counter, "Posts by result.");
        e.sample("danmaku_posts_total", &[("result", "accepted"), ("room", "main")], 18_446_744_073_709_551_615);
        e.family("danmaku_rooms", Kind::Gauge, "Rooms.");
        e.sample("danmaku_rooms", &[], 0);
        e.family("odd", Kind::Untyped, "Help with a \\ backslash\nand a \"newline\".");
        e.sample("odd", &[("v", "a\\b\"c\nd")], 1);
        e.sample_f64("odd", &[], 0.25);
        e.sample_f64("odd", &[], f64::NAN);
        e.sample_f64("odd", &[], f64::INFINITY);
        e.sample_f64("odd", &[], f64::NEG_INFINITY);
        e.sample_f64("odd", &[], 2.0);
        assert_eq!(
            e.finish(),
            concat!(
                "# HELP danmaku_connections Open connections by kind.\n",
                "# TYPE danmaku_connections gauge\n",
                "danmaku_connections{kind=\"http\"} 3\n",
                "danmaku_connections{kind=\"ws\"} 120\n",
                "# HELP danmaku_posts_total Posts by result.\n",
                "# TYPE danmaku_posts_total counter\n",
                "danmaku_posts_total{result=\"accepted\",room=\"main\"} 18446744073709551615\n",
                "# HELP danmaku_rooms Rooms.\n",
                "# TYPE danmaku_rooms gauge\n",
                "danmaku_rooms 0\n",
                "# HELP odd Help with a \\\\ backslash\\nand a \"newline\".\n",
                "# TYPE odd untyped\n",
                "odd{v=\"a\\\\b\\\"c\\nd\"} 1\n",
                "odd 0.25\n",
                "odd NaN\n",
                "odd +Inf\n",
                "odd -Inf\n",
                "odd 2\n",
            )
        );
        assert_eq!(CONTENT_TYPE, "text/plain; version=0.0.4");
    }

    #[test]
    fn golden_histogram() {
        let mut e = Exposition::new();
        e.family("danmaku_flush_pass_seconds", Kind::Histogram, "Flush passes.");
        e.histogram("danmaku_flush_pass_seconds", &[], &[0.0005, 0.005, 1.0], &[0, 2, 3], 0.0125, 4);
        e.family("h", Kind::Histogram, "With labels.");
        e.histogram("h", &[("room", "a\"b")], &[2.5], &[1], 2.0, 1);
        e.histogram("h", &[], &[], &[], 0.0, 0);
        assert_eq!(
            e.finish(),
            concat!(
                "# HELP danmaku_flush_pass_seconds Flush passes.\n",
                "# TYPE danmaku_flush_pass_seconds histogram\n",
                "danmaku_flush_pass_seconds_bucket{le=\"0.0005\"} 0\n",
                "danmaku_flush_pass_seconds_bucket{le=\"0.005\"} 2\n",
                "danmaku_flush_pass_seconds_bucket{le=\"1\"} 3\n",
                "danmaku_flush_pass_seconds_bucket{le=\"+Inf\"} 4\n",
                "danmaku_flush_pass_seconds_sum 0.0125\n",
                "danmaku_flush_pass_seconds_count 4\n",
                "# HELP h With labels.\n",
                "# TYPE h histogram\n",
                "h_bucket{room=\"a\\\"b\",le=\"2.5\"} 1\n",
                "h_bucket{room=\"a\\\"b\",le=\"+Inf\"} 1\n",
                "h_sum{room=\"a\\\"b\"} 2\n",
                "h_count{room=\"a\\\"b\"} 1\n",
                "h_bucket{le=\"+Inf\"} 0\n",
                "h_sum 0\n",
                "h_count 0\n",
            )
        );
    }

    #[test]
    fn label_values_from_input_stay_on_one_line() {
        let mut e = Exposition::new();
        e.sample("x", &[("reason", "}\n# TYPE x counter\ny 1")], 1);
        assert_eq!(e.as_str().lines().count(), 1, "{}", e.as_str());
        assert_eq!(e.as_str(), "x{reason=\"}\\n# TYPE x counter\\ny 1\"} 1\n");
    }

    #[test]
    fn names() {
        for ok in ["a", "_a", "a:b_c9", "danmaku_posts_total"] {
            assert!(valid_metric_name(ok), "{ok}");
        }
        for bad in ["", "9a", "a-b", "a b", "é"] {
            assert!(!valid_metric_name(bad), "{bad}");
        }
        assert!(valid_label_name("kind") && valid_label_name("_k"));
        for bad in ["", "__name__", "a:b", "1a"] {
            assert!(!valid_label_name(bad), "{bad}");
        }
    }
}
