//! The most recent failures of one rule, for the admin endpoint and the
//! rules page.
//!
//! Each rule of a loaded rule set keeps its last [`MAX_RECENT_ERRORS`]
//! failures (trap, time or memory limit, error returned by the component),
//! newest last. A reload starts with empty lists, since the new set may
//! hold other components.

use std::collections::VecDeque;
use std::sync::Mutex;

use chrono::{DateTime, Utc};

/// Failures kept per rule.
pub const MAX_RECENT_ERRORS: usize = 10;

/// One failure of a rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecentError {
    /// When the failure happened.
    pub at: DateTime<Utc>,
    /// The failure as logged.
    pub error: String,
}

/// The last failures of one rule.
#[derive(Debug, Default)]
pub struct RecentErrors {
    errors: Mutex<VecDeque<RecentError>>,
}

impl RecentErrors {
    /// Adds a failure, dropping the oldest beyond [`MAX_RECENT_ERRORS`].
    pub fn record(&self, error: String) {
        let mut errors = self.errors.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if errors.len() == MAX_RECENT_ERRORS {
            errors.pop_front();
        }
        errors.push_back(RecentError { at: Utc::now(), error });
    }

    /// Returns the kept failures, oldest first.
    pub fn list(&self) -> Vec<RecentError> {
        let errors = self.errors.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        errors.iter().cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_only_newest_errors() {
        let recent = RecentErrors::default();

        for number in 0..MAX_RECENT_ERRORS + 3 {
            recent.record(format!("failure {number}"));
        }

        let list = recent.list();
        assert_eq!(list.len(), MAX_RECENT_ERRORS);
        assert_eq!(list[0].error, "failure 3");
        assert_eq!(list[MAX_RECENT_ERRORS - 1].error, format!("failure {}", MAX_RECENT_ERRORS + 2));
    }
}
