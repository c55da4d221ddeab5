//! The interface that every engine implements.

use std::future::Future;

use crate::{ScanRequest, Verdict};

/// An engine that scans attachments.
///
/// `scan` never panics and never returns [`Verdict::Clean`] when the engine
/// could not decide: unavailability, timeouts and invalid responses yield
/// [`Verdict::Failed`] with the cause. Use [`Engine`](crate::Engine) where the
/// engine is chosen at run time.
pub trait Scanner: Send + Sync {
    /// Returns the engine's name, as it appears in verdicts and logs.
    fn name(&self) -> &str;

    /// Scans one attachment.
    fn scan(&self, request: ScanRequest<'_>) -> impl Future<Output = Verdict> + Send;
}
