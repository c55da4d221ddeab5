//! `mailgate history`: lists and shows messages from the history database.

use std::path::Path;

use anyhow::{Context, Result, bail};
use chrono::{DateTime, Utc};
use mailgate::Config;
use mailgate::admin::find_record;
use mailgate_history::{AsyncHistoryStore, HistoryQuery, MessageRecord, Outcome, OutcomeKind, RuleStatus, UploadStatus};

/// Filters of `mailgate history list`.
#[derive(Debug, Default, clap::Args)]
pub struct ListFilters {
    /// Only messages received at or after this time (RFC 3339, e.g.
    /// 2026-12-01T00:00:00Z).
    #[arg(long)]
    pub from: Option<DateTime<Utc>>,
    /// Only messages received before this time (RFC 3339).
    #[arg(long)]
    pub to: Option<DateTime<Utc>>,
    /// Only messages from this envelope sender (whole address, any case).
    #[arg(long)]
    pub sender: Option<String>,
    /// Only messages to this recipient (whole address, any case).
    #[arg(long)]
    pub recipient: Option<String>,
    /// Only messages whose subject contains this text (any case).
    #[arg(long)]
    pub subject: Option<String>,
    /// Only the message with this Message-ID (without angle brackets).
    #[arg(long)]
    pub message_id: Option<String>,
    /// Only messages with this outcome: delivered, temporary_failure,
    /// rejected or blocked.
    #[arg(long)]
    pub outcome: Option<String>,
    /// Maximum number of messages shown (default 100, at most 1000).
    #[arg(long)]
    pub limit: Option<u32>,
    /// Number of matching messages skipped first, for paging.
    #[arg(long, default_value_t = 0)]
    pub offset: u64,
}

/// Opens the history database that the configuration names, in its
/// backend. A missing SQLite file is an error, not a new database.
async fn open(config_path: Option<&Path>) -> Result<AsyncHistoryStore> {
    let config = match config_path {
        Some(path) => Config::load(path)?,
        None => Config::default(),
    };

    if let Some(url) = config.history.postgres_database()? {
        // The error names the database already.
        return Ok(AsyncHistoryStore::open_postgres(url).await?);
    }

    let path = config.history.path;
    if !path.exists() {
        bail!("no history database at {}; has the gateway processed a message with this configuration?", path.display());
    }
    AsyncHistoryStore::open_sqlite(path.clone()).await.with_context(|| format!("cannot open {}", path.display()))
}

/// Prints the matching messages, newest first.
pub async fn list(config_path: Option<&Path>, filters: ListFilters) -> Result<()> {
    let store = open(config_path).await?;
    let outcome = match filters.outcome.as_deref() {
        None => None,
        Some(name) => Some(OutcomeKind::from_name(name).with_context(|| {
            let known: Vec<&str> = OutcomeKind::ALL.iter().map(|kind| kind.as_str()).collect();
            format!("unknown outcome `{name}`; use one of: {}", known.join(", "))
        })?),
    };
    let query = HistoryQuery {
        from: filters.from,
        to: filters.to,
        sender: filters.sender,
        recipient: filters.recipient,
        subject: filters.subject,
        message_id: filters.message_id,
        outcome,
        limit: filters.limit,
        offset: filters.offset,
    };

    let total = store.count(query.clone()).await?;
    let messages = store.query(query).await?;
    outln!("{:<12}  {:<20}  {:<17}  {:<28}  {:<28}  {}", "QUEUE ID", "RECEIVED (UTC)", "OUTCOME", "SENDER", "RECIPIENTS", "SUBJECT");
    for message in &messages {
        outln!(
            "{:<12}  {:<20}  {:<17}  {:<28}  {:<28}  {}",
            message.queue_id,
            message.received_at.format("%Y-%m-%d %H:%M:%S"),
            message.outcome.kind().as_str(),
            shorten(&message.mail_from, 28),
            shorten(&message.rcpt_to.join(", "), 28),
            message.subject.as_deref().unwrap_or("")
        );
    }
    outln!("{} of {total} matching message(s) shown", messages.len());
    Ok(())
}

/// Prints one message's full record.
pub async fn show(config_path: Option<&Path>, id: &str) -> Result<()> {
    let store = open(config_path).await?;
    let Some(record) = find_record(&store, id).await? else {
        bail!("no message with queue id or record number `{id}` in the history");
    };
    print_record(&record);
    Ok(())
}

fn print_record(record: &MessageRecord) {
    outln!("queue id:     {}", record.queue_id);
    outln!("received:     {} from {}", record.received_at.to_rfc3339(), record.client_address);
    outln!("sender:       {}", if record.mail_from.is_empty() { "<>" } else { &record.mail_from });
    outln!("recipients:   {}", record.rcpt_to.join(", "));
    outln!("subject:      {}", record.subject.as_deref().unwrap_or("-"));
    outln!("message id:   {}", record.message_id.as_deref().unwrap_or("-"));
    outln!("size:         {} bytes", record.size);
    outln!("rule set:     {}", record.rule_set_id.as_deref().unwrap_or("-"));
    outln!("outcome:      {}", describe_outcome(&record.outcome));

    outln!("rules:");
    for result in &record.rule_results {
        let status = match &result.status {
            RuleStatus::NotMatched => "not matched".to_string(),
            RuleStatus::Ran { actions } if actions.is_empty() => "no actions".to_string(),
            RuleStatus::Ran { actions } => actions.join("; "),
            RuleStatus::Failed { error } => format!("FAILED: {error}"),
        };
        outln!("  {:<24} {status}", result.rule);
    }

    outln!("attachments:");
    if record.attachments.is_empty() {
        outln!("  none removed or uploaded");
    }
    for attachment in &record.attachments {
        let upload = match &attachment.upload {
            UploadStatus::Uploaded { file_id, file_url } => format!("uploaded as {file_id}: {file_url}"),
            UploadStatus::Failed { error, cause } => {
                format!("upload FAILED ({}): {error}", cause.as_deref().unwrap_or("unknown cause"))
            }
            UploadStatus::NotUploaded => "removed, not uploaded".to_string(),
        };
        outln!("  part {:<3} {} ({} bytes): {upload}", attachment.part_id, attachment.file_name, attachment.size);
        if !attachment.folder.is_empty() {
            outln!("           folder {}", attachment.folder);
        }
    }

    if !record.part_verdicts.is_empty() {
        outln!("scan verdicts:");
    }
    for verdict in &record.part_verdicts {
        let name = verdict.file_name.as_deref().unwrap_or("(no name)");
        let sanitized = if verdict.sanitized { ", sanitized" } else { "" };
        outln!("  part {:<3} {name} ({}): {}{sanitized}", verdict.part_id, verdict.content_type, verdict.verdict);
    }

    if !record.defects.is_empty() {
        outln!("defects:");
        for defect in &record.defects {
            outln!("  {defect}");
        }
    }
}

fn describe_outcome(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Delivered { reply } => format!("delivered ({reply})"),
        Outcome::TemporaryFailure { reason } => format!("temporary failure: {reason}"),
        Outcome::Rejected { reason } => format!("rejected: {reason}"),
        Outcome::Bounced { reason } => format!("bounced: {reason}"),
        Outcome::Blocked { rule, reason } => format!("blocked by rule `{rule}`: {reason}"),
    }
}

fn shorten(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        text.to_string()
    } else {
        let kept: String = text.chars().take(width.saturating_sub(1)).collect();
        format!("{kept}\u{2026}")
    }
}
