//! Octet counters as a deterministic, monotonic function of time since boot.
//!
//! Traffic follows `rate × f(t)` where `f` is a smooth wobble around 1 made of three sines with
//! unrelated periods and per-counter phases, scaled so `f` stays in `[1 − noise, 1 + noise]`.
//! Its integral has a closed form, so reading a counter is O(1) however long the device has
//! been up. Rate and up/down changes re-anchor the counter at the current value, which keeps
//! it monotonic across changes.

use std::f64::consts::TAU;

/// Periods (seconds) and weights of the three sines; weights sum to 1.
const WAVES: [(f64, f64); 3] = [(61.0, 0.5), (17.0, 0.3), (7.3, 0.2)];
/// Noise above this would let the rate touch zero, where float rounding could step back.
pub const MAX_NOISE: f64 = 0.95;

/// The wobble of one counter: `N(t) = ∫₀ᵗ f(s) ds`.
#[derive(Debug, Clone)]
struct Wobble {
    noise: f64,
    phases: [f64; 3],
}

impl Wobble {
    fn new(noise: f64, seed: u64) -> Self {
        let mut state = seed;
        let mut phase = || TAU * (splitmix64(&mut state) >> 11) as f64 / (1u64 << 53) as f64;
        Self {
            noise: noise.clamp(0.0, MAX_NOISE),
            phases: [phase(), phase(), phase()],
        }
    }

    /// `∫₀ᵗ (1 + noise Σ wᵢ sin(ωᵢ s + φᵢ)) ds`.
    fn integral(&self, t: f64) -> f64 {
        let wobble: f64 = WAVES
            .iter()
            .zip(self.phases)
            .map(|(&(period, weight), phase)| {
                let omega = TAU / period;
                weight * (phase.cos() - (omega * t + phase).cos()) / omega
            })
            .sum();
        t + self.noise * wobble
    }
}

/// One octet counter (one direction of one interface).
#[derive(Debug, Clone)]
pub struct OctetCounter {
    wobble: Wobble,
    /// Mean rate in bytes per second.
    bytes_per_second: f64,
    /// Seconds since boot of the last change of rate or state.
    anchor_time: f64,
    /// The counter's value at `anchor_time`.
    anchor_octets: u64,
    /// Whether the counter grows (the interface is up).
    running: bool,
}

impl OctetCounter {
    /// A counter at 0 at boot, growing at `bits_per_second` with relative `noise`; `seed`
    /// picks its wobble.
    pub fn new(bits_per_second: u64, noise: f64, seed: u64) -> Self {
        Self {
            wobble: Wobble::new(noise, seed),
            bytes_per_second: bits_per_second as f64 / 8.0,
            anchor_time: 0.0,
            anchor_octets: 0,
            running: true,
        }
    }

    /// The value `seconds` after boot (never less than at the last change).
    pub fn at(&self, seconds: f64) -> u64 {
        if !self.running || seconds <= self.anchor_time {
            return self.anchor_octets;
        }
        let grown = self.bytes_per_second
            * (self.wobble.integral(seconds) - self.wobble.integral(self.anchor_time));
        // Float to integer casts saturate; the wobble keeps `grown` non-negative.
        self.anchor_octets.wrapping_add(grown.max(0.0) as u64)
    }

    /// Mean rate in bytes per second.
    pub fn bytes_per_second(&self) -> f64 {
        self.bytes_per_second
    }

    /// The smallest share of the mean rate the counter grows at.
    pub fn slowest_share(&self) -> f64 {
        1.0 - self.wobble.noise
    }

    /// From `seconds` after boot on, grows at `bits_per_second`.
    pub fn set_rate(&mut self, seconds: f64, bits_per_second: u64) {
        self.anchor(seconds);
        self.bytes_per_second = bits_per_second as f64 / 8.0;
    }

    /// From `seconds` after boot on, grows (`true`) or holds still (`false`).
    pub fn set_running(&mut self, seconds: f64, running: bool) {
        self.anchor(seconds);
        self.running = running;
    }

    /// Back to 0 at boot time (the device rebooted).
    pub fn restart(&mut self) {
        self.anchor_time = 0.0;
        self.anchor_octets = 0;
    }

    fn anchor(&mut self, seconds: f64) {
        if seconds > self.anchor_time {
            self.anchor_octets = self.at(seconds);
            self.anchor_time = seconds;
        }
    }
}

/// A well-mixed 64-bit sequence (SplitMix64); deterministic seeds give deterministic phases.
pub fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEN_MEGABITS: u64 = 10_000_000;

    #[test]
    fn grows_at_the_configured_rate_on_average() {
        let counter = OctetCounter::new(TEN_MEGABITS, 0.1, 7);
        let day = 86_400.0;
        let mean = counter.at(day) as f64 / day;
        assert!((mean - 1_250_000.0).abs() < 1_250_000.0 * 0.001, "{mean}");
    }

    #[test]
    fn every_second_stays_within_the_noise_band() {
        let counter = OctetCounter::new(TEN_MEGABITS, 0.1, 42);
        for second in 0..600 {
            let t = f64::from(second);
            let delta = counter.at(t + 1.0) - counter.at(t);
            assert!(
                (1_124_999..=1_375_001).contains(&delta),
                "{second}: {delta}"
            );
        }
    }

    #[test]
    fn never_steps_back_even_with_full_noise() {
        let counter = OctetCounter::new(1_000, 1.0, 3);
        let mut last = 0;
        for step in 0..200_000 {
            let value = counter.at(f64::from(step) * 0.013 + 1e6);
            assert!(value >= last, "step {step}: {value} < {last}");
            last = value;
        }
    }

    #[test]
    fn is_deterministic_and_seeded() {
        let a = OctetCounter::new(TEN_MEGABITS, 0.1, 1);
        let b = OctetCounter::new(TEN_MEGABITS, 0.1, 1);
        let c = OctetCounter::new(TEN_MEGABITS, 0.1, 2);
        assert_eq!(a.at(12.5), b.at(12.5));
        assert_ne!(a.at(12.5), c.at(12.5));
        assert_eq!(OctetCounter::new(TEN_MEGABITS, 0.0, 9).at(2.0), 2_500_000);
    }

    #[test]
    fn holds_still_while_stopped_and_keeps_rate_changes_continuous() {
        let mut counter = OctetCounter::new(TEN_MEGABITS, 0.0, 5);
        counter.set_running(10.0, false);
        assert_eq!(counter.at(10.0), 12_500_000);
        assert_eq!(counter.at(50.0), 12_500_000);
        counter.set_running(50.0, true);
        assert_eq!(counter.at(51.0), 13_750_000);
        counter.set_rate(51.0, 8_000);
        assert_eq!(counter.at(53.0), 13_752_000);
        counter.restart();
        assert_eq!(counter.at(0.0), 0);
        assert_eq!(counter.at(1.0), 1_000);
    }
}
