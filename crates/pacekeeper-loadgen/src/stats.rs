//! Latency figures over samples in microseconds: nearest-rank percentiles and the share of
//! samples over a bound.

use std::time::Duration;

/// The percentiles reported, in microseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Percentiles {
    /// The median.
    pub p50: u32,
    /// The 90th percentile.
    pub p90: u32,
    /// The 99th percentile.
    pub p99: u32,
    /// The 99.9th percentile.
    pub p999: u32,
    /// The largest sample.
    pub max: u32,
}

impl Percentiles {
    /// The percentiles of `sorted` (ascending); all 0 when there are no samples.
    pub fn of(sorted: &[u32]) -> Percentiles {
        Percentiles {
            p50: percentile(sorted, 500),
            p90: percentile(sorted, 900),
            p99: percentile(sorted, 990),
            p999: percentile(sorted, 999),
            max: percentile(sorted, 1000),
        }
    }
}

/// The nearest-rank percentile of `sorted` (ascending) at `per_mille` thousandths (1..=1000):
/// the smallest sample with at least that share of the samples at or below it; 0 when there
/// are no samples. Integer arithmetic, so p99.9 of 1,000 samples is exactly the 999th.
pub fn percentile(sorted: &[u32], per_mille: u64) -> u32 {
    let n = sorted.len() as u64;
    if n == 0 {
        return 0;
    }
    let rank = (n * per_mille).div_ceil(1000).clamp(1, n);
    sorted[(rank - 1) as usize]
}

/// How many of `sorted` (ascending) are strictly over `limit`.
pub fn count_over(sorted: &[u32], limit: u32) -> usize {
    sorted.len() - sorted.partition_point(|&v| v <= limit)
}

/// The share of `sorted` (ascending) strictly over `limit`, in per cent; 0 with no samples.
pub fn percent_over(sorted: &[u32], limit: u32) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    100.0 * count_over(sorted, limit) as f64 / sorted.len() as f64
}

/// A duration in whole microseconds, saturating at `u32::MAX` (over an hour).
pub fn micros(d: Duration) -> u32 {
    u32::try_from(d.as_micros()).unwrap_or(u32::MAX)
}

/// Microseconds as milliseconds.
pub fn ms(micros: u32) -> f64 {
    f64::from(micros) / 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let samples: Vec<u32> = (1..=1000).collect();
        let p = Percentiles::of(&samples);
        assert_eq!(p, Percentiles { p50: 500, p90: 900, p99: 990, p999: 999, max: 1000 });
    }

    #[test]
    fn percentiles_of_few_samples_round_up() {
        assert_eq!(Percentiles::of(&[7]), Percentiles { p50: 7, p90: 7, p99: 7, p999: 7, max: 7 });
        let samples = [10, 20, 30];
        assert_eq!(percentile(&samples, 500), 20);
        assert_eq!(percentile(&samples, 900), 30);
        assert_eq!(percentile(&samples, 1), 10);
        let hundred: Vec<u32> = (1..=100).collect();
        assert_eq!(percentile(&hundred, 990), 99);
        assert_eq!(percentile(&hundred, 999), 100);
    }

    #[test]
    fn no_samples_give_zeros() {
        assert_eq!(Percentiles::of(&[]), Percentiles::default());
        assert_eq!(percent_over(&[], 20_000), 0.0);
    }

    #[test]
    fn share_over_a_bound_is_strict() {
        let samples = [1_000, 20_000, 20_001, 50_000];
        assert_eq!(percent_over(&samples, 20_000), 50.0);
        assert_eq!(percent_over(&samples, 60_000), 0.0);
        assert_eq!(percent_over(&samples, 0), 100.0);
        assert_eq!(count_over(&samples, 1_000), 3);
    }

    #[test]
    fn units() {
        assert_eq!(ms(1_500), 1.5);
        assert_eq!(micros(Duration::from_nanos(2_999)), 2);
        assert_eq!(micros(Duration::from_secs(5_000)), u32::MAX);
    }
}
