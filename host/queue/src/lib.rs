//! The durable queue of mailgate: a spool directory that keeps every
//! accepted message until it is delivered or bounced, the retry schedule,
//! and the delivery status notifications (bounces) sent for failed messages.
//!
//! Nothing here uses an async runtime. The spool's file operations block,
//! so async callers run them on a blocking thread.
//!
//! # Durability
//!
//! [`Spool::accept`] returns only when the message and its metadata are
//! written, synced and moved into place and the directory is synced, so a
//! message the gateway confirmed with 250 survives a crash of the process or
//! the machine. Concurrent operations share the directory syncs (group commit), and
//! each one still returns only after its own writes are on disk.
//! [`Spool::update`] writes the metadata the same way. [`Spool::store_processed`]
//! and [`Spool::remove`] sync their files but do not wait for the directory,
//! so a crash of the machine right after them can undo them: the message is
//! then processed again or delivered again. Delivery is at least once: a
//! crash between the next hop's acceptance and [`Spool::remove`] delivers
//! the message again after the restart.

mod dsn;
mod entry;
mod error;
mod files;
mod group_commit;
mod id;
mod recovery;
mod retry;
mod spool;
mod staged;
mod syncer;

pub use dsn::{Bounce, FailedRecipient, build_bounce, header_block};
pub use entry::{Entry, QueuedEnvelope, Stage};
pub use error::SpoolError;
pub use id::QueueId;
pub use retry::{RetryDecision, RetryPolicy};
pub use spool::{Recovery, Spool};
pub use staged::Staged;
