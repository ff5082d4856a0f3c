//! Per-source flood control: a token bucket per sending address, so one chatty or hostile
//! source cannot hold the others back. What is dropped is counted and reported.

use std::collections::HashMap;
use std::net::IpAddr;

/// Token buckets by source address.
#[derive(Debug)]
pub struct Limiter {
    rate: f64,
    burst: f64,
    buckets: HashMap<IpAddr, Bucket>,
}

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    at_ms: u64,
    dropped: u64,
}

impl Limiter {
    /// `rate` messages per second per source, bursts of up to `burst`.
    pub fn new(rate: u32, burst: u32) -> Self {
        Self {
            rate: f64::from(rate.max(1)),
            burst: f64::from(burst.max(1)),
            buckets: HashMap::new(),
        }
    }

    /// True when a message from `source` at `now_ms` may pass; else it is counted as dropped.
    pub fn allow(&mut self, source: IpAddr, now_ms: u64) -> bool {
        let (rate, burst) = (self.rate, self.burst);
        let bucket = self.buckets.entry(source).or_insert(Bucket {
            tokens: burst,
            at_ms: now_ms,
            dropped: 0,
        });
        let elapsed = now_ms.saturating_sub(bucket.at_ms) as f64 / 1000.0;
        bucket.tokens = (bucket.tokens + elapsed * rate).min(burst);
        bucket.at_ms = now_ms;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            true
        } else {
            bucket.dropped += 1;
            false
        }
    }

    /// The drop counts since the last call, by source; forgets quiet full buckets.
    pub fn take_dropped(&mut self, now_ms: u64) -> Vec<(IpAddr, u64)> {
        let mut out = Vec::new();
        let (rate, burst) = (self.rate, self.burst);
        self.buckets.retain(|source, bucket| {
            if bucket.dropped > 0 {
                out.push((*source, std::mem::take(&mut bucket.dropped)));
            }
            let idle = now_ms.saturating_sub(bucket.at_ms) as f64 / 1000.0;
            bucket.tokens + idle * rate < burst
        });
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flood_is_cut_and_counted_and_others_pass() {
        let mut limiter = Limiter::new(10, 20);
        let loud: IpAddr = "192.0.2.1".parse().expect("ip");
        let quiet: IpAddr = "192.0.2.2".parse().expect("ip");
        let passed = (0..1000).filter(|_| limiter.allow(loud, 5_000)).count();
        assert_eq!(passed, 20, "the burst");
        assert!(
            limiter.allow(quiet, 5_000),
            "another source is not held back"
        );
        assert!(limiter.allow(loud, 5_200), "refilled at the rate");
        assert_eq!(limiter.take_dropped(5_200), vec![(loud, 980)]);
        assert!(limiter.take_dropped(5_300).is_empty());
    }
}
