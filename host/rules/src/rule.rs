//! A loaded rule and one sandboxed invocation of it.

use std::sync::Arc;

use wasmtime::component::{ComponentExportIndex, Func, ResourceTable, TypedFunc};
use wasmtime::{Engine, Store, StoreLimits, StoreLimitsBuilder, Trap};
use wasmtime_wasi::{WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};

use crate::bindings::RulePre;
use crate::bindings::mailgate::rule::types as wit;
use crate::definition::RuleDefinition;
use crate::engine::EPOCH_TICK;
use crate::error::{RuleFailure, RuleLoadError};
use crate::limits::RuleLimits;
use crate::output::{CapturedOutput, OutputLog};
use crate::action::Action;
use crate::view::RuleInput;

/// Per-store state: the limits and, once the guest first calls a WASI
/// function, an empty WASI context with captured output.
pub(crate) struct RuleState {
    wasi: Option<SandboxWasi>,
    table: ResourceTable,
    limits: StoreLimits,
}

/// A WASI context that grants nothing, and the guest's captured output.
///
/// Built on the first WASI call of an instance, so a rule that imports no
/// WASI function (the shipped rules) never pays for it. The context is the
/// same whenever it is built, so this changes nothing about what a rule may
/// do.
struct SandboxWasi {
    ctx: WasiCtx,
    stdout: CapturedOutput,
    stderr: CapturedOutput,
}

impl SandboxWasi {
    /// No files, no network, no environment, no arguments; stdout and
    /// stderr go to capped in-memory buffers.
    fn deny_all() -> SandboxWasi {
        let stdout = CapturedOutput::default();
        let stderr = CapturedOutput::default();
        let ctx = WasiCtxBuilder::new()
            .stdout(stdout.clone())
            .stderr(stderr.clone())
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false)
            .build();
        SandboxWasi { ctx, stdout, stderr }
    }
}

impl WasiView for RuleState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        let wasi = self.wasi.get_or_insert_with(SandboxWasi::deny_all);
        WasiCtxView { ctx: &mut wasi.ctx, table: &mut self.table }
    }
}

/// A compiled, pre-instantiated rule.
pub struct LoadedRule {
    pub(crate) definition: RuleDefinition,
    pub(crate) engine: Engine,
    pub(crate) pre: RulePre<RuleState>,
    pub(crate) exports: RuleExports,
    /// The configured settings as handed to the guest, built once.
    pub(crate) settings: Vec<wit::Setting>,
    pub(crate) digest: String,
    pub(crate) output_log: Arc<OutputLog>,
}

/// `evaluate` of the evaluator interface.
type EvaluateFunc<'a> = TypedFunc<(&'a [wit::Setting], &'a wit::Message), (Result<Vec<wit::Action>, String>,)>;

/// `validate-settings` of the evaluator interface.
type ValidateSettingsFunc<'a> = TypedFunc<(&'a [wit::Setting],), (Result<(), wit::SettingError>,)>;

/// Positions of the evaluator's functions among the component's exports,
/// looked up once at load time instead of by name for every message.
#[derive(Clone, Copy, Debug)]
pub(crate) struct RuleExports {
    pub(crate) validate_settings: ComponentExportIndex,
    pub(crate) evaluate: ComponentExportIndex,
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
        let mut store = self.new_store();
        let outcome = self.evaluate_in(&mut store, input);
        self.log_output(&store);
        outcome
    }

    /// Instantiates the rule in `store` and calls `evaluate`.
    fn evaluate_in(&self, store: &mut Store<RuleState>, input: &RuleInput) -> Result<Vec<Action>, RuleFailure> {
        let evaluate = self
            .pre
            .instance_pre()
            .instantiate(&mut *store)
            .and_then(|instance| self.export_func(&instance, store, &self.exports.evaluate))
            .map_err(|error| RuleFailure::Instantiate { rule: self.name().to_string(), reason: format!("{error:#}") })?;
        // SAFETY: `validate_settings` checked at load time that this export
        // of this component has exactly this type (`Func::typed`); every
        // instance of the component has the same export types.
        let evaluate: EvaluateFunc<'_> = unsafe { TypedFunc::new_unchecked(evaluate) };
        let outcome = evaluate.call(&mut *store, (&self.settings, &input.message)).map(|(result,)| result);

        match outcome.map_err(|error| self.classify_call_error(error))? {
            Ok(actions) => Ok(actions.into_iter().map(Action::from).collect()),
            Err(reason) => Err(RuleFailure::Returned {
                rule: self.name().to_string(),
                reason: reason.chars().take(500).collect(),
            }),
        }
    }

    /// Checks that the component's `evaluate` and `validate-settings` have
    /// the types of this host's interface, then calls `validate-settings`
    /// with the configured settings. Runs once, at load time.
    pub(crate) fn validate_settings(&self) -> Result<(), RuleLoadError> {
        let mut store = self.new_store();

        let instance = self.pre.instance_pre().instantiate(&mut store).map_err(|error| RuleLoadError::Validation {
            rule: self.name().to_string(),
            reason: self.classify_call_error(error).to_string(),
        })?;
        let interface_error = |error: wasmtime::Error| RuleLoadError::Interface {
            rule: self.name().to_string(),
            host_version: crate::version::INTERFACE_VERSION,
            reason: format!("{error:#}"),
        };
        let evaluate = self.export_func(&instance, &mut store, &self.exports.evaluate).map_err(interface_error)?;
        evaluate.typed::<(&[wit::Setting], &wit::Message), (Result<Vec<wit::Action>, String>,)>(&store).map_err(interface_error)?;
        let validate =
            self.export_func(&instance, &mut store, &self.exports.validate_settings).map_err(interface_error)?;
        let validate: ValidateSettingsFunc<'_> = validate.typed(&store).map_err(interface_error)?;

        let outcome = validate.call(&mut store, (&self.settings,)).map(|(result,)| result);
        self.log_output(&store);

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

    fn export_func(
        &self,
        instance: &wasmtime::component::Instance,
        store: &mut Store<RuleState>,
        index: &ComponentExportIndex,
    ) -> wasmtime::Result<Func> {
        instance.get_func(store, index).ok_or_else(|| wasmtime::format_err!("the component does not export this function"))
    }

    /// Creates a store with no WASI capability (see [`SandboxWasi`]), the
    /// memory and table limits, and an epoch deadline that traps.
    fn new_store(&self) -> Store<RuleState> {
        let limits = self.definition.limits;
        let store_limits = StoreLimitsBuilder::new()
            .memory_size(limits.max_memory_bytes)
            .instances(limits.max_instances)
            .tables(limits.max_tables)
            .table_elements(limits.max_table_elements)
            .memories(limits.max_instances)
            .trap_on_grow_failure(true)
            .build();

        let mut store = Store::new(&self.engine, RuleState { wasi: None, table: ResourceTable::new(), limits: store_limits });
        store.limiter(|state| &mut state.limits);

        let ticks = limits.timeout.as_millis().div_ceil(EPOCH_TICK.as_millis()).max(1) as u64;
        // One extra tick: the deadline counts from the current epoch, which
        // may be about to advance.
        store.set_epoch_deadline(ticks + 1);
        store.epoch_deadline_trap();

        store
    }

    fn log_output(&self, store: &Store<RuleState>) {
        if let Some(wasi) = &store.data().wasi {
            self.output_log.log(self.name(), "stdout", &wasi.stdout.take());
            self.output_log.log(self.name(), "stderr", &wasi.stderr.take());
        }
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

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use mailgate_message::{Envelope, ParsedMessage};

    use crate::{COMPONENT_DIR, RuleDefinition, RuleEngine, RuleInput, RuleSource};

    fn sample_input() -> RuleInput {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/mail/pdf-with-inline-logo.eml");
        let message = ParsedMessage::parse(std::fs::read(path).unwrap()).unwrap();
        let envelope = Envelope {
            client_address: "127.0.0.1".to_string(),
            helo: "client.example.com".to_string(),
            mail_from: "alice@example.com".to_string(),
            rcpt_to: vec!["bob@example.org".to_string()],
        };
        RuleInput::new(&message, &envelope)
    }

    #[test]
    fn guest_output_captured() {
        let engine = RuleEngine::new().unwrap();
        let path = Path::new(COMPONENT_DIR).join("sandbox_probe.wasm");
        let probe = engine.load(&RuleDefinition::new("probe", RuleSource::File(path))).unwrap();
        let mut store = probe.new_store();

        probe.evaluate_in(&mut store, &sample_input()).unwrap();

        let wasi = store.data().wasi.as_ref().expect("the probe uses WASI");
        assert!(String::from_utf8_lossy(&wasi.stdout.take()).contains("sandbox probe starting"));
        assert!(String::from_utf8_lossy(&wasi.stderr.take()).contains("sandbox probe writes to stderr"));
    }

    #[test]
    fn shipped_rule_needs_no_wasi_context() {
        let engine = RuleEngine::new().unwrap();
        let rule = engine.load(&RuleDefinition::new("storage", RuleSource::Shipped("secure-storage".to_string()))).unwrap();
        let mut store = rule.new_store();

        rule.evaluate_in(&mut store, &sample_input()).unwrap();

        assert!(store.data().wasi.is_none());
    }
}
