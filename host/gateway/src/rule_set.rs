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
use mailgate_rules::{
    Action, FailurePolicy, LoadedRule, RuleDefinition, RuleEngine, RuleFailure, RuleInput, RuleLimits, RuleLoadError,
    RuleSource, ScanFacts,
};
use sha2::{Digest, Sha256};

use crate::config::{Config, FailurePolicyConfig, RuleConfig};
use crate::matching::{Direction, MatchConditions};
use crate::plan::Plan;
use crate::rule_errors::RecentErrors;

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
    /// Its last failures in this rule set.
    pub recent_errors: RecentErrors,
}

/// Result of one rule on one message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RuleRun {
    /// The rule's match conditions did not select the message.
    NotMatched,
    /// The rule returned these actions.
    Ran(Vec<Action>),
    /// The rule failed; its failure policy decided what followed.
    Failed(String),
}

/// The result of running a rule set on one message.
#[derive(Debug, Default)]
pub struct Evaluation {
    /// The merged actions.
    pub plan: Plan,
    /// Each rule that was considered, in execution order, with what it did.
    pub runs: Vec<(String, RuleRun)>,
    /// A failure whose policy is a temporary failure; processing stops.
    pub temporary_failure: Option<RuleFailure>,
}

/// Joins the runs of the second stage into those of the first, rule by
/// rule, so the history shows one result per rule: the actions of both
/// stages, or the failure of either.
pub fn join_runs(first: &mut Vec<(String, RuleRun)>, second: Vec<(String, RuleRun)>) {
    for (name, later) in second {
        let Some((_, earlier)) = first.iter_mut().find(|(existing, _)| *existing == name) else {
            first.push((name, later));
            continue;
        };
        let joined = match (std::mem::replace(earlier, RuleRun::NotMatched), later) {
            (RuleRun::Failed(error), _) | (_, RuleRun::Failed(error)) => RuleRun::Failed(error),
            (RuleRun::Ran(mut actions), RuleRun::Ran(more)) => {
                actions.extend(more);
                RuleRun::Ran(actions)
            }
            (RuleRun::Ran(actions), RuleRun::NotMatched) | (RuleRun::NotMatched, RuleRun::Ran(actions)) => RuleRun::Ran(actions),
            (RuleRun::NotMatched, RuleRun::NotMatched) => RuleRun::NotMatched,
        };
        *earlier = joined;
    }
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
            rules.push(ConfiguredRule {
                rule,
                conditions: MatchConditions::new(&rule_config.conditions),
                recent_errors: RecentErrors::default(),
            });
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
    /// Without `facts` the rules see the message before the scan; with
    /// them, after the scan with its verdicts and sanitization results.
    /// Blocks for as long as the rules run; call it on a blocking thread.
    /// A failing rule is handled by its failure policy: a temporary failure
    /// stops evaluation and is returned in [`Evaluation::temporary_failure`],
    /// `skip` goes on without the rule, `block` records a block.
    pub fn evaluate(
        &self,
        message: &ParsedMessage,
        envelope: &Envelope,
        direction: Direction,
        facts: Option<&ScanFacts>,
    ) -> Evaluation {
        let input = match facts {
            None => RuleInput::new(message, envelope),
            Some(facts) => RuleInput::after_scan(message, envelope, facts),
        };
        let stage = input.stage();
        let mut evaluation = Evaluation::default();

        for configured in &self.rules {
            let rule = &configured.rule;
            let name = rule.name().to_string();
            if !configured.conditions.matches(envelope, direction) {
                tracing::debug!(rule = %name, "rule conditions do not match; skipped");
                evaluation.runs.push((name, RuleRun::NotMatched));
                continue;
            }

            match crate::metrics::time_rule_invocation(&name, || rule.evaluate(&input)) {
                Ok(actions) => {
                    tracing::debug!(rule = %name, ?stage, ?actions, "rule returned");
                    evaluation.plan.add(&name, actions.clone(), message, stage);
                    evaluation.runs.push((name, RuleRun::Ran(actions)));
                }
                Err(failure) => {
                    configured.recent_errors.record(failure.to_string());
                    evaluation.runs.push((name.clone(), RuleRun::Failed(failure.to_string())));
                    match rule.definition().on_failure {
                        FailurePolicy::TemporaryFailure => {
                            tracing::error!(rule = %name, %failure, "rule failed; message gets a temporary failure");
                            evaluation.temporary_failure = Some(failure);
                            return evaluation;
                        }
                        FailurePolicy::Skip => {
                            tracing::warn!(rule = %name, %failure, "rule failed; skipped by its failure policy");
                        }
                        FailurePolicy::Block => {
                            tracing::warn!(rule = %name, %failure, "rule failed; message blocked by its failure policy");
                            evaluation.plan.add_block(&name, "the message could not be checked");
                        }
                    }
                }
            }
        }

        evaluation
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
