//! `mailgate check`: validates the configuration and the rules, then tests
//! the vault and the next hop the way the gateway will use them, and prints
//! one line per check with the cause and the fix of each failure.
//!
//! Each check is an async function that returns a [`Diagnosis`]. The checks
//! change nothing: they bind and release ports, write and delete one probe
//! file per directory, and send only read requests (`GET /root_folder` to
//! the vault, `QUIT` to the relay).

mod local;
mod probe;
mod relay;
mod scanner;
mod vault;

use std::fmt;
use std::path::Path;
use std::time::Duration;

use anyhow::{Result, bail};
use mailgate::{Config, RuleSet};
use mailgate_rules::RuleEngine;

/// Result of one check.
#[derive(Debug)]
pub struct Diagnosis {
    /// Subject of the check, such as `vault` or `next hop`.
    pub name: &'static str,
    /// Finding of the check.
    pub outcome: Outcome,
}

/// Finding of one check.
#[derive(Debug)]
pub enum Outcome {
    /// The check passed. The text names what was verified.
    Ok(String),
    /// The check failed.
    Fail {
        /// Problem found, with the value involved.
        cause: String,
        /// Change to the configuration or the environment that removes the problem.
        fix: String,
    },
}

impl Diagnosis {
    fn ok(name: &'static str, detail: impl Into<String>) -> Diagnosis {
        Diagnosis { name, outcome: Outcome::Ok(detail.into()) }
    }

    fn fail(name: &'static str, cause: impl Into<String>, fix: impl Into<String>) -> Diagnosis {
        Diagnosis { name, outcome: Outcome::Fail { cause: cause.into(), fix: fix.into() } }
    }

    fn passed(&self) -> bool {
        matches!(self.outcome, Outcome::Ok(_))
    }
}

impl fmt::Display for Diagnosis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.outcome {
            Outcome::Ok(detail) => write!(f, "OK    {}: {detail}", self.name),
            Outcome::Fail { cause, fix } => write!(f, "FAIL  {}: {cause}. Fix: {fix}", self.name),
        }
    }
}

/// Runs every check, prints one line per check and a summary to standard
/// output, and returns an error when any check failed.
///
/// `timeout_secs` limits each network step: name lookup, connect, TLS
/// handshake, HTTP request and SMTP greeting.
pub async fn run(config_path: Option<&Path>, timeout_secs: u64) -> Result<()> {
    let timeout = Duration::from_secs(timeout_secs);
    let mut diagnoses = Vec::new();

    let config = match load_config(config_path) {
        Ok((config, detail)) => {
            report(&mut diagnoses, Diagnosis::ok("configuration", detail));
            config
        }
        Err(diagnosis) => {
            report(&mut diagnoses, diagnosis);
            return summarize(&diagnoses);
        }
    };

    report(&mut diagnoses, check_rules(&config));

    match &config.vault.url {
        Some(url) => report(&mut diagnoses, vault::check(url, &config, timeout).await),
        None => {
            for diagnosis in local::check_builtin_vault(&config.builtin_vault) {
                report(&mut diagnoses, diagnosis);
            }
        }
    }

    for diagnosis in scanner::check(&config, timeout).await {
        report(&mut diagnoses, diagnosis);
    }

    report(&mut diagnoses, local::check_spool(&config.queue.directory));

    let relays = config.relay_addresses();
    if relays.is_empty() {
        report(&mut diagnoses, local::check_maildir(&config.delivery.maildir));
    }
    for relay in &relays {
        report(&mut diagnoses, relay::check(relay, timeout).await);
    }

    summarize(&diagnoses)
}

/// Prints a diagnosis as soon as it is known, so a slow check does not hide
/// the results before it.
fn report(diagnoses: &mut Vec<Diagnosis>, diagnosis: Diagnosis) {
    outln!("{diagnosis}");
    diagnoses.push(diagnosis);
}

fn summarize(diagnoses: &[Diagnosis]) -> Result<()> {
    let failed = diagnoses.iter().filter(|diagnosis| !diagnosis.passed()).count();

    if failed == 0 {
        outln!("all {} checks passed", diagnoses.len());
        Ok(())
    } else {
        outln!("{failed} of {} checks failed", diagnoses.len());
        bail!("{failed} of {} checks failed; see the FAIL lines above", diagnoses.len())
    }
}

/// Loads and validates the configuration file, or takes the defaults when
/// no file is given.
fn load_config(path: Option<&Path>) -> Result<(Config, String), Diagnosis> {
    let Some(path) = path else {
        return Ok((Config::default(), "no --config given, so the defaults are checked".to_string()));
    };

    match Config::load(path) {
        Ok(config) => Ok((config, format!("{} is valid", path.display()))),
        Err(error @ mailgate::ConfigError::Read { .. }) => Err(Diagnosis::fail(
            "configuration",
            error.to_string(),
            "check the path given with --config",
        )),
        Err(error) => Err(Diagnosis::fail(
            "configuration",
            error.to_string(),
            "correct the setting named above; examples/mailgate.toml documents every setting",
        )),
    }
}

/// Compiles every configured rule as the gateway does at start.
fn check_rules(config: &Config) -> Diagnosis {
    let loaded = tokio::task::block_in_place(|| {
        let engine = RuleEngine::new()?;
        RuleSet::load(&engine, config)
    });

    match loaded {
        Ok(rule_set) => Diagnosis::ok("rules", format!("{} rule(s) loaded as rule set {}", rule_set.rules().len(), rule_set.id())),
        Err(error) => Diagnosis::fail(
            "rules",
            error.to_string(),
            "correct the [[rules]] entry named above; `mailgate rule test` runs one rule on a message",
        ),
    }
}
