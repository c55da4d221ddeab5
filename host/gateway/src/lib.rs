//! The mailgate gateway: configuration, the processing pipeline and the
//! wiring of SMTP, rules, vault and delivery.
//!
//! [`Gateway::start`] loads the rules, starts the built-in vault when no
//! external one is configured, opens the spool and serves SMTP. Each message
//! goes through [`Pipeline`]: parse, run the rules, upload, rewrite, deliver.
//! In the default after-queue mode ([`SmtpMode`]) the SMTP client gets 250
//! once the message is in the spool, and a queue runner processes it, retries
//! temporary failures and bounces permanent ones. In before-queue mode the
//! client gets 250 only after the next hop took the message.

pub mod admin;
mod admin_ui;
mod config;
mod failure;
mod gateway;
mod ids;
mod lookahead;
mod matching;
pub mod metrics;
mod pipeline;
mod plan;
mod queue_acceptor;
mod queue_bounce;
mod queue_runner;
mod queue_sink;
mod queue_worker;
mod queued;
mod reload;
mod report;
mod rule_errors;
mod rule_set;
mod sanitizing;
mod scanning;
mod uploads;

pub use config::{
    AdminConfig, BalanceConfig, BuiltinVaultConfig, Config, ConfigError, DeliveryConfig, DirectionConfig, FailurePolicyConfig,
    LookaheadMode, MatchConfig, OutboundTlsConfig, QueueConfig, RuleConfig, RuleSetConfig, SanitizeConfig, SanitizeEngineConfig, ScanConfig,
    ScanEngineConfig, SmtpConfig, SmtpMode, UploadFailurePolicy, VaultConfig,
};
pub use config::{NoticeConfig, NoticePositionConfig};
pub use failure::ProcessError;
pub use gateway::{Gateway, GatewayError, RunningGateway};
pub use ids::QueueId;
pub use matching::{Direction, MatchConditions};
pub use pipeline::{Pipeline, PipelineSettings};
pub use plan::Plan;
pub use reload::{ReloadError, Reloader};
pub use sanitizing::{MessageSanitization, SanitizeFailure, SanitizeFailurePolicy, SanitizeStage, SanitizedPart};
pub use scanning::ScanStage;
pub use rule_errors::{MAX_RECENT_ERRORS, RecentError, RecentErrors};
pub use rule_set::{ConfiguredRule, RuleSet, RuleSetId, SharedRuleSet};
