//! When queued output goes out (`--flush-delay`): at the end of every loop turn, once it has
//! waited a fixed time, or, by default, when the adaptive policy below says so.
//!
//! Why it matters: a broadcast to N walls costs N writes, and the kernel's cost of a write
//! (about 4.5 µs on loopback) hardly depends on how many frames it carries. Two broadcasts
//! that share a flush cost half the CPU per post; waiting for the second costs latency.
//!
//! The adaptive policy ([`FlushPolicy::Auto`]), decided at the end of each turn from what the
//! shell saw in it ([`Turn`]) and how long its flush passes took ([`Pass`]); the time is
//! passed in, never read here:
//! 1. Output holding no broadcast (responses, pongs, echoes) goes out at once, and so does a
//!    flush to fewer than [`MIN_FANOUT`] connections: not worth a wait.
//! 2. Output holding a broadcast waits so that flush passes take at most [`FLUSH_SHARE`]
//!    (53%) of the loop's time: the next pass starts no sooner than the last one ended plus
//!    `(1/share − 1)` × the time passes take (measured by the shell, weighted ¼ per pass):
//!    after passes of 7 ms, 6.2 ms; never later than [`HOLD_CAP`] (8 ms) after the output
//!    was first seen: the hard bound. It waits only if more broadcasts are likely to join
//!    before then: `rate × (due − now) ≥ MIN_GAIN` (½), where `rate` is the broadcasts per second,
//!    exponentially weighted with a time constant of [`RATE_TAU`] (1 s); once begun, a hold
//!    runs to its end. With 1000 walls written in about 7 ms a pass, that takes 80 posts/s or
//!    more: at 50/s nothing waits; at 200/s a pass of about three posts per wall starts every
//!    13 ms, and the flush work is half of what one pass per post would cost.
//! 3. Holds must pay: each finished hold adds the broadcasts it gathered, and the ones the
//!    rate predicted for its length, to two sums that lose [`YIELD_DECAY`] (1/16) per hold.
//!    Once [`EVIDENCE`] (8) broadcasts were predicted and fewer than a quarter of them came
//!    ([`MIN_YIELD`]), holding pauses for [`PAUSE`] (1 s) and the sums restart. This is the
//!    closed loop: a publisher that sends its next post only when it has its previous ones
//!    back (a saturating benchmark, 8 in flight) sends nothing while its posts are held; at
//!    saturation that costs about one hold a second.
//!
//! Rooms are not told apart: the rate and the sums are over all broadcasts.

use std::time::{Duration, Instant};

/// The longest time the adaptive policy lets a broadcast wait for company (the hard bound;
/// the shell's poll wakes on whole milliseconds, so a hold ends up to 1 ms later).
pub const HOLD_CAP: Duration = Duration::from_millis(8);

/// The share of the loop's time flush passes may take while holds pay (rule 2): a little
/// over half, tuned at 200 posts/s to 1000 walls, where it gives about half a core with the
/// 99th percentile under 20 ms (README, Performance).
pub const FLUSH_SHARE: f64 = 0.53;

/// The weight of the newest pass in the time passes take.
pub const PASS_WEIGHT: f64 = 0.25;

/// Hold only if at least this many more broadcasts are expected before the bound.
pub const MIN_GAIN: f64 = 0.5;

/// Time constant of the broadcast rate's exponential weighting.
pub const RATE_TAU: Duration = Duration::from_secs(1);

/// Connections a flush must reach to be worth holding.
pub const MIN_FANOUT: usize = 64;

/// The fraction the gathered and predicted sums lose at each finished hold.
pub const YIELD_DECAY: f64 = 1.0 / 16.0;

/// Predicted broadcasts the sums must hold before holds are judged.
pub const EVIDENCE: f64 = 8.0;

/// Below this fraction of the prediction gathered, holds do not pay.
pub const MIN_YIELD: f64 = 0.25;

/// How long holding pauses when holds do not pay.
pub const PAUSE: Duration = Duration::from_secs(1);

/// How the loop decides when queued output goes out (`--flush-delay`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlushPolicy {
    /// `--flush-delay 0`: at the end of every loop turn.
    EveryTurn,
    /// `--flush-delay MS`: once the oldest queued output has waited this long.
    Fixed(Duration),
    /// `--flush-delay auto` (the default): the adaptive policy of this module.
    Auto,
}

/// What the shell observed in one loop turn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Turn {
    pub now: Instant,
    /// Broadcasts queued during this turn.
    pub broadcasts: u32,
    /// Connections with output waiting.
    pub dirty: usize,
    /// Whether anything waits for a flush (output, or paused readers to resume).
    pub pending: bool,
    /// Flush regardless of the policy (shutting down).
    pub urgent: bool,
}

/// One flush pass, as the shell timed it: from its first write to its last (a pass may span
/// several turns), and how many connections it wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pass {
    pub started: Instant,
    pub ended: Instant,
    pub connections: usize,
}

/// What to do at the end of the turn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Nothing waits.
    Idle,
    /// Flush everything now.
    Flush,
    /// Let output gather; flush at this instant unless a later turn decides otherwise.
    Hold(Instant),
}

/// Output queued since the last flush.
#[derive(Debug, Clone, Copy)]
struct Batch {
    /// When the shell first reported it pending.
    since: Instant,
    broadcasts: u32,
    /// Set when the batch was first held.
    hold: Option<HoldStart>,
}

/// Where a hold started: when, with how many broadcasts, at what rate; and when it ends.
#[derive(Debug, Clone, Copy)]
struct HoldStart {
    at: Instant,
    broadcasts: u32,
    rate: f64,
    until: Instant,
}

/// The policy's state: the broadcast rate, the pending batch, and what holds gathered.
#[derive(Debug, Clone)]
pub struct Coalescer {
    policy: FlushPolicy,
    /// Broadcasts per second, as of `rate_at`.
    rate: f64,
    rate_at: Option<Instant>,
    batch: Option<Batch>,
    /// Broadcasts that joined held batches, and the rate's prediction for them (rule 3).
    gathered: f64,
    predicted: f64,
    paused_until: Option<Instant>,
    /// Seconds a flush pass to at least [`MIN_FANOUT`] connections takes (weighted), and
    /// when the last one ended (rule 2).
    pass_time: Option<f64>,
    last_pass_end: Option<Instant>,
}

impl Coalescer {
    pub fn new(policy: FlushPolicy) -> Coalescer {
        Coalescer {
            policy,
            rate: 0.0,
            rate_at: None,
            batch: None,
            gathered: 0.0,
            predicted: 0.0,
            paused_until: None,
            pass_time: None,
            last_pass_end: None,
        }
    }

    pub fn policy(&self) -> FlushPolicy {
        self.policy
    }

    /// The end of a turn: flush now, hold until an instant, or nothing to do. The shell
    /// carries out every `Flush` it is given.
    pub fn decide(&mut self, turn: Turn) -> Decision {
        self.count(turn.now, turn.broadcasts);
        if !turn.pending {
            self.batch = None;
            return Decision::Idle;
        }
        let batch = self.batch.get_or_insert(Batch { since: turn.now, broadcasts: 0, hold: None });
        batch.broadcasts += turn.broadcasts;
        let batch = *batch;
        let decision = match self.policy {
            _ if turn.urgent => Decision::Flush,
            FlushPolicy::EveryTurn => Decision::Flush,
            FlushPolicy::Fixed(delay) => hold_until(turn.now, batch.since + delay),
            FlushPolicy::Auto => self.auto(&turn, &batch),
        };
        match decision {
            Decision::Flush => self.flushed(turn.now, &batch),
            Decision::Hold(until) if batch.hold.is_none() => {
                let hold = HoldStart { at: turn.now, broadcasts: batch.broadcasts, rate: self.rate(turn.now), until };
                self.batch = Some(Batch { hold: Some(hold), ..batch });
            }
            _ => {}
        }
        decision
    }

    /// Broadcasts per second at `now`: the weighted count decayed since its last update.
    pub fn rate(&self, now: Instant) -> f64 {
        match self.rate_at {
            Some(at) => self.rate * (-now.saturating_duration_since(at).as_secs_f64() / RATE_TAU.as_secs_f64()).exp(),
            None => 0.0,
        }
    }

    /// Adds this turn's broadcasts to the rate: each weighs 1/τ, decaying with time constant τ.
    fn count(&mut self, now: Instant, broadcasts: u32) {
        if broadcasts > 0 {
            self.rate = self.rate(now) + f64::from(broadcasts) / RATE_TAU.as_secs_f64();
            self.rate_at = Some(now);
        }
    }

    /// A flush pass is over (under every policy): rule 2 learns how long passes take.
    pub fn passed(&mut self, pass: Pass) {
        if pass.connections < MIN_FANOUT {
            return;
        }
        let took = pass.ended.saturating_duration_since(pass.started).as_secs_f64();
        self.pass_time = Some(match self.pass_time {
            Some(time) => time + PASS_WEIGHT * (took - time),
            None => took,
        });
        self.last_pass_end = Some(pass.ended);
    }

    /// Rules 1 and 2 of the module doc, for a pending batch that is not urgent.
    fn auto(&self, turn: &Turn, batch: &Batch) -> Decision {
        let now = turn.now;
        let worth_holding =
            batch.broadcasts > 0 && turn.dirty >= MIN_FANOUT && self.paused_until.is_none_or(|until| now >= until);
        if !worth_holding {
            return Decision::Flush;
        }
        if let Some(hold) = batch.hold {
            return hold_until(now, hold.until);
        }
        let Some(due) = self.due(batch.since) else { return Decision::Flush };
        let expected = self.rate(now) * due.saturating_duration_since(now).as_secs_f64();
        if expected < MIN_GAIN { Decision::Flush } else { hold_until(now, due) }
    }

    /// When the next pass may start under rule 2: the last pass's end plus the time passes
    /// take × `(1/share − 1)`, at most [`HOLD_CAP`] after `since`. `None` until a pass has
    /// been measured.
    fn due(&self, since: Instant) -> Option<Instant> {
        let (time, end) = (self.pass_time?, self.last_pass_end?);
        let gap = (time * (1.0 / FLUSH_SHARE - 1.0)).min(HOLD_CAP.as_secs_f64());
        Some((end + Duration::from_secs_f64(gap)).min(since + HOLD_CAP))
    }

    /// The batch went out: rule 3's bookkeeping.
    fn flushed(&mut self, now: Instant, batch: &Batch) {
        self.batch = None;
        let Some(hold) = batch.hold.filter(|_| self.policy == FlushPolicy::Auto) else { return };
        let held = now.saturating_duration_since(hold.at).as_secs_f64();
        self.gathered = self.gathered * (1.0 - YIELD_DECAY) + f64::from(batch.broadcasts - hold.broadcasts);
        self.predicted = self.predicted * (1.0 - YIELD_DECAY) + hold.rate * held;
        if self.predicted >= EVIDENCE && self.gathered < MIN_YIELD * self.predicted {
            self.paused_until = Some(now + PAUSE);
            self.gathered = 0.0;
            self.predicted = 0.0;
        }
    }
}

/// Hold until `due`, or flush if it has come.
fn hold_until(now: Instant, due: Instant) -> Decision {
    if now >= due { Decision::Flush } else { Decision::Hold(due) }
}

#[cfg(test)]
#[path = "coalesce_tests.rs"]
mod tests;
