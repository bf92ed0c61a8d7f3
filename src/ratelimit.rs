//! The one rate limiter: fixed windows of counts per key.
//!
//! Used for the per-client request limit (the `X-RateLimit-*` headers) and for counting
//! failed logins. Counters live in this process: with several instances behind a load
//! balancer each instance enforces its own share, which is the documented approximation
//! (a client is limited to at most N × limit across N instances).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The state of one key's window after a hit or a check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quota {
    pub limit: u32,
    pub remaining: u32,
    /// Unix time (seconds) at which the window resets.
    pub reset_unix: u64,
    /// Seconds until the window resets.
    pub retry_after_secs: u64,
    pub exceeded: bool,
}

struct Window {
    started: Instant,
    count: u32,
}

pub struct RateLimiter {
    limit: u32,
    window: Duration,
    windows: Mutex<HashMap<String, Window>>,
}

/// Beyond this many tracked keys, expired windows are swept on the next hit.
const SWEEP_THRESHOLD: usize = 10_000;

impl RateLimiter {
    /// At most `limit` counted events per `window` per key. A limit of 0 disables it.
    pub fn new(limit: u32, window: Duration) -> RateLimiter {
        RateLimiter {
            limit,
            window,
            windows: Mutex::new(HashMap::new()),
        }
    }

    pub fn enabled(&self) -> bool {
        self.limit > 0
    }

    /// Counts one event for `key` and reports the quota. `exceeded` is true when this event
    /// went over the limit.
    pub fn hit(&self, key: &str) -> Quota {
        self.update(key, 1)
    }

    /// Reports the quota for `key` without counting; `exceeded` when it is used up.
    pub fn peek(&self, key: &str) -> Quota {
        self.update(key, 0)
    }

    /// Forgets `key` (e.g. an account's failures after a successful login).
    pub fn reset(&self, key: &str) {
        if let Ok(mut windows) = self.windows.lock() {
            windows.remove(key);
        }
    }

    fn update(&self, key: &str, add: u32) -> Quota {
        let now = Instant::now();
        let (count, started) = match self.windows.lock() {
            Ok(mut windows) => {
                if windows.len() > SWEEP_THRESHOLD {
                    let window = self.window;
                    windows.retain(|_, w| now.duration_since(w.started) < window);
                }
                let entry = windows.entry(key.to_string()).or_insert(Window {
                    started: now,
                    count: 0,
                });
                if now.duration_since(entry.started) >= self.window {
                    *entry = Window {
                        started: now,
                        count: 0,
                    };
                }
                entry.count = entry.count.saturating_add(add);
                (entry.count, entry.started)
            }
            // A poisoned lock means a panic elsewhere; fail open rather than lock everyone out.
            Err(_) => (0, now),
        };
        let left = self.window.saturating_sub(now.duration_since(started));
        let retry_after_secs = left.as_secs() + u64::from(left.subsec_nanos() > 0);
        let unix_now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let exceeded = if add > 0 {
            count > self.limit
        } else {
            count >= self.limit
        };
        Quota {
            limit: self.limit,
            remaining: self.limit.saturating_sub(count),
            reset_unix: unix_now + retry_after_secs,
            retry_after_secs: retry_after_secs.max(1),
            exceeded: self.enabled() && exceeded,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_per_key_and_resets() {
        let limiter = RateLimiter::new(2, Duration::from_secs(60));
        assert!(!limiter.hit("a").exceeded);
        assert!(!limiter.peek("a").exceeded);
        assert!(!limiter.hit("a").exceeded);
        assert!(limiter.peek("a").exceeded);
        assert!(limiter.hit("a").exceeded);
        assert!(!limiter.hit("b").exceeded);
        limiter.reset("a");
        assert!(!limiter.peek("a").exceeded);
        let q = limiter.hit("c");
        assert_eq!((q.limit, q.remaining), (2, 1));
        assert!(q.retry_after_secs >= 1 && q.retry_after_secs <= 60);
    }

    #[test]
    fn windows_expire() {
        let limiter = RateLimiter::new(1, Duration::from_millis(20));
        limiter.hit("a");
        assert!(limiter.peek("a").exceeded);
        std::thread::sleep(Duration::from_millis(30));
        assert!(!limiter.peek("a").exceeded);
    }

    #[test]
    fn zero_disables() {
        let limiter = RateLimiter::new(0, Duration::from_secs(60));
        assert!(!limiter.hit("a").exceeded);
        assert!(!limiter.hit("a").exceeded);
    }
}
