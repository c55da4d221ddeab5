//! The interface between the SMTP server and the code that processes
//! messages: [`MessageHandler`], what it receives and what it decides.

use std::fmt;
use std::future::Future;
use std::net::IpAddr;

use crate::protocol::reply::or_default;
use crate::protocol::{RecipientToVerify, RecipientVerdict, Reply};

/// Short random id of one SMTP connection, for correlating log lines.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct SessionId(String);

impl SessionId {
    /// Creates a new id of 16 hexadecimal digits (64 random bits).
    pub fn generate() -> SessionId {
        SessionId(format!("{:016x}", rand::random::<u64>()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One message received over SMTP, handed to [`MessageHandler::handle`].
#[derive(Clone, Debug)]
pub struct ReceivedMessage {
    pub session_id: SessionId,
    pub client_address: IpAddr,
    /// Domain that the client gave in EHLO or HELO, not verified.
    pub helo: String,
    /// Reverse path without angle brackets, `""` for `<>`.
    pub mail_from: String,
    /// Forward paths without angle brackets, in the order received.
    pub rcpt_to: Vec<String>,
    /// Message after dot-unstuffing, with line endings as sent and without
    /// the final `.` line. At most `max_message_size` bytes.
    pub data: Vec<u8>,
}

/// Decision of the handler, which the session turns into the reply to DATA.
///
/// Reason texts and the queue id are sanitized before they are sent: bytes
/// outside printable ASCII are replaced and the text is cut to
/// [`crate::protocol::reply::MAX_REPLY_TEXT`] bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The gateway took responsibility for the message: `250 2.0.0 OK queued as <queue_id>`.
    Accepted { queue_id: String },
    /// The client keeps the message and retries later: `451 4.3.0 <reason>`.
    TemporaryFailure { reason: String },
    /// The message is rejected for good: `550 5.7.1 <reason>`.
    PermanentFailure { reason: String },
}

impl Outcome {
    /// Builds the reply to DATA for this outcome.
    pub fn reply(&self) -> Reply {
        match self {
            Outcome::Accepted { queue_id } => {
                Reply::new(250, "2.0.0", &format!("OK queued as {queue_id}"))
            }
            Outcome::TemporaryFailure { reason } => Reply::new(
                451,
                "4.3.0",
                or_default(reason, "temporary failure, try again later"),
            ),
            Outcome::PermanentFailure { reason } => {
                Reply::new(550, "5.7.1", or_default(reason, "message rejected"))
            }
        }
    }
}

/// The envelope of a message whose data is arriving, handed to
/// [`MessageHandler::open_sink`].
#[derive(Clone, Copy, Debug)]
pub struct IncomingEnvelope<'a> {
    pub session_id: &'a SessionId,
    pub client_address: IpAddr,
    /// Domain that the client gave in EHLO or HELO, not verified.
    pub helo: &'a str,
    /// Reverse path without angle brackets, `""` for `<>`.
    pub mail_from: &'a str,
    /// Forward paths without angle brackets, in the order received.
    pub rcpt_to: &'a [String],
}

/// Takes the data of one large message while it arrives; see
/// [`MessageHandler::open_sink`].
pub trait DataSink: Send + 'static {
    /// Takes the next bytes of the message after dot-unstuffing, in order.
    /// The session reads no more input until the returned future completes,
    /// so a slow sink slows the client down. A sink that fails keeps its
    /// error and reports it when the handler gets it back; the session goes
    /// on reading the data either way.
    fn write(&mut self, bytes: &[u8]) -> impl Future<Output = ()> + Send;
}

/// The sink of a handler that takes every message whole.
#[derive(Debug)]
pub enum NoSink {}

impl DataSink for NoSink {
    #[allow(clippy::manual_async_fn)]
    fn write(&mut self, _bytes: &[u8]) -> impl Future<Output = ()> + Send {
        async { match *self {} }
    }
}

/// Processes received messages. One handler serves all sessions at once.
pub trait MessageHandler: Send + Sync + 'static {
    /// The sink type that [`MessageHandler::open_sink`] returns: [`NoSink`]
    /// for a handler that takes every message whole.
    type Sink: DataSink;

    /// Called once the data of a message has grown to
    /// [`STREAM_THRESHOLD`](super::STREAM_THRESHOLD) bytes, to take the
    /// message while it arrives. With `Some(sink)`, the sink gets the data
    /// stored so far and then each further piece of at least
    /// [`STREAM_CHUNK`](super::STREAM_CHUNK) bytes, and the message ends in
    /// [`MessageHandler::handle_streamed`]. A message that is not completed
    /// (limit exceeded, client gone, shutdown) drops its sink. The default
    /// returns `None`, and the message goes to [`MessageHandler::handle`].
    fn open_sink(&self, envelope: IncomingEnvelope<'_>) -> Option<Self::Sink> {
        let _ = envelope;
        None
    }

    /// Called instead of [`MessageHandler::handle`] for a message whose data
    /// went to `sink`. `message.data` is the whole message; the sink got
    /// its start, as many bytes as its writes carried. The default drops
    /// the sink and calls `handle`.
    fn handle_streamed(&self, message: ReceivedMessage, sink: Self::Sink) -> impl Future<Output = Outcome> + Send {
        drop(sink);
        self.handle(message)
    }

    /// Called once per message after the final `.` of DATA. The reply to DATA
    /// is sent only when the returned future completes, so a slow handler
    /// keeps the client waiting, and commands pipelined after the data wait
    /// too.
    fn handle(&self, message: ReceivedMessage) -> impl Future<Output = Outcome> + Send;

    /// Called for each recipient that passed the relay check, when
    /// [`super::SmtpServerConfig::verify_recipients`] is on. The reply to
    /// RCPT waits for the verdict, so a slow check keeps the client waiting.
    /// The default takes every recipient.
    fn verify_recipient(
        &self,
        client_address: IpAddr,
        request: RecipientToVerify,
    ) -> impl Future<Output = RecipientVerdict> + Send {
        let _ = (client_address, request);
        std::future::ready(RecipientVerdict::Accept)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcome_replies() {
        let cases = [
            (
                Outcome::Accepted {
                    queue_id: "Q1".into(),
                },
                "250 2.0.0 OK queued as Q1",
            ),
            (
                Outcome::TemporaryFailure {
                    reason: "scanner busy".into(),
                },
                "451 4.3.0 scanner busy",
            ),
            (
                Outcome::PermanentFailure {
                    reason: "spam".into(),
                },
                "550 5.7.1 spam",
            ),
            (
                Outcome::PermanentFailure { reason: " ".into() },
                "550 5.7.1 message rejected",
            ),
            (
                Outcome::TemporaryFailure {
                    reason: "a\r\n250 ok".into(),
                },
                "451 4.3.0 a  250 ok",
            ),
        ];

        for (outcome, expected) in cases {
            assert_eq!(outcome.reply().to_string(), expected);
        }
    }

    #[test]
    fn session_ids_differ() {
        let first = SessionId::generate();
        let second = SessionId::generate();

        assert_eq!(first.as_str().len(), 16);
        assert_ne!(first, second);
    }
}
