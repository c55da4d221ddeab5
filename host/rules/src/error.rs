//! Errors of loading and running rules.

use std::path::PathBuf;

/// Errors of loading a rule component.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RuleLoadError {
    /// The configuration named a shipped rule that does not exist.
    #[error("rule `{rule}`: no shipped rule is called `{name}`; shipped rules are: {available}")]
    UnknownShippedRule {
        /// Name of the rule in the configuration.
        rule: String,
        /// The shipped name that was requested.
        name: String,
        /// Comma-separated list of shipped names.
        available: String,
    },

    /// The component file could not be read.
    #[error("rule `{rule}`: cannot read component {path}: {source}")]
    Read {
        /// Name of the rule in the configuration.
        rule: String,
        /// Path that was read.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },

    /// The bytes are not a valid component, or compiling them failed.
    #[error("rule `{rule}`: not a valid WebAssembly component: {reason}")]
    Compile {
        /// Name of the rule in the configuration.
        rule: String,
        /// Compiler message.
        reason: String,
    },

    /// The component does not export the rule interface, imports something
    /// the host does not provide, or was built for another version of it.
    #[error("rule `{rule}`: component does not match the mailgate:rule@{host_version} interface: {reason}")]
    Interface {
        /// Name of the rule in the configuration.
        rule: String,
        /// The interface version the host provides.
        host_version: &'static str,
        /// Linker message.
        reason: String,
    },

    /// The component was built for another version of the rule interface.
    #[error("rule `{rule}`: component is built for mailgate:rule@{component_version}, but this gateway provides mailgate:rule@{host_version}; rebuild the rule against wit/rule.wit of this gateway")]
    IncompatibleVersion {
        /// Name of the rule in the configuration.
        rule: String,
        /// Version the component exports.
        component_version: String,
        /// Version this host implements.
        host_version: &'static str,
    },

    /// The component's SHA-256 differs from the pinned one.
    #[error("rule `{rule}`: component SHA-256 is {actual}, but the configuration pins {expected}")]
    DigestMismatch {
        /// Name of the rule in the configuration.
        rule: String,
        /// The pinned digest.
        expected: String,
        /// The digest of the component read.
        actual: String,
    },

    /// The component rejected one of its settings.
    #[error("rule `{rule}`: invalid setting `{setting}`: {reason}")]
    InvalidSetting {
        /// Name of the rule in the configuration.
        rule: String,
        /// Name of the setting; empty when the rule names none.
        setting: String,
        /// The reason the component gave.
        reason: String,
    },

    /// Validating the settings failed: the component trapped or timed out.
    #[error("rule `{rule}`: checking the settings failed: {reason}")]
    Validation {
        /// Name of the rule in the configuration.
        rule: String,
        /// What failed.
        reason: String,
    },

    /// The rule's memory limit is larger than the engine's pool slots.
    #[error("rule `{rule}`: memory limit of {requested} bytes exceeds the {slot} bytes of the engine's memory slots; restart the gateway to size the slots for it")]
    MemoryAbovePool {
        /// Name of the rule in the configuration.
        rule: String,
        /// The rule's memory limit in bytes.
        requested: usize,
        /// The slot size in bytes.
        slot: usize,
    },

    /// The wasmtime engine could not be created.
    #[error("cannot create the WebAssembly engine: {0}")]
    Engine(String),
}

/// Failures of one rule invocation. Every variant is a temporary
/// condition from the sender's point of view: the message is not accepted and
/// the sending server retries later.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RuleFailure {
    /// The rule ran longer than its time limit.
    #[error("rule `{rule}` exceeded its time limit of {limit_ms} ms")]
    TimedOut {
        /// Name of the rule.
        rule: String,
        /// The limit in milliseconds.
        limit_ms: u128,
    },

    /// The rule trapped: a panic, an out-of-bounds access, a memory limit hit.
    #[error("rule `{rule}` trapped: {reason}")]
    Trapped {
        /// Name of the rule.
        rule: String,
        /// Trap description from wasmtime.
        reason: String,
    },

    /// The rule returned an error instead of actions.
    #[error("rule `{rule}` returned an error: {reason}")]
    Returned {
        /// Name of the rule.
        rule: String,
        /// The error text the rule returned, cut to 500 characters.
        reason: String,
    },

    /// A fresh instance could not be created.
    #[error("rule `{rule}` could not be instantiated: {reason}")]
    Instantiate {
        /// Name of the rule.
        rule: String,
        /// wasmtime's message.
        reason: String,
    },
}
