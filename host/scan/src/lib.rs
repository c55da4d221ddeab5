//! Attachment scanning for the gateway.
//!
//! Every engine implements [`Scanner`] and turns one attachment into a
//! [`Verdict`]: clean, blocked with a reason, or failed with a cause. An engine
//! that is down, times out or returns something it cannot parse yields
//! [`Verdict::Failed`], never [`Verdict::Clean`]; what the caller does then is
//! its [`UnavailablePolicy`].
//!
//! Engines:
//! - [`BuiltinScanner`]: the default, with no external service. It blocks the
//!   EICAR test file, SHA-256 digests from a block list, executables, and
//!   content whose magic bytes contradict the declared media type.
//! - [`ClamdScanner`]: ClamAV's daemon over TCP or a Unix socket (`INSTREAM`).
//! - [`MetaDefenderScanner`]: MetaDefender Core over its REST API, including
//!   the download of sanitized copies.
//!
//! [`Engine`] holds any one of them, for code that picks the engine from
//! configuration, and records each scan's time in the histogram
//! [`SCAN_SECONDS_METRIC`] through the `metrics` facade.

mod blocklist;
mod builtin;
mod clamd;
mod eicar;
mod engine;
mod filetype;
mod hex;
mod metadefender;
mod policy;
mod request;
mod scanner;
#[cfg(feature = "testing")]
pub mod testing;
mod verdict;

pub use blocklist::{Blocklist, BlocklistError};
pub use builtin::BuiltinScanner;
pub use clamd::{ClamdAddress, ClamdConfig, ClamdError, ClamdOutcome, ClamdScanner};
pub use eicar::EICAR_TEST_FILE;
pub use engine::{Engine, SCAN_SECONDS_METRIC};
pub use filetype::ContentKind;
pub use metadefender::{
    MetaDefenderConfig, MetaDefenderError, MetaDefenderReport, MetaDefenderScanner,
    describe_result_code,
};
pub use policy::UnavailablePolicy;
pub use request::ScanRequest;
pub use scanner::Scanner;
pub use verdict::{SanitizedCopy, Verdict};
