//! I/O-free SMTP protocol: command parsing, replies, the DATA receiver and the
//! session state machine. Nothing here touches a socket, so every part can be
//! tested with byte strings.

pub(crate) mod address;
pub mod command;
pub mod data;
pub mod input;
pub mod recipient;
pub mod relay;
pub mod reply;
pub mod session;

pub use command::{BodyType, Command, CommandError, MailParameters, parse_command};
pub use data::{DataError, DataLimits, DataReceiver, Progress};
pub use input::{InputBuffer, Line};
pub use recipient::{RecipientToVerify, RecipientVerdict};
pub use relay::{DomainPattern, DomainPatternError, RelayPolicy};
pub use reply::{Reply, sanitize_text};
pub use session::{
    CompletedMessage, DEFAULT_MAX_DATA_LINE_LENGTH, DEFAULT_MAX_HEADER_SIZE, DataInProgress, Event, Session,
    SessionConfig,
};
