//! The report of one message: facts collected while it is processed and
//! stored in the history afterwards.

use chrono::{DateTime, Utc};
use mailgate_history::{AttachmentRecord, MessageRecord, Outcome, PartVerdict, RuleResult, RuleStatus, UploadStatus};
use mailgate_message::{Envelope, ParsedMessage};
use mailgate_vault::VaultError;

use crate::failure::ProcessError;
use crate::ids::QueueId;
use crate::rule_set::RuleRun;

/// The facts about one message that the history keeps.
#[derive(Debug)]
pub(crate) struct ProcessReport {
    pub(crate) queue_id: QueueId,
    pub(crate) received_at: DateTime<Utc>,
    pub(crate) envelope: Envelope,
    pub(crate) size: u64,
    pub(crate) subject: Option<String>,
    pub(crate) message_id: Option<String>,
    pub(crate) rule_set_id: Option<String>,
    pub(crate) rule_runs: Vec<(String, RuleRun)>,
    pub(crate) attachments: Vec<AttachmentRecord>,
    pub(crate) part_verdicts: Vec<PartVerdict>,
    pub(crate) defects: Vec<String>,
}

impl ProcessReport {
    /// Starts the report of a message as it arrived.
    pub(crate) fn new(queue_id: QueueId, envelope: Envelope, size: usize) -> ProcessReport {
        ProcessReport {
            queue_id,
            received_at: Utc::now(),
            envelope,
            size: size as u64,
            subject: None,
            message_id: None,
            rule_set_id: None,
            rule_runs: Vec::new(),
            attachments: Vec::new(),
            part_verdicts: Vec::new(),
            defects: Vec::new(),
        }
    }

    /// Takes the header facts of the parsed message.
    pub(crate) fn describe(&mut self, message: &ParsedMessage) {
        self.subject = message.subject.clone();
        self.message_id = message.message_id.clone();
        self.defects = message.defects.iter().map(ToString::to_string).collect();
    }

    /// Builds the history record with the final `outcome`.
    pub(crate) fn into_record(self, outcome: Outcome) -> MessageRecord {
        let rule_results = self
            .rule_runs
            .into_iter()
            .map(|(rule, run)| RuleResult {
                rule,
                status: match run {
                    RuleRun::NotMatched => RuleStatus::NotMatched,
                    RuleRun::Ran(actions) => RuleStatus::Ran { actions: actions.iter().map(ToString::to_string).collect() },
                    RuleRun::Failed(error) => RuleStatus::Failed { error },
                },
            })
            .collect();

        MessageRecord {
            queue_id: self.queue_id.to_string(),
            received_at: self.received_at,
            client_address: self.envelope.client_address,
            mail_from: self.envelope.mail_from,
            rcpt_to: self.envelope.rcpt_to,
            subject: self.subject,
            message_id: self.message_id,
            size: self.size,
            rule_set_id: self.rule_set_id,
            rule_results,
            part_verdicts: self.part_verdicts,
            outcome,
            attachments: self.attachments,
            defects: self.defects,
        }
    }
}

/// Converts a processing result into the history's outcome.
pub(crate) fn outcome_of(result: &Result<String, ProcessError>) -> Outcome {
    match result {
        Ok(reply) => Outcome::Delivered { reply: reply.clone() },
        Err(ProcessError::Blocked { rule, reason }) => Outcome::Blocked { rule: rule.clone(), reason: reason.clone() },
        Err(error) if error.is_temporary() => Outcome::TemporaryFailure { reason: error.to_string() },
        Err(error) => Outcome::Rejected { reason: error.to_string() },
    }
}

/// Builds the upload status recorded for every file of a failed group
/// upload.
pub(crate) fn failed_upload(error: &VaultError) -> UploadStatus {
    let cause = match error {
        VaultError::Unreachable { .. } => "the vault cannot be reached",
        VaultError::TimedOut { .. } => "the vault did not respond in time",
        VaultError::Unauthorized { .. } => "the vault rejected the API key",
        VaultError::Rejected { .. } => "the vault rejected the request",
        VaultError::InvalidUrl { .. } => "the vault URL is invalid",
        _ => "the vault's response was not understood",
    };
    UploadStatus::Failed { error: error.to_string(), cause: Some(cause.to_string()) }
}
