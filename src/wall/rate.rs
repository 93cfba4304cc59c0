//! A token bucket per connection (the contract's `--rate N`): it holds 2×N tokens, starts
//! full, refills N per second, and a danmaku takes one. Rejected posts take none.

use std::time::Instant;

/// Tokens are counted in thousandths so that refills between posts are not lost to rounding.
const MILLI: u64 = 1000;

#[derive(Debug, Clone)]
pub struct TokenBucket {
    /// Tokens per second; 0 = unlimited.
    rate: u32,
    milli_tokens: u64,
    last: Instant,
}

impl TokenBucket {
    pub fn new(rate: u32, now: Instant) -> Self {
        TokenBucket { rate, milli_tokens: Self::capacity(rate), last: now }
    }

    fn capacity(rate: u32) -> u64 {
        2 * u64::from(rate) * MILLI
    }

    /// Whether a post may go out now; if so, one token is spent.
    pub fn try_take(&mut self, now: Instant) -> bool {
        if self.rate == 0 {
            return true;
        }
        let elapsed_ms = now.saturating_duration_since(self.last).as_millis();
        let refill = elapsed_ms.saturating_mul(u128::from(self.rate)); // ms × tokens/s = milli-tokens
        self.milli_tokens = (u128::from(self.milli_tokens) + refill).min(u128::from(Self::capacity(self.rate))) as u64;
        self.last = now;
        if self.milli_tokens >= MILLI {
            self.milli_tokens -= MILLI;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn starts_full_with_twice_the_rate() {
        let t0 = Instant::now();
        let mut bucket = TokenBucket::new(5, t0);
        for i in 0..10 {
            assert!(bucket.try_take(t0), "post {i}");
        }
        assert!(!bucket.try_take(t0), "the 11th crosses the limit");
    }

    #[test]
    fn refills_at_the_rate_up_to_capacity() {
        let t0 = Instant::now();
        let mut bucket = TokenBucket::new(5, t0);
        while bucket.try_take(t0) {}
        assert!(!bucket.try_take(t0 + Duration::from_millis(199)));
        assert!(bucket.try_take(t0 + Duration::from_millis(200)), "one token after 1/5 s");
        assert!(!bucket.try_take(t0 + Duration::from_millis(200)));
        // A long pause refills only to capacity.
        let later = t0 + Duration::from_secs(3600);
        let taken = (0..100).take_while(|_| bucket.try_take(later)).count();
        assert_eq!(taken, 10);
    }

    #[test]
    fn zero_means_unlimited() {
        let t0 = Instant::now();
        let mut bucket = TokenBucket::new(0, t0);
        assert!((0..10_000).all(|_| bucket.try_take(t0)));
    }
}
