//! A Prometheus histogram read back from the server's `GET /metrics`: the flush passes,
//! `danmaku_flush_pass_seconds` (INTERFACE.md, "Operating it"). Text format 0.0.4: a histogram
//! family `name` is the samples `name_bucket{le="bound"}` (cumulative counts; `le` is an
//! inclusive upper bound; the last is `le="+Inf"`), `name_sum` and `name_count`.
//!
//! Two readings (the marks of the measured window) give the passes in the window; from the
//! difference of their buckets a quantile is known only up to its bucket: the report says
//! `p99 ≤ 15 ms`, the upper bound of the bucket holding it.

use crate::metrics::{count, sample_value};

/// The server's histogram of flush passes to at least 64 connections.
pub const FLUSH_PASS: &str = "danmaku_flush_pass_seconds";

/// One histogram: cumulative counts by increasing bound, the last bound `+Inf`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Buckets {
    pub bounds: Vec<f64>,
    pub cumulative: Vec<u64>,
    /// Seconds observed in all.
    pub sum: f64,
    pub count: u64,
}

impl Buckets {
    /// The histogram `name` in a text exposition. Series of the family with other labels than
    /// `le` are added together, bucket by bucket.
    pub fn parse(text: &str, name: &str) -> Result<Buckets, String> {
        let mut seen: Vec<(f64, u64)> = Vec::new();
        let bucket = format!("{name}_bucket");
        for line in text.lines().map(str::trim) {
            let Some(rest) = line.strip_prefix(&bucket).and_then(|r| r.trim_start().strip_prefix('{')) else {
                continue;
            };
            let (le, value) = bucket_line(rest).map_err(|why| format!("{bucket}: {why}: {line}"))?;
            match seen.iter_mut().find(|(b, _)| *b == le) {
                Some((_, n)) => *n = n.saturating_add(value),
                None => seen.push((le, value)),
            }
        }
        seen.sort_by(|a, b| a.0.total_cmp(&b.0));
        if seen.last().is_none_or(|&(b, _)| b != f64::INFINITY) {
            return Err(format!("no {bucket}{{le=\"+Inf\"}} sample"));
        }
        if seen.windows(2).any(|w| w[0].1 > w[1].1) {
            return Err(format!("{bucket}: counts are not cumulative"));
        }
        let sum = sum_value(text, &format!("{name}_sum"))?;
        let count = sample_value(text, &format!("{name}_count"))?;
        let (bounds, cumulative) = seen.into_iter().unzip();
        Ok(Buckets { bounds, cumulative, sum, count })
    }

    /// Adds another node's histogram: the same bounds, or an error.
    pub fn add(&mut self, other: &Buckets) -> Result<(), String> {
        if self.bounds.is_empty() && self.count == 0 {
            *self = other.clone();
            return Ok(());
        }
        if self.bounds != other.bounds {
            return Err(format!("{FLUSH_PASS}: the nodes' buckets differ"));
        }
        for (n, m) in self.cumulative.iter_mut().zip(&other.cumulative) {
            *n = n.saturating_add(*m);
        }
        self.sum += other.sum;
        self.count = self.count.saturating_add(other.count);
        Ok(())
    }

    /// What was observed after `earlier` (the same server's reading at an earlier mark).
    /// Counts never go backwards: a smaller one counts as no change.
    pub fn since(&self, earlier: &Buckets) -> Result<Buckets, String> {
        if self.bounds != earlier.bounds {
            return Err(format!("{FLUSH_PASS}: the buckets changed between the marks"));
        }
        let cumulative = self.cumulative.iter().zip(&earlier.cumulative).map(|(b, a)| b.saturating_sub(*a)).collect();
        Ok(Buckets {
            bounds: self.bounds.clone(),
            cumulative,
            sum: (self.sum - earlier.sum).max(0.0),
            count: self.count.saturating_sub(earlier.count),
        })
    }

    /// Mean observation in seconds; `None` without one.
    pub fn mean(&self) -> Option<f64> {
        (self.count > 0).then(|| self.sum / self.count as f64)
    }

    /// The upper bound of the bucket holding quantile `q` (0 < q ≤ 1) of the observations:
    /// the first bucket whose cumulative count reaches rank ⌈q·count⌉. `+Inf` when it is
    /// beyond the last finite bound; `None` without observations.
    pub fn quantile_le(&self, q: f64) -> Option<f64> {
        let total = *self.cumulative.last()?;
        if total == 0 {
            return None;
        }
        let rank = ((q * total as f64).ceil() as u64).clamp(1, total);
        let i = self.cumulative.iter().position(|&n| n >= rank)?;
        self.bounds.get(i).copied()
    }

    /// The largest finite bound.
    pub fn last_finite(&self) -> Option<f64> {
        self.bounds.iter().rev().copied().find(|b| b.is_finite())
    }
}

/// `le` and the value of a bucket line, given what follows its `{`: label pairs
/// `name="value"` (values escape `\`, `"` and newline), `}`, the value.
fn bucket_line(mut rest: &str) -> Result<(f64, u64), String> {
    let mut le = None;
    loop {
        rest = rest.trim_start().trim_start_matches(',').trim_start();
        if let Some(after) = rest.strip_prefix('}') {
            rest = after;
            break;
        }
        let (label, after) = rest.split_once('=').ok_or("a label without `=`")?;
        let value = after.trim_start().strip_prefix('"').ok_or("a label value without quotes")?;
        let end = closing_quote(value).ok_or("an unterminated label value")?;
        if label.trim() == "le" {
            le = Some(value[..end].parse::<f64>().map_err(|_| format!("le=\"{}\" is not a bound", &value[..end]))?);
        }
        rest = &value[end + 1..];
    }
    let le = le.filter(|b| !b.is_nan()).ok_or("no le label")?;
    let value = rest.split_ascii_whitespace().next().unwrap_or("");
    Ok((le, count(value).ok_or_else(|| format!("`{value}` is not a count"))?))
}

/// Where the quoted text starting at `value` ends (the first `"` not escaped by `\`).
fn closing_quote(value: &str) -> Option<usize> {
    let mut escaped = false;
    for (i, b) in value.bytes().enumerate() {
        match b {
            b'\\' if !escaped => escaped = true,
            b'"' if !escaped => return Some(i),
            _ => escaped = false,
        }
    }
    None
}

/// The unlabelled sample `name` as a non-negative number of seconds.
fn sum_value(text: &str, name: &str) -> Result<f64, String> {
    for line in text.lines().map(str::trim).filter(|l| !l.starts_with('#')) {
        let Some(rest) = line.strip_prefix(name).filter(|r| r.starts_with([' ', '\t'])) else { continue };
        let value = rest.split_ascii_whitespace().next().unwrap_or("");
        return value
            .parse::<f64>()
            .ok()
            .filter(|x| x.is_finite() && *x >= 0.0)
            .ok_or_else(|| format!("{name}: `{value}` is not a number of seconds"));
    }
    Err(format!("no {name} sample"))
}

#[cfg(test)]
#[path = "buckets_tests.rs"]
mod tests;
