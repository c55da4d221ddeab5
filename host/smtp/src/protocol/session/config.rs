//! Limits and switches of one session, with their defaults.

use crate::protocol::relay::RelayPolicy;

/// Default maximum size of the header block of a message: 1 MiB. Real
/// headers are a few KiB, and long `Received` chains or recipient lists stay
/// far below this, while a header bomb of millions of fields does not.
pub const DEFAULT_MAX_HEADER_SIZE: usize = 1024 * 1024;

/// Default maximum length of one line inside DATA, including its line end:
/// 1 MiB.
///
/// RFC 5321 section 4.5.3.1.6 sets 1000 octets, but real senders exceed it
/// (minified HTML newsletters, unwrapped text and XML bodies), and rejecting
/// them would lose mail that the gateway can re-encode on the way out. Memory
/// is bounded by the message size anyway, so this limit only rejects
/// pathological input, such as a whole attachment on one line.
pub const DEFAULT_MAX_DATA_LINE_LENGTH: usize = 1024 * 1024;

/// Limits and names that a session needs.
#[derive(Clone, Debug)]
pub struct SessionConfig {
    /// Host name in the greeting and the EHLO and HELO replies.
    pub hostname: String,
    /// Maximum message size in bytes after dot-unstuffing.
    pub max_message_size: usize,
    /// Maximum number of recipients in one transaction.
    pub max_recipients: usize,
    /// Maximum command line length in bytes, including CR LF.
    pub max_line_length: usize,
    /// Maximum size in bytes of the header block of a message, up to and
    /// including the first empty line.
    pub max_header_size: usize,
    /// Maximum length in bytes of one line inside DATA, including its line end.
    pub max_data_line_length: usize,
    /// Whether STARTTLS is offered. The owner of the socket must then handle
    /// [`super::Event::StartTls`].
    pub starttls: bool,
    /// Whether MAIL is rejected with `530 5.7.0` until TLS is active.
    pub require_tls: bool,
    /// Which recipients this session's client may name.
    pub relay: RelayPolicy,
    /// Whether each recipient that passes `relay` is handed to the owner as
    /// [`super::Event::VerifyRecipient`] before it is taken.
    pub verify_recipients: bool,
}

impl Default for SessionConfig {
    /// Creates the defaults of [`crate::SmtpServerConfig`]: host `localhost`, 25 MiB
    /// messages, 100 recipients, 4096-byte command lines, the limits above,
    /// no TLS, [`RelayPolicy::default`] and no recipient look-ahead.
    fn default() -> SessionConfig {
        SessionConfig {
            hostname: "localhost".to_string(),
            max_message_size: 25 * 1024 * 1024,
            max_recipients: 100,
            max_line_length: 4096,
            max_header_size: DEFAULT_MAX_HEADER_SIZE,
            max_data_line_length: DEFAULT_MAX_DATA_LINE_LENGTH,
            starttls: false,
            require_tls: false,
            relay: RelayPolicy::default(),
            verify_recipients: false,
        }
    }
}
