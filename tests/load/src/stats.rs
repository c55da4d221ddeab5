//! Latency samples and their summary: count, rate and percentiles.

use std::fmt;
use std::time::Duration;

/// Latencies of one kind, in the order they were taken.
#[derive(Default)]
pub struct Samples {
    values: Vec<Duration>,
}

impl Samples {
    /// Adds one latency.
    pub fn push(&mut self, value: Duration) {
        self.values.push(value);
    }

    /// Number of latencies taken.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// Sorts the samples and summarises them; `None` without samples.
    pub fn summary(mut self) -> Option<Summary> {
        if self.values.is_empty() {
            return None;
        }

        self.values.sort_unstable();
        let at = |fraction: f64| {
            let rank = (fraction * self.values.len() as f64).ceil() as usize;
            self.values[rank.clamp(1, self.values.len()) - 1]
        };
        Some(Summary {
            p50: at(0.50),
            p90: at(0.90),
            p99: at(0.99),
            max: self.values[self.values.len() - 1],
        })
    }
}

/// Percentiles of a set of latencies (nearest-rank method).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Summary {
    pub p50: Duration,
    pub p90: Duration,
    pub p99: Duration,
    pub max: Duration,
}

impl fmt::Display for Summary {
    /// Writes `p50 | p90 | p99 | max` in milliseconds, for a Markdown row.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = |value: Duration| value.as_secs_f64() * 1000.0;
        write!(f, "{:.1} ms | {:.1} ms | {:.1} ms | {:.1} ms", ms(self.p50), ms(self.p90), ms(self.p99), ms(self.max))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_use_nearest_rank() {
        let mut samples = Samples::default();
        for millis in (1..=100).rev() {
            samples.push(Duration::from_millis(millis));
        }

        let summary = samples.summary().unwrap();

        assert_eq!(summary.p50, Duration::from_millis(50));
        assert_eq!(summary.p90, Duration::from_millis(90));
        assert_eq!(summary.p99, Duration::from_millis(99));
        assert_eq!(summary.max, Duration::from_millis(100));
    }

    #[test]
    fn one_sample_is_every_percentile() {
        let mut samples = Samples::default();
        samples.push(Duration::from_millis(7));

        let summary = samples.summary().unwrap();

        assert_eq!(summary.p50, Duration::from_millis(7));
        assert_eq!(summary.max, Duration::from_millis(7));
    }

    #[test]
    fn no_samples_no_summary() {
        assert_eq!(Samples::default().summary(), None);
    }
}
