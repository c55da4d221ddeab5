//! The caller's handling of attachments that an engine could not scan.

use serde::{Deserialize, Serialize};

/// Handling of a message whose attachment got [`Verdict::Failed`](crate::Verdict::Failed)
/// because the engine was down, timed out or returned an invalid response.
///
/// The scanners only report the failure; the caller applies this policy. In
/// configuration files the values are `retry-later`, `fail` and
/// `pass-with-mark`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum UnavailablePolicy {
    /// Reject the message temporarily (SMTP 451) so that the client retries
    /// it later. The default, because it neither loses mail nor lets unscanned
    /// content through.
    #[default]
    RetryLater,

    /// Reject the message permanently (SMTP 550).
    Fail,

    /// Deliver the message and mark it as not scanned.
    PassWithMark,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_is_retry_later() {
        assert_eq!(UnavailablePolicy::default(), UnavailablePolicy::RetryLater);
    }

    #[test]
    fn configuration_names() {
        let cases = [
            ("\"retry-later\"", UnavailablePolicy::RetryLater),
            ("\"fail\"", UnavailablePolicy::Fail),
            ("\"pass-with-mark\"", UnavailablePolicy::PassWithMark),
        ];

        for (json, expected) in cases {
            assert_eq!(
                serde_json::from_str::<UnavailablePolicy>(json).unwrap(),
                expected,
                "{json}"
            );
        }
        assert!(serde_json::from_str::<UnavailablePolicy>("\"pass\"").is_err());
    }
}
