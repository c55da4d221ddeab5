//! Runs the organisation's rules as sandboxed WebAssembly components.
//!
//! A rule is a component that exports `mailgate:rule/evaluator` (see
//! `wit/rule.wit`). [`RuleEngine`] compiles each component once and
//! pre-instantiates it. [`LoadedRule::evaluate`] then creates a fresh
//! instance for every message, in a store of its own with a memory limit, a
//! time limit and a WASI context that grants nothing: no files, no network,
//! no environment, no arguments, and output captured. The WASI context is
//! built when the guest first calls WASI, so a rule that imports no WASI
//! function (the shipped rules) does not pay for it. A rule that traps, runs out of
//! time or memory, or returns an error yields a [`RuleFailure`]; the caller
//! turns that into a temporary failure for the message.

mod action;
mod bindings;
mod cache;
mod definition;
mod engine;
mod error;
mod limits;
mod output;
mod rule;
mod shipped;
mod version;
mod view;

pub use definition::{FailurePolicy, RuleDefinition, RuleSource};
pub use engine::{EPOCH_TICK, PoolSize, RuleEngine};
pub use error::{RuleFailure, RuleLoadError};
pub use limits::RuleLimits;
pub use output::{MAX_CAPTURE_BYTES, MAX_LINES_PER_MINUTE};
pub use rule::LoadedRule;
pub use version::INTERFACE_VERSION;
pub use shipped::{SHIPPED_RULES, shipped_component};
pub use action::{Action, NoticePosition};
pub use view::{PartSanitization, PartScan, RuleInput, ScanFacts, Stage};

/// Directory with the components that the build script compiled, the test
/// test components from `plugins/testing` included.
pub const COMPONENT_DIR: &str = env!("MAILGATE_COMPONENT_DIR");
