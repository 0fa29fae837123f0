//! Failed key exchanges per client address, in a sliding window: past the limit a client is
//! refused (429) until its oldest failure leaves the window. Keys have 256 random bits, so
//! this is not what keeps them secret; it keeps a guessing client from costing database work.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Beyond this many tracked addresses, the idle ones are forgotten.
const PRUNE_ABOVE: usize = 10_000;

pub struct FailureLimiter {
    limit: usize,
    window: Duration,
    failures: Mutex<HashMap<IpAddr, VecDeque<Instant>>>,
}

impl FailureLimiter {
    pub fn new(limit: usize, window: Duration) -> Self {
        FailureLimiter {
            limit,
            window,
            failures: Mutex::new(HashMap::new()),
        }
    }

    /// `Err(seconds to wait)` when `client` has used up its failures in the window.
    pub fn check(&self, client: IpAddr, now: Instant) -> Result<(), u64> {
        let mut failures = self.failures.lock().expect("limiter lock");
        let Some(times) = failures.get_mut(&client) else {
            return Ok(());
        };
        self.forget_old(times, now);
        if times.len() < self.limit {
            return Ok(());
        }
        let oldest = *times.front().expect("at the limit, so not empty");
        let wait = self.window.saturating_sub(now - oldest);
        // Round up: a client retrying after exactly Retry-After seconds must get through.
        Err(wait.as_secs() + u64::from(wait.subsec_nanos() > 0))
    }

    pub fn record_failure(&self, client: IpAddr, now: Instant) {
        let mut failures = self.failures.lock().expect("limiter lock");
        if failures.len() > PRUNE_ABOVE {
            failures.retain(|_, times| times.back().is_some_and(|t| now - *t < self.window));
        }
        let times = failures.entry(client).or_default();
        self.forget_old(times, now);
        times.push_back(now);
        if times.len() > self.limit {
            times.pop_front();
        }
    }

    fn forget_old(&self, times: &mut VecDeque<Instant>, now: Instant) {
        while times.front().is_some_and(|t| now - *t >= self.window) {
            times.pop_front();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CLIENT: IpAddr = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);

    #[test]
    fn the_failure_past_the_limit_waits_until_the_oldest_leaves_the_window() {
        let limiter = FailureLimiter::new(3, Duration::from_secs(60));
        let start = Instant::now();
        for second in 0..3 {
            assert_eq!(limiter.check(CLIENT, start), Ok(()));
            limiter.record_failure(CLIENT, start + Duration::from_secs(second));
        }
        assert_eq!(
            limiter.check(CLIENT, start + Duration::from_secs(10)),
            Err(50)
        );
        assert_eq!(
            limiter.check(CLIENT, start + Duration::from_secs(60)),
            Ok(())
        );
    }

    #[test]
    fn other_clients_are_not_limited() {
        let limiter = FailureLimiter::new(1, Duration::from_secs(60));
        let now = Instant::now();
        limiter.record_failure(CLIENT, now);
        assert!(limiter.check(CLIENT, now).is_err());
        assert_eq!(limiter.check(IpAddr::from([10, 0, 0, 1]), now), Ok(()));
    }
}
