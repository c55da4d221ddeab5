//! Configuration of the rules: which component, in which order, on which
//! messages, with which settings and limits.

use std::path::PathBuf;

use ipnet::IpNet;
use serde::Deserialize;

/// One rule.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleConfig {
    /// Name in logs, errors and the history.
    pub name: String,
    /// A rule shipped with the gateway: `no-attachment`, `secure-storage`,
    /// `large-attachments`, `offload-scanning`, `false-positives` or
    /// `sanitized-originals`.
    pub shipped: Option<String>,
    /// Path of a component file (`.wasm`), for any other rule.
    pub path: Option<PathBuf>,
    /// Expected SHA-256 of the component as 64 hex digits; loading fails
    /// when the component differs.
    pub sha256: Option<String>,
    /// Order of execution: lower numbers run first, equal numbers in file
    /// order. Default 0.
    #[serde(default)]
    pub priority: i32,
    /// Run-time limit per message, in milliseconds. Default 1000.
    #[serde(default = "default_rule_timeout_ms")]
    pub timeout_ms: u64,
    /// Linear memory limit, in MiB. Default 64.
    #[serde(default = "default_rule_memory_mib")]
    pub max_memory_mib: usize,
    /// Effect of a failure of the rule (trap, limit, error) on the message:
    /// `temporary-failure` (451, the default), `skip` (go on without this
    /// rule's actions) or `block` (550).
    #[serde(default)]
    pub on_failure: FailurePolicyConfig,
    /// Conditions that select the messages the rule runs on; all messages
    /// by default.
    #[serde(default, rename = "match")]
    pub conditions: MatchConfig,
    /// The rule's own settings, handed to the component, which validates
    /// them when the gateway loads it.
    #[serde(default)]
    pub settings: toml::Table,
}

impl RuleConfig {
    /// Configures a shipped rule with default limits, named after it.
    pub fn shipped(name: &str) -> RuleConfig {
        RuleConfig {
            name: name.to_string(),
            shipped: Some(name.to_string()),
            path: None,
            sha256: None,
            priority: 0,
            timeout_ms: default_rule_timeout_ms(),
            max_memory_mib: default_rule_memory_mib(),
            on_failure: FailurePolicyConfig::default(),
            conditions: MatchConfig::default(),
            settings: toml::Table::new(),
        }
    }

    /// Configures a rule from a component file with default limits.
    pub fn file(name: &str, path: PathBuf) -> RuleConfig {
        RuleConfig { shipped: None, path: Some(path), ..RuleConfig::shipped(name) }
    }

    /// Converts the settings to name and text, the form the component receives:
    /// strings as they are, other TOML values as TOML text, arrays and
    /// tables as JSON-like TOML inline text.
    pub fn settings_as_text(&self) -> Vec<(String, String)> {
        self.settings
            .iter()
            .map(|(name, value)| {
                let text = match value {
                    toml::Value::String(text) => text.clone(),
                    other => other.to_string(),
                };
                (name.clone(), text)
            })
            .collect()
    }
}

/// Failure policy as written in the configuration.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum FailurePolicyConfig {
    /// 451: the sending server retries later.
    #[default]
    TemporaryFailure,
    /// Go on without this rule's actions.
    Skip,
    /// 550: reject the message.
    Block,
}

/// Conditions that select the messages a rule runs on. Every condition that
/// is set must hold; an empty list means "any".
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MatchConfig {
    /// `inbound`, `outbound` or `any` (the default). A message is outbound
    /// when its client address is in `smtp.trusted_networks`.
    pub direction: DirectionConfig,
    /// Envelope senders: full addresses (`alice@example.com`) or domains
    /// (`example.com`), compared without regard to case.
    pub senders: Vec<String>,
    /// Envelope recipients in the same form; the rule runs when any
    /// recipient matches.
    pub recipients: Vec<String>,
    /// Client address ranges in CIDR form (`192.0.2.0/24`, `2001:db8::/32`).
    pub client_networks: Vec<IpNet>,
}

/// Direction condition of a rule.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DirectionConfig {
    /// Both directions.
    #[default]
    Any,
    /// Messages from clients outside `smtp.trusted_networks`.
    Inbound,
    /// Messages from clients inside `smtp.trusted_networks`.
    Outbound,
}

pub(crate) fn default_rules() -> Vec<RuleConfig> {
    vec![RuleConfig::shipped("secure-storage")]
}

fn default_rule_timeout_ms() -> u64 {
    1000
}

fn default_rule_memory_mib() -> usize {
    64
}
