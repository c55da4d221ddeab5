//! A rule set: the loaded rules of one configuration, in execution order,
//! with an id that changes whenever anything about them changes.
//!
//! One message is processed under one rule set from start to end. The
//! pipeline takes the current set when a message arrives, so a set swapped
//! in while the message is processed only applies to later messages.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use mailgate_message::{Envelope, ParsedMessage};
use mailgate_rules::{FailurePolicy, LoadedRule, RuleDefinition, RuleEngine, RuleInput, RuleLimits, RuleLoadError, RuleSource};
use sha2::{Digest, Sha256};

use crate::config::{Config, FailurePolicyConfig, RuleConfig};
use crate::failure::ProcessError;
use crate::matching::{Direction, MatchConditions};
use crate::plan::Plan;

/// Id of a rule set: the first 12 hex digits of a SHA-256 over every rule's
/// name, component digest, settings, limits, conditions and policy, in
/// execution order.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct RuleSetId(String);

impl RuleSetId {
    /// Returns the id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RuleSetId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One rule with the conditions that select its messages.
#[derive(Debug)]
pub struct ConfiguredRule {
    /// The loaded component.
    pub rule: LoadedRule,
    /// Conditions that select its messages.
    pub conditions: MatchConditions,
}

/// The rules of one configuration, ready to run.
#[derive(Debug)]
pub struct RuleSet {
    id: RuleSetId,
    rules: Vec<ConfiguredRule>,
}

impl RuleSet {
    /// Loads every rule of `config` with `engine`, ordered by priority (lower
    /// first, equal priorities in file order). Fails on the first rule that
    /// does not load.
    pub fn load(engine: &RuleEngine, config: &Config) -> Result<RuleSet, RuleLoadError> {
        let mut ordered: Vec<&RuleConfig> = config.rules.iter().collect();
        ordered.sort_by_key(|rule| rule.priority);

        let mut rules = Vec::with_capacity(ordered.len());
        for rule_config in ordered {
            let rule = engine.load(&definition(rule_config))?;
            rules.push(ConfiguredRule { rule, conditions: MatchConditions::new(&rule_config.conditions) });
        }

        let id = rule_set_id(&rules);
        Ok(RuleSet { id, rules })
    }

    /// Returns the id of this set.
    pub fn id(&self) -> &RuleSetId {
        &self.id
    }

    /// Returns the rules in execution order.
    pub fn rules(&self) -> &[ConfiguredRule] {
        &self.rules
    }

    /// Runs every matching rule on `message` and merges their actions.
    ///
    /// Blocks for as long as the rules run; call it on a blocking thread.
    /// A failing rule is handled by its failure policy: a temporary failure
    /// ends evaluation with [`ProcessError::Rule`], `skip` goes on without
    /// the rule, `block` records a block.
    pub fn evaluate(&self, message: &ParsedMessage, envelope: &Envelope, direction: Direction) -> Result<Plan, ProcessError> {
        let input = RuleInput::new(message, envelope);
        let mut plan = Plan::default();

        for configured in &self.rules {
            let rule = &configured.rule;
            if !configured.conditions.matches(envelope, direction) {
                tracing::debug!(rule = rule.name(), "rule conditions do not match; skipped");
                continue;
            }

            match rule.evaluate(&input) {
                Ok(actions) => {
                    tracing::debug!(rule = rule.name(), ?actions, "rule returned");
                    plan.add(rule.name(), actions, message);
                }
                Err(failure) => match rule.definition().on_failure {
                    FailurePolicy::TemporaryFailure => {
                        tracing::error!(rule = rule.name(), %failure, "rule failed; message gets a temporary failure");
                        return Err(ProcessError::Rule(failure));
                    }
                    FailurePolicy::Skip => {
                        tracing::warn!(rule = rule.name(), %failure, "rule failed; skipped by its failure policy");
                    }
                    FailurePolicy::Block => {
                        tracing::warn!(rule = rule.name(), %failure, "rule failed; message blocked by its failure policy");
                        plan.add_block(rule.name(), "the message could not be checked");
                    }
                },
            }
        }

        Ok(plan)
    }
}

fn definition(config: &RuleConfig) -> RuleDefinition {
    let source = match (&config.shipped, &config.path) {
        (Some(name), _) => RuleSource::Shipped(name.clone()),
        (None, Some(path)) => RuleSource::File(path.clone()),
        // Config::validate rejects rules with neither; an empty shipped name
        // fails the load with the list of shipped rules.
        (None, None) => RuleSource::Shipped(String::new()),
    };

    RuleDefinition {
        name: config.name.clone(),
        source,
        sha256: config.sha256.clone(),
        limits: RuleLimits {
            timeout: Duration::from_millis(config.timeout_ms),
            max_memory_bytes: config.max_memory_mib.saturating_mul(1024 * 1024),
            ..RuleLimits::default()
        },
        settings: config.settings_as_text(),
        on_failure: match config.on_failure {
            FailurePolicyConfig::TemporaryFailure => FailurePolicy::TemporaryFailure,
            FailurePolicyConfig::Skip => FailurePolicy::Skip,
            FailurePolicyConfig::Block => FailurePolicy::Block,
        },
    }
}

fn rule_set_id(rules: &[ConfiguredRule]) -> RuleSetId {
    let mut hasher = Sha256::new();
    for configured in rules {
        let definition = configured.rule.definition();
        let mut settings = definition.settings.clone();
        settings.sort();
        let description = format!(
            "{}\n{}\n{:?}\n{:?}\n{:?}\n{:?}\n",
            definition.name,
            configured.rule.digest(),
            settings,
            definition.limits,
            definition.on_failure,
            configured.conditions
        );
        hasher.update(description.as_bytes());
    }
    let digest = hasher.finalize();
    RuleSetId(digest.iter().take(6).map(|byte| format!("{byte:02x}")).collect())
}

/// The current rule set, swapped atomically on reload.
pub type SharedRuleSet = Arc<arc_swap::ArcSwap<RuleSet>>;
