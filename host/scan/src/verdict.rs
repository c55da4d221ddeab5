//! The outcome of scanning one attachment.

use std::fmt;

/// Result of one scan, with the name of the engine that produced it.
///
/// `Failed` means the engine could not decide (it was down, timed out, or
/// returned something that could not be parsed). It is never a form of clean:
/// the caller applies its [`UnavailablePolicy`](crate::UnavailablePolicy).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// No threat was found.
    Clean {
        engine: String,
        /// A sanitized copy that the engine produced and that should be
        /// delivered in place of the original, when there is one.
        sanitized: Option<SanitizedCopy>,
        /// The engine's id of this scan, for engines that keep a record of
        /// each scan (MetaDefender Core's `data_id`). `None` for the other
        /// engines and when no request was sent, as for an empty file.
        data_id: Option<String>,
    },

    /// The content must not pass. `reason` is meant for logs and for the
    /// bounce or notice text.
    Blocked { engine: String, reason: String },

    /// The engine could not decide; `reason` names the cause.
    Failed { engine: String, reason: String },
}

/// Reference to a sanitized copy of a scanned file, kept by the engine.
///
/// For MetaDefender Core, fetch the bytes with
/// [`MetaDefenderScanner::fetch_sanitized`](crate::MetaDefenderScanner::fetch_sanitized).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SanitizedCopy {
    /// The engine's identifier of the scan that produced the copy.
    pub data_id: String,
}

impl Verdict {
    /// Creates a clean verdict without a sanitized copy or scan id.
    pub fn clean(engine: &str) -> Self {
        Verdict::Clean {
            engine: engine.to_string(),
            sanitized: None,
            data_id: None,
        }
    }

    /// Creates a blocked verdict.
    pub fn blocked(engine: &str, reason: impl Into<String>) -> Self {
        Verdict::Blocked {
            engine: engine.to_string(),
            reason: reason.into(),
        }
    }

    /// Creates a failed verdict.
    pub fn failed(engine: &str, reason: impl Into<String>) -> Self {
        Verdict::Failed {
            engine: engine.to_string(),
            reason: reason.into(),
        }
    }

    /// Returns the name of the engine that produced the verdict.
    pub fn engine(&self) -> &str {
        match self {
            Verdict::Clean { engine, .. }
            | Verdict::Blocked { engine, .. }
            | Verdict::Failed { engine, .. } => engine,
        }
    }

    /// Returns true for [`Verdict::Clean`].
    pub fn is_clean(&self) -> bool {
        matches!(self, Verdict::Clean { .. })
    }

    /// Returns true for [`Verdict::Blocked`].
    pub fn is_blocked(&self) -> bool {
        matches!(self, Verdict::Blocked { .. })
    }

    /// Returns true for [`Verdict::Failed`].
    pub fn is_failed(&self) -> bool {
        matches!(self, Verdict::Failed { .. })
    }

    /// Returns the sanitized copy of a clean verdict, when the engine made one.
    pub fn sanitized_copy(&self) -> Option<&SanitizedCopy> {
        match self {
            Verdict::Clean { sanitized, .. } => sanitized.as_ref(),
            Verdict::Blocked { .. } | Verdict::Failed { .. } => None,
        }
    }

    /// Returns the engine's id of the scan behind a clean verdict, when the
    /// engine keeps one.
    pub fn data_id(&self) -> Option<&str> {
        match self {
            Verdict::Clean { data_id, .. } => data_id.as_deref(),
            Verdict::Blocked { .. } | Verdict::Failed { .. } => None,
        }
    }

    /// Returns the reason of a blocked or failed verdict.
    pub fn reason(&self) -> Option<&str> {
        match self {
            Verdict::Clean { .. } => None,
            Verdict::Blocked { reason, .. } | Verdict::Failed { reason, .. } => Some(reason),
        }
    }
}

impl fmt::Display for Verdict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Verdict::Clean {
                engine,
                sanitized: None,
                ..
            } => write!(f, "clean ({engine})"),
            Verdict::Clean {
                engine,
                sanitized: Some(copy),
                ..
            } => write!(
                f,
                "clean after sanitization ({engine}, data id {})",
                copy.data_id
            ),
            Verdict::Blocked { engine, reason } => write!(f, "blocked by {engine}: {reason}"),
            Verdict::Failed { engine, reason } => write!(f, "scan failed in {engine}: {reason}"),
        }
    }
}
