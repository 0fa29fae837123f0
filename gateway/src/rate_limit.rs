//! Events per client address in a sliding window (forged player keys, sign-in attempts): past
//! the limit a client is refused (429) until its oldest event leaves the window.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Beyond this many tracked addresses, the idle ones are forgotten.
const PRUNE_ABOVE: usize = 10_000;

pub struct AddressLimiter {
    limit: usize,
    window: Duration,
    events: Mutex<HashMap<IpAddr, VecDeque<Instant>>>,
}

impl AddressLimiter {
    pub fn new(limit: usize, window: Duration) -> Self {
        AddressLimiter {
            limit,
            window,
            events: Mutex::new(HashMap::new()),
        }
    }

    /// Counts an event of `client`: `Err(seconds to wait)` when it had already used up its
    /// events in the window (that one is not counted). One step under one lock, so clients
    /// at once cannot all slip under the limit.
    pub fn count(&self, client: IpAddr, now: Instant) -> Result<(), u64> {
        let mut events = self.events.lock().expect("limiter lock");
        if events.len() > PRUNE_ABOVE {
            events.retain(|_, times| times.back().is_some_and(|t| now - *t < self.window));
        }
        let times = events.entry(client).or_default();
        self.forget_old(times, now);
        if times.len() < self.limit {
            times.push_back(now);
            return Ok(());
        }
        let oldest = *times.front().expect("at the limit, so not empty");
        let wait = self.window.saturating_sub(now - oldest);
        // Round up: a client retrying after exactly Retry-After seconds must get through.
        Err(wait.as_secs() + u64::from(wait.subsec_nanos() > 0))
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
        let limiter = AddressLimiter::new(3, Duration::from_secs(60));
        let start = Instant::now();
        for second in 0..3 {
            assert_eq!(
                limiter.count(CLIENT, start + Duration::from_secs(second)),
                Ok(())
            );
        }
        assert_eq!(
            limiter.count(CLIENT, start + Duration::from_secs(10)),
            Err(50)
        );
        assert_eq!(
            limiter.count(CLIENT, start + Duration::from_secs(60)),
            Ok(())
        );
    }

    #[test]
    fn events_at_once_cannot_pass_the_limit() {
        let limiter = std::sync::Arc::new(AddressLimiter::new(10, Duration::from_secs(60)));
        let now = Instant::now();
        let passed: usize = (0..40)
            .map(|_| {
                let limiter = limiter.clone();
                std::thread::spawn(move || limiter.count(CLIENT, now).is_ok())
            })
            .collect::<Vec<_>>()
            .into_iter()
            .map(|thread| usize::from(thread.join().unwrap()))
            .sum();
        assert_eq!(passed, 10);
    }

    #[test]
    fn other_clients_are_not_limited() {
        let limiter = AddressLimiter::new(1, Duration::from_secs(60));
        let now = Instant::now();
        assert_eq!(limiter.count(CLIENT, now), Ok(()));
        assert!(limiter.count(CLIENT, now).is_err());
        assert_eq!(limiter.count(IpAddr::from([10, 0, 0, 1]), now), Ok(()));
    }
}
