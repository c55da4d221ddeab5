//! The SMTP handler of after-queue mode: it writes each message to the
//! spool and replies 250 with the queue id once the message is on disk.
//!
//! The queue runner gets the message as soon as the spool has given it a
//! queue id, so its processing overlaps the spool's write and sync (see
//! `queued.rs`).

use std::sync::Arc;

use chrono::Utc;
use mailgate_queue::{QueuedEnvelope, Spool, Stage};
use mailgate_smtp::{MessageHandler, Outcome, ReceivedMessage, RecipientToVerify, RecipientVerdict};
use tokio::sync::{mpsc, oneshot};
use tracing::Instrument;

use crate::lookahead::RecipientLookahead;
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
    fn handle(&self, message: ReceivedMessage) -> impl std::future::Future<Output = Outcome> + Send {
        let span = tracing::info_span!("message", session = %message.session_id, queue_id = tracing::field::Empty);
        let spool = Arc::clone(&self.spool);
        let counted = Arc::clone(&self.spool);
        let runner = self.runner.clone();

        async move {
            let envelope = QueuedEnvelope {
                client_address: message.client_address.to_string(),
                helo: message.helo,
                mail_from: message.mail_from,
                rcpt_to: message.rcpt_to,
            };
            let size = message.data.len();
            let claiming = Arc::clone(&spool);
            let staged = tokio::task::spawn_blocking(move || claiming.stage(envelope, Stage::Received, Utc::now())).await;
            let mut staged = match staged {
                Ok(Ok(staged)) => staged,
                Ok(Err(error)) => return spool_failure(&error),
                Err(error) => return spool_failure(&error),
            };

            let entry = staged.entry().clone();
            let queue_id = entry.queue_id.clone();
            tracing::Span::current().record("queue_id", queue_id.as_str());
            let data = Arc::new(message.data);
            let (report_written, written) = oneshot::channel();
            let (report_commit, committed) = oneshot::channel();
            if runner.send(Queued::fresh(entry, Arc::clone(&data), written, committed)).is_err() {
                tracing::warn!("the queue runner has stopped; the message stays in the spool until the next start");
            }

            // The reports go from the blocking task, so that they match the
            // spool even when this session is dropped meanwhile.
            let stored = tokio::task::spawn_blocking(move || {
                let written = spool.write(&mut staged, &data);
                drop(data);
                let _ = report_written.send(());
                let stored = written.and_then(|()| spool.commit(staged));
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

/// Logs a failure to spool a message and returns the 451 for its client.
fn spool_failure(error: &dyn std::fmt::Display) -> Outcome {
    tracing::error!(%error, "cannot write the message to the spool; the client gets 451");
    Outcome::TemporaryFailure { reason: "message could not be queued, try again later".to_string() }
}
