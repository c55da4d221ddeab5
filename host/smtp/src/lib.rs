//! Inbound SMTP server of mailgate.
//!
//! [`SmtpServer`] accepts connections and runs one session per connection.
//! Each message whose data ends correctly goes to a [`MessageHandler`], and
//! the client gets the reply to DATA only after the handler returns its
//! [`Outcome`]. The protocol itself lives in the I/O-free [`protocol`] module.
//!
//! Offered: EHLO/HELO, MAIL with SIZE and BODY, RCPT, DATA, RSET, NOOP, QUIT,
//! VRFY (always 252), HELP, and the extensions SIZE, 8BITMIME, PIPELINING and
//! ENHANCEDSTATUSCODES. Not offered: STARTTLS, AUTH, SMTPUTF8, CHUNKING.

pub mod protocol;
pub mod server;

pub use server::{
    ConfigError, MessageHandler, Outcome, ReceivedMessage, SessionId, SmtpServer, SmtpServerConfig,
};
