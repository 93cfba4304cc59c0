//! Output: every figure is defined once, as a [`Figure`] (key, label, value, unit), and
//! rendered twice from that one definition: an aligned text line and a member of one
//! hand-written JSON object.

use std::borrow::Cow;
use std::fmt::Write as _;

use crate::stats::Histogram;

/// Width of the label column.
const LABEL: usize = 28;

/// A figure's value, typed so that both renderings know how to write it.
#[derive(Debug, Clone)]
pub enum Value {
    /// A count: `12,345` in text, `12345` in JSON.
    Int(u64),
    /// A measurement, shown with this many decimals in text (JSON keeps three).
    Num(f64, usize),
    Text(String),
    Flag(bool),
    /// Latency percentiles in milliseconds: p50, p90, p99, max.
    Latency([Option<f64>; 4]),
    /// Not measured here (no `--spawn`/`--pid`, nothing delivered...): `n/a`, `null`.
    Missing,
}

impl Value {
    pub fn opt_int(v: Option<u64>) -> Value {
        v.map_or(Value::Missing, Value::Int)
    }

    pub fn opt_num(v: Option<f64>, decimals: usize) -> Value {
        match v {
            Some(v) if v.is_finite() => Value::Num(v, decimals),
            _ => Value::Missing,
        }
    }

    pub fn latency(h: &Histogram) -> Value {
        if h.count() == 0 {
            return Value::Latency([None; 4]);
        }
        let ms = |ns: Option<u64>| ns.map(|ns| ns as f64 / 1e6);
        Value::Latency([ms(h.percentile(50.0)), ms(h.percentile(90.0)), ms(h.percentile(99.0)), ms(h.max())])
    }
}

/// One figure of a report.
#[derive(Debug, Clone)]
pub struct Figure {
    /// The JSON key; empty for lines of the text only.
    pub key: Cow<'static, str>,
    /// The text label; empty for figures that only the JSON carries (the run's settings).
    pub label: Cow<'static, str>,
    pub value: Value,
    /// Unit after the text value (`s`, `KiB`, `% of one core`...).
    pub unit: &'static str,
}

/// A report: a title, figures in order, warnings.
#[derive(Default)]
pub struct Report {
    pub title: String,
    figures: Vec<Figure>,
    warnings: Vec<String>,
}

impl Report {
    pub fn new(title: String) -> Report {
        Report { title, ..Report::default() }
    }

    /// Adds a figure shown in both renderings.
    pub fn add(&mut self, key: &'static str, label: &'static str, value: Value, unit: &'static str) -> &mut Self {
        self.add_named(key.into(), label.into(), value, unit)
    }

    /// [`add`](Self::add) with names made at run time (one figure per cluster node).
    pub fn add_named(
        &mut self,
        key: Cow<'static, str>,
        label: Cow<'static, str>,
        value: Value,
        unit: &'static str,
    ) -> &mut Self {
        self.figures.push(Figure { key, label, value, unit });
        self
    }

    /// Adds a setting of the run: JSON only (the text title already says it).
    pub fn setting(&mut self, key: &'static str, value: Value) -> &mut Self {
        self.add(key, "", value, "")
    }

    /// Adds a line of the text only (a summary of figures the JSON has one by one).
    pub fn text_only(&mut self, label: &'static str, value: Value) -> &mut Self {
        self.add("", label, value, "")
    }

    pub fn warn_if(&mut self, cond: bool, what: impl FnOnce() -> String) -> &mut Self {
        if cond {
            self.warnings.push(what());
        }
        self
    }

    /// Aligned `label  value unit` lines, then the warnings.
    pub fn text(&self) -> String {
        let mut out = format!("{}\n", self.title);
        for f in self.figures.iter().filter(|f| !f.label.is_empty()) {
            let value = text_value(&f.value);
            let unit = if f.unit.is_empty() || matches!(f.value, Value::Missing) { "" } else { f.unit };
            let sep = if unit.is_empty() { "" } else { " " };
            let _ = writeln!(out, "  {:<LABEL$}{value}{sep}{unit}", f.label);
        }
        for w in &self.warnings {
            let _ = writeln!(out, "WARNING: {w}");
        }
        out
    }

    /// One JSON object holding every figure.
    pub fn json(&self) -> String {
        let mut out = String::from("{");
        for (i, f) in self.figures.iter().filter(|f| !f.key.is_empty()).enumerate() {
            if i > 0 {
                out.push(',');
            }
            let _ = write!(out, "\"{}\":", f.key);
            json_value(&mut out, &f.value);
        }
        out.push('}');
        out
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

fn text_value(v: &Value) -> String {
    match v {
        Value::Int(n) => int(*n),
        Value::Num(x, 0) if *x >= 0.0 && *x < 1e19 => int(x.round() as u64),
        Value::Num(x, decimals) => format!("{x:.decimals$}"),
        Value::Text(s) => s.clone(),
        Value::Flag(b) => (if *b { "yes" } else { "no" }).to_string(),
        Value::Latency([Some(p50), Some(p90), Some(p99), Some(max)]) => {
            format!("p50 {p50:.3} ms   p90 {p90:.3} ms   p99 {p99:.3} ms   max {max:.3} ms")
        }
        Value::Latency(_) => "n/a (no deliveries recorded)".to_string(),
        Value::Missing => "n/a".to_string(),
    }
}

fn json_num(out: &mut String, x: f64) {
    if x.is_finite() {
        let _ = write!(out, "{}", (x * 1000.0).round() / 1000.0);
    } else {
        out.push_str("null");
    }
}

fn json_value(out: &mut String, v: &Value) {
    match v {
        Value::Int(n) => {
            let _ = write!(out, "{n}");
        }
        Value::Num(x, _) => json_num(out, *x),
        Value::Text(s) => {
            let mut quoted = String::new();
            danmaku_wall::wire::json::write_string(&mut quoted, s);
            out.push_str(&quoted);
        }
        Value::Flag(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Latency(ps) => {
            out.push('{');
            for (i, (name, p)) in ["p50", "p90", "p99", "max"].iter().zip(ps).enumerate() {
                let _ = write!(out, "{}\"{name}\":", if i > 0 { "," } else { "" });
                match p {
                    Some(p) => json_num(out, *p),
                    None => out.push_str("null"),
                }
            }
            out.push('}');
        }
        Value::Missing => out.push_str("null"),
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
    }

    #[test]
    fn one_definition_two_renderings() {
        let mut h = Histogram::default();
        h.record(2_000_000);
        let mut r = Report::new("title".to_string());
        r.setting("mode", Value::Text("fan\"out".to_string()))
            .add("n", "count", Value::Int(1234), "")
            .add("x", "ratio", Value::Num(1.23456, 2), "s")
            .add("none", "missing", Value::Missing, "KiB")
            .add("ok", "ok", Value::Flag(true), "")
            .text_only("summary", Value::Text("text only".to_string()))
            .add("latency_ms", "latency", Value::latency(&h), "")
            .warn_if(true, || "careful".to_string());
        assert_eq!(
            r.json(),
            r#"{"mode":"fan\"out","n":1234,"x":1.235,"none":null,"ok":true,"latency_ms":{"p50":2,"p90":2,"p99":2,"max":2}}"#
        );
        let text = r.text();
        assert!(text.starts_with("title\n  count"), "{text}");
        assert!(text.contains("1,234\n") && text.contains("1.23 s\n") && text.contains("n/a\n"), "{text}");
        assert!(text.contains("p99 2.000 ms") && text.ends_with("WARNING: careful\n"), "{text}");
        assert!(!text.contains("fan"), "settings are JSON only: {text}");
        assert!(text.contains("  summary") && text.contains("text only\n"), "{text}");
        let empty = Report::new(String::new());
        let mut e = empty;
        e.add("l", "l", Value::latency(&Histogram::default()), "");
        assert_eq!(e.json(), r#"{"l":{"p50":null,"p90":null,"p99":null,"max":null}}"#);
    }
}
