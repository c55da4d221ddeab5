//! Operational metrics of the gateway, recorded through the `metrics` facade
//! and served by the admin endpoint as `GET /metrics` in the Prometheus text
//! exposition format (version 0.0.4).
//!
//! Any crate of the process records with the `metrics` macros and needs no
//! handle. [`install`] puts a Prometheus recorder in place once per process.
//! The admin endpoint calls it when it starts, so a gateway without an admin
//! endpoint records nothing, and values recorded before the endpoint starts
//! are lost. Several gateways in one process share one recorder and so add up
//! into the same series.
//!
//! # Metrics
//!
//! | name | type | labels | unit | meaning |
//! | --- | --- | --- | --- | --- |
//! | `mailgate_messages_total` | counter | `outcome` | messages | messages finished, by the outcome kinds of the history: `delivered`, `temporary_failure`, `rejected`, `bounced` or `blocked`; in after-queue mode only final outcomes count, not deferrals |
//! | `mailgate_rule_actions_total` | counter | `kind` | actions | actions that rules returned, one per action per rule: `remove_parts`, `upload_parts`, `link_uploads` or `block` |
//! | `mailgate_rule_invocation_seconds` | histogram | `rule` | seconds | time of one rule invocation, from instantiation to the returned actions or the failure |
//! | `mailgate_rule_failures_total` | counter | `rule`, `kind` | failures | rule invocations that failed: `timed_out`, `trapped`, `returned_error` or `instantiate_failed` |
//! | `mailgate_uploads_total` | counter | none | uploads | group uploads to the vault that were started, one per message with attachments to upload |
//! | `mailgate_upload_errors_total` | counter | `cause` | uploads | group uploads that failed, by [`upload_error_cause`] |
//! | `mailgate_queue_messages` | gauge | none | messages | messages accepted over SMTP and not yet finished: in after-queue mode the messages in the spool, set when one enters or leaves it; in before-queue mode the messages in processing |
//! | `mailgate_scan_seconds` | histogram | `engine` | seconds | time of one attachment scan by the built-in vault's engine: `builtin`, `clamd` or `metadefender` |
//!
//! Histograms have the buckets of [`DURATION_BUCKETS_SECONDS`]. The counters
//! of outcomes, action kinds and uploads and the queue gauge are set to zero
//! at installation, so their series exist before the first message.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use mailgate_history::OutcomeKind;
use mailgate_rules::{Action, RuleFailure};
use mailgate_vault::VaultError;
use metrics::{Unit, counter, describe_counter, describe_gauge, describe_histogram, gauge, histogram};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::failure::ProcessError;
use crate::report::outcome_of;
use crate::rule_set::RuleRun;

const MESSAGES_TOTAL: &str = "mailgate_messages_total";
const RULE_ACTIONS_TOTAL: &str = "mailgate_rule_actions_total";
const RULE_INVOCATION_SECONDS: &str = "mailgate_rule_invocation_seconds";
const RULE_FAILURES_TOTAL: &str = "mailgate_rule_failures_total";
const UPLOADS_TOTAL: &str = "mailgate_uploads_total";
const UPLOAD_ERRORS_TOTAL: &str = "mailgate_upload_errors_total";
const QUEUE_MESSAGES: &str = "mailgate_queue_messages";
const SCAN_SECONDS: &str = mailgate_vault::mailgate_scan::SCAN_SECONDS_METRIC;

/// Upper bounds of the histogram buckets, in seconds: from 100 µs, for rules
/// and the in-process built-in engine, to 2 minutes, for remote scanning
/// engines.
pub const DURATION_BUCKETS_SECONDS: &[f64] =
    &[0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0];

/// Interval of the upkeep that drains histogram samples into their buckets,
/// so that samples do not pile up between scrapes. A scrape drains them too.
const UPKEEP_INTERVAL: Duration = Duration::from_secs(5);

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Installs the Prometheus recorder as the process's global recorder on the
/// first call, and returns the handle that renders it.
///
/// Later calls return the same handle. When another recorder was installed
/// first, the error is logged and the handle renders no values.
pub fn install() -> &'static PrometheusHandle {
    HANDLE.get_or_init(|| {
        let handle = install_recorder();
        start_upkeep(handle.clone());
        describe();
        create_series();
        handle
    })
}

/// Renders every metric in the Prometheus text exposition format.
pub fn render() -> String {
    install().render()
}

fn install_recorder() -> PrometheusHandle {
    // The builder rejects only an empty bucket list.
    let builder = PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Suffix("_seconds".to_string()), DURATION_BUCKETS_SECONDS)
        .unwrap_or_else(|error| {
            tracing::error!(%error, "metric histogram buckets rejected; durations are rendered as summaries");
            PrometheusBuilder::new()
        });

    let recorder = builder.build_recorder();
    let handle = recorder.handle();
    match metrics::set_global_recorder(recorder) {
        Ok(()) => tracing::info!("metrics recorder installed"),
        Err(error) => tracing::error!(%error, "another metrics recorder is installed; GET /metrics shows no values"),
    }
    handle
}

fn start_upkeep(handle: PrometheusHandle) {
    let started = std::thread::Builder::new().name("metrics-upkeep".to_string()).spawn(move || {
        loop {
            std::thread::sleep(UPKEEP_INTERVAL);
            handle.run_upkeep();
        }
    });
    if let Err(error) = started {
        tracing::error!(%error, "metrics upkeep thread did not start; histogram samples are drained at each scrape only");
    }
}

fn describe() {
    describe_counter!(MESSAGES_TOTAL, Unit::Count, "Messages finished, by the outcome the client got.");
    describe_counter!(RULE_ACTIONS_TOTAL, Unit::Count, "Actions that rules returned, by kind.");
    describe_histogram!(RULE_INVOCATION_SECONDS, Unit::Seconds, "Time of one rule invocation.");
    describe_counter!(RULE_FAILURES_TOTAL, Unit::Count, "Rule invocations that failed, by rule and kind of failure.");
    describe_counter!(UPLOADS_TOTAL, Unit::Count, "Group uploads to the vault that were started.");
    describe_counter!(UPLOAD_ERRORS_TOTAL, Unit::Count, "Group uploads to the vault that failed, by cause.");
    describe_gauge!(QUEUE_MESSAGES, Unit::Count, "Messages accepted and not yet finished.");
    describe_histogram!(SCAN_SECONDS, Unit::Seconds, "Time of one attachment scan, by engine.");
}

/// Creates the series whose label values are known in advance, at zero, so
/// that `rate()` and alerts see them before the first event.
fn create_series() {
    for kind in OutcomeKind::ALL {
        counter!(MESSAGES_TOTAL, "outcome" => kind.as_str()).increment(0);
    }
    for kind in ["remove_parts", "upload_parts", "link_uploads", "block"] {
        counter!(RULE_ACTIONS_TOTAL, "kind" => kind).increment(0);
    }
    counter!(UPLOADS_TOTAL).increment(0);
    gauge!(QUEUE_MESSAGES).increment(0.0);
}

/// Counts one finished message by the outcome it gets in the history.
pub(crate) fn count_message(result: &Result<String, ProcessError>) {
    count_outcome(outcome_of(result).kind());
}

/// Counts one message that finished with an outcome of `kind`.
pub(crate) fn count_outcome(kind: OutcomeKind) {
    counter!(MESSAGES_TOTAL, "outcome" => kind.as_str()).increment(1);
}

/// Counts the actions that the rules returned for one message.
pub(crate) fn count_rule_actions(runs: &[(String, RuleRun)]) {
    for (_, run) in runs {
        if let RuleRun::Ran(actions) = run {
            for action in actions {
                counter!(RULE_ACTIONS_TOTAL, "kind" => action_kind(action)).increment(1);
            }
        }
    }
}

fn action_kind(action: &Action) -> &'static str {
    match action {
        Action::RemoveParts(_) => "remove_parts",
        Action::UploadParts(_) => "upload_parts",
        Action::LinkUploads => "link_uploads",
        Action::Block(_) => "block",
        Action::SkipScan(_) => "skip_scan",
        Action::Sanitize(_) => "sanitize",
        Action::UploadBlocked(_) => "upload_blocked",
        Action::UploadOriginals(_) => "upload_originals",
        Action::RemoveAboveSize { .. } => "remove_above_size",
        Action::AddNotice { .. } => "add_notice",
    }
}

/// Runs one rule invocation, records its time and, when it fails, counts the
/// failure; returns what `invoke` returned.
pub(crate) fn time_rule_invocation<T>(rule: &str, invoke: impl FnOnce() -> Result<T, RuleFailure>) -> Result<T, RuleFailure> {
    let started = Instant::now();
    let result = invoke();

    histogram!(RULE_INVOCATION_SECONDS, "rule" => rule.to_string()).record(started.elapsed());
    if let Err(failure) = &result {
        counter!(RULE_FAILURES_TOTAL, "rule" => rule.to_string(), "kind" => rule_failure_kind(failure)).increment(1);
    }
    result
}

fn rule_failure_kind(failure: &RuleFailure) -> &'static str {
    match failure {
        RuleFailure::TimedOut { .. } => "timed_out",
        RuleFailure::Trapped { .. } => "trapped",
        RuleFailure::Returned { .. } => "returned_error",
        RuleFailure::Instantiate { .. } => "instantiate_failed",
        _ => "other",
    }
}

/// Counts one group upload and, when it failed, its cause; returns `result`.
pub(crate) fn count_upload<T>(result: Result<T, VaultError>) -> Result<T, VaultError> {
    counter!(UPLOADS_TOTAL).increment(1);
    if let Err(error) = &result {
        counter!(UPLOAD_ERRORS_TOTAL, "cause" => upload_error_cause(error)).increment(1);
    }
    result
}

/// Returns the `cause` label of a failed upload: `unreachable`, `timed_out`,
/// `transport`, `unauthorized`, `rejected`, `invalid_response`,
/// `invalid_configuration` (URL, API key or CA bundle), `invalid_input` or
/// `other`.
pub fn upload_error_cause(error: &VaultError) -> &'static str {
    match error {
        VaultError::Unreachable { .. } => "unreachable",
        VaultError::TimedOut { .. } => "timed_out",
        VaultError::Transport { .. } => "transport",
        VaultError::Unauthorized { .. } => "unauthorized",
        VaultError::Rejected { .. } => "rejected",
        VaultError::InvalidResponse { .. } => "invalid_response",
        VaultError::InvalidUrl { .. } | VaultError::InvalidApiKey { .. } | VaultError::InvalidCaBundle { .. } => {
            "invalid_configuration"
        }
        VaultError::InvalidInput { .. } => "invalid_input",
        _ => "other",
    }
}

/// Sets the number of messages accepted and not yet finished, for a queue
/// that tracks its own size.
pub fn set_queue_size(messages: u64) {
    gauge!(QUEUE_MESSAGES).set(messages as f64);
}

/// Adds one message to the number of messages accepted and not yet finished.
pub fn increment_queue_size() {
    gauge!(QUEUE_MESSAGES).increment(1.0);
}

/// Removes one message from the number of messages accepted and not yet
/// finished.
pub fn decrement_queue_size() {
    gauge!(QUEUE_MESSAGES).decrement(1.0);
}

/// One message in processing, counted in `mailgate_queue_messages` from
/// [`InProcessing::start`] until the value is dropped, also when the
/// processing future is cancelled.
#[must_use = "the message leaves the queue gauge when this value is dropped"]
pub(crate) struct InProcessing(());

impl InProcessing {
    /// Counts one more message in processing.
    pub(crate) fn start() -> InProcessing {
        increment_queue_size();
        InProcessing(())
    }
}

impl Drop for InProcessing {
    fn drop(&mut self) {
        decrement_queue_size();
    }
}
