//! The mailgate gateway: configuration, the processing pipeline and the
//! wiring of SMTP, rules, vault and delivery.
//!
//! [`Gateway::start`] loads the rules, starts the built-in vault when no
//! external one is configured, and serves SMTP. Each message goes through
//! [`Pipeline`]: parse, run the rules, upload, rewrite, deliver. The SMTP
//! client gets 250 only after the next hop took the message.

mod config;
mod failure;
mod gateway;
mod ids;
mod pipeline;
mod plan;

pub use config::{Config, ConfigError, DeliveryConfig, RuleConfig, SmtpConfig, VaultConfig, BuiltinVaultConfig};
pub use failure::ProcessError;
pub use gateway::{Gateway, GatewayError, RunningGateway};
pub use ids::QueueId;
pub use pipeline::Pipeline;
pub use plan::Plan;
