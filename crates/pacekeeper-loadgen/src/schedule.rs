//! The open-loop schedule: request `i` is due `i / rate` seconds after the start, whatever
//! became of the requests before it; and the small seeded generator that picks the members.

use std::time::{Duration, Instant};

/// Nanoseconds in a second.
const NANOS: u128 = 1_000_000_000;

/// When each request of a run is due, and which of them count in the figures.
#[derive(Clone, Copy, Debug)]
pub struct Plan {
    /// Requests per second offered.
    pub rate: u32,
    /// Requests in the whole run, warm-up included.
    pub total: u64,
    /// Requests of the warm-up: the first ones, left out of the figures.
    pub warmup: u64,
}

impl Plan {
    /// `warmup_secs` of warm-up, then `secs` measured, at `rate` requests/s (`rate` > 0).
    pub fn new(rate: u32, warmup_secs: u64, secs: u64) -> Plan {
        let per_sec = u64::from(rate);
        Plan { rate, total: per_sec * (warmup_secs + secs), warmup: per_sec * warmup_secs }
    }

    /// How long after the start request `i` is due: `i / rate` s, rounded up to the
    /// nanosecond (so that [`Plan::due_by`] is its exact inverse).
    pub fn due(&self, i: u64) -> Duration {
        let nanos = (u128::from(i) * NANOS).div_ceil(u128::from(self.rate));
        Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
    }

    /// How many requests are due at `elapsed` after the start, at most the whole run.
    pub fn due_by(&self, elapsed: Duration) -> u64 {
        let due = elapsed.as_nanos() * u128::from(self.rate) / NANOS + 1;
        u64::try_from(due).unwrap_or(u64::MAX).min(self.total)
    }

    /// Whether request `i` counts in the figures: it comes after the warm-up.
    pub fn is_measured(&self, i: u64) -> bool {
        i >= self.warmup
    }

    /// How many requests count in the figures.
    pub fn measured(&self) -> u64 {
        self.total - self.warmup
    }
}

/// The current instant: the one place this tool reads the clock (it measures real time,
/// unlike the server, whose decisions take the time as an argument).
#[allow(clippy::disallowed_methods)]
pub fn now() -> Instant {
    Instant::now()
}

/// SplitMix64: small and fast, plenty for picking members; seeded, so runs repeat.
#[derive(Clone, Debug)]
pub struct Rng(u64);

impl Rng {
    /// A generator seeded with `seed`.
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n` > 0), by multiply and shift: no division, and a bias far too
    /// small to matter for member ids.
    pub fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_spread_evenly_over_the_run() {
        let plan = Plan::new(10_000, 1, 2);
        assert_eq!((plan.total, plan.warmup, plan.measured()), (30_000, 10_000, 20_000));
        assert_eq!(plan.due(0), Duration::ZERO);
        assert_eq!(plan.due(1), Duration::from_micros(100));
        assert_eq!(plan.due(10_000), Duration::from_secs(1));
        assert!(!plan.is_measured(9_999));
        assert!(plan.is_measured(10_000));
    }

    #[test]
    fn due_rounds_up_to_the_nanosecond() {
        let plan = Plan::new(3, 0, 1);
        assert_eq!(plan.due(1), Duration::from_nanos(333_333_334));
        assert_eq!(plan.due(3), Duration::from_secs(1));
    }

    #[test]
    fn due_by_counts_exactly_the_requests_already_due() {
        for rate in [1, 3, 7, 997, 10_000, 20_000, 123_457] {
            let plan = Plan::new(rate, 0, 5);
            for i in (1..plan.total).step_by(7) {
                assert_eq!(plan.due_by(plan.due(i)), i + 1, "rate {rate}, request {i}");
                assert_eq!(plan.due_by(plan.due(i) - Duration::from_nanos(1)), i, "rate {rate}, request {i}");
            }
        }
    }

    #[test]
    fn due_by_stops_at_the_end_of_the_run() {
        let plan = Plan::new(100, 0, 2);
        assert_eq!(plan.due_by(Duration::ZERO), 1);
        assert_eq!(plan.due_by(Duration::from_secs(60)), 200);
    }

    #[test]
    fn splitmix_matches_the_reference_output() {
        let mut rng = Rng::new(0);
        assert_eq!(rng.next_u64(), 0xE220_A839_7B1D_CDAF);
    }

    #[test]
    fn below_stays_in_range_and_covers_it() {
        let mut rng = Rng::new(1);
        let mut seen = [false; 10];
        for _ in 0..1_000 {
            let v = rng.below(10);
            assert!(v < 10);
            seen[v as usize] = true;
        }
        assert!(seen.iter().all(|&s| s));
        assert_eq!(Rng::new(5).below(1), 0);
    }
}
