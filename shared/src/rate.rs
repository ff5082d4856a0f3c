//! Counter math: how much a counter moved between two readings, and the bit rate it implies.
//!
//! SNMP octet counters only grow, wrapping at 2^32 or 2^64. A counter that went backwards
//! is a wrap only for 32-bit counters (a 64-bit one does not wrap in practice); otherwise it
//! was reset, usually by a reboot, and no rate can be computed from the pair.

/// One counter reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reading {
    /// When it was read, Unix milliseconds.
    pub time_ms: u64,
    /// The agent's sysUpTime then, if known.
    pub uptime_ticks: Option<u32>,
    /// The counter value.
    pub value: u64,
    /// The counter's width: 32 or 64.
    pub bits: u32,
}

/// How far a counter moved from `prev` to `cur`, allowing one wrap of a 32-bit counter.
/// `None` when the pair cannot be compared (a reset, or a width change).
pub fn counter_delta(prev: u64, cur: u64, bits: u32) -> Option<u64> {
    if cur >= prev {
        return Some(cur - prev);
    }
    match bits {
        32 if prev <= u64::from(u32::MAX) => Some((1u64 << 32) - prev + cur),
        _ => None,
    }
}

/// Bits per second between two readings of one octet counter.
///
/// `None` for the first reading after a reboot (sysUpTime went backwards), a counter reset,
/// a change of counter width, or readings not in time order.
pub fn bits_per_second(prev: &Reading, cur: &Reading) -> Option<f64> {
    if prev.bits != cur.bits || cur.time_ms <= prev.time_ms {
        return None;
    }
    if let (Some(before), Some(after)) = (prev.uptime_ticks, cur.uptime_ticks) {
        // sysUpTime itself wraps after 497 days; a small value after a large one near the
        // top is a wrap, anything else going backwards is a restart.
        let wrapped = before > u32::MAX - 8_640_000 && after < 8_640_000;
        if after < before && !wrapped {
            return None;
        }
    }
    let delta = counter_delta(prev.value, cur.value, cur.bits)?;
    let seconds = (cur.time_ms - prev.time_ms) as f64 / 1000.0;
    Some(delta as f64 * 8.0 / seconds)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(time_ms: u64, uptime: u32, value: u64, bits: u32) -> Reading {
        Reading {
            time_ms,
            uptime_ticks: Some(uptime),
            value,
            bits,
        }
    }

    #[test]
    fn deltas() {
        let cases = [
            (10, 25, 64, Some(15)),
            (25, 25, 64, Some(0)),
            (25, 10, 64, None),
            (u64::from(u32::MAX) - 5, 10, 32, Some(16)),
            (u64::from(u32::MAX) + 5, 10, 32, None),
        ];
        for (prev, cur, bits, want) in cases {
            assert_eq!(
                counter_delta(prev, cur, bits),
                want,
                "{prev} -> {cur} ({bits})"
            );
        }
    }

    #[test]
    fn rates() {
        // 1250 octets in 1 s is 10 kbit/s.
        assert_eq!(
            bits_per_second(&r(1000, 100, 0, 64), &r(2000, 200, 1250, 64)),
            Some(10_000.0)
        );
        // 32-bit wrap over 10 s.
        let before = r(0, 0, u64::from(u32::MAX) - 999, 32);
        assert_eq!(
            bits_per_second(&before, &r(10_000, 1000, 1000, 32)),
            Some(1600.0)
        );
        // Reboot: uptime went back, counters restarted: no spike, no rate.
        assert_eq!(
            bits_per_second(&r(0, 50_000, 9_000_000, 64), &r(10_000, 100, 10, 64)),
            None
        );
        // Reboot with 32-bit counters that would otherwise look like a wrap.
        assert_eq!(
            bits_per_second(&r(0, 50_000, 9_000_000, 32), &r(10_000, 100, 10, 32)),
            None
        );
        // sysUpTime wrap is not a reboot.
        let near_top = r(0, u32::MAX - 100, 0, 64);
        assert_eq!(
            bits_per_second(&near_top, &r(1000, 50, 125, 64)),
            Some(1000.0)
        );
        // Same time or out of order.
        assert_eq!(
            bits_per_second(&r(1000, 1, 0, 64), &r(1000, 2, 5, 64)),
            None
        );
        assert_eq!(
            bits_per_second(&r(2000, 1, 0, 64), &r(1000, 2, 5, 64)),
            None
        );
        // Width change (the agent switched from 32- to 64-bit counters).
        assert_eq!(bits_per_second(&r(0, 1, 0, 32), &r(1000, 2, 5, 64)), None);
    }
}
