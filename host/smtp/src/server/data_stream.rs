//! Hands a large message to the handler's [`DataSink`] while it arrives, so
//! that the handler can store it before the data ends.
//!
//! A message is passed on only once its data reaches [`STREAM_THRESHOLD`]
//! bytes and the handler opens a sink for it. Smaller messages reach the
//! handler whole, after the data.

use std::net::IpAddr;

use super::handler::{DataSink, IncomingEnvelope, MessageHandler, SessionId};
use crate::protocol::Session;

/// Size in bytes that the data of a message reaches before
/// [`MessageHandler::open_sink`] is called: 1 MiB.
pub const STREAM_THRESHOLD: usize = 1024 * 1024;

/// Smallest piece in bytes handed to an open sink, except for the first
/// one: 1 MiB. The rest of the message reaches the handler with the whole
/// message.
pub const STREAM_CHUNK: usize = 1024 * 1024;

/// The destination, besides the session's buffer, of the data of the
/// current DATA command.
#[derive(Debug)]
pub(crate) enum DataStream<S> {
    /// No sink yet: the data is below the threshold, or no DATA runs.
    Waiting,
    /// The handler opened no sink for this message.
    Declined,
    /// The sink got the first `handed` bytes of the data.
    Open { sink: S, handed: usize },
}

impl<S: DataSink> DataStream<S> {
    /// Hands the data that `session` stored since the last call to the
    /// sink, opening one when the data has grown to [`STREAM_THRESHOLD`].
    /// Does nothing outside DATA and while less than [`STREAM_CHUNK`] new
    /// bytes wait. Drops the sink as soon as the message exceeds a limit,
    /// since it will be rejected, so its handler can free what it stored.
    pub(crate) async fn advance<H>(&mut self, handler: &H, session: &Session, session_id: &SessionId, client_address: IpAddr)
    where
        H: MessageHandler<Sink = S>,
    {
        let Some(progress) = session.data_in_progress() else {
            if session.in_data() && matches!(self, DataStream::Open { .. }) {
                tracing::debug!("the message exceeds a limit; dropping what was passed on");
                *self = DataStream::Declined;
            }
            return;
        };

        if let DataStream::Waiting = self {
            if progress.data.len() < STREAM_THRESHOLD {
                return;
            }
            let envelope = IncomingEnvelope {
                session_id,
                client_address,
                helo: progress.helo,
                mail_from: progress.mail_from,
                rcpt_to: progress.rcpt_to,
            };
            *self = match handler.open_sink(envelope) {
                Some(sink) => {
                    tracing::debug!(received = progress.data.len(), "passing the message on while it arrives");
                    DataStream::Open { sink, handed: 0 }
                }
                None => DataStream::Declined,
            };
        }

        let DataStream::Open { sink, handed } = self else { return };
        let waiting = progress.data.get(*handed..).unwrap_or_default();
        if waiting.is_empty() || (*handed > 0 && waiting.len() < STREAM_CHUNK) {
            return;
        }
        sink.write(waiting).await;
        *handed = progress.data.len();
    }

    /// Returns the sink of the message that just ended and starts over for
    /// the next one.
    pub(crate) fn take(&mut self) -> Option<S> {
        match std::mem::replace(self, DataStream::Waiting) {
            DataStream::Open { sink, .. } => Some(sink),
            DataStream::Waiting | DataStream::Declined => None,
        }
    }
}
