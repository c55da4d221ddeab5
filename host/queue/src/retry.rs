//! When a message that failed temporarily is tried again, and when it
//! expires.

use std::time::Duration;

use chrono::{DateTime, Utc};

/// Exponential backoff with a ceiling, and a maximum time in the queue.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Delay after the first failed attempt; each further failure doubles it.
    pub initial_delay: Duration,
    /// Largest delay between two attempts.
    pub max_delay: Duration,
    /// Time after arrival at which a message that still fails temporarily is
    /// returned to its sender.
    pub max_age: Duration,
}

impl Default for RetryPolicy {
    /// 60 seconds doubling up to one hour, for at most five days.
    fn default() -> Self {
        RetryPolicy {
            initial_delay: Duration::from_secs(60),
            max_delay: Duration::from_secs(3600),
            max_age: Duration::from_secs(5 * 24 * 3600),
        }
    }
}

/// Decision after a temporary failure.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RetryDecision {
    /// Try again at this time.
    RetryAt(DateTime<Utc>),
    /// The message reached the maximum age: return it to the sender.
    Expire,
}

impl RetryPolicy {
    /// Returns the delay after the `attempts`-th failed attempt (counted
    /// from 1): `initial_delay * 2^(attempts - 1)`, at most `max_delay`.
    pub fn delay(&self, attempts: u32) -> Duration {
        let doublings = attempts.saturating_sub(1).min(31);
        self.initial_delay.saturating_mul(1 << doublings).min(self.max_delay)
    }

    /// Decides what follows the `attempts`-th failed attempt at `now` for a
    /// message that arrived at `arrival`. The last retry is placed at the
    /// maximum age, so a message expires on time rather than up to one
    /// `max_delay` later.
    pub fn after_failure(&self, arrival: DateTime<Utc>, attempts: u32, now: DateTime<Utc>) -> RetryDecision {
        let deadline = add(arrival, self.max_age).unwrap_or(DateTime::<Utc>::MAX_UTC);
        if now >= deadline {
            return RetryDecision::Expire;
        }
        let next = add(now, self.delay(attempts)).unwrap_or(deadline);
        RetryDecision::RetryAt(next.min(deadline))
    }
}

/// Returns `time + duration`, or `None` beyond the range of `DateTime`.
fn add(time: DateTime<Utc>, duration: Duration) -> Option<DateTime<Utc>> {
    chrono::Duration::from_std(duration).ok().and_then(|duration| time.checked_add_signed(duration))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seconds(value: u64) -> Duration {
        Duration::from_secs(value)
    }

    #[test]
    fn delay_doubles_up_to_max() {
        let policy = RetryPolicy::default();
        let delays: Vec<u64> = (1..=8).map(|attempts| policy.delay(attempts).as_secs()).collect();

        assert_eq!(delays, vec![60, 120, 240, 480, 960, 1920, 3600, 3600]);
        assert_eq!(policy.delay(0), seconds(60));
        assert_eq!(policy.delay(u32::MAX), seconds(3600));
    }

    #[test]
    fn retry_scheduled_after_delay() {
        let policy = RetryPolicy::default();
        let arrival = Utc::now();
        let now = arrival + chrono::Duration::seconds(10);

        let decision = policy.after_failure(arrival, 2, now);

        assert_eq!(decision, RetryDecision::RetryAt(now + chrono::Duration::seconds(120)));
    }

    #[test]
    fn last_retry_at_max_age() {
        let policy = RetryPolicy { initial_delay: seconds(60), max_delay: seconds(3600), max_age: seconds(100) };
        let arrival = Utc::now();

        let decision = policy.after_failure(arrival, 1, arrival + chrono::Duration::seconds(90));

        assert_eq!(decision, RetryDecision::RetryAt(arrival + chrono::Duration::seconds(100)));
    }

    #[test]
    fn message_expires_at_max_age() {
        let policy = RetryPolicy { initial_delay: seconds(60), max_delay: seconds(3600), max_age: seconds(100) };
        let arrival = Utc::now();

        assert_eq!(policy.after_failure(arrival, 5, arrival + chrono::Duration::seconds(100)), RetryDecision::Expire);
        assert_eq!(policy.after_failure(arrival, 5, arrival + chrono::Duration::days(9)), RetryDecision::Expire);
    }

    #[test]
    fn huge_settings_do_not_overflow() {
        let policy = RetryPolicy { initial_delay: seconds(u64::MAX / 2), max_delay: seconds(u64::MAX), max_age: seconds(u64::MAX) };
        let now = Utc::now();

        assert!(matches!(policy.after_failure(now, 40, now), RetryDecision::RetryAt(_)));
    }
}
