//! The definition of one rule, as the configuration gives it.

use std::path::PathBuf;

use crate::limits::RuleLimits;

/// Source of a rule's component.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RuleSource {
    /// A rule shipped inside the gateway binary, by name (`secure-storage`).
    Shipped(String),
    /// A component file on disk.
    File(PathBuf),
}

/// Effect on the message when this rule traps, exceeds a limit or returns
/// an error.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum FailurePolicy {
    /// Reply 451, so the sending server retries later. The default.
    #[default]
    TemporaryFailure,
    /// Go on as if the rule had returned no actions.
    Skip,
    /// Reject the message with 550.
    Block,
}

/// One configured rule, ready to be loaded.
#[derive(Clone, Debug)]
pub struct RuleDefinition {
    /// Name in logs, errors and the history.
    pub name: String,
    /// Source of the component.
    pub source: RuleSource,
    /// Expected SHA-256 of the component bytes as hex; the load fails when
    /// the component differs.
    pub sha256: Option<String>,
    /// Sandbox limits for each invocation.
    pub limits: RuleLimits,
    /// The rule's own settings, handed to the component as name and text.
    pub settings: Vec<(String, String)>,
    /// Effect of a failure of this rule on the message.
    pub on_failure: FailurePolicy,
}

impl RuleDefinition {
    /// Creates a definition with default limits, no settings and the
    /// default failure policy.
    pub fn new(name: impl Into<String>, source: RuleSource) -> RuleDefinition {
        RuleDefinition {
            name: name.into(),
            source,
            sha256: None,
            limits: RuleLimits::default(),
            settings: Vec::new(),
            on_failure: FailurePolicy::default(),
        }
    }
}
