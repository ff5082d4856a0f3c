//! Reachability: each device is unknown, up or down, derived from the outcome of its polls.
//!
//! A device goes down after `down_after` failed polls in a row and up at the first success;
//! each transition is reported once. While a device is down its polls back off (every 2nd,
//! 4th, 8th... slot, at most `backoff_max` apart) so a dead device costs the pollers little.

use std::time::Duration;

use netpulse_shared::device::DeviceId;
use netpulse_shared::messages::{DeviceStatus, Reachability, ReachabilityChanged, SCHEMA_VERSION};

/// The state kept per device.
#[derive(Debug, Clone)]
pub struct Tracker {
    device: DeviceId,
    state: Reachability,
    since_ms: u64,
    reason: String,
    failures: u32,
    last_error: Option<String>,
    down_after: u32,
}

impl Tracker {
    /// A device not polled yet.
    pub fn new(device: DeviceId, down_after: u32) -> Self {
        Self {
            device,
            state: Reachability::Unknown,
            since_ms: 0,
            reason: "not polled yet".into(),
            failures: 0,
            last_error: None,
            down_after: down_after.max(1),
        }
    }

    /// Continues from a status stored before a restart.
    pub fn restore(&mut self, stored: &DeviceStatus) {
        self.state = stored.state;
        self.since_ms = stored.since_ms;
        self.reason = stored.reason.clone();
        self.failures = stored.consecutive_failures;
        self.last_error = stored.last_error.clone();
    }

    /// The status to keep for this device.
    pub fn status(&self) -> DeviceStatus {
        DeviceStatus {
            schema: SCHEMA_VERSION,
            device: self.device.clone(),
            state: self.state,
            since_ms: self.since_ms,
            reason: self.reason.clone(),
            consecutive_failures: self.failures,
            last_error: self.last_error.clone(),
        }
    }

    /// The current state.
    pub fn state(&self) -> Reachability {
        self.state
    }

    /// Failed polls in a row.
    pub fn failures(&self) -> u32 {
        self.failures
    }

    /// A poll succeeded; the transition, if this is one.
    pub fn succeeded(&mut self, time_ms: u64) -> Option<ReachabilityChanged> {
        self.failures = 0;
        self.last_error = None;
        self.change(Reachability::Up, time_ms, "poll succeeded".into())
    }

    /// A poll failed; the transition, if this makes the device down.
    pub fn failed(&mut self, time_ms: u64, reason: &str) -> Option<ReachabilityChanged> {
        self.failures = self.failures.saturating_add(1);
        self.last_error = Some(reason.to_owned());
        if self.failures >= self.down_after {
            self.change(Reachability::Down, time_ms, reason.to_owned())
        } else {
            None
        }
    }

    fn change(
        &mut self,
        state: Reachability,
        time_ms: u64,
        reason: String,
    ) -> Option<ReachabilityChanged> {
        if self.state == state {
            return None;
        }
        let previous = std::mem::replace(&mut self.state, state);
        self.since_ms = time_ms;
        self.reason.clone_from(&reason);
        Some(ReachabilityChanged {
            schema: SCHEMA_VERSION,
            device: self.device.clone(),
            state,
            previous,
            time_ms,
            reason,
            consecutive_failures: self.failures,
        })
    }

    /// How many slots to wait between polls now: 1 normally; while down, doubling with each
    /// further failure, bounded so two polls are at most `backoff_max` apart.
    pub fn slots_between_polls(&self, interval: Duration, backoff_max: Duration) -> u64 {
        if self.state != Reachability::Down {
            return 1;
        }
        let extra = self.failures.saturating_sub(self.down_after).min(16);
        let wanted = 1u64 << extra;
        let cap = (backoff_max.as_millis() / interval.as_millis().max(1)).max(1);
        wanted.min(u64::try_from(cap).unwrap_or(u64::MAX))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tracker() -> Tracker {
        Tracker::new(DeviceId::parse("d").expect("id"), 3)
    }

    #[test]
    fn goes_down_after_three_failures_and_up_at_the_first_success_once_each() {
        let mut t = tracker();
        let mut published = Vec::new();
        let outcomes = [
            true, false, false, true, false, false, false, false, false, true, true,
        ];
        for (i, ok) in outcomes.into_iter().enumerate() {
            let change = if ok {
                t.succeeded(i as u64)
            } else {
                t.failed(i as u64, "timeout")
            };
            published.extend(change.map(|c| (c.previous, c.state, c.time_ms)));
        }
        assert_eq!(
            published,
            [
                (Reachability::Unknown, Reachability::Up, 0),
                (Reachability::Up, Reachability::Down, 6),
                (Reachability::Down, Reachability::Up, 9),
            ]
        );
    }

    #[test]
    fn unknown_devices_that_never_answer_go_down() {
        let mut t = tracker();
        assert!(t.failed(1, "timeout").is_none());
        assert!(t.failed(2, "timeout").is_none());
        let change = t.failed(3, "authentication failed").expect("down");
        assert_eq!(change.previous, Reachability::Unknown);
        assert_eq!(change.reason, "authentication failed");
        assert_eq!(change.consecutive_failures, 3);
    }

    #[test]
    fn down_devices_back_off() {
        let mut t = tracker();
        let interval = Duration::from_secs(10);
        let max = Duration::from_secs(60);
        assert_eq!(t.slots_between_polls(interval, max), 1);
        let mut gaps = Vec::new();
        for i in 0..8 {
            t.failed(i, "timeout");
            gaps.push(t.slots_between_polls(interval, max));
        }
        assert_eq!(gaps, [1, 1, 1, 2, 4, 6, 6, 6]);
        t.succeeded(9);
        assert_eq!(t.slots_between_polls(interval, max), 1);
    }
}
