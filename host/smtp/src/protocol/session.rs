//! I/O-free state machine of one SMTP session.
//!
//! The owner of the socket feeds received bytes to [`Session::receive`] and
//! takes [`Event`]s from [`Session::next_event`] until it returns `None`, then
//! reads again. Events come in the order of the commands, so replies to
//! pipelined commands (RFC 2920) keep their order. After [`Event::Message`]
//! the session processes no input until [`Session::complete_message`] is
//! called, so commands sent after the data wait for the reply to the data.
//!
//! STARTTLS (RFC 3207): after the `220` reply the session emits
//! [`Event::StartTls`] and drops every byte received after the STARTTLS line,
//! so commands that a client pipelined behind STARTTLS in plain text are
//! never executed. Once [`Session::tls_started`] is called, the session is
//! back in its state after the greeting: the client must send EHLO again and
//! any envelope is gone.
//!
//! RCPT: the relay policy of [`SessionConfig::relay`] decides first. With
//! [`SessionConfig::verify_recipients`], a recipient that passes it is
//! handed to the owner as [`Event::VerifyRecipient`], and the session waits
//! for [`Session::recipient_verified`] before it reads the next command.

mod config;

pub use config::{DEFAULT_MAX_DATA_LINE_LENGTH, DEFAULT_MAX_HEADER_SIZE, SessionConfig};

use super::command::{Command, CommandError, parse_command};
use super::data::{DataError, DataLimits, DataReceiver};
use super::input::{InputBuffer, Line};
use super::recipient::{RecipientToVerify, RecipientVerdict, recipient_ok};
use super::reply::Reply;

/// Number of rejected commands after which the session is closed with 421.
pub const MAX_COMMAND_ERRORS: usize = 20;

/// Something the owner of the socket must act on.
#[derive(Debug, PartialEq, Eq)]
pub enum Event {
    /// A reply to send.
    Reply(Reply),
    /// A received message to hand over; the reply to it is sent by the owner.
    Message(CompletedMessage),
    /// Close the connection after sending all earlier replies.
    Close,
    /// Send all earlier replies, then run the TLS handshake as the server
    /// and call [`Session::tls_started`], or close the connection if the
    /// handshake fails.
    StartTls,
    /// Check this recipient, then call [`Session::recipient_verified`] with
    /// the verdict and send the reply it returns.
    VerifyRecipient(RecipientToVerify),
    /// The relay policy rejected `recipient`: send `reply`. A separate event
    /// so the owner can log the rejection with the client's address.
    RelayDenied { recipient: String, reply: Reply },
    /// A message was rejected for a limit: at MAIL for the size it
    /// declared, or at the end of its data. Send `reply`. `size` is the
    /// declared size, or the size after dot-unstuffing including the bytes
    /// that were not stored. A separate event so the owner can log it.
    MessageRejected { size: u64, reply: Reply },
}

/// Envelope and text of one message whose data ended with CR LF `.` CR LF.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CompletedMessage {
    pub helo: String,
    /// Reverse path without angle brackets, `""` for `<>`.
    pub mail_from: String,
    /// Forward paths without angle brackets, in the order received.
    pub rcpt_to: Vec<String>,
    /// Message after dot-unstuffing, without the final `.` line.
    pub data: Vec<u8>,
}

/// The envelope and the data stored so far of a message inside DATA; see
/// [`Session::data_in_progress`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DataInProgress<'a> {
    pub helo: &'a str,
    /// Reverse path without angle brackets, `""` for `<>`.
    pub mail_from: &'a str,
    /// Forward paths without angle brackets, in the order received.
    pub rcpt_to: &'a [String],
    /// The start of the message after dot-unstuffing. It only grows until
    /// the data ends, and the [`CompletedMessage`] starts with it.
    pub data: &'a [u8],
}

#[derive(Debug)]
enum Mode {
    Command,
    Data(DataReceiver),
    AwaitingOutcome,
    /// Waiting for [`Session::recipient_verified`] about this recipient.
    AwaitingRecipient(String),
    /// Discarding the octets of a rejected BDAT chunk.
    SkippingChunk {
        remaining: u64,
    },
    /// The `220` reply to STARTTLS was emitted, so the next event is
    /// [`Event::StartTls`].
    StartingTls,
    /// Waiting for [`Session::tls_started`]; input is dropped.
    AwaitingTls,
    /// The last reply was emitted, so the next event is [`Event::Close`].
    Closing,
    Closed,
}

#[derive(Debug)]
struct Transaction {
    mail_from: String,
    rcpt_to: Vec<String>,
}

/// State of one SMTP session.
#[derive(Debug)]
pub struct Session {
    config: SessionConfig,
    input: InputBuffer,
    mode: Mode,
    helo: Option<String>,
    transaction: Option<Transaction>,
    error_count: usize,
    tls_active: bool,
    /// Set by QUIT, so the owner can tell it from a close by the session.
    quit: bool,
}

impl Session {
    pub fn new(config: SessionConfig) -> Session {
        Session {
            config,
            input: InputBuffer::default(),
            mode: Mode::Command,
            helo: None,
            transaction: None,
            error_count: 0,
            tls_active: false,
            quit: false,
        }
    }

    /// Returns the `220` greeting to send when the connection opens.
    pub fn greeting(&self) -> Reply {
        Reply::plain(220, &format!("{} ESMTP mailgate", self.config.hostname))
    }

    /// Returns the reply to send before closing an idle connection.
    pub fn timeout_reply(&self) -> Reply {
        Reply::new(
            421,
            "4.4.2",
            &format!("{} timeout, closing connection", self.config.hostname),
        )
    }

    /// Returns the reply to send before closing a connection because the server stops.
    pub fn shutdown_reply(&self) -> Reply {
        Reply::new(
            421,
            "4.3.2",
            &format!("{} service shutting down", self.config.hostname),
        )
    }

    /// Returns whether the session is inside DATA.
    pub fn in_data(&self) -> bool {
        matches!(self.mode, Mode::Data(_))
    }

    /// Returns the message being received inside DATA, or `None` outside
    /// DATA and once the message exceeded a limit and will be rejected.
    /// Lets the owner pass on a large message while it arrives.
    pub fn data_in_progress(&self) -> Option<DataInProgress<'_>> {
        let (Mode::Data(receiver), Some(transaction)) = (&self.mode, &self.transaction) else {
            return None;
        };

        Some(DataInProgress {
            helo: self.helo.as_deref().unwrap_or_default(),
            mail_from: &transaction.mail_from,
            rcpt_to: &transaction.rcpt_to,
            data: receiver.stored_data()?,
        })
    }

    /// Returns whether the client sent QUIT, which makes the session close.
    pub fn quit_received(&self) -> bool {
        self.quit
    }

    /// Returns whether TLS was started on this session.
    pub fn is_tls(&self) -> bool {
        self.tls_active
    }

    /// Returns the number of received bytes not processed yet.
    pub fn buffered(&self) -> usize {
        self.input.pending().len()
    }

    /// Appends bytes read from the client. Bytes after QUIT, after the
    /// session closed itself and after STARTTLS until the handshake are
    /// dropped.
    pub fn receive(&mut self, bytes: &[u8]) {
        let dropping = matches!(
            self.mode,
            Mode::Closing | Mode::Closed | Mode::StartingTls | Mode::AwaitingTls
        );
        if dropping {
            return;
        }

        self.input.extend(bytes);
    }

    /// Processes buffered input up to the next event. Returns `None` when more
    /// input is needed, while a message awaits [`Session::complete_message`],
    /// and after [`Event::Close`].
    pub fn next_event(&mut self) -> Option<Event> {
        match self.mode {
            Mode::Command => self.next_command_event(),
            Mode::Data(_) => self.next_data_event(),
            Mode::SkippingChunk { remaining } => {
                self.skip_chunk(remaining);
                match self.mode {
                    Mode::Command => self.next_command_event(),
                    _ => None,
                }
            }
            Mode::AwaitingOutcome
            | Mode::AwaitingRecipient(_)
            | Mode::AwaitingTls
            | Mode::Closed => None,
            Mode::StartingTls => {
                self.mode = Mode::AwaitingTls;
                Some(Event::StartTls)
            }
            Mode::Closing => {
                self.mode = Mode::Closed;
                Some(Event::Close)
            }
        }
    }

    /// Resets the session after a successful TLS handshake to its state
    /// after the greeting (RFC 3207 section 4.2): the EHLO name, the
    /// envelope and any buffered input are discarded. Does nothing unless
    /// the session emitted [`Event::StartTls`].
    pub fn tls_started(&mut self) {
        if !matches!(self.mode, Mode::AwaitingTls) {
            return;
        }

        self.tls_active = true;
        self.helo = None;
        self.transaction = None;
        self.input = InputBuffer::default();
        self.mode = Mode::Command;
    }

    /// Takes the verdict about the recipient of the last
    /// [`Event::VerifyRecipient`] and returns the reply to its RCPT. Returns
    /// `None`, and changes nothing, when no recipient awaits a verdict.
    pub fn recipient_verified(&mut self, verdict: RecipientVerdict) -> Option<Reply> {
        let Mode::AwaitingRecipient(recipient) = std::mem::replace(&mut self.mode, Mode::Command)
        else {
            return None;
        };

        if verdict == RecipientVerdict::Accept
            && let Some(transaction) = &mut self.transaction
        {
            transaction.rcpt_to.push(recipient);
        }
        Some(verdict.reply())
    }

    /// Ends the transaction of the last [`Event::Message`] and resumes
    /// reading commands. The HELO name stays.
    pub fn complete_message(&mut self) {
        if matches!(self.mode, Mode::AwaitingOutcome) {
            self.transaction = None;
            self.mode = Mode::Command;
        }
    }

    fn next_command_event(&mut self) -> Option<Event> {
        let event = match self.input.next_line(self.config.max_line_length)? {
            Line::TooLong => Event::Reply(Reply::new(500, "5.5.2", "line too long")),
            Line::Complete(line) => match parse_command(&line) {
                Ok(command) => self.execute(command),
                Err(error) => Event::Reply(error_reply(&error)),
            },
        };

        if let Event::Reply(reply) = &event
            && is_command_error(reply)
        {
            self.error_count += 1;
            if self.error_count >= MAX_COMMAND_ERRORS {
                self.mode = Mode::Closing;
                return Some(Event::Reply(Reply::new(
                    421,
                    "4.7.0",
                    "too many errors, closing connection",
                )));
            }
        }

        Some(event)
    }

    fn skip_chunk(&mut self, remaining: u64) {
        let available = self.input.pending().len();
        let count =
            usize::try_from(remaining).map_or(available, |remaining| remaining.min(available));
        self.input.consume(count);

        let remaining = remaining - count as u64;
        self.mode = if remaining == 0 {
            Mode::Command
        } else {
            Mode::SkippingChunk { remaining }
        };
    }

    fn next_data_event(&mut self) -> Option<Event> {
        let Mode::Data(receiver) = &mut self.mode else {
            return None;
        };

        let progress = receiver.feed(self.input.pending());
        self.input.consume(progress.consumed);
        if !progress.complete {
            return None;
        }

        let Mode::Data(receiver) = std::mem::replace(&mut self.mode, Mode::Command) else {
            return None;
        };
        let transaction = self.transaction.take();
        let size = receiver.size();
        match (receiver.finish(), transaction) {
            (Ok(data), Some(transaction)) => {
                self.mode = Mode::AwaitingOutcome;
                Some(Event::Message(CompletedMessage {
                    helo: self.helo.clone().unwrap_or_default(),
                    mail_from: transaction.mail_from,
                    rcpt_to: transaction.rcpt_to,
                    data,
                }))
            }
            (Err(DataError::TooLarge { limit }), _) => Some(Event::MessageRejected {
                size: size as u64,
                reply: message_too_large(limit),
            }),
            (Err(error @ DataError::HeaderTooLarge { .. }), _) => Some(Event::MessageRejected {
                size: size as u64,
                reply: Reply::new(552, "5.3.4", &error.to_string()),
            }),
            (Err(error @ DataError::LineTooLong { .. }), _) => Some(Event::MessageRejected {
                size: size as u64,
                reply: Reply::new(554, "5.6.0", &error.to_string()),
            }),
            (Err(_), _) | (Ok(_), None) => {
                Some(Event::Reply(Reply::new(451, "4.3.0", "internal error")))
            }
        }
    }

    fn execute(&mut self, command: Command) -> Event {
        let reply = match command {
            Command::Ehlo { domain } => self.hello(domain, true),
            Command::Helo { domain } => self.hello(domain, false),
            Command::Mail {
                reverse_path,
                parameters,
            } => return self.mail(reverse_path, parameters.size),
            Command::Rcpt { forward_path } => return self.rcpt(forward_path),
            Command::Data => self.data(),
            Command::Rset => {
                self.transaction = None;
                Reply::new(250, "2.0.0", "OK")
            }
            Command::Noop => Reply::new(250, "2.0.0", "OK"),
            Command::Quit => {
                self.mode = Mode::Closing;
                self.quit = true;
                Reply::new(
                    221,
                    "2.0.0",
                    &format!("{} closing connection", self.config.hostname),
                )
            }
            Command::Vrfy => Reply::new(
                252,
                "2.0.0",
                "cannot verify the user, but will accept the message",
            ),
            Command::Help => Reply::new(214, "2.0.0", self.help_text()),
            Command::StartTls => self.start_tls(),
            Command::Bdat { chunk_size, .. } => {
                // The chunk follows the command line without waiting for a
                // reply, so its octets are skipped, not read as commands.
                if chunk_size > 0 {
                    self.mode = Mode::SkippingChunk {
                        remaining: chunk_size,
                    };
                }
                Reply::new(
                    502,
                    "5.5.1",
                    "command not implemented, CHUNKING is not offered, use DATA",
                )
            }
            Command::NotImplemented { .. } => Reply::new(502, "5.5.1", "command not implemented"),
        };
        Event::Reply(reply)
    }

    fn help_text(&self) -> &'static str {
        if self.offers_starttls() {
            "commands: EHLO HELO STARTTLS MAIL RCPT DATA RSET NOOP QUIT VRFY HELP"
        } else {
            "commands: EHLO HELO MAIL RCPT DATA RSET NOOP QUIT VRFY HELP"
        }
    }

    fn offers_starttls(&self) -> bool {
        self.config.starttls && !self.tls_active
    }

    fn start_tls(&mut self) -> Reply {
        if !self.config.starttls {
            return Reply::new(502, "5.5.1", "command not implemented");
        }
        if self.tls_active {
            return Reply::new(503, "5.5.1", "TLS already active");
        }

        self.input = InputBuffer::default();
        self.mode = Mode::StartingTls;
        Reply::new(220, "2.0.0", "Ready to start TLS")
    }

    /// Handles EHLO and HELO, which also reset the transaction
    /// (RFC 5321 section 4.1.4).
    fn hello(&mut self, domain: String, extended: bool) -> Reply {
        self.helo = Some(domain);
        self.transaction = None;

        if !extended {
            return Reply::plain(250, &self.config.hostname);
        }
        let mut lines = vec![
            self.config.hostname.clone(),
            format!("SIZE {}", self.config.max_message_size),
            "8BITMIME".to_string(),
            "PIPELINING".to_string(),
            "ENHANCEDSTATUSCODES".to_string(),
        ];
        if self.offers_starttls() {
            lines.push("STARTTLS".to_string());
        }
        Reply::multiline(250, &lines)
    }

    fn mail(&mut self, reverse_path: String, declared_size: Option<u64>) -> Event {
        if self.config.require_tls && !self.tls_active {
            return Event::Reply(Reply::new(530, "5.7.0", "Must issue a STARTTLS command first"));
        }
        if self.helo.is_none() {
            return Event::Reply(Reply::new(503, "5.5.1", "send EHLO or HELO first"));
        }
        if self.transaction.is_some() {
            return Event::Reply(Reply::new(503, "5.5.1", "nested MAIL command"));
        }

        let limit = self.config.max_message_size;
        if let Some(size) = declared_size.filter(|size| *size > limit as u64) {
            return Event::MessageRejected { size, reply: message_too_large(limit) };
        }

        self.transaction = Some(Transaction {
            mail_from: reverse_path,
            rcpt_to: Vec::new(),
        });
        Event::Reply(Reply::new(250, "2.1.0", "sender OK"))
    }

    /// Checks a recipient against the transaction, the recipient limit and
    /// the relay policy, then takes it or hands it to the owner to verify.
    fn rcpt(&mut self, forward_path: String) -> Event {
        let Some(transaction) = &mut self.transaction else {
            return Event::Reply(Reply::new(503, "5.5.1", "send MAIL first"));
        };
        if transaction.rcpt_to.len() >= self.config.max_recipients {
            return Event::Reply(Reply::new(452, "4.5.3", "too many recipients"));
        }
        if let Some(reply) = self.config.relay.check(&forward_path) {
            return Event::RelayDenied { recipient: forward_path, reply };
        }

        if self.config.verify_recipients {
            let request = RecipientToVerify {
                mail_from: transaction.mail_from.clone(),
                recipient: forward_path.clone(),
            };
            self.mode = Mode::AwaitingRecipient(forward_path);
            return Event::VerifyRecipient(request);
        }
        transaction.rcpt_to.push(forward_path);
        Event::Reply(recipient_ok())
    }

    /// Starts reading the data. The message buffer grows with the data
    /// received, not with the `SIZE=` a client declared, so a client that
    /// declares much and sends little gets no memory reserved for it.
    fn data(&mut self) -> Reply {
        let has_recipients = self
            .transaction
            .as_ref()
            .is_some_and(|transaction| !transaction.rcpt_to.is_empty());
        if !has_recipients {
            return Reply::new(503, "5.5.1", "send RCPT first");
        }

        self.mode = Mode::Data(DataReceiver::with_limits(DataLimits {
            max_message_size: self.config.max_message_size,
            max_header_size: self.config.max_header_size,
            max_line_length: self.config.max_data_line_length,
        }));
        Reply::plain(354, "End data with <CR><LF>.<CR><LF>")
    }
}

fn error_reply(error: &CommandError) -> Reply {
    match error {
        CommandError::UnknownCommand => Reply::new(500, "5.5.2", &error.to_string()),
        CommandError::UnsupportedParameter(_) => Reply::new(555, "5.5.4", &error.to_string()),
        CommandError::InvalidSyntax(_) => Reply::new(501, "5.5.4", &error.to_string()),
        CommandError::NonAsciiAddress => Reply::new(553, "5.6.7", &error.to_string()),
    }
}

fn message_too_large(limit: usize) -> Reply {
    Reply::new(
        552,
        "5.3.4",
        &format!("message exceeds the maximum size of {limit} bytes"),
    )
}

/// Returns whether a reply rejects a malformed or misplaced command. These
/// count towards [`MAX_COMMAND_ERRORS`], but policy replies such as 452 and
/// 552 do not.
fn is_command_error(reply: &Reply) -> bool {
    matches!(reply.code(), 500 | 501 | 502 | 503 | 555)
}

#[cfg(test)]
mod tests;
