//! [`Backoff`]: when a failed delivery is tried again, and when it is given up.
//!
//! After the n-th failed attempt (n >= 1) the next one comes `min(base * 2^(n-1), cap)` later,
//! plus a random jitter of up to `jitter_percent` of that delay (so that receivers that come
//! back are not hit by every sender at once). A delivery whose next attempt would come more
//! than `give_up_after` after the delivery was created is `failed` instead: no more attempts.
//!
//! Defaults: base 30 s, cap 4 h, jitter up to +20 %, give up after 24 h. Without jitter the
//! attempts come at 0, 30 s, 1.5 min, 3.5 min, 7.5 min, 15.5 min, 31.5 min, 63.5 min, ~2.1 h,
//! ~4.3 h, ~8.3 h, ~12.3 h, ~16.3 h, ~20.3 h: 14 attempts, then `failed` (the next would be at
//! ~24.3 h).

use std::time::Duration;

/// The retry schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// The delay after the first failure.
    pub base: Duration,
    /// The largest delay between two attempts (before jitter).
    pub cap: Duration,
    /// Up to this percentage of the delay is added at random.
    pub jitter_percent: u32,
    /// No attempt is made later than this after the delivery was created.
    pub give_up_after: Duration,
}

impl Default for Backoff {
    fn default() -> Backoff {
        Backoff {
            base: Duration::from_secs(30),
            cap: Duration::from_secs(4 * 3600),
            jitter_percent: 20,
            give_up_after: Duration::from_secs(24 * 3600),
        }
    }
}

fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

impl Backoff {
    /// The delay after the `failures`-th failure, before jitter (ms).
    pub fn delay_ms(&self, failures: u32) -> i64 {
        let base = ms(self.base);
        let cap = ms(self.cap);
        let shift = failures.saturating_sub(1).min(40);
        base.saturating_mul(1i64 << shift).min(cap)
    }

    /// The largest jitter added to `delay` (ms).
    pub fn max_jitter_ms(&self, delay: i64) -> i64 {
        delay.saturating_mul(i64::from(self.jitter_percent)) / 100
    }

    /// When to try again after the `failures`-th failure at `now` of a delivery created at
    /// `created` (all unix ms), with `jitter` in `0..=max_jitter_ms`; `None`: give up.
    pub fn next_attempt(&self, created: i64, now: i64, failures: u32, jitter: i64) -> Option<i64> {
        let delay = self.delay_ms(failures);
        let next = now
            .saturating_add(delay)
            .saturating_add(jitter.clamp(0, self.max_jitter_ms(delay)));
        (next <= created.saturating_add(ms(self.give_up_after))).then_some(next)
    }

    /// [`Backoff::next_attempt`] with a random jitter.
    pub fn next_attempt_jittered(&self, created: i64, now: i64, failures: u32) -> Option<i64> {
        use rand::Rng as _;
        let max = self.max_jitter_ms(self.delay_ms(failures));
        let jitter = if max > 0 {
            rand::thread_rng().gen_range(0..=max)
        } else {
            0
        };
        self.next_attempt(created, now, failures, jitter)
    }
}

#[cfg(test)]
mod tests {
    use super::Backoff;

    #[test]
    fn the_schedule_doubles_caps_and_gives_up_after_a_day() {
        let b = Backoff::default();
        let table = [
            (1, 30_000),
            (2, 60_000),
            (3, 120_000),
            (8, 3_840_000),
            (9, 7_680_000),
            (10, 14_400_000),
            (11, 14_400_000),
            (60, 14_400_000),
        ];
        for (n, want) in table {
            assert_eq!(b.delay_ms(n), want, "after failure {n}");
        }
        assert_eq!(b.max_jitter_ms(30_000), 6_000);
        // Without jitter: 14 attempts within 24 h, then give up.
        let (created, mut now, mut attempts) = (1_000, 1_000, 1);
        while let Some(next) = b.next_attempt(created, now, attempts, 0) {
            now = next;
            attempts += 1;
        }
        assert_eq!(attempts, 14);
        assert!(now - created <= 24 * 3_600_000);
        assert!(now - created + b.delay_ms(attempts) > 24 * 3_600_000);
        // Jitter is clamped to its bound.
        assert_eq!(b.next_attempt(0, 0, 1, 1_000_000), Some(36_000));
        assert_eq!(b.next_attempt(0, 0, 1, -5), Some(30_000));
    }
}
