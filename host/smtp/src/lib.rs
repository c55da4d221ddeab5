//! Inbound SMTP server of mailgate.
//!
//! [`SmtpServer`] accepts connections and runs one session per connection.
//! Each message whose data ends correctly goes to a [`MessageHandler`], and
//! the client gets the reply to DATA only after the handler returns its
//! [`Outcome`]. The protocol itself lives in the I/O-free [`protocol`] module.
//!
//! A handler can also take a large message while it arrives: once the data
//! reaches [`STREAM_THRESHOLD`] bytes, [`MessageHandler::open_sink`] may
//! return a [`DataSink`] that gets the data in pieces of at least
//! [`STREAM_CHUNK`] bytes, and the message then ends in
//! [`MessageHandler::handle_streamed`].
//!
//! Offered: EHLO/HELO, MAIL with SIZE and BODY, RCPT, DATA, RSET, NOOP, QUIT,
//! VRFY (always 252), HELP, and the extensions SIZE, 8BITMIME, PIPELINING and
//! ENHANCEDSTATUSCODES, plus STARTTLS when [`SmtpServerConfig::tls`] is set.
//! Not offered: AUTH, SMTPUTF8, CHUNKING.
//!
//! # STARTTLS
//!
//! After `220 2.0.0 Ready to start TLS` the server drops every byte that the
//! client sent behind the STARTTLS line in plain text. It then runs the
//! handshake (rustls with the `ring` provider, TLS 1.2 and 1.3) and resets
//! the session to its state after the greeting, so the client must send EHLO
//! again and any envelope is discarded. A failed or timed-out handshake closes the
//! connection. [`TlsConfig::from_pem_files`] loads a certificate chain and
//! key; [`TlsConfig::self_signed`] generates one for development.
//!
//! # Limits
//!
//! Every limit is a field of [`SmtpServerConfig`]; the defaults are those of
//! [`SmtpServerConfig::default`].
//!
//! | setting | default | when exceeded |
//! |---|---|---|
//! | `max_message_size` | 25 MiB | `552 5.3.4` to MAIL with a larger `SIZE=`, or after the end of the data |
//! | `max_header_size` | 1 MiB, from the start of the data to the first empty line | `552 5.3.4` after the end of the data |
//! | `max_data_line_length` | 1 MiB including the line end; a bare LF also ends a line | `554 5.6.0` after the end of the data |
//! | `max_line_length` (command lines) | 4096 bytes including CR LF | `500 5.5.2`, the rest of the line is skipped |
//! | `max_recipients` | 100 | `452 4.5.3` to the extra RCPT |
//! | `max_connections` | 100 sessions | `421 4.3.2` and close |
//! | `max_connections_per_client` | 20 sessions from one IP address | `421 4.7.0` and close |
//! | `command_timeout` | 5 minutes per command, data read or reply write | `421 4.4.2` and close |
//! | `tls_handshake_timeout` | 30 seconds | close without a reply |
//! | `require_tls` | off | `530 5.7.0` to MAIL before STARTTLS |
//! | rejected commands per session | 20 ([`protocol::session::MAX_COMMAND_ERRORS`]) | `421 4.7.0` and close |
//!
//! # Relay control
//!
//! A recipient is taken when its domain is one of
//! [`SmtpServerConfig::accepted_domains`], or when the client's address lies
//! in [`SmtpServerConfig::relay_networks`] (default: loopback only); anything
//! else gets `550 5.7.1 relaying denied`. With
//! [`SmtpServerConfig::verify_recipients`], each recipient that passes is
//! then checked by [`MessageHandler::verify_recipient`] (recipient
//! look-ahead), which answers `250`, `550 5.1.1` or `451 4.4.3`.
//!
//! The DATA limits are checked while the data arrives. Once one is exceeded,
//! the server stores nothing more of that message but keeps reading to the
//! end marker, so it replies once after the data and the session stays in
//! sync for the next transaction. RFC 5321 sets 1000 octets per text line;
//! the default of 1 MiB is much higher because real mail exceeds 1000
//! (minified HTML, unwrapped text), see
//! [`protocol::DEFAULT_MAX_DATA_LINE_LENGTH`].
//!
//! Other rejections: MAIL or RCPT with a non-ASCII address gets `553 5.6.7`
//! because SMTPUTF8 is not offered. BDAT gets `502 5.5.1` in and outside a
//! transaction, and the chunk octets that follow it are skipped so they are
//! never read as commands.

pub mod protocol;
pub mod server;

pub use protocol::{DomainPattern, RecipientToVerify, RecipientVerdict};
pub use server::{
    ConfigError, DataSink, IncomingEnvelope, MessageHandler, NoSink, Outcome, ReceivedMessage, STREAM_CHUNK,
    STREAM_THRESHOLD, SessionId, SmtpServer, SmtpServerConfig, TlsConfig, TlsError, loopback_networks,
};
