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
//! Any failure ends processing before delivery, and the client gets 451 or
//! 550 as [`ProcessError::into_outcome`] decides. So a message is never passed
//! on unprocessed.

use std::sync::Arc;

use chrono::Utc;
use mailgate_delivery::{Delivery, OutboundEnvelope};
use mailgate_message::{Envelope, FolderName, Link, ParsedMessage, Rewrite, StorageNames, rewrite};
use ipnet::IpNet;
use mailgate_smtp::{MessageHandler, Outcome, ReceivedMessage};
use mailgate_vault::{UploadFile, VaultClient};
use tracing::Instrument;

use crate::failure::ProcessError;
use crate::ids::QueueId;
use crate::matching::Direction;
use crate::plan::Plan;
use crate::rule_set::{RuleSet, SharedRuleSet};

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
    settings: PipelineSettings,
}

impl Pipeline {
    /// Creates a pipeline that runs the current set in `rule_set`, uploads
    /// through `vault` and delivers with `delivery`.
    pub fn new(rule_set: SharedRuleSet, vault: VaultClient, delivery: Delivery, settings: PipelineSettings) -> Pipeline {
        Pipeline { rule_set, vault, delivery, settings }
    }

    /// Processes one message; `Ok` means the next hop took it.
    pub async fn process(&self, queue_id: &QueueId, received: ReceivedMessage) -> Result<(), ProcessError> {
        let arrival = Utc::now();
        let envelope = Envelope {
            client_address: received.client_address.to_string(),
            helo: received.helo.clone(),
            mail_from: received.mail_from.clone(),
            rcpt_to: received.rcpt_to.clone(),
        };

        let direction = Direction::of(Some(received.client_address), &self.settings.trusted_networks);
        let rule_set = self.rule_set.load_full();
        tracing::Span::current().record("rule_set", rule_set.id().as_str());

        let message = Arc::new(ParsedMessage::parse(received.data)?);
        let message_id = message.message_id.clone().unwrap_or_default();
        tracing::Span::current().record("message_id", message_id.as_str());
        tracing::info!(size = message.raw.len(), parts = message.parts.len(), ?direction, "message received");

        let plan = run_rules(rule_set.clone(), &message, &envelope, direction).await?;
        if let Some((rule, reason)) = plan.block {
            tracing::info!(%rule, %reason, "message blocked");
            return Err(ProcessError::Blocked { rule, reason });
        }

        let links = self.upload(&message, &plan, &envelope, arrival).await?;
        let changes = Rewrite { remove: plan.remove.clone(), links: if plan.link { links } else { Vec::new() } };
        let rewritten = rewrite(&message, &changes);
        let outbound = self.with_trace_headers(queue_id, &envelope, &rule_set, &rewritten);

        let outbound_envelope = OutboundEnvelope { mail_from: envelope.mail_from.clone(), rcpt_to: envelope.rcpt_to.clone() };
        let receipt = self.delivery.deliver(&outbound_envelope, &outbound).await?;
        tracing::info!(
            removed = plan.remove.len(),
            uploaded = plan.upload.len(),
            linked = changes.links.len(),
            ?receipt,
            "message delivered"
        );
        Ok(())
    }


    /// Uploads the planned parts as one group and returns a link per part,
    /// in part order.
    async fn upload(
        &self,
        message: &ParsedMessage,
        plan: &Plan,
        envelope: &Envelope,
        arrival: chrono::DateTime<Utc>,
    ) -> Result<Vec<Link>, ProcessError> {
        if plan.upload.is_empty() {
            return Ok(Vec::new());
        }

        let folder = FolderName::for_message(&self.settings.root_folder, message, &envelope.mail_from, arrival);
        let mut names = StorageNames::new();
        let files: Vec<UploadFile> = plan
            .upload
            .iter()
            .filter_map(|id| message.part(*id))
            .map(|part| UploadFile {
                folder: folder.as_str().to_string(),
                file_name: names.assign(part),
                content: bytes::Bytes::copy_from_slice(&part.content),
            })
            .collect();

        let uploaded = self.vault.upload_group(&files).await.inspect_err(|error| {
            tracing::error!(%error, %folder, files = files.len(), "upload failed; message gets a temporary failure");
        })?;
        tracing::info!(%folder, files = uploaded.len(), "attachments uploaded");

        Ok(uploaded
            .into_iter()
            .zip(files.iter())
            .map(|(stored, file)| Link { file_name: stored.file_name, url: stored.file_url, size: file.content.len() as u64 })
            .collect())
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
            match self.process(&queue_id, message).await {
                Ok(()) => Outcome::Accepted { queue_id: queue_id.to_string() },
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
}

/// Runs the rule set on a blocking thread, since rules block for up to their
/// time limit.
async fn run_rules(
    rule_set: Arc<RuleSet>,
    message: &Arc<ParsedMessage>,
    envelope: &Envelope,
    direction: Direction,
) -> Result<Plan, ProcessError> {
    let message = Arc::clone(message);
    let envelope = envelope.clone();
    let span = tracing::Span::current();

    tokio::task::spawn_blocking(move || span.in_scope(|| rule_set.evaluate(&message, &envelope, direction)))
        .await
        .map_err(|error| ProcessError::Internal(format!("rule worker failed: {error}")))?
}
