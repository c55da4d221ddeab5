//! Settings of the SMTP mode and of the queue.

use std::path::PathBuf;
use std::time::Duration;

use mailgate_queue::RetryPolicy;
use serde::Deserialize;

/// When the SMTP client gets its reply to DATA.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum SmtpMode {
    /// 250 as soon as the message is safe in the queue. Processing and
    /// delivery follow with retries, and a permanent failure becomes a
    /// bounce to the sender.
    #[default]
    AfterQueue,
    /// 250 only after processing and delivery to the next hop; a failure is
    /// 451 or 550 to the client, which keeps the message.
    BeforeQueue,
}

/// Settings of the queue (spool directory, workers and retries).
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct QueueConfig {
    /// Spool directory for accepted messages. Default `mailgate-data/queue`.
    pub directory: PathBuf,
    /// Messages processed and delivered at the same time. Default 16: with
    /// 4, delivery to a loopback next hop stayed below 1,000 messages per
    /// second on a 2-core machine (docs/benchmarks.md).
    pub workers: usize,
    /// Delay after the first temporary failure, in seconds; each further
    /// failure doubles it. Default 60.
    pub retry_initial_secs: u64,
    /// Largest delay between two attempts, in seconds. Default 3600.
    pub retry_max_secs: u64,
    /// Time in the queue after which a message that still fails is returned
    /// to its sender, in seconds. Default 432000 (5 days).
    pub max_age_secs: u64,
    /// Time that messages being processed get to finish when the gateway
    /// stops, in seconds; unfinished ones stay in the spool. Default 30.
    pub shutdown_timeout_secs: u64,
}

impl Default for QueueConfig {
    fn default() -> Self {
        QueueConfig {
            directory: PathBuf::from("mailgate-data/queue"),
            workers: 16,
            retry_initial_secs: 60,
            retry_max_secs: 3600,
            max_age_secs: 5 * 24 * 3600,
            shutdown_timeout_secs: 30,
        }
    }
}

impl QueueConfig {
    /// Returns the retry schedule these settings describe.
    pub fn retry_policy(&self) -> RetryPolicy {
        RetryPolicy {
            initial_delay: Duration::from_secs(self.retry_initial_secs),
            max_delay: Duration::from_secs(self.retry_max_secs),
            max_age: Duration::from_secs(self.max_age_secs),
        }
    }

    /// Checks the values; returns the setting and the problem.
    pub(crate) fn validate(&self) -> Result<(), (&'static str, &'static str)> {
        if self.workers == 0 {
            return Err(("queue.workers", "must be at least 1"));
        }
        if self.retry_initial_secs == 0 {
            return Err(("queue.retry_initial_secs", "must be at least 1 second"));
        }
        if self.retry_max_secs < self.retry_initial_secs {
            return Err(("queue.retry_max_secs", "must be at least queue.retry_initial_secs"));
        }
        if self.max_age_secs == 0 {
            return Err(("queue.max_age_secs", "must be at least 1 second"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    #[test]
    fn queue_defaults() {
        let config = Config::from_toml("").unwrap();

        assert_eq!(config.smtp.mode, SmtpMode::AfterQueue);
        assert_eq!(config.queue.retry_policy(), RetryPolicy::default());
        assert_eq!(config.queue.workers, 16);
    }

    #[test]
    fn queue_settings_parsed() {
        let config = Config::from_toml(
            "[smtp]\nmode = \"before-queue\"\n[queue]\ndirectory = \"/var/spool/mailgate\"\nworkers = 2\n\
             retry_initial_secs = 5\nretry_max_secs = 50\nmax_age_secs = 500\n",
        )
        .unwrap();

        assert_eq!(config.smtp.mode, SmtpMode::BeforeQueue);
        assert_eq!(config.queue.directory, PathBuf::from("/var/spool/mailgate"));
        let policy = config.queue.retry_policy();
        assert_eq!(policy.initial_delay, Duration::from_secs(5));
        assert_eq!(policy.max_delay, Duration::from_secs(50));
        assert_eq!(policy.max_age, Duration::from_secs(500));
    }

    #[test]
    fn queue_invalid_settings_rejected() {
        for (text, setting) in [
            ("[queue]\nworkers = 0\n", "queue.workers"),
            ("[queue]\nretry_initial_secs = 0\n", "queue.retry_initial_secs"),
            ("[queue]\nretry_initial_secs = 10\nretry_max_secs = 5\n", "queue.retry_max_secs"),
            ("[queue]\nmax_age_secs = 0\n", "queue.max_age_secs"),
            ("[smtp]\nmode = \"sometimes\"\n", "mode"),
        ] {
            let error = Config::from_toml(text).unwrap_err();
            assert!(error.to_string().contains(setting), "{text}: {error}");
        }
    }
}
