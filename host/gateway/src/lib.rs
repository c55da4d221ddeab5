//! The mailgate gateway: configuration, the processing pipeline and the
//! wiring of SMTP, rules, vault and delivery.
//!
//! [`Gateway::start`] loads the rules, starts the built-in vault when no
//! external one is configured, and serves SMTP. Each message goes through
//! [`Pipeline`]: parse, run the rules, upload, rewrite, deliver. The SMTP
//! client gets 250 only after the next hop took the message.

pub mod admin;
mod admin_ui;
mod config;
mod failure;
mod gateway;
mod ids;
mod matching;
pub mod metrics;
mod pipeline;
mod plan;
mod reload;
mod report;
mod rule_set;

pub use config::{
    AdminConfig, BuiltinVaultConfig, Config, ConfigError, DeliveryConfig, DirectionConfig, FailurePolicyConfig,
    MatchConfig, RuleConfig, RuleSetConfig, SmtpConfig, VaultConfig,
};
pub use failure::ProcessError;
pub use gateway::{Gateway, GatewayError, RunningGateway};
pub use ids::QueueId;
pub use matching::{Direction, MatchConditions};
pub use pipeline::{Pipeline, PipelineSettings};
pub use plan::Plan;
pub use reload::{ReloadError, Reloader};
pub use rule_set::{ConfiguredRule, RuleSet, RuleSetId, SharedRuleSet};
