//! The SMTP handler of after-queue mode: it writes each message to the
//! spool and replies 250 with the queue id once the message is on disk.

use std::sync::Arc;

use chrono::Utc;
use mailgate_queue::{Entry, QueuedEnvelope, Spool, Stage};
use mailgate_smtp::{MessageHandler, Outcome, ReceivedMessage, RecipientToVerify, RecipientVerdict};
use tokio::sync::mpsc;
use tracing::Instrument;

use crate::lookahead::RecipientLookahead;

/// Spools received messages and hands them to the queue runner.
pub(crate) struct QueueAcceptor {
    spool: Arc<Spool>,
    runner: mpsc::UnboundedSender<Entry>,
    lookahead: Option<Arc<RecipientLookahead>>,
}

impl QueueAcceptor {
    /// Creates an acceptor that stores into `spool` and passes each new
    /// entry to the queue runner through `runner`.
    pub(crate) fn new(spool: Arc<Spool>, runner: mpsc::UnboundedSender<Entry>) -> QueueAcceptor {
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
            let data = message.data;
            let stored = tokio::task::spawn_blocking(move || spool.accept(envelope, &data, Stage::Received, Utc::now())).await;

            let entry = match stored {
                Ok(Ok(entry)) => entry,
                Ok(Err(error)) => {
                    tracing::error!(%error, "cannot write the message to the spool; the client gets 451");
                    return Outcome::TemporaryFailure { reason: "message could not be queued, try again later".to_string() };
                }
                Err(error) => {
                    tracing::error!(%error, "spool worker failed; the client gets 451");
                    return Outcome::TemporaryFailure { reason: "message could not be queued, try again later".to_string() };
                }
            };

            crate::metrics::set_queue_size(counted.len() as u64);
            let queue_id = entry.queue_id.clone();
            tracing::Span::current().record("queue_id", queue_id.as_str());
            tracing::info!(size, recipients = entry.envelope.rcpt_to.len(), "message queued");
            if runner.send(entry).is_err() {
                tracing::warn!("the queue runner has stopped; the message stays in the spool until the next start");
            }
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
