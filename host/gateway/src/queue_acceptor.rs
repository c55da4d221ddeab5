//! The SMTP handler of after-queue mode: it writes each message to the
//! spool and replies 250 with the queue id once the message is on disk.
//!
//! A message of 1 MiB and more is written to the spool while it arrives
//! (`queue_sink.rs`), so that at the end of DATA only its last piece
//! remains to be written. The queue runner gets the message as soon as the
//! data has ended and the spool has given it a queue id, so its processing
//! overlaps the spool's last write and sync (see `queued.rs`).

use std::sync::Arc;

use chrono::Utc;
use mailgate_queue::{QueuedEnvelope, Spool, Stage, Staged};
use mailgate_smtp::{IncomingEnvelope, MessageHandler, Outcome, ReceivedMessage, RecipientToVerify, RecipientVerdict};
use tokio::sync::{mpsc, oneshot};
use tracing::Instrument;

use crate::lookahead::RecipientLookahead;
use crate::queue_sink::SpoolSink;
use crate::queued::Queued;

/// Spools received messages and hands them to the queue runner.
pub(crate) struct QueueAcceptor {
    spool: Arc<Spool>,
    runner: mpsc::UnboundedSender<Queued>,
    lookahead: Option<Arc<RecipientLookahead>>,
}

impl QueueAcceptor {
    /// Creates an acceptor that stores into `spool` and passes each new
    /// entry to the queue runner through `runner`.
    pub(crate) fn new(spool: Arc<Spool>, runner: mpsc::UnboundedSender<Queued>) -> QueueAcceptor {
        QueueAcceptor { spool, runner, lookahead: None }
    }

    /// Checks recipients at RCPT time with `lookahead`.
    pub(crate) fn with_lookahead(mut self, lookahead: Arc<RecipientLookahead>) -> QueueAcceptor {
        self.lookahead = Some(lookahead);
        self
    }
}

impl MessageHandler for QueueAcceptor {
    type Sink = SpoolSink;

    fn open_sink(&self, envelope: IncomingEnvelope<'_>) -> Option<SpoolSink> {
        let envelope = QueuedEnvelope {
            client_address: envelope.client_address.to_string(),
            helo: envelope.helo.to_string(),
            mail_from: envelope.mail_from.to_string(),
            rcpt_to: envelope.rcpt_to.to_vec(),
        };
        Some(SpoolSink::open(Arc::clone(&self.spool), envelope))
    }

    fn handle(&self, message: ReceivedMessage) -> impl std::future::Future<Output = Outcome> + Send {
        let span = message_span(&message);
        let spool = Arc::clone(&self.spool);
        let runner = self.runner.clone();

        async move {
            let envelope = QueuedEnvelope {
                client_address: message.client_address.to_string(),
                helo: message.helo,
                mail_from: message.mail_from,
                rcpt_to: message.rcpt_to,
            };
            let claiming = Arc::clone(&spool);
            let staged = tokio::task::spawn_blocking(move || claiming.stage(envelope, Stage::Received, Utc::now())).await;
            match staged {
                Ok(Ok(staged)) => queue(spool, runner, staged, message.data).await,
                Ok(Err(error)) => spool_failure(&error),
                Err(error) => spool_failure(&error),
            }
        }
        .instrument(span)
    }

    fn handle_streamed(&self, message: ReceivedMessage, sink: SpoolSink) -> impl std::future::Future<Output = Outcome> + Send {
        let span = message_span(&message);
        let spool = Arc::clone(&self.spool);
        let runner = self.runner.clone();

        async move {
            match sink.finish().await {
                Ok(staged) => queue(spool, runner, staged, message.data).await,
                Err(error) => spool_failure(&error),
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

/// Creates the span of one received message. The queue id is recorded
/// once it is known.
fn message_span(message: &ReceivedMessage) -> tracing::Span {
    tracing::info_span!("message", session = %message.session_id, queue_id = tracing::field::Empty)
}

/// Hands a staged message to the queue runner, writes the part of `data`
/// that the spool does not have yet, commits the message and returns the
/// outcome for the client.
async fn queue(spool: Arc<Spool>, runner: mpsc::UnboundedSender<Queued>, mut staged: Staged, data: Vec<u8>) -> Outcome {
    let entry = staged.entry().clone();
    let queue_id = entry.queue_id.clone();
    tracing::Span::current().record("queue_id", queue_id.as_str());
    let size = data.len();
    let rest = data.get(staged.appended()..).unwrap_or_default().to_vec();
    let (report_commit, committed) = oneshot::channel();
    if runner.send(Queued::fresh(entry, data, committed)).is_err() {
        tracing::warn!("the queue runner has stopped; the message stays in the spool until the next start");
    }

    // The report goes from the blocking task, so that it matches the spool
    // even when this session is dropped meanwhile.
    let counted = Arc::clone(&spool);
    let stored = tokio::task::spawn_blocking(move || {
        let stored = spool.write(&mut staged, &rest).and_then(|()| spool.commit(staged));
        let _ = report_commit.send(stored.is_ok());
        stored
    })
    .await;
    let entry = match stored {
        Ok(Ok(entry)) => entry,
        Ok(Err(error)) => return spool_failure(&error),
        Err(error) => return spool_failure(&error),
    };

    crate::metrics::set_queue_size(counted.len() as u64);
    tracing::info!(size, recipients = entry.envelope.rcpt_to.len(), "message queued");
    Outcome::Accepted { queue_id: queue_id.to_string() }
}

/// Logs a failure to spool a message and returns the 451 for its client.
fn spool_failure(error: &dyn std::fmt::Display) -> Outcome {
    tracing::error!(%error, "cannot write the message to the spool; the client gets 451");
    Outcome::TemporaryFailure { reason: "message could not be queued, try again later".to_string() }
}
