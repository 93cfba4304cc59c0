//! The posting side of `fanout`: what a post holds and when each publisher sends one, for
//! every arrival pattern (`--arrival`: even, poisson, burst, sliding).

use std::time::{Duration, Instant};

use crate::args::{Arrival, Fanout, Rate};

/// A publisher behind its schedule by more than this skips ahead rather than bursting.
const MAX_BEHIND: Duration = Duration::from_millis(100);

/// Publishers `0..count` (their connection tokens are the same numbers).
pub struct Publishers {
    origin: Instant,
    pub count: usize,
    msg_bytes: usize,
    pub arrival: Arrival,
    pub window: u64,
    /// `--rate R`: the mean gap between one publisher's posts.
    interval: Duration,
    /// Posts each publisher has sent.
    sent: Vec<u64>,
    /// `--rate R`: when each publisher's next post is due.
    next_due: Vec<Instant>,
    /// Posts sent (or answered) and not yet received back, per publisher.
    pub outstanding: Vec<u64>,
    pub posts: u64,
    pub measured_posts: u64,
    /// Deliveries the measured posts owe: connections open when each was sent.
    pub expected: u64,
    /// `--rate R`: posts skipped because the bench fell behind.
    pub skipped: u64,
    /// Storage for the next post.
    pub buf: Vec<u8>,
    rng: u64,
}

impl Publishers {
    pub fn new(origin: Instant, opts: &Fanout, now: Instant) -> Publishers {
        let p = opts.publishers;
        let interval = match opts.rate {
            Rate::PerSecond(r) => Duration::from_secs_f64(p as f64 / r),
            Rate::Max => Duration::ZERO,
        };
        Publishers {
            origin,
            count: p,
            msg_bytes: opts.msg_bytes,
            arrival: opts.arrival,
            window: opts.window as u64,
            interval,
            sent: vec![0; p],
            next_due: (0..p).map(|i| now + interval.mul_f64(i as f64 / p as f64)).collect(),
            outstanding: vec![0; p],
            posts: 0,
            measured_posts: 0,
            expected: 0,
            skipped: 0,
            buf: Vec::with_capacity(256),
            rng: 0x9E37_79B9_7F4A_7C15 ^ u64::from(std::process::id()),
        }
    }

    /// Publisher `i`'s next post in `self.buf`: `{"msg":"b<seq> <ns>~~~","color":"#ffffff"}`,
    /// seq = n·P + i so that the publisher of a delivery is seq mod P.
    pub fn build(&mut self, i: usize) {
        let seq = self.sent[i] * self.count as u64 + i as u64;
        let ns = self.origin.elapsed().as_nanos() as u64;
        self.buf.clear();
        self.buf.extend_from_slice(b"{\"msg\":\"");
        let start = self.buf.len();
        push_token(&mut self.buf, seq, ns);
        while self.buf.len() - start < self.msg_bytes {
            self.buf.push(b'~');
        }
        self.buf.extend_from_slice(b"\",\"color\":\"#ffffff\"}");
    }

    /// Counts the post just sent by publisher `i`; `open` connections owe it a delivery.
    pub fn sent_one(&mut self, i: usize, measuring: bool, open: usize) {
        self.sent[i] += 1;
        self.posts += 1;
        self.outstanding[i] += 1;
        if measuring {
            self.measured_posts += 1;
            self.expected += open as u64;
        }
    }

    /// Whether delivery `seq` is publisher `token`'s own post coming back.
    pub fn is_own(&self, token: usize, seq: u64) -> bool {
        token < self.count && (seq % self.count as u64) as usize == token
    }

    /// After a pause of the loop outside the window (the opening mark's `/metrics`
    /// requests): a publisher behind its schedule starts again from `now`, nothing skipped.
    pub fn catch_up(&mut self, now: Instant) {
        for due in &mut self.next_due {
            if now > *due + MAX_BEHIND {
                *due = now;
            }
        }
    }

    /// Whether publisher `i` should post now; with a rate, also moves its schedule on.
    /// Sliding posts only when its own come back (see `Load::reply`), so never here.
    pub fn due(&mut self, i: usize, now: Instant, measuring: bool) -> bool {
        match self.arrival {
            Arrival::Burst => self.outstanding[i] < self.window,
            Arrival::Sliding => false,
            Arrival::Even | Arrival::Poisson => {
                if now > self.next_due[i] + MAX_BEHIND {
                    if measuring {
                        let behind = now.duration_since(self.next_due[i]);
                        self.skipped += (behind.as_secs_f64() / self.interval.as_secs_f64()) as u64;
                    }
                    self.next_due[i] = now;
                }
                if self.next_due[i] > now {
                    return false;
                }
                let gap = self.gap();
                self.next_due[i] += gap;
                true
            }
        }
    }

    /// When publisher `i` is next due (`--rate R`), for the loop's wake-up.
    pub fn next_due(&self, i: usize) -> Option<Instant> {
        matches!(self.arrival, Arrival::Even | Arrival::Poisson).then(|| self.next_due[i])
    }

    /// The gap to a publisher's next post: the interval, or for Poisson arrivals an
    /// exponential draw with that mean (inverse transform: -ln(U)·mean).
    fn gap(&mut self) -> Duration {
        if self.arrival != Arrival::Poisson {
            return self.interval;
        }
        // xorshift64*; 53 random bits give U in (0, 1].
        self.rng ^= self.rng >> 12;
        self.rng ^= self.rng << 25;
        self.rng ^= self.rng >> 27;
        let bits = self.rng.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11;
        let u = (bits as f64 + 1.0) / (1u64 << 53) as f64;
        self.interval.mul_f64(-u.ln())
    }
}

/// `b<seq> <ns>` without going through `fmt`.
pub fn push_token(buf: &mut Vec<u8>, seq: u64, ns: u64) {
    buf.push(b'b');
    push_u64(buf, seq);
    buf.push(b' ');
    push_u64(buf, ns);
}

fn push_u64(buf: &mut Vec<u8>, mut v: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    buf.extend_from_slice(&digits[i..]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::scan_token;

    #[test]
    fn token_round_trip() {
        let mut buf = b"{\"msg\":\"".to_vec();
        push_token(&mut buf, 1_000_007, 9_876_543_210);
        buf.extend_from_slice(b"~~\",\"color\":\"#ffffff\"}");
        assert_eq!(buf, br##"{"msg":"b1000007 9876543210~~","color":"#ffffff"}"##);
        assert_eq!(scan_token(&buf), Some((1_000_007, 9_876_543_210)));
        let mut zero = Vec::new();
        push_token(&mut zero, 0, 0);
        assert_eq!(zero, b"b0 0");
    }

    fn opts(rate: Rate, arrival: Arrival) -> Fanout {
        let mut f = match crate::args::parse(["fanout".to_string()]) {
            Ok(crate::args::Command::Run(o)) => match o.mode {
                crate::args::Mode::Fanout(f) => f,
                crate::args::Mode::Idle(_) => unreachable!(),
            },
            _ => unreachable!(),
        };
        f.publishers = 2;
        (f.rate, f.arrival) = (rate, arrival);
        f
    }

    #[test]
    fn poisson_gaps_average_the_interval() {
        let now = Instant::now();
        let mut p = Publishers::new(now, &opts(Rate::PerSecond(200.0), Arrival::Poisson), now);
        let n = 20_000;
        let gaps: Vec<f64> = (0..n).map(|_| p.gap().as_secs_f64()).collect();
        let mean = gaps.iter().sum::<f64>() / n as f64;
        assert!((mean - 0.01).abs() < 0.0005, "mean gap {mean}"); // 2 publishers / 200 per s
        let var = gaps.iter().map(|g| (g - mean).powi(2)).sum::<f64>() / n as f64;
        assert!((var.sqrt() - mean).abs() < 0.001, "an exponential's deviation equals its mean");
    }

    #[test]
    fn burst_fills_the_window_and_sliding_waits() {
        let now = Instant::now();
        let mut p = Publishers::new(now, &opts(Rate::Max, Arrival::Burst), now);
        let mut posted = 0;
        while p.due(0, now, true) {
            p.build(0);
            p.sent_one(0, true, 3);
            posted += 1;
        }
        assert_eq!((posted, p.expected, p.measured_posts), (8, 24, 8));
        assert!(p.is_own(0, 4) && !p.is_own(0, 5) && p.is_own(1, 5));
        p.arrival = Arrival::Sliding;
        p.outstanding[0] = 0;
        assert!(!p.due(0, now, true));
    }

    #[test]
    fn a_pause_before_the_window_skips_nothing() {
        // 2 publishers at 20/s: one post each every 100 ms. A 2 s pause (a slow /metrics at
        // the opening mark) then catching up: due at once, nothing counted as skipped.
        let start = Instant::now();
        let mut p = Publishers::new(start, &opts(Rate::PerSecond(20.0), Arrival::Even), start);
        let later = start + Duration::from_secs(2);
        p.catch_up(later);
        assert!(p.due(0, later, true) && p.due(1, later, true));
        assert!(!p.due(0, later, true), "one post, then the next in 100 ms");
        assert_eq!(p.skipped, 0);
        // Without catching up the same pause counts as skipped posts.
        let mut q = Publishers::new(start, &opts(Rate::PerSecond(20.0), Arrival::Even), start);
        assert!(q.due(0, later, true));
        assert!(q.skipped >= 19, "{} skipped", q.skipped);
    }
}
