//! Output: aligned human-readable lines and one hand-written JSON object.

use std::fmt::Write as _;

use crate::stats::Histogram;

/// Width of the label column.
const LABEL: usize = 26;

/// A text report: one `label  value` line each.
#[derive(Default)]
pub struct Text {
    out: String,
}

impl Text {
    pub fn title(&mut self, title: &str) {
        let _ = writeln!(self.out, "{title}");
    }

    pub fn line(&mut self, label: &str, value: impl std::fmt::Display) {
        let _ = writeln!(self.out, "  {label:<LABEL$}{value}");
    }

    pub fn warn(&mut self, what: &str) {
        let _ = writeln!(self.out, "WARNING: {what}");
    }

    pub fn finish(self) -> String {
        self.out
    }
}

/// `12345678` → `12,345,678`.
pub fn int(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A rate or other large figure, rounded to a whole number with separators.
pub fn big(x: f64) -> String {
    if x.is_finite() && x >= 0.0 { int(x.round() as u64) } else { "n/a".to_string() }
}

/// Nanoseconds as milliseconds with three decimals.
pub fn ms(ns: u64) -> String {
    format!("{:.3} ms", ns as f64 / 1e6)
}

pub fn opt<T>(v: Option<T>, f: impl FnOnce(T) -> String) -> String {
    v.map_or_else(|| "n/a".to_string(), f)
}

/// Latency percentiles of a histogram, as one text value.
pub fn latency_line(h: &Histogram) -> String {
    if h.count() == 0 {
        return "n/a (no deliveries recorded)".to_string();
    }
    let p = |q| ms(h.percentile(q).unwrap_or(0));
    format!("p50 {}   p90 {}   p99 {}   max {}", p(50.0), p(90.0), p(99.0), ms(h.max().unwrap_or(0)))
}

/// One JSON object, built by hand (keys are ours and need no escaping; string values are
/// escaped).
pub struct Json {
    out: String,
    first: bool,
}

impl Default for Json {
    fn default() -> Self {
        Json { out: "{".to_string(), first: true }
    }
}

impl Json {
    fn key(&mut self, key: &str) {
        if !self.first {
            self.out.push(',');
        }
        self.first = false;
        let _ = write!(self.out, "\"{key}\":");
    }

    pub fn int(&mut self, key: &str, v: u64) -> &mut Self {
        self.key(key);
        let _ = write!(self.out, "{v}");
        self
    }

    pub fn num(&mut self, key: &str, v: f64) -> &mut Self {
        self.key(key);
        if v.is_finite() {
            let _ = write!(self.out, "{}", (v * 1000.0).round() / 1000.0);
        } else {
            self.out.push_str("null");
        }
        self
    }

    pub fn opt_num(&mut self, key: &str, v: Option<f64>) -> &mut Self {
        match v {
            Some(v) => self.num(key, v),
            None => self.null(key),
        }
    }

    pub fn opt_int(&mut self, key: &str, v: Option<u64>) -> &mut Self {
        match v {
            Some(v) => self.int(key, v),
            None => self.null(key),
        }
    }

    pub fn null(&mut self, key: &str) -> &mut Self {
        self.key(key);
        self.out.push_str("null");
        self
    }

    pub fn bool(&mut self, key: &str, v: bool) -> &mut Self {
        self.key(key);
        self.out.push_str(if v { "true" } else { "false" });
        self
    }

    pub fn str(&mut self, key: &str, v: &str) -> &mut Self {
        self.key(key);
        self.out.push('"');
        for c in v.chars() {
            match c {
                '"' => self.out.push_str("\\\""),
                '\\' => self.out.push_str("\\\\"),
                c if (c as u32) < 0x20 => {
                    let _ = write!(self.out, "\\u{:04x}", c as u32);
                }
                c => self.out.push(c),
            }
        }
        self.out.push('"');
        self
    }

    /// `"latency_ms":{"p50":..,"p90":..,"p99":..,"max":..}` (nulls when empty).
    pub fn latency(&mut self, key: &str, h: &Histogram) -> &mut Self {
        self.key(key);
        let mut inner = Json::default();
        let msf = |ns: Option<u64>| ns.map(|ns| ns as f64 / 1e6);
        inner
            .opt_num("p50", msf(h.percentile(50.0)))
            .opt_num("p90", msf(h.percentile(90.0)))
            .opt_num("p99", msf(h.percentile(99.0)))
            .opt_num("max", msf(h.max()));
        self.out.push_str(&inner.finish());
        self
    }

    pub fn finish(mut self) -> String {
        self.out.push('}');
        self.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers() {
        assert_eq!(int(0), "0");
        assert_eq!(int(999), "999");
        assert_eq!(int(1000), "1,000");
        assert_eq!(int(12_345_678), "12,345,678");
        assert_eq!(ms(1_234_567), "1.235 ms");
    }

    #[test]
    fn json() {
        let mut h = Histogram::default();
        h.record(2_000_000);
        let mut j = Json::default();
        j.str("mode", "fan\"out")
            .int("n", 3)
            .num("x", 1.23456)
            .opt_num("none", None)
            .bool("ok", true)
            .latency("latency_ms", &h);
        assert_eq!(
            j.finish(),
            r#"{"mode":"fan\"out","n":3,"x":1.235,"none":null,"ok":true,"latency_ms":{"p50":2,"p90":2,"p99":2,"max":2}}"#
        );
        let mut empty = Json::default();
        empty.latency("l", &Histogram::default());
        assert_eq!(empty.finish(), r#"{"l":{"p50":null,"p90":null,"p99":null,"max":null}}"#);
    }
}
