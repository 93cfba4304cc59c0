//! Tests of [`Coalescer`]: decisions as a pure function of the turns fed in.

use super::*;

const WALLS: usize = 1000;

fn ms(n: f64) -> Duration {
    Duration::from_secs_f64(n / 1000.0)
}

/// A turn `at` after `t0` that queued `broadcasts` to `dirty` connections.
fn turn(t0: Instant, at: Duration, broadcasts: u32, dirty: usize) -> Turn {
    Turn { now: t0 + at, broadcasts, dirty, pending: dirty > 0, urgent: false }
}

/// An adaptive coalescer whose broadcast rate is `per_second` at `t0`, and whose last flush
/// pass, to [`WALLS`] connections, ended at `t0` and took as long as makes the next one to
/// [`WALLS`] wait `gap_ms` (the pass is `gap_ms × share / (1 − share)` long).
fn auto_at_rate(t0: Instant, per_second: f64, gap_ms: f64) -> Coalescer {
    let mut c = Coalescer::new(FlushPolicy::Auto);
    c.rate = per_second;
    c.rate_at = Some(t0);
    c.passed(Pass { started: t0 - ms(pass_ms(gap_ms)), ended: t0, connections: WALLS });
    c
}

/// How long a pass must take for the next to wait `gap_ms`.
fn pass_ms(gap_ms: f64) -> f64 {
    gap_ms * FLUSH_SHARE / (1.0 - FLUSH_SHARE)
}

/// `d` holds until `due`, to the microsecond (gaps are computed in floating point).
#[track_caller]
fn assert_hold(d: Decision, due: Instant) {
    let Decision::Hold(at) = d else { panic!("{d:?}, expected a hold until {due:?}") };
    let off = if at > due { at - due } else { due - at };
    assert!(off <= Duration::from_micros(1), "held until {at:?}, expected {due:?}");
}

/// The gap after a pass over 1000 walls on the machine the README measures on.
const GAP_MS: f64 = 7.0;

#[test]
fn nothing_pending_is_idle_under_every_policy() {
    let t0 = Instant::now();
    for policy in [FlushPolicy::EveryTurn, FlushPolicy::Fixed(ms(2.0)), FlushPolicy::Auto] {
        let mut c = Coalescer::new(policy);
        assert_eq!(c.decide(turn(t0, ms(0.0), 0, 0)), Decision::Idle, "{policy:?}");
        assert_eq!(c.policy(), policy);
    }
}

#[test]
fn every_turn_flushes_whatever_is_pending() {
    let t0 = Instant::now();
    let mut c = Coalescer::new(FlushPolicy::EveryTurn);
    for i in 0..10 {
        assert_eq!(c.decide(turn(t0, ms(f64::from(i) * 0.1), 1, WALLS)), Decision::Flush);
    }
}

#[test]
fn fixed_delay_holds_from_the_first_queued_output() {
    let t0 = Instant::now();
    let mut c = Coalescer::new(FlushPolicy::Fixed(ms(2.0)));
    let due = t0 + ms(2.0);
    assert_eq!(c.decide(turn(t0, ms(0.0), 1, 1)), Decision::Hold(due));
    assert_eq!(c.decide(turn(t0, ms(1.0), 3, 5)), Decision::Hold(due));
    assert_eq!(c.decide(turn(t0, ms(1.999), 0, 5)), Decision::Hold(due));
    assert_eq!(c.decide(turn(t0, ms(2.0), 0, 5)), Decision::Flush);
    // The next batch starts its own delay.
    assert_eq!(c.decide(turn(t0, ms(2.5), 0, 1)), Decision::Hold(t0 + ms(4.5)));
    assert_eq!(c.decide(turn(t0, ms(9.0), 0, 1)), Decision::Flush);
}

#[test]
fn urgent_flushes_under_every_policy() {
    let t0 = Instant::now();
    for policy in [FlushPolicy::Fixed(ms(100.0)), FlushPolicy::Auto] {
        let mut c = auto_at_rate(t0, 1000.0, GAP_MS);
        c.policy = policy;
        assert!(matches!(c.decide(turn(t0, ms(0.0), 1, WALLS)), Decision::Hold(_)), "{policy:?}");
        let urgent = Turn { urgent: true, ..turn(t0, ms(0.1), 0, WALLS) };
        assert_eq!(c.decide(urgent), Decision::Flush, "{policy:?}");
    }
}

#[test]
fn at_200_per_second_the_next_pass_waits_for_its_share() {
    // The last pass ended at t0: the next starts no sooner than t0 + 7 ms.
    let t0 = Instant::now();
    let mut c = auto_at_rate(t0, 200.0, GAP_MS);
    let due = t0 + ms(GAP_MS);
    assert_hold(c.decide(turn(t0, ms(1.0), 1, WALLS)), due);
    // A turn with only a pong in it changes nothing; nor does a second broadcast, nor a
    // moment when little time is left: a hold runs to its end.
    assert_hold(c.decide(turn(t0, ms(2.0), 0, WALLS)), due);
    assert_hold(c.decide(turn(t0, ms(4.0), 1, WALLS)), due);
    assert_hold(c.decide(turn(t0, ms(6.9), 0, WALLS)), due);
    assert_eq!(c.decide(turn(t0, ms(GAP_MS + 0.001), 0, WALLS)), Decision::Flush);
    // The next batch waits for the pass that flush starts to be followed by its gap.
    let (started, ended) = (t0 + ms(GAP_MS), t0 + ms(GAP_MS + pass_ms(GAP_MS)));
    c.passed(Pass { started, ended, connections: WALLS });
    assert_hold(c.decide(turn(t0, ms(15.0), 1, WALLS)), ended + ms(GAP_MS));
}

#[test]
fn a_broadcast_long_after_the_last_pass_goes_at_once() {
    let t0 = Instant::now();
    let mut c = auto_at_rate(t0, 200.0, GAP_MS);
    assert_eq!(c.decide(turn(t0, ms(GAP_MS + 0.001), 1, WALLS)), Decision::Flush);
    // 2 ms before the due time, 0.4 broadcasts are expected: not worth a wait.
    let mut c = auto_at_rate(t0, 199.0, GAP_MS);
    assert_eq!(c.decide(turn(t0, ms(GAP_MS - 2.0), 1, WALLS)), Decision::Flush);
}

#[test]
fn the_wait_follows_the_weighted_pass_time_whatever_waits() {
    let t0 = Instant::now();
    let mut c = auto_at_rate(t0, 1000.0, GAP_MS);
    // A pass that makes a 9 ms gap moves the weighted one a quarter of the way: 7.5 ms.
    c.passed(Pass { started: t0, ended: t0 + ms(pass_ms(9.0)), connections: WALLS / 2 });
    let due = t0 + ms(pass_ms(9.0)) + ms(7.5);
    assert_hold(c.decide(turn(t0, ms(pass_ms(9.0)), 1, WALLS / 2)), due);
    // However many connections wait (the ones still to become dirty join in the hold).
    let mut c = auto_at_rate(t0, 1000.0, GAP_MS);
    assert_hold(c.decide(turn(t0, ms(0.0), 1, MIN_FANOUT)), t0 + ms(GAP_MS));
}

#[test]
fn a_hold_never_lasts_longer_than_the_bound() {
    let t0 = Instant::now();
    // Passes of ten thousand walls: the gap would be 50 ms; the bound is 8 ms...
    let mut c = auto_at_rate(t0, 1e9, 50.0);
    assert_hold(c.decide(turn(t0, ms(0.0), 1, WALLS)), t0 + HOLD_CAP);
    assert_hold(c.decide(turn(t0, HOLD_CAP - ms(0.001), 0, WALLS)), t0 + HOLD_CAP);
    assert_eq!(c.decide(turn(t0, HOLD_CAP, 0, WALLS)), Decision::Flush);
    // ...counted from when the output was first seen, whenever the last pass ended.
    let mut c = auto_at_rate(t0, 1e9, 50.0);
    c.last_pass_end = Some(t0 + ms(5.0));
    assert_hold(c.decide(turn(t0, ms(0.0), 1, WALLS)), t0 + HOLD_CAP);
}

#[test]
fn at_50_per_second_nothing_waits() {
    let t0 = Instant::now();
    let mut c = auto_at_rate(t0, 50.0, GAP_MS);
    assert_eq!(c.decide(turn(t0, ms(0.0), 1, WALLS)), Decision::Flush);
}

#[test]
fn the_expected_gain_threshold_is_one_half() {
    // rate × 7 ms crosses MIN_GAIN at 71.4 broadcasts per second (the new one included).
    let t0 = Instant::now();
    let at = MIN_GAIN / ms(GAP_MS).as_secs_f64();
    let one = 1.0 / RATE_TAU.as_secs_f64();
    let first = |rate: f64| auto_at_rate(t0, rate, GAP_MS).decide(turn(t0, ms(0.0), 1, WALLS));
    assert_eq!(first(at - one - 0.01), Decision::Flush);
    assert_hold(first(at - one + 0.01), t0 + ms(GAP_MS));
    // Later after the last pass less time is left, so more rate is needed: 200/s × 2.5 ms
    // (give or take the 0.45% the rate decays in 4.5 ms).
    let at_later = |rate: f64| auto_at_rate(t0, rate, GAP_MS).decide(turn(t0, ms(4.5), 1, WALLS));
    assert_hold(at_later(203.0 - one), t0 + ms(GAP_MS));
    assert_eq!(at_later(197.0 - one), Decision::Flush);
}

#[test]
fn no_hold_before_a_pass_was_measured() {
    let t0 = Instant::now();
    let mut c = Coalescer::new(FlushPolicy::Auto);
    c.rate = 10_000.0;
    c.rate_at = Some(t0);
    assert_eq!(c.decide(turn(t0, ms(0.0), 1, WALLS)), Decision::Flush);
    // A pass to a handful of connections teaches nothing.
    c.passed(Pass { started: t0, ended: t0 + ms(1.0), connections: MIN_FANOUT - 1 });
    assert_eq!(c.decide(turn(t0, ms(1.0), 1, WALLS)), Decision::Flush);
    c.passed(Pass { started: t0, ended: t0 + ms(1.0), connections: MIN_FANOUT });
    assert!(matches!(c.decide(turn(t0, ms(1.0), 1, WALLS)), Decision::Hold(_)));
}

#[test]
fn the_pass_time_is_weighted() {
    let t0 = Instant::now();
    let mut c = Coalescer::new(FlushPolicy::Auto);
    c.passed(Pass { started: t0, ended: t0 + ms(7.0), connections: WALLS });
    assert_eq!(c.pass_time, Some(0.007));
    c.passed(Pass { started: t0, ended: t0 + ms(11.0), connections: WALLS });
    let time = c.pass_time.unwrap();
    assert!((time - (0.007 + PASS_WEIGHT * 0.004)).abs() < 1e-12, "{time}");
    assert_eq!(c.last_pass_end, Some(t0 + ms(11.0)));
}

#[test]
fn output_without_broadcasts_goes_at_once() {
    let t0 = Instant::now();
    let mut c = auto_at_rate(t0, 10_000.0, GAP_MS);
    assert_eq!(c.decide(turn(t0, ms(0.0), 0, WALLS)), Decision::Flush);
}

#[test]
fn small_flushes_do_not_wait() {
    let t0 = Instant::now();
    assert_eq!(auto_at_rate(t0, 1e4, GAP_MS).decide(turn(t0, ms(0.0), 1, MIN_FANOUT - 1)), Decision::Flush);
    assert!(matches!(auto_at_rate(t0, 1e4, GAP_MS).decide(turn(t0, ms(0.0), 1, MIN_FANOUT)), Decision::Hold(_)));
}

/// Passes of 5 ms (gaps of 5 ms).
const ROUND_GAP_MS: f64 = 5.0;

/// Rounds of: a pass ends at `*t`, a broadcast comes at once, and if it is held, `gathered(i)`
/// broadcasts join just before the hold ends; returns how many of `rounds` were held.
fn hold_rounds(c: &mut Coalescer, t0: Instant, t: &mut Duration, rounds: u32, gathered: impl Fn(u32) -> u32) -> u32 {
    let mut held = 0;
    let gap = ms(ROUND_GAP_MS);
    for i in 0..rounds {
        c.passed(Pass { started: t0 + *t - ms(pass_ms(ROUND_GAP_MS)), ended: t0 + *t, connections: WALLS });
        let first = c.decide(turn(t0, *t, 1, WALLS));
        if let Decision::Hold(_) = first {
            assert_hold(first, t0 + *t + gap);
            held += 1;
            assert_eq!(c.decide(turn(t0, *t + gap - ms(0.01), gathered(i), WALLS)), first);
            assert_eq!(c.decide(turn(t0, *t + gap + ms(0.001), 0, WALLS)), Decision::Flush);
        } else {
            assert_eq!(first, Decision::Flush);
        }
        *t += gap + ms(1.0);
    }
    held
}

#[test]
fn holds_that_gather_nothing_pause_holding() {
    // A closed-loop publisher at saturation: 1500/s, and nothing comes while we hold.
    let t0 = Instant::now();
    let mut c = auto_at_rate(t0, 1500.0, ROUND_GAP_MS);
    let mut t = ms(0.0);
    // 7.5 predicted per hold: the second hold brings the prediction past EVIDENCE.
    assert_eq!(hold_rounds(&mut c, t0, &mut t, 2, |_| 0), 2);
    let paused_at = t - ms(1.0);
    assert_eq!(hold_rounds(&mut c, t0, &mut t, 100, |_| 0), 0, "paused");
    assert!(t < paused_at + PAUSE);
    t = paused_at + PAUSE;
    c.rate = 1500.0;
    c.rate_at = Some(t0 + t);
    // A fresh start: again two holds, then a pause.
    assert_eq!(hold_rounds(&mut c, t0, &mut t, 100, |_| 0), 2);
}

#[test]
fn holds_that_gather_what_the_rate_predicts_go_on() {
    // Open loop at 400/s: a hold of 5 ms predicts 2; each gathers 1 or 2 (at least a quarter).
    let t0 = Instant::now();
    let mut c = auto_at_rate(t0, 400.0, ROUND_GAP_MS);
    let mut t = ms(0.0);
    for _ in 0..10 {
        c.rate = 400.0;
        c.rate_at = Some(t0 + t);
        assert_eq!(hold_rounds(&mut c, t0, &mut t, 10, |i| 1 + i % 2), 10);
    }
}

#[test]
fn the_yield_threshold_is_a_quarter() {
    // 1000/s, 5 predicted per hold; gathering 1 each time is 1/5 (pauses), 2 is 2/5 (goes on).
    let t0 = Instant::now();
    for (gathered, holds) in [(1, 2), (2, 50)] {
        let mut c = auto_at_rate(t0, 1000.0, ROUND_GAP_MS);
        let mut t = ms(0.0);
        let mut held = 0;
        for _ in 0..50 {
            c.rate = 1000.0;
            c.rate_at = Some(t0 + t);
            held += hold_rounds(&mut c, t0, &mut t, 1, |_| gathered);
        }
        assert_eq!(held, holds, "gathering {gathered} of 5");
    }
}

#[test]
fn the_rate_follows_the_arrivals_and_decays() {
    let t0 = Instant::now();
    let mut c = Coalescer::new(FlushPolicy::Auto);
    assert_eq!(c.rate(t0), 0.0);
    // Five seconds of one broadcast every 5 ms, each flushed on arrival (no pending output).
    for i in 0..1000 {
        c.decide(Turn { pending: false, ..turn(t0, ms(f64::from(i) * 5.0), 1, 0) });
    }
    let end = t0 + ms(4995.0);
    let rate = c.rate(end);
    assert!((195.0..=205.0).contains(&rate), "{rate}");
    // Then silence: after one time constant, a fraction 1/e is left.
    let later = c.rate(end + RATE_TAU);
    assert!((later / rate - (-1.0f64).exp()).abs() < 1e-9, "{later}");
    assert_eq!(c.rate(end - ms(10.0)), rate, "a time before the last update does not grow the rate");
}

#[test]
fn a_hold_never_passes_the_bound() {
    // A stream of turns at random times with random broadcasts, and flush passes of random
    // lengths: every hold ends by first-queued + HOLD_CAP, and a turn at or past it always
    // flushes.
    let t0 = Instant::now();
    let mut c = auto_at_rate(t0, 300.0, GAP_MS);
    let mut rng = 0x2545_F491_4F6C_DD1Du64;
    let mut next = move |n: u64| {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng % n
    };
    let (mut t, mut since) = (ms(0.0), None);
    let mut holds = 0;
    for _ in 0..20_000 {
        t += Duration::from_micros(next(3000));
        let b = [0, 0, 1, 1, 1, 2][next(6) as usize];
        let pending = since.is_some() || b > 0 || next(4) == 0;
        let first = *since.get_or_insert(t);
        match c.decide(Turn { pending, ..turn(t0, t, b, if pending { WALLS } else { 0 }) }) {
            Decision::Hold(at) => {
                assert!(at <= t0 + first + HOLD_CAP && at > t0 + t);
                holds += 1;
            }
            Decision::Flush => {
                since = None;
                let took = Duration::from_micros(next(15_000));
                c.passed(Pass { started: t0 + t, ended: t0 + t + took, connections: WALLS });
                t += took;
            }
            Decision::Idle => since = None,
        }
        if since.is_some() {
            assert!(t < first + HOLD_CAP, "held past the bound");
        }
    }
    assert!(holds > 1000, "only {holds} holds: the test did not exercise holding");
}
