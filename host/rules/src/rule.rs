//! A loaded rule and one sandboxed invocation of it.

use std::sync::Arc;

use wasmtime::component::ResourceTable;
use wasmtime::{Engine, Store, StoreLimits, StoreLimitsBuilder, Trap};
use wasmtime_wasi::{WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};

use crate::bindings::RulePre;
use crate::bindings::mailgate::rule::types as wit;
use crate::definition::RuleDefinition;
use crate::engine::EPOCH_TICK;
use crate::error::{RuleFailure, RuleLoadError};
use crate::limits::RuleLimits;
use crate::output::{CapturedOutput, OutputLog};
use crate::view::{Action, RuleInput};

/// Per-store state: an empty WASI context, captured output and the limits.
pub(crate) struct RuleState {
    wasi: WasiCtx,
    table: ResourceTable,
    limits: StoreLimits,
}

impl WasiView for RuleState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}

/// A compiled, pre-instantiated rule.
pub struct LoadedRule {
    pub(crate) definition: RuleDefinition,
    pub(crate) engine: Engine,
    pub(crate) pre: RulePre<RuleState>,
    pub(crate) digest: String,
    pub(crate) output_log: Arc<OutputLog>,
}

/// A fresh store with its captured output streams.
struct Sandbox {
    store: Store<RuleState>,
    stdout: CapturedOutput,
    stderr: CapturedOutput,
}

impl LoadedRule {
    /// Name of the rule in the configuration.
    pub fn name(&self) -> &str {
        &self.definition.name
    }

    /// SHA-256 of the component bytes, as lower-case hex.
    pub fn digest(&self) -> &str {
        &self.digest
    }

    /// Returns the definition the rule was loaded from.
    pub fn definition(&self) -> &RuleDefinition {
        &self.definition
    }

    /// Limits applied to each invocation.
    pub fn limits(&self) -> RuleLimits {
        self.definition.limits
    }

    /// Runs the rule on one message in a fresh instance and returns its
    /// actions.
    ///
    /// Blocks the calling thread for at most about [`RuleLimits::timeout`];
    /// call it from a blocking-capable thread (`tokio::task::spawn_blocking`).
    pub fn evaluate(&self, input: &RuleInput) -> Result<Vec<Action>, RuleFailure> {
        let mut sandbox = self.new_sandbox();
        let settings = self.wit_settings();

        let rule = self
            .pre
            .instantiate(&mut sandbox.store)
            .map_err(|error| RuleFailure::Instantiate { rule: self.name().to_string(), reason: format!("{error:#}") })?;
        let outcome = rule.mailgate_rule_evaluator().call_evaluate(&mut sandbox.store, &settings, &input.message);
        self.log_output(&sandbox);

        match outcome.map_err(|error| self.classify_call_error(error))? {
            Ok(actions) => Ok(actions.into_iter().map(Action::from).collect()),
            Err(reason) => Err(RuleFailure::Returned {
                rule: self.name().to_string(),
                reason: reason.chars().take(500).collect(),
            }),
        }
    }

    /// Calls the component's `validate-settings` with the configured
    /// settings.
    pub(crate) fn validate_settings(&self) -> Result<(), RuleLoadError> {
        let mut sandbox = self.new_sandbox();
        let settings = self.wit_settings();

        let outcome = self
            .pre
            .instantiate(&mut sandbox.store)
            .and_then(|rule| rule.mailgate_rule_evaluator().call_validate_settings(&mut sandbox.store, &settings));
        self.log_output(&sandbox);

        match outcome {
            Ok(Ok(())) => Ok(()),
            Ok(Err(rejected)) => Err(RuleLoadError::InvalidSetting {
                rule: self.name().to_string(),
                setting: rejected.name,
                reason: rejected.reason,
            }),
            Err(error) => Err(RuleLoadError::Validation {
                rule: self.name().to_string(),
                reason: self.classify_call_error(error).to_string(),
            }),
        }
    }

    fn wit_settings(&self) -> Vec<wit::Setting> {
        self.definition
            .settings
            .iter()
            .map(|(name, value)| wit::Setting { name: name.clone(), value: value.clone() })
            .collect()
    }

    /// Creates a store with no WASI capability, captured output, the memory
    /// and table limits, and an epoch deadline that traps.
    fn new_sandbox(&self) -> Sandbox {
        let stdout = CapturedOutput::default();
        let stderr = CapturedOutput::default();
        let wasi = WasiCtxBuilder::new()
            .stdout(stdout.clone())
            .stderr(stderr.clone())
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false)
            .build();

        let limits = self.definition.limits;
        let store_limits = StoreLimitsBuilder::new()
            .memory_size(limits.max_memory_bytes)
            .instances(limits.max_instances)
            .tables(limits.max_tables)
            .table_elements(limits.max_table_elements)
            .memories(limits.max_instances)
            .trap_on_grow_failure(true)
            .build();

        let mut store = Store::new(&self.engine, RuleState { wasi, table: ResourceTable::new(), limits: store_limits });
        store.limiter(|state| &mut state.limits);

        let ticks = limits.timeout.as_millis().div_ceil(EPOCH_TICK.as_millis()).max(1) as u64;
        // One extra tick: the deadline counts from the current epoch, which
        // may be about to advance.
        store.set_epoch_deadline(ticks + 1);
        store.epoch_deadline_trap();

        Sandbox { store, stdout, stderr }
    }

    fn log_output(&self, sandbox: &Sandbox) {
        self.output_log.log(self.name(), "stdout", &sandbox.stdout.take());
        self.output_log.log(self.name(), "stderr", &sandbox.stderr.take());
    }

    /// Maps an error raised while the guest ran. Besides wasmtime's `Trap`,
    /// this includes the store limiter's error for a memory or table growth
    /// beyond the limit.
    fn classify_call_error(&self, error: wasmtime::Error) -> RuleFailure {
        let rule = self.name().to_string();
        match error.downcast_ref::<Trap>() {
            Some(Trap::Interrupt) => RuleFailure::TimedOut { rule, limit_ms: self.definition.limits.timeout.as_millis() },
            _ => {
                // The full error carries the guest's wasm backtrace: useful
                // when debugging a rule, too long for the usual log line.
                tracing::debug!(rule = %rule, error = %format!("{error:#}"), "rule trap details");
                RuleFailure::Trapped { rule, reason: error.root_cause().to_string() }
            }
        }
    }
}

impl std::fmt::Debug for LoadedRule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadedRule")
            .field("name", &self.definition.name)
            .field("sha256", &self.digest)
            .field("limits", &self.definition.limits)
            .finish_non_exhaustive()
    }
}
