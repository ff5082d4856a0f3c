//! Counter math: how much a counter moved between two readings, and the bit rate (octet
//! counters), packet rate (error and discard counters) or plain rate per second it implies.
//!
//! SNMP octet counters only grow, wrapping to 0 after 2^32 - 1 (Counter32) or 2^64 - 1
//! (Counter64). Between two readings netpulse computes the rate, or an explicit gap saying why
//! there is none: the agent restarted (sysUpTime went backwards, other than its own wrap after
//! 497 days), the counter changed width, the readings are out of order, or the implied rate is
//! impossible (above the interface's speed, or above any link's) — which is what a counter
//! reset or discontinuity looks like. A gap is drawn as a gap; never as a spike.

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

/// No link carries more than this; a larger rate is a counter discontinuity.
pub const MAX_PLAUSIBLE_BPS: f64 = 10e12;

/// Why two readings give no rate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Gap {
    /// sysUpTime went backwards: the agent restarted and its counters with it.
    Restart,
    /// The counter changed between 32 and 64 bits.
    WidthChange,
    /// The second reading is not later than the first.
    OutOfOrder,
    /// The implied rate is above the interface speed (or any link's): a discontinuity.
    Impossible,
}

/// How far a counter of `bits` width moved from `prev` to `cur`, counting one wrap.
pub fn counter_delta(prev: u64, cur: u64, bits: u32) -> u64 {
    if cur >= prev {
        return cur - prev;
    }
    match bits {
        // Wrapped past 2^bits - 1.
        32 => (1u64 << 32) - (prev & 0xffff_ffff) + (cur & 0xffff_ffff),
        _ => (u64::MAX - prev).wrapping_add(cur).wrapping_add(1),
    }
}

/// True when sysUpTime going from `before` to `after` means the agent restarted.
pub fn restarted(before: u32, after: u32) -> bool {
    // sysUpTime itself wraps after 497 days: a small value after one near the top is a wrap.
    const DAY_TICKS: u32 = 8_640_000;
    let wrapped = before > u32::MAX - DAY_TICKS && after < DAY_TICKS;
    after < before && !wrapped
}

/// How far a counter moved between two readings and over how many seconds, or why the two
/// readings cannot be compared (width change, out of order, agent restart).
fn moved(prev: &Reading, cur: &Reading) -> Result<(u64, f64), Gap> {
    if prev.bits != cur.bits {
        return Err(Gap::WidthChange);
    }
    if cur.time_ms <= prev.time_ms {
        return Err(Gap::OutOfOrder);
    }
    if let (Some(before), Some(after)) = (prev.uptime_ticks, cur.uptime_ticks) {
        if restarted(before, after) {
            return Err(Gap::Restart);
        }
    }
    let delta = counter_delta(prev.value, cur.value, cur.bits);
    Ok((delta, (cur.time_ms - prev.time_ms) as f64 / 1000.0))
}

/// Counts per second between two readings of any counter (wraps, restarts and width changes
/// handled as for octets), with no bound on the rate: for counters whose meaning netpulse
/// does not know, such as a device's extra OIDs.
pub fn per_second(prev: &Reading, cur: &Reading) -> Result<f64, Gap> {
    let (delta, seconds) = moved(prev, cur)?;
    Ok(delta as f64 / seconds)
}

/// Bits in the shortest frame a link carries (a 64-octet Ethernet frame): no interface sees
/// more packets per second than its speed over this.
pub const MIN_FRAME_BITS: f64 = 512.0;

/// Packets per second between two readings of a packet counter (ifInErrors, ifOutDiscards,
/// ...), or why there is none: as [`bits_per_second`], a rate above one shortest frame per
/// [`MIN_FRAME_BITS`] of the interface's speed (or of any link's) is a discontinuity.
pub fn packets_per_second(prev: &Reading, cur: &Reading, speed_bps: u64) -> Result<f64, Gap> {
    let (delta, seconds) = moved(prev, cur)?;
    let pps = delta as f64 / seconds;
    let speed = if speed_bps > 0 {
        speed_bps as f64 * 1.05
    } else {
        MAX_PLAUSIBLE_BPS
    };
    if pps > speed.min(MAX_PLAUSIBLE_BPS) / MIN_FRAME_BITS {
        return Err(Gap::Impossible);
    }
    Ok(pps)
}

/// Bits per second between two readings of one octet counter, or why there is none.
/// `speed_bps` is the interface's speed when known (0 = unknown).
pub fn bits_per_second(prev: &Reading, cur: &Reading, speed_bps: u64) -> Result<f64, Gap> {
    let (delta, seconds) = moved(prev, cur)?;
    let bps = delta as f64 * 8.0 / seconds;
    // Polls are not instantaneous: allow a little over the nominal speed.
    let limit = if speed_bps > 0 {
        speed_bps as f64 * 1.05
    } else {
        MAX_PLAUSIBLE_BPS
    };
    if bps > limit.min(MAX_PLAUSIBLE_BPS) {
        return Err(Gap::Impossible);
    }
    Ok(bps)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

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
            (10, 25, 64, 15),
            (25, 25, 64, 0),
            (u64::from(u32::MAX) - 5, 10, 32, 16),
            (u64::MAX - 5, 10, 64, 16),
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
    fn rates_and_gaps() {
        // 1250 octets in 1 s is 10 kbit/s.
        assert_eq!(
            bits_per_second(&r(1000, 100, 0, 64), &r(2000, 200, 1250, 64), 0),
            Ok(10_000.0)
        );
        // 32-bit wrap over 10 s.
        let before = r(0, 0, u64::from(u32::MAX) - 999, 32);
        assert_eq!(
            bits_per_second(&before, &r(10_000, 1000, 1000, 32), 0),
            Ok(1600.0)
        );
        // 64-bit wrap.
        let before = r(0, 0, u64::MAX - 999, 64);
        assert_eq!(
            bits_per_second(&before, &r(10_000, 1000, 1000, 64), 0),
            Ok(1600.0)
        );
        // Reboot: uptime went back, counters restarted: a gap, not a spike.
        assert_eq!(
            bits_per_second(&r(0, 50_000, 9_000_000, 64), &r(10_000, 100, 10, 64), 0),
            Err(Gap::Restart)
        );
        assert_eq!(
            bits_per_second(&r(0, 50_000, 9_000_000, 32), &r(10_000, 100, 10, 32), 0),
            Err(Gap::Restart)
        );
        // sysUpTime wrap is not a reboot.
        let near_top = r(0, u32::MAX - 100, 0, 64);
        assert_eq!(
            bits_per_second(&near_top, &r(1000, 50, 125, 64), 0),
            Ok(1000.0)
        );
        // Same time or out of order.
        assert_eq!(
            bits_per_second(&r(1000, 1, 0, 64), &r(1000, 2, 5, 64), 0),
            Err(Gap::OutOfOrder)
        );
        assert_eq!(
            bits_per_second(&r(2000, 1, 0, 64), &r(1000, 2, 5, 64), 0),
            Err(Gap::OutOfOrder)
        );
        // Width change (the agent switched from 32- to 64-bit counters).
        assert_eq!(
            bits_per_second(&r(0, 1, 0, 32), &r(1000, 2, 5, 64), 0),
            Err(Gap::WidthChange)
        );
        // A counter that went backwards without a reboot (reset, discontinuity) on a 1 Gb/s
        // link implies an impossible rate.
        assert_eq!(
            bits_per_second(
                &r(0, 1, 9_000_000_000, 64),
                &r(10_000, 1001, 5, 64),
                1_000_000_000
            ),
            Err(Gap::Impossible)
        );
        // Above the interface speed.
        assert_eq!(
            bits_per_second(&r(0, 1, 0, 64), &r(1000, 101, 2_000_000, 64), 10_000_000),
            Err(Gap::Impossible)
        );
    }

    #[test]
    fn packet_rates_wrap_restart_and_refuse_discontinuities() {
        // 30 errors in 10 s.
        assert_eq!(
            packets_per_second(&r(0, 0, 100, 32), &r(10_000, 1000, 130, 32), 0),
            Ok(3.0)
        );
        // A Counter32 wrap.
        let near_top = r(0, 0, u64::from(u32::MAX) - 9, 32);
        assert_eq!(
            packets_per_second(&near_top, &r(10_000, 1000, 10, 32), 1_000_000_000),
            Ok(2.0)
        );
        // The agent rebooted: its counters started again.
        assert_eq!(
            packets_per_second(&r(0, 50_000, 9_000, 32), &r(10_000, 100, 3, 32), 0),
            Err(Gap::Restart)
        );
        // Counters cleared without a reboot on a 1 Gb/s link: a wrap would mean some
        // 400 million packets a second, more than the link carries.
        assert_eq!(
            packets_per_second(&r(0, 1, 9_000, 32), &r(10_000, 1001, 3, 32), 1_000_000_000),
            Err(Gap::Impossible)
        );
        // Unknown counters: no bound, but restarts still count.
        assert_eq!(
            per_second(&r(0, 1, 9_000, 32), &r(10_000, 1001, 3, 32)),
            Ok((f64::from(u32::MAX) - 8_996.0) / 10.0)
        );
        assert_eq!(
            per_second(&r(0, 500, 9_000, 64), &r(10_000, 100, 3, 64)),
            Err(Gap::Restart)
        );
        assert_eq!(
            per_second(&r(0, 1, 9_000, 32), &r(10_000, 2, 3, 64)),
            Err(Gap::WidthChange)
        );
    }

    proptest! {
        /// Any two increasing readings within speed give exactly delta * 8 / seconds.
        #[test]
        fn monotonic_counters_give_their_rate(start in any::<u64>(), step in 0u64..1_000_000_000, ms in 1u64..600_000, uptime in 0u32..u32::MAX / 2) {
            let bits = 64;
            let cur_value = start.wrapping_add(step);
            let prev = r(1_000, uptime, start, bits);
            let cur = r(1_000 + ms, uptime + u32::try_from(ms / 10).unwrap_or(0), cur_value, bits);
            let want = step as f64 * 8.0 / (ms as f64 / 1000.0);
            match bits_per_second(&prev, &cur, 0) {
                Ok(bps) => prop_assert!((bps - want).abs() <= want * 1e-9 + 1e-9),
                Err(gap) => prop_assert!(want > MAX_PLAUSIBLE_BPS && gap == Gap::Impossible),
            }
        }

        /// 32-bit counters: the rate over one wrap equals the true amount moved.
        #[test]
        fn counter32_wraps(start in 0u64..=u64::from(u32::MAX), step in 0u64..=u64::from(u32::MAX)) {
            let cur = (start + step) & 0xffff_ffff;
            prop_assert_eq!(counter_delta(start, cur, 32), step);
        }

        /// 64-bit counters: likewise.
        #[test]
        fn counter64_wraps(start in any::<u64>(), step in any::<u64>()) {
            prop_assert_eq!(counter_delta(start, start.wrapping_add(step), 64), step);
        }

        /// A restart never yields a rate, whatever the counters did.
        #[test]
        fn restarts_are_gaps(before in 1u32..u32::MAX - 8_640_000, back in 1u32..1_000_000, a in any::<u64>(), b in any::<u64>(), bits in prop::sample::select(vec![32u32, 64])) {
            let after = before.saturating_sub(back);
            prop_assume!(after < before);
            let result = bits_per_second(&r(0, before, a, bits), &r(10_000, after, b, bits), 0);
            prop_assert_eq!(result, Err(Gap::Restart));
        }

        /// Rates are never negative and never above the speed.
        #[test]
        fn rates_are_bounded(a in any::<u64>(), b in any::<u64>(), ms in 1u64..100_000, speed in 0u64..100_000_000_000) {
            if let Ok(bps) = bits_per_second(&r(0, 1, a, 64), &r(ms, 2, b, 64), speed) {
                prop_assert!(bps >= 0.0);
                let limit = if speed > 0 { speed as f64 * 1.05 } else { MAX_PLAUSIBLE_BPS };
                prop_assert!(bps <= limit);
            }
        }
    }
}
