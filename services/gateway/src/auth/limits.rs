//! Login rate limiting, per user name and per source address.
//!
//! After `max_failures` failed logins within `window` for the same name or the same
//! address, further attempts are refused (429 with Retry-After) until `lockout` has passed.
//! A success clears the user's and the address's failures.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Debug, Default)]
struct Record {
    failures: Vec<Instant>,
    locked_until: Option<Instant>,
}

/// The limiter.
#[derive(Clone)]
pub struct LoginLimiter {
    records: Arc<Mutex<HashMap<String, Record>>>,
    max_failures: usize,
    window: Duration,
    lockout: Duration,
}

impl LoginLimiter {
    /// A limiter with these bounds.
    pub fn new(max_failures: usize, window: Duration, lockout: Duration) -> Self {
        Self {
            records: Arc::new(Mutex::new(HashMap::new())),
            max_failures: max_failures.max(1),
            window,
            lockout,
        }
    }

    fn keys(username: &str, address: Option<IpAddr>) -> Vec<String> {
        let mut keys = vec![format!("user:{username}")];
        if let Some(ip) = address {
            keys.push(format!("addr:{ip}"));
        }
        keys
    }

    /// `Some(wait)` when this attempt must be refused.
    pub fn check(&self, username: &str, address: Option<IpAddr>) -> Option<Duration> {
        let now = Instant::now();
        let records = self
            .records
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        Self::keys(username, address)
            .iter()
            .filter_map(|k| records.get(k)?.locked_until)
            .filter(|until| *until > now)
            .map(|until| until - now)
            .max()
    }

    /// Records a failed attempt.
    pub fn failed(&self, username: &str, address: Option<IpAddr>) {
        let now = Instant::now();
        let mut records = self
            .records
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        // Bounded memory: forget records with nothing recent.
        if records.len() > 100_000 {
            records.retain(|_, r| {
                r.locked_until.is_some_and(|u| u > now)
                    || r.failures
                        .iter()
                        .any(|f| now.duration_since(*f) < self.window)
            });
        }
        for key in Self::keys(username, address) {
            let record = records.entry(key).or_default();
            record
                .failures
                .retain(|f| now.duration_since(*f) < self.window);
            record.failures.push(now);
            if record.failures.len() >= self.max_failures {
                record.locked_until = Some(now + self.lockout);
                record.failures.clear();
            }
        }
    }

    /// Records a success.
    pub fn succeeded(&self, username: &str, address: Option<IpAddr>) {
        let mut records = self
            .records
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for key in Self::keys(username, address) {
            records.remove(&key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locks_after_failures_and_unlocks_after_lockout() {
        let limiter = LoginLimiter::new(3, Duration::from_secs(60), Duration::from_millis(100));
        let ip: IpAddr = "192.0.2.1".parse().expect("ip");
        for _ in 0..2 {
            assert_eq!(limiter.check("ann", Some(ip)), None);
            limiter.failed("ann", Some(ip));
        }
        assert_eq!(limiter.check("ann", Some(ip)), None);
        limiter.failed("ann", Some(ip));
        assert!(limiter.check("ann", Some(ip)).is_some(), "locked by user");
        assert!(
            limiter.check("bob", Some(ip)).is_some(),
            "locked by address"
        );
        assert!(limiter.check("ann", None).is_some());
        std::thread::sleep(Duration::from_millis(150));
        assert_eq!(limiter.check("ann", Some(ip)), None);
    }
}
