//! When to try a failed server (or file) again: exponential backoff with
//! jitter.
//!
//! A room's player must not hammer a server that is down — nor must a
//! hundred players that lost it at the same moment come back in lockstep
//! when it returns. Each failure in a row doubles the wait, up to a cap;
//! half of each wait is fixed and half random ("equal jitter"), so retries
//! spread out yet never come back at once.

use std::time::{Duration, Instant};

use rand::Rng;

/// The retry schedule of one thing that can fail.
#[derive(Debug, Clone)]
pub struct Backoff {
    base: Duration,
    cap: Duration,
    failures: u32,
    next_try: Option<Instant>,
}

impl Backoff {
    /// Waits `base` after the first failure, doubling up to `cap`.
    pub fn new(base: Duration, cap: Duration) -> Self {
        Self {
            base,
            cap: cap.max(base),
            failures: 0,
            next_try: None,
        }
    }

    /// Whether a try is due at `now`.
    pub fn ready(&self, now: Instant) -> bool {
        self.next_try.is_none_or(|at| now >= at)
    }

    /// How long until the next try is due (zero when it is).
    pub fn remaining(&self, now: Instant) -> Duration {
        self.next_try
            .map_or(Duration::ZERO, |at| at.saturating_duration_since(now))
    }

    /// Records a failure at `now`; returns the wait before the next try.
    pub fn failed(&mut self, now: Instant) -> Duration {
        let wait = delay(
            self.base,
            self.cap,
            self.failures,
            rand::rng().random::<f64>(),
        );
        self.failures = self.failures.saturating_add(1);
        self.next_try = Some(now + wait);
        wait
    }

    /// Records a success: the next failure starts from `base` again.
    pub fn succeeded(&mut self) {
        self.failures = 0;
        self.next_try = None;
    }

    /// Failures in a row so far.
    pub fn failures(&self) -> u32 {
        self.failures
    }
}

/// The wait after failure number `n` (0 for the first) in a row, with
/// `unit` in [0, 1) choosing where in the upper half it falls.
fn delay(base: Duration, cap: Duration, n: u32, unit: f64) -> Duration {
    let full = base
        .checked_mul(1u32.checked_shl(n.min(31)).unwrap_or(u32::MAX))
        .map_or(cap, |d| d.min(cap));
    full / 2 + full.mul_f64(unit.clamp(0.0, 1.0) / 2.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: Duration = Duration::from_secs(1);
    const CAP: Duration = Duration::from_secs(60);

    #[test]
    fn each_failure_doubles_the_wait_up_to_the_cap() {
        let full: Vec<u64> = (0..9).map(|n| delay(BASE, CAP, n, 1.0).as_secs()).collect();
        assert_eq!(full, [1, 2, 4, 8, 16, 32, 60, 60, 60]);
        assert_eq!(delay(BASE, CAP, u32::MAX, 1.0), CAP, "no overflow");
    }

    #[test]
    fn jitter_keeps_each_wait_in_the_upper_half() {
        for n in 0..8 {
            let full = delay(BASE, CAP, n, 1.0);
            assert_eq!(delay(BASE, CAP, n, 0.0), full / 2);
            assert_eq!(delay(BASE, CAP, n, 0.5), full.mul_f64(0.75));
        }
    }

    #[test]
    fn players_that_failed_together_retry_apart() {
        let now = Instant::now();
        let waits: Vec<Duration> = (0..20)
            .map(|_| {
                let mut b = Backoff::new(BASE, CAP);
                (0..4).map(|_| b.failed(now)).last().unwrap()
            })
            .collect();
        assert!(waits
            .iter()
            .all(|w| (Duration::from_secs(4)..=Duration::from_secs(8)).contains(w)));
        let distinct: std::collections::HashSet<_> = waits.iter().collect();
        assert!(distinct.len() > 10, "waits spread out: {waits:?}");
    }

    #[test]
    fn a_failure_defers_the_next_try_and_a_success_resets() {
        let now = Instant::now();
        let mut b = Backoff::new(BASE, CAP);
        assert!(b.ready(now));
        let wait = b.failed(now);
        assert!(!b.ready(now) && b.ready(now + wait));
        assert_eq!(b.remaining(now), wait);
        b.failed(now);
        assert_eq!(b.failures(), 2);
        b.succeeded();
        assert!(b.ready(now) && b.failures() == 0);
        assert!(b.failed(now) <= BASE, "back to the first step");
    }
}
