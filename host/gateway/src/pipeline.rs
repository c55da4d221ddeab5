//! Processing of one accepted message, from the end of DATA to the next hop.
//!
//! The steps, in order:
//! 1. parse and classify the parts;
//! 2. run every rule in a fresh sandbox (stage `before-scan`) and merge the
//!    actions into a [`Plan`]; reject a blocked message, without any scan or
//!    vault action;
//! 3. scan the attachments that no rule excluded;
//! 4. sanitize the attachments that rules asked for and the scan did not
//!    block;
//! 5. run every rule again with the verdicts (stage `after-scan`), merge
//!    the actions into the plan, and reject a blocked message, again without
//!    any vault action;
//! 6. remove the blocked attachments and upload the chosen files as one
//!    group into the message's folder;
//! 7. rewrite the message (sanitized files in place, removed parts cut out,
//!    the notice added) and prepend a `Received` header;
//! 8. deliver.
//!
//! Any failure ends processing before delivery, so a message is never passed
//! on unprocessed. In before-queue mode [`Pipeline`] is the SMTP handler and
//! the client gets 451 or 550 as [`ProcessError::into_outcome`] decides. In
//! after-queue mode the queue worker calls [`Pipeline::prepare`] and
//! [`Pipeline::deliver`] separately and retries or bounces.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::sync::Arc;

use chrono::Utc;
use ipnet::IpNet;
use mailgate_delivery::{Delivery, OutboundEnvelope};
use mailgate_history::{AsyncHistoryStore, MessageRecord};
use mailgate_message::{
    Envelope, FolderName, Link, Note, NoticePosition, NoticeTemplate, ParsedMessage, PartId, Replacement, Rewrite, Withheld, rewrite,
};
use mailgate_rules::{PartSanitization, ScanFacts};
use mailgate_smtp::{MessageHandler, NoSink, Outcome, ReceivedMessage, RecipientToVerify, RecipientVerdict};
use mailgate_vault::{UploadFile, VaultClient};
use tracing::Instrument;

use crate::config::UploadFailurePolicy;
use crate::failure::ProcessError;
use crate::ids::QueueId;
use crate::lookahead::RecipientLookahead;
use crate::matching::Direction;
use crate::plan::Plan;
use crate::report::{ProcessReport, failed_upload, outcome_of};
use crate::rule_set::{Evaluation, RuleSet, SharedRuleSet, join_runs};
use crate::scanning::{MessageScan, ScanStage};
use crate::sanitizing::{SanitizeStage, SanitizedPart};
use crate::uploads::{UploadKind, planned_uploads, record_failed, record_uploaded};

/// Settings of the pipeline that do not change while the gateway runs.
#[derive(Clone, Debug)]
pub struct PipelineSettings {
    /// First level of every vault folder.
    pub root_folder: String,
    /// Name of this gateway in the `Received` header.
    pub hostname: String,
    /// Client networks whose messages are outbound.
    pub trusted_networks: Vec<IpNet>,
    /// Whether to add the `X-Mailgate-Rule-Set` header.
    pub add_rule_set_header: bool,
    /// Policy for a message whose upload fails.
    pub upload_failure: UploadFailurePolicy,
    /// Texts, position and style of the notice.
    pub notice: NoticeTemplate,
}

/// The message handler the SMTP server calls.
pub struct Pipeline {
    rule_set: SharedRuleSet,
    vault: VaultClient,
    delivery: Delivery,
    history: Option<AsyncHistoryStore>,
    settings: PipelineSettings,
    lookahead: Option<Arc<RecipientLookahead>>,
    scan: Option<Arc<ScanStage>>,
    sanitizer: Option<Arc<SanitizeStage>>,
}

impl Pipeline {
    /// Creates a pipeline that runs the current set in `rule_set`, uploads
    /// through `vault`, delivers with `delivery` and records each message in
    /// `history`, when given.
    pub fn new(
        rule_set: SharedRuleSet,
        vault: VaultClient,
        delivery: Delivery,
        history: Option<AsyncHistoryStore>,
        settings: PipelineSettings,
    ) -> Pipeline {
        Pipeline { rule_set, vault, delivery, history, settings, lookahead: None, scan: None, sanitizer: None }
    }

    /// Scans the attachments of every message with `stage` before the
    /// rules run.
    pub fn with_scanning(mut self, stage: Arc<ScanStage>) -> Pipeline {
        self.scan = Some(stage);
        self
    }

    /// Sanitizes the attachments that rules ask for with `stage`. Without
    /// it, such requests are logged and the attachments stay as received.
    pub fn with_sanitizing(mut self, stage: Arc<SanitizeStage>) -> Pipeline {
        self.sanitizer = Some(stage);
        self
    }

    /// Checks recipients at RCPT time with `lookahead`.
    pub fn with_lookahead(mut self, lookahead: Arc<RecipientLookahead>) -> Pipeline {
        self.lookahead = Some(lookahead);
        self
    }

    /// Processes one message and delivers it; returns the next hop's
    /// receipt as text. Used in before-queue mode, where the client waits.
    async fn process(&self, received: ReceivedMessage, report: &mut ProcessReport) -> Result<String, ProcessError> {
        let outbound = self.prepare(received.data, Some(received.client_address), report).await?;
        let envelope = OutboundEnvelope { mail_from: report.envelope.mail_from.clone(), rcpt_to: report.envelope.rcpt_to.clone() };
        self.deliver(&envelope, &outbound).await
    }

    /// Runs steps 1 to 7 on the message `data` from `client_address`: parse,
    /// rules, scan, sanitize, rules again, upload and rewrite. Returns the
    /// outbound message with its trace headers, ready for delivery, and
    /// fills `report`.
    pub(crate) async fn prepare(
        &self,
        data: Vec<u8>,
        client_address: Option<IpAddr>,
        report: &mut ProcessReport,
    ) -> Result<Vec<u8>, ProcessError> {
        let envelope = report.envelope.clone();
        let direction = Direction::of(client_address, &self.settings.trusted_networks);
        let rule_set = self.rule_set.load_full();
        tracing::Span::current().record("rule_set", rule_set.id().as_str());
        report.rule_set_id = Some(rule_set.id().to_string());

        let message = Arc::new(ParsedMessage::parse(data)?);
        report.describe(&message);
        let message_id = message.message_id.clone().unwrap_or_default();
        tracing::Span::current().record("message_id", message_id.as_str());
        tracing::info!(size = message.raw.len(), parts = message.parts.len(), ?direction, "message received");
        for defect in &message.defects {
            tracing::info!(%defect, "message defect repaired or skipped");
        }

        let stage = RuleStage { rule_set: &rule_set, message: &message, envelope: &envelope, direction };
        let mut plan = stage.run(None, report).await?;

        let scan = match &self.scan {
            Some(scanner) => scanner.scan(&message, &plan.skip_scan).await?,
            None => MessageScan::scanning_off(&message),
        };
        report.part_verdicts = scan.verdicts.clone();

        let mut withheld = Vec::new();
        let sanitized = self.sanitize(&message, &mut plan, &scan, &mut withheld, report).await;
        mark_sanitized(report, &sanitized);

        let facts = ScanFacts { scans: scan.states.clone(), sanitized: sanitization_facts(&sanitized) };
        plan.merge(stage.run(Some(facts), report).await?);

        let blocked = scan.apply(&mut plan);
        let uploaded = self.upload(&message, &mut plan, &scan, &sanitized, &envelope, report).await?;

        let blocked = blocked.into_iter().map(|(id, mut entry)| {
            entry.link = uploaded.blocked.get(&id).filter(|_| plan.link).cloned();
            entry
        });
        let changes = Rewrite {
            remove: plan.remove.clone(),
            replace: replacements(&sanitized),
            links: if plan.link { uploaded.links } else { Vec::new() },
            withheld: blocked.chain(withheld).collect(),
            notes: plan.notes.iter().map(|(position, text)| Note { text: text.clone(), position: notice_position(*position) }).collect(),
            template: self.settings.notice.clone(),
        };
        let rewritten = rewrite(&message, &changes);
        tracing::info!(removed = plan.remove.len(), uploaded = plan.upload.len(), linked = changes.links.len(), "message processed");
        Ok(self.with_trace_headers(&report.queue_id, &envelope, &rule_set, &rewritten))
    }

    /// Step 8: hands `message` to the next hop for `envelope` and returns
    /// the next hop's receipt as text.
    pub(crate) async fn deliver(&self, envelope: &OutboundEnvelope, message: &[u8]) -> Result<String, ProcessError> {
        let receipt = self.delivery.deliver(envelope, message).await?;
        tracing::info!(%receipt, "message delivered");
        Ok(receipt.to_string())
    }

    /// Sanitizes the attachments that rules asked for and the scan did not
    /// block; returns the sanitized copies by part. Parts that the failure
    /// policy removes join `plan.remove`, with their notice entries in
    /// `withheld`; every failure is noted in the part's verdict.
    async fn sanitize(
        &self,
        message: &ParsedMessage,
        plan: &mut Plan,
        scan: &MessageScan,
        withheld: &mut Vec<Withheld>,
        report: &mut ProcessReport,
    ) -> BTreeMap<PartId, SanitizedPart> {
        let requested: BTreeSet<PartId> = plan.sanitize.iter().copied().filter(|id| !scan.is_blocked(*id)).collect();
        if requested.is_empty() {
            return BTreeMap::new();
        }
        let Some(sanitizer) = &self.sanitizer else {
            tracing::warn!(parts = requested.len(), "sanitization requested but no sanitizer is set up; attachments kept as received");
            return BTreeMap::new();
        };

        let result = sanitizer.sanitize(message, &requested, &scan.raw).await;
        for failure in &result.failed {
            let verdict = report.part_verdicts.iter_mut().find(|verdict| verdict.part_id == failure.part_id.0);
            if let Some(verdict) = verdict {
                verdict.verdict.push_str(&format!("; not sanitized: {}", failure.reason));
            }
        }
        plan.remove.extend(result.removed_parts());
        withheld.extend(result.withheld());
        tracing::info!(sanitized = result.sanitized.len(), failed = result.failed.len(), "attachments sanitized");
        result.sanitized.into_iter().map(|part| (part.part_id, part)).collect()
    }

    /// Uploads the planned files as one group into the message's folder and
    /// records the outcome of every removed or uploaded part in `report`.
    ///
    /// When the upload fails and `vault.upload_failure` is
    /// `keep-attachment`, attachments that were to leave the message stay
    /// in it. Blocked files and originals of sanitized files cannot go back
    /// into the message, so a group with such files fails the message
    /// temporarily, as with `retry-later`.
    async fn upload(
        &self,
        message: &Arc<ParsedMessage>,
        plan: &mut Plan,
        scan: &MessageScan,
        sanitized: &BTreeMap<PartId, SanitizedPart>,
        envelope: &Envelope,
        report: &mut ProcessReport,
    ) -> Result<UploadedLinks, ProcessError> {
        let folder = FolderName::for_message(&self.settings.root_folder, message, &envelope.mail_from, report.received_at);
        let blocked = |id: PartId| scan.is_blocked(id);
        let uploads = planned_uploads(message, plan, &blocked, sanitized, &folder.to_string(), report);
        if uploads.is_empty() {
            return Ok(UploadedLinks::default());
        }

        let files: Vec<UploadFile> = uploads.iter().map(|upload| upload.file.clone()).collect();
        let stored = match crate::metrics::count_upload(self.vault.upload_group(&files).await) {
            Ok(stored) => stored,
            Err(error) => {
                record_failed(&uploads, &failed_upload(&error), report);
                let only_attachments = uploads.iter().all(|upload| upload.kind == UploadKind::Attachment);
                if self.settings.upload_failure == UploadFailurePolicy::KeepAttachment && only_attachments {
                    tracing::warn!(%error, %folder, files = files.len(), "upload failed; attachments stay in the message");
                    for upload in &uploads {
                        plan.remove.remove(&upload.part);
                    }
                    return Ok(UploadedLinks::default());
                }
                if self.settings.upload_failure == UploadFailurePolicy::KeepAttachment {
                    tracing::error!(
                        %error, %folder, files = files.len(),
                        "upload failed; the group holds blocked files or sanitized originals, which cannot stay in the message, so the message gets a temporary failure"
                    );
                } else {
                    tracing::error!(%error, %folder, files = files.len(), "upload failed; message gets a temporary failure");
                }
                return Err(error.into());
            }
        };
        tracing::info!(%folder, files = stored.len(), "attachments uploaded");
        record_uploaded(&uploads, &stored, report);

        let mut links = UploadedLinks::default();
        for (upload, stored) in uploads.iter().zip(stored) {
            let remark = (upload.kind == UploadKind::Original).then(|| "original before sanitization".to_string());
            let link = Link { file_name: stored.file_name, url: stored.file_url, size: upload.file.content.len() as u64, remark };
            match upload.kind {
                UploadKind::Blocked => {
                    links.blocked.insert(upload.part, link);
                }
                UploadKind::Attachment | UploadKind::Original => links.links.push(link),
            }
        }
        Ok(links)
    }

    /// Stores the report with its outcome; a history that cannot be written
    /// is logged and does not change the reply to the client.
    async fn record(&self, report: ProcessReport, result: &Result<String, ProcessError>) {
        self.record_final(report.into_record(outcome_of(result))).await;
    }

    /// Stores the record of a message with its final outcome in the
    /// history, when it is enabled; a failure is logged.
    pub(crate) async fn record_final(&self, record: MessageRecord) {
        let Some(history) = &self.history else { return };
        if let Err(error) = history.record(record).await {
            tracing::error!(%error, "cannot record the message in the history");
        }
    }

    /// Prepends a `Received` header naming the client and this gateway and,
    /// when configured, the `X-Mailgate-Rule-Set` header.
    fn with_trace_headers(&self, queue_id: &QueueId, envelope: &Envelope, rule_set: &RuleSet, message: &[u8]) -> Vec<u8> {
        let helo: String = envelope.helo.chars().filter(|c| c.is_ascii_graphic()).take(255).collect();
        let mut header = format!(
            "Received: from {} ([{}])\r\n\tby {} (mailgate) with ESMTP id {};\r\n\t{}\r\n",
            if helo.is_empty() { "unknown" } else { &helo },
            envelope.client_address,
            self.settings.hostname,
            queue_id,
            Utc::now().to_rfc2822()
        );
        if self.settings.add_rule_set_header {
            header.push_str(&format!("X-Mailgate-Rule-Set: {}\r\n", rule_set.id()));
        }

        let mut output = Vec::with_capacity(header.len() + message.len());
        output.extend_from_slice(header.as_bytes());
        output.extend_from_slice(message);
        output
    }
}

impl MessageHandler for Pipeline {
    type Sink = NoSink;

    fn handle(&self, message: ReceivedMessage) -> impl std::future::Future<Output = Outcome> + Send {
        let queue_id = QueueId::generate();
        let span = tracing::info_span!(
            "message",
            queue_id = %queue_id,
            session = %message.session_id,
            message_id = tracing::field::Empty,
            rule_set = tracing::field::Empty,
        );

        async move {
            let _in_processing = crate::metrics::InProcessing::start();
            let envelope = Envelope {
                client_address: message.client_address.to_string(),
                helo: message.helo.clone(),
                mail_from: message.mail_from.clone(),
                rcpt_to: message.rcpt_to.clone(),
            };
            let mut report = ProcessReport::new(queue_id.clone(), envelope, message.data.len());
            let result = self.process(message, &mut report).await;
            self.record(report, &result).await;
            crate::metrics::count_message(&result);

            match result {
                Ok(_) => Outcome::Accepted { queue_id: queue_id.to_string() },
                Err(error) => {
                    if error.is_temporary() {
                        tracing::warn!(%error, "message not accepted, temporary failure");
                    } else {
                        tracing::info!(%error, "message rejected, permanent failure");
                    }
                    error.into_outcome(queue_id.as_str())
                }
            }
        }
        .instrument(span)
    }

    fn verify_recipient(
        &self,
        _client_address: std::net::IpAddr,
        request: RecipientToVerify,
    ) -> impl std::future::Future<Output = RecipientVerdict> + Send {
        crate::lookahead::verify(self.lookahead.clone(), request)
    }
}

/// The links an upload gave: one per uploaded attachment or original, in
/// upload order, and one per uploaded blocked attachment, by part.
#[derive(Debug, Default)]
struct UploadedLinks {
    links: Vec<Link>,
    blocked: BTreeMap<PartId, Link>,
}

/// One message's rule runs: the same rule set, message and envelope in
/// both stages.
struct RuleStage<'a> {
    rule_set: &'a Arc<RuleSet>,
    message: &'a Arc<ParsedMessage>,
    envelope: &'a Envelope,
    direction: Direction,
}

impl RuleStage<'_> {
    /// Runs the rules before the scan (`facts` is `None`) or after it, and
    /// joins their runs into `report`.
    ///
    /// # Errors
    ///
    /// [`ProcessError::Rule`] when a rule failed under the temporary-failure
    /// policy, [`ProcessError::Blocked`] when a rule blocked the message.
    async fn run(&self, facts: Option<ScanFacts>, report: &mut ProcessReport) -> Result<Plan, ProcessError> {
        let evaluation = run_rules(self.rule_set.clone(), self.message, self.envelope, self.direction, facts).await?;
        crate::metrics::count_rule_actions(&evaluation.runs);
        join_runs(&mut report.rule_runs, evaluation.runs);

        if let Some(failure) = evaluation.temporary_failure {
            return Err(ProcessError::Rule(failure));
        }
        if let Some((rule, reason)) = evaluation.plan.block {
            tracing::info!(%rule, %reason, "message blocked");
            return Err(ProcessError::Blocked { rule, reason });
        }
        Ok(evaluation.plan)
    }
}

/// Converts the sanitized copies into replacements of their parts for the
/// rewrite.
fn replacements(sanitized: &BTreeMap<PartId, SanitizedPart>) -> BTreeMap<PartId, Replacement> {
    sanitized
        .iter()
        .map(|(id, part)| {
            let replacement = Replacement {
                content: part.content.clone(),
                file_name: part.file_name.clone(),
                content_type: part.content_type.clone(),
            };
            (*id, replacement)
        })
        .collect()
}

fn notice_position(position: mailgate_rules::NoticePosition) -> NoticePosition {
    match position {
        mailgate_rules::NoticePosition::Top => NoticePosition::Top,
        mailgate_rules::NoticePosition::Bottom => NoticePosition::Bottom,
    }
}

/// Marks the scan verdicts of sanitized parts for the history.
fn mark_sanitized(report: &mut ProcessReport, sanitized: &BTreeMap<PartId, SanitizedPart>) {
    for verdict in &mut report.part_verdicts {
        verdict.sanitized |= sanitized.contains_key(&PartId(verdict.part_id));
    }
}

/// Converts the sanitization results into the facts that the rules of the
/// second stage see.
fn sanitization_facts(sanitized: &BTreeMap<PartId, SanitizedPart>) -> BTreeMap<PartId, PartSanitization> {
    sanitized
        .iter()
        .map(|(id, file)| {
            let facts = PartSanitization {
                removed: file.removed.clone(),
                original_size: file.original_size,
                sanitized_size: file.content.len() as u64,
                file_name: file.file_name.clone(),
            };
            (*id, facts)
        })
        .collect()
}

/// Runs the rule set on a blocking thread, since rules block for up to their
/// time limit.
async fn run_rules(
    rule_set: Arc<RuleSet>,
    message: &Arc<ParsedMessage>,
    envelope: &Envelope,
    direction: Direction,
    facts: Option<ScanFacts>,
) -> Result<Evaluation, ProcessError> {
    let message = Arc::clone(message);
    let envelope = envelope.clone();
    let span = tracing::Span::current();

    tokio::task::spawn_blocking(move || {
        span.in_scope(|| rule_set.evaluate(&message, &envelope, direction, facts.as_ref()))
    })
    .await
    .map_err(|error| ProcessError::Internal(format!("rule worker failed: {error}")))
}
