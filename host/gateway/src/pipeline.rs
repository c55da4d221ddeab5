//! Processing of one accepted message, from the end of DATA to the next hop.
//!
//! The steps, in order:
//! 1. parse and classify the parts;
//! 2. run every rule in a fresh sandbox and merge the actions into a [`Plan`];
//! 3. reject a blocked message, without any vault action;
//! 4. upload the chosen attachments as one group into the message's folder;
//! 5. rewrite the message and prepend a `Received` header;
//! 6. deliver.
//!
//! Any failure ends processing before delivery, so a message is never passed
//! on unprocessed. In before-queue mode [`Pipeline`] is the SMTP handler and
//! the client gets 451 or 550 as [`ProcessError::into_outcome`] decides. In
//! after-queue mode the queue worker calls [`Pipeline::prepare`] and
//! [`Pipeline::deliver`] separately and retries or bounces.

use std::net::IpAddr;
use std::sync::Arc;

use chrono::Utc;
use mailgate_delivery::{Delivery, OutboundEnvelope};
use mailgate_message::{Envelope, FolderName, Link, ParsedMessage, Rewrite, StorageNames, rewrite};
use ipnet::IpNet;
use mailgate_history::{AsyncHistoryStore, AttachmentRecord, MessageRecord, UploadStatus};
use mailgate_smtp::{MessageHandler, Outcome, ReceivedMessage, RecipientToVerify, RecipientVerdict};
use mailgate_vault::{UploadFile, VaultClient};
use tracing::Instrument;

use crate::failure::ProcessError;
use crate::ids::QueueId;
use crate::lookahead::RecipientLookahead;
use crate::scanning::{MessageScan, ScanStage};
use crate::matching::Direction;
use crate::plan::Plan;
use crate::report::{ProcessReport, failed_upload, outcome_of};
use crate::rule_set::{Evaluation, RuleSet, SharedRuleSet};

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
        Pipeline { rule_set, vault, delivery, history, settings, lookahead: None, scan: None }
    }

    /// Scans the attachments of every message with `stage` before the
    /// rules run.
    pub fn with_scanning(mut self, stage: Arc<ScanStage>) -> Pipeline {
        self.scan = Some(stage);
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

    /// Runs steps 1 to 5 on the message `data` from `client_address`: parse,
    /// rules, block, upload and rewrite. Returns the outbound message with
    /// its trace headers, ready for delivery, and fills `report`.
    pub(crate) async fn prepare(
        &self,
        data: Vec<u8>,
        client_address: Option<IpAddr>,
        report: &mut ProcessReport,
    ) -> Result<Vec<u8>, ProcessError> {
        let arrival = report.received_at;
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

        let scan = match &self.scan {
            Some(stage) => stage.scan(&message).await?,
            None => MessageScan::default(),
        };
        report.part_verdicts = scan.verdicts.clone();

        let evaluation = run_rules(rule_set.clone(), &message, &envelope, direction).await?;
        crate::metrics::count_rule_actions(&evaluation.runs);
        report.rule_runs = evaluation.runs;
        if let Some(failure) = evaluation.temporary_failure {
            return Err(ProcessError::Rule(failure));
        }
        let mut plan = evaluation.plan;
        if let Some((rule, reason)) = plan.block {
            tracing::info!(%rule, %reason, "message blocked");
            return Err(ProcessError::Blocked { rule, reason });
        }
        let withheld = scan.apply(&mut plan);

        let links = self.upload(&message, &plan, &envelope, arrival, report).await?;
        let changes = Rewrite { remove: plan.remove.clone(), links: if plan.link { links } else { Vec::new() }, withheld };
        let rewritten = rewrite(&message, &changes);
        tracing::info!(removed = plan.remove.len(), uploaded = plan.upload.len(), linked = changes.links.len(), "message processed");
        Ok(self.with_trace_headers(&report.queue_id, &envelope, &rule_set, &rewritten))
    }

    /// Step 6: hands `message` to the next hop for `envelope` and returns
    /// the next hop's receipt as text.
    pub(crate) async fn deliver(&self, envelope: &OutboundEnvelope, message: &[u8]) -> Result<String, ProcessError> {
        let receipt = self.delivery.deliver(envelope, message).await?;
        tracing::info!(%receipt, "message delivered");
        Ok(receipt.to_string())
    }

    /// Uploads the planned parts as one group and returns a link per part,
    /// in part order. Records the outcome of every removed or uploaded part
    /// in `report`.
    async fn upload(
        &self,
        message: &ParsedMessage,
        plan: &Plan,
        envelope: &Envelope,
        arrival: chrono::DateTime<Utc>,
        report: &mut ProcessReport,
    ) -> Result<Vec<Link>, ProcessError> {
        let folder = FolderName::for_message(&self.settings.root_folder, message, &envelope.mail_from, arrival);
        let mut names = StorageNames::new();
        let mut files = Vec::new();
        for id in plan.remove.union(&plan.upload) {
            let Some(part) = message.part(*id) else { continue };
            let uploading = plan.upload.contains(id);
            let file_name = names.assign(part);
            report.attachments.push(AttachmentRecord {
                part_id: id.0,
                file_name: file_name.clone(),
                size: part.size(),
                folder: if uploading { folder.to_string() } else { String::new() },
                upload: UploadStatus::NotUploaded,
            });
            if uploading {
                files.push(UploadFile {
                    folder: folder.to_string(),
                    file_name,
                    content: bytes::Bytes::copy_from_slice(&part.content),
                });
            }
        }
        if files.is_empty() {
            return Ok(Vec::new());
        }

        let uploaded = match crate::metrics::count_upload(self.vault.upload_group(&files).await) {
            Ok(uploaded) => uploaded,
            Err(error) => {
                tracing::error!(%error, %folder, files = files.len(), "upload failed; message gets a temporary failure");
                let status = failed_upload(&error);
                for record in report.attachments.iter_mut().filter(|record| !record.folder.is_empty()) {
                    record.upload = status.clone();
                }
                return Err(error.into());
            }
        };
        tracing::info!(%folder, files = uploaded.len(), "attachments uploaded");

        let uploaded_records = report.attachments.iter_mut().filter(|record| !record.folder.is_empty());
        for (record, stored) in uploaded_records.zip(uploaded.iter()) {
            record.upload = UploadStatus::Uploaded { file_id: stored.file_id.to_string(), file_url: stored.file_url.clone() };
        }

        Ok(uploaded
            .into_iter()
            .zip(files.iter())
            .map(|(stored, file)| Link { file_name: stored.file_name, url: stored.file_url, size: file.content.len() as u64 })
            .collect())
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

/// Runs the rule set on a blocking thread, since rules block for up to their
/// time limit.
async fn run_rules(
    rule_set: Arc<RuleSet>,
    message: &Arc<ParsedMessage>,
    envelope: &Envelope,
    direction: Direction,
) -> Result<Evaluation, ProcessError> {
    let message = Arc::clone(message);
    let envelope = envelope.clone();
    let span = tracing::Span::current();

    tokio::task::spawn_blocking(move || span.in_scope(|| rule_set.evaluate(&message, &envelope, direction)))
        .await
        .map_err(|error| ProcessError::Internal(format!("rule worker failed: {error}")))
}
