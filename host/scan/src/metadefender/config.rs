//! Settings of the MetaDefender Core engine.

use std::time::Duration;

/// Settings of the MetaDefender Core engine.
#[derive(Clone)]
pub struct MetaDefenderConfig {
    /// Base URL of Core's REST API, such as `http://127.0.0.1:8008`; the
    /// engine appends `/file` and the other paths to it.
    pub url: String,

    /// Sent in the `apikey` header when set.
    pub api_key: Option<String>,

    /// Sent in the `rule` header when set, to pick a workflow rule in Core.
    pub rule: Option<String>,

    /// Time between two result requests while a scan runs. Default: 1 second.
    pub poll_interval: Duration,

    /// Maximum time from the upload to the finished result. Default: 5 minutes.
    pub scan_timeout: Duration,

    /// Maximum time for one HTTP request, including its connection. Default: 30 seconds.
    pub request_timeout: Duration,
}

impl MetaDefenderConfig {
    /// Creates the settings for Core at `url`, without an API key, with the defaults.
    pub fn new(url: impl Into<String>) -> Self {
        MetaDefenderConfig {
            url: url.into(),
            api_key: None,
            rule: None,
            poll_interval: Duration::from_secs(1),
            scan_timeout: Duration::from_secs(300),
            request_timeout: Duration::from_secs(30),
        }
    }
}

/// Hides the API key.
impl std::fmt::Debug for MetaDefenderConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MetaDefenderConfig")
            .field("url", &self.url)
            .field("api_key", &self.api_key.as_ref().map(|_| "<set>"))
            .field("rule", &self.rule)
            .field("poll_interval", &self.poll_interval)
            .field("scan_timeout", &self.scan_timeout)
            .field("request_timeout", &self.request_timeout)
            .finish()
    }
}
