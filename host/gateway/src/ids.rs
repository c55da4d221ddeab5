//! Identifiers of the gateway. The queue id belongs to the spool, which
//! names its files after it.

pub use mailgate_queue::QueueId;
