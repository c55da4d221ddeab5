//! One attempt on one queued message: process it unless an earlier attempt
//! did, deliver it, and then remove it, defer it or give it up with a
//! bounce. Every outcome is written to the spool before the attempt ends.
//!
//! The first attempt on a new message may start before the message's spool
//! commit ended (see `queued.rs`). It processes the message from memory and
//! waits for the commit before its first spool write.
//!
//! A processed message goes to the next hop at once, and its outbound form
//! is stored in the spool only when that delivery fails, which saves two
//! file writes and their renames for most messages. A crash during the
//! first delivery therefore processes the message again after the restart:
//! its rules run again and its attachments are uploaded once more.

use std::sync::Arc;

use chrono::Utc;
use mailgate_delivery::OutboundEnvelope;
use mailgate_history::{MessageRecord, Outcome};
use mailgate_message::Envelope;
use mailgate_queue::{Entry, QueueId, RetryDecision, RetryPolicy, Spool, SpoolError, Stage};
use tokio::sync::mpsc;
use tracing::Instrument;

use crate::failure::ProcessError;
use crate::pipeline::Pipeline;
use crate::queue_bounce::{FinalFailure, bounce_for};
use crate::queued::{Fresh, Queued, wait_committed};
use crate::report::ProcessReport;

/// Shared state of all attempts.
pub(crate) struct QueueContext {
    /// The spool of queued messages.
    pub(crate) spool: Arc<Spool>,
    /// Processing and delivery.
    pub(crate) pipeline: Arc<Pipeline>,
    /// When to retry and when to give up.
    pub(crate) policy: RetryPolicy,
    /// Name of this gateway in bounces.
    pub(crate) hostname: String,
    /// Hands new entries, such as bounces, to the queue runner.
    pub(crate) runner: mpsc::UnboundedSender<Queued>,
}

/// The end of an attempt.
#[derive(Debug)]
pub(crate) enum AttemptResult {
    /// The message was delivered, bounced or dropped, and left the spool.
    Finished,
    /// The message stays queued until the entry's `next_attempt`.
    Deferred(Box<Entry>),
}

/// Outcome stored in the processing record until the final one is known.
fn pending_outcome() -> Outcome {
    Outcome::TemporaryFailure { reason: "queued for delivery".to_string() }
}

/// Makes one attempt on the entry of `queued`.
pub(crate) async fn attempt(context: Arc<QueueContext>, queued: Queued) -> AttemptResult {
    let Queued { mut entry, fresh } = queued;
    entry.attempts = entry.attempts.saturating_add(1);
    let span = tracing::info_span!(
        "message",
        queue_id = %entry.queue_id,
        attempt = entry.attempts,
        message_id = tracing::field::Empty,
        rule_set = tracing::field::Empty,
    );
    run_attempt(&context, entry, fresh).instrument(span).await
}

/// Runs the attempt. `fresh` carries the message data and the commit
/// report of a new message.
async fn run_attempt(context: &QueueContext, mut entry: Entry, fresh: Option<Fresh>) -> AttemptResult {
    let (data, mut committed) = match fresh {
        Some(Fresh { data, committed }) => (data, Some(committed)),
        None => (None, None),
    };
    tracing::debug!(stage = ?entry.stage, in_memory = data.is_some(), "attempt started");

    if data.is_none()
        && let Some(pending) = committed.take()
        && !wait_committed(pending).await
    {
        return dropped_uncommitted();
    }

    let (mut record, outbound, stored) = match entry.stage {
        Stage::Received => {
            let prepared = prepare(context, &entry, data).await;
            if let Some(pending) = committed
                && !wait_committed(pending).await
            {
                return dropped_uncommitted();
            }
            match prepared {
                Ok((record, outbound)) => (record, outbound, false),
                Err((record, error)) => return handle_failure(context, entry, record, error).await,
            }
        }
        Stage::Processed => {
            let outbound = read_data(&context.spool, &entry).await;
            let record = saved_record(&entry, outbound.as_ref().map_or(0, Vec::len));
            record_message_fields(&record);
            match outbound {
                Ok(outbound) => (record, outbound, true),
                Err(error) => return handle_failure(context, entry, record, error).await,
            }
        }
    };

    let envelope = OutboundEnvelope { mail_from: entry.envelope.mail_from.clone(), rcpt_to: entry.envelope.rcpt_to.clone() };
    match context.pipeline.deliver(&envelope, &outbound).await {
        Ok(reply) => {
            record.outcome = Outcome::Delivered { reply };
            finish(context, &entry.queue_id, record).await
        }
        Err(error) if stored => handle_failure(context, entry, record, error).await,
        Err(error) => {
            let record = match store_processed(context, &mut entry, record, outbound).await {
                Ok((record, _)) => record,
                Err((record, store_error)) => {
                    tracing::error!(error = %store_error, "cannot store the processed message; the next attempt processes it again");
                    record
                }
            };
            handle_failure(context, entry, record, error).await
        }
    }
}

/// Ends the attempt on a new message whose spool commit failed. The client
/// got a temporary failure for it, so nothing is recorded or delivered.
fn dropped_uncommitted() -> AttemptResult {
    tracing::warn!("the message could not be spooled and the client was asked to send it again; its processing is dropped");
    AttemptResult::Finished
}

/// Processes a received message, from `data` when it is in memory and from
/// the spool otherwise, and writes nothing. Returns the processing record
/// and the outbound message, or the record so far and the failure.
async fn prepare(
    context: &QueueContext,
    entry: &Entry,
    data: Option<Vec<u8>>,
) -> Result<(MessageRecord, Vec<u8>), (MessageRecord, ProcessError)> {
    let data = match data {
        Some(data) => Ok(data),
        None => read_data(&context.spool, entry).await,
    };
    let size = data.as_ref().map_or(0, Vec::len);
    let mut report = ProcessReport::new(entry.queue_id.clone(), message_envelope(entry), size);
    report.received_at = entry.arrival;
    let data = match data {
        Ok(data) => data,
        Err(error) => return Err((report.into_record(pending_outcome()), error)),
    };

    let client_address = entry.envelope.client_address.parse().ok();
    let outbound = match context.pipeline.prepare(data, client_address, &mut report).await {
        Ok(outbound) => outbound,
        Err(error) => return Err((report.into_record(pending_outcome()), error)),
    };
    Ok((report.into_record(pending_outcome()), outbound))
}

/// Stores the outbound message of a processed message in the spool and
/// moves `entry` to [`Stage::Processed`].
async fn store_processed(
    context: &QueueContext,
    entry: &mut Entry,
    record: MessageRecord,
    outbound: Vec<u8>,
) -> Result<(MessageRecord, Vec<u8>), (MessageRecord, ProcessError)> {
    let saved = serde_json::to_value(&record).ok();
    let mut processed = entry.clone();
    let stored = on_spool(&context.spool, move |spool| {
        spool.store_processed(&mut processed, &outbound, saved).map(|()| (processed, outbound))
    })
    .await;
    match stored {
        Ok((processed, outbound)) => {
            *entry = processed;
            Ok((record, outbound))
        }
        Err(error) => Err((record, error)),
    }
}

/// Decides what follows a failed attempt: a retry, or giving up with a
/// bounce when the failure is permanent or the message too old.
async fn handle_failure(context: &QueueContext, mut entry: Entry, record: MessageRecord, error: ProcessError) -> AttemptResult {
    entry.last_error = Some(error.to_string());
    if !error.is_temporary() {
        return give_up(context, entry, record, FinalFailure::Permanent(error)).await;
    }

    match context.policy.after_failure(entry.arrival, entry.attempts, Utc::now()) {
        RetryDecision::Expire => {
            let failure = FinalFailure::Expired { attempts: entry.attempts, last_error: error.to_string() };
            give_up(context, entry, record, failure).await
        }
        RetryDecision::RetryAt(next_attempt) => {
            entry.next_attempt = next_attempt;
            tracing::warn!(%error, attempt = entry.attempts, %next_attempt, "attempt failed; message deferred");
            defer(context, entry).await
        }
    }
}

/// Writes the retry state of `entry` and returns it to the runner. When the
/// state cannot be written, the message is still retried at the time in
/// memory, and a restart uses the state written before.
async fn defer(context: &QueueContext, entry: Entry) -> AttemptResult {
    let stored = entry.clone();
    if let Err(error) = on_spool(&context.spool, move |spool| spool.update(&stored)).await {
        tracing::error!(%error, "cannot write the retry state to the spool");
    }
    AttemptResult::Deferred(Box::new(entry))
}

/// Gives a message up: queues a bounce to its sender (none for the null
/// sender), records the final outcome and removes the message. When the
/// bounce cannot be queued, the message stays queued instead.
async fn give_up(context: &QueueContext, mut entry: Entry, mut record: MessageRecord, failure: FinalFailure) -> AttemptResult {
    let sender = entry.envelope.mail_from.clone();
    let note = if sender.is_empty() {
        tracing::warn!(%failure, "message failed for good; its sender is null, so no bounce is sent");
        "not bounced: null sender".to_string()
    } else {
        match queue_bounce(context, &entry, &failure).await {
            Ok(bounce_id) => {
                tracing::info!(%failure, %bounce_id, "message failed for good; bounce queued for the sender");
                format!("bounced to <{sender}> as {bounce_id}")
            }
            Err(error) => {
                let now = Utc::now();
                let delay = chrono::Duration::from_std(context.policy.delay(entry.attempts)).unwrap_or(chrono::Duration::zero());
                entry.next_attempt = now.checked_add_signed(delay).unwrap_or(now);
                tracing::error!(%error, %failure, next_attempt = %entry.next_attempt, "cannot queue the bounce; message kept for a later attempt");
                return defer(context, entry).await;
            }
        }
    };

    record.outcome = failure.history_outcome(&note);
    finish(context, &entry.queue_id, record).await
}

/// Builds the bounce of `entry` and stores it in the spool as a new
/// message, ready for delivery. Returns its queue id.
async fn queue_bounce(context: &QueueContext, entry: &Entry, failure: &FinalFailure) -> Result<QueueId, ProcessError> {
    let original_entry = entry.clone();
    let original = on_spool(&context.spool, move |spool| spool.read_original(&original_entry)).await?;

    let now = Utc::now();
    let (envelope, message) = bounce_for(entry, failure, &original, &context.hostname, now);
    let bounce = on_spool(&context.spool, move |spool| spool.accept(envelope, &message, Stage::Processed, now)).await?;
    crate::metrics::set_queue_size(context.spool.len() as u64);

    let bounce_id = bounce.queue_id.clone();
    if context.runner.send(Queued::stored(bounce)).is_err() {
        tracing::warn!(%bounce_id, "the queue runner has stopped; the bounce is sent after the next start");
    }
    Ok(bounce_id)
}

/// Records the final outcome and removes the message from the spool.
async fn finish(context: &QueueContext, queue_id: &QueueId, record: MessageRecord) -> AttemptResult {
    crate::metrics::count_outcome(record.outcome.kind());
    context.pipeline.record_final(record).await;

    let removed = queue_id.clone();
    if let Err(error) = on_spool(&context.spool, move |spool| spool.remove(&removed)).await {
        tracing::error!(%error, "cannot remove the finished message from the spool; a restart may deliver it again");
    }
    crate::metrics::set_queue_size(context.spool.len() as u64);
    AttemptResult::Finished
}

/// Reads the data the next step of `entry` works on.
async fn read_data(spool: &Arc<Spool>, entry: &Entry) -> Result<Vec<u8>, ProcessError> {
    let entry = entry.clone();
    on_spool(spool, move |spool| spool.read_data(&entry)).await
}

/// Runs `operation` on a blocking thread, because spool operations wait
/// for the disk.
async fn on_spool<T, F>(spool: &Arc<Spool>, operation: F) -> Result<T, ProcessError>
where
    T: Send + 'static,
    F: FnOnce(&Spool) -> Result<T, SpoolError> + Send + 'static,
{
    let spool = Arc::clone(spool);
    tokio::task::spawn_blocking(move || operation(&spool))
        .await
        .map_err(|error| ProcessError::Internal(format!("spool worker failed: {error}")))?
        .map_err(ProcessError::from)
}

/// Returns the processing record saved in a processed entry, or a record
/// with the envelope only, for a message the gateway generated itself or a saved
/// record that cannot be read back.
fn saved_record(entry: &Entry, size: usize) -> MessageRecord {
    let saved = entry.processing_record.clone().and_then(|value| serde_json::from_value::<MessageRecord>(value).ok());
    saved.unwrap_or_else(|| {
        let mut report = ProcessReport::new(entry.queue_id.clone(), message_envelope(entry), size);
        report.received_at = entry.arrival;
        report.into_record(pending_outcome())
    })
}

/// Records the message id and the rule set of a message processed by an
/// earlier attempt in the attempt's span, as processing does for a new one.
fn record_message_fields(record: &MessageRecord) {
    let span = tracing::Span::current();
    if let Some(message_id) = &record.message_id {
        span.record("message_id", message_id.as_str());
    }
    if let Some(rule_set) = &record.rule_set_id {
        span.record("rule_set", rule_set.as_str());
    }
}

fn message_envelope(entry: &Entry) -> Envelope {
    Envelope {
        client_address: entry.envelope.client_address.clone(),
        helo: entry.envelope.helo.clone(),
        mail_from: entry.envelope.mail_from.clone(),
        rcpt_to: entry.envelope.rcpt_to.clone(),
    }
}
