//! The wasmtime engine, component loading and one sandboxed invocation.

use std::path::PathBuf;
use std::time::Duration;

use sha2::{Digest, Sha256};
use wasmtime::component::{Component, Linker, ResourceTable};
use wasmtime::{Config, Engine, Store, StoreLimits, StoreLimitsBuilder, Trap};
use wasmtime_wasi::{WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};

use crate::bindings::{Rule, RulePre};
use crate::error::{RuleFailure, RuleLoadError};
use crate::limits::RuleLimits;
use crate::shipped::{SHIPPED_RULES, shipped_component};
use crate::view::{Action, RuleInput};

/// Interval at which the engine's epoch advances; the granularity of
/// [`RuleLimits::timeout`].
pub const EPOCH_TICK: Duration = Duration::from_millis(10);

/// Version of the `mailgate:rule` WIT package this host implements.
pub const INTERFACE_VERSION: &str = "0.1.0";

/// Source of a rule's component.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RuleSource {
    /// A rule shipped inside the gateway binary, by name (`secure-storage`).
    Shipped(String),
    /// A component file on disk.
    File(PathBuf),
}

/// Per-store state: an empty WASI context and the store's limits.
struct RuleState {
    wasi: WasiCtx,
    table: ResourceTable,
    limits: StoreLimits,
}

impl WasiView for RuleState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}

/// Compiles and links rule components.
///
/// One engine serves any number of rules. Creating it starts a background
/// thread that advances the epoch every [`EPOCH_TICK`]; the thread ends when
/// the engine and every rule loaded from it are dropped.
pub struct RuleEngine {
    engine: Engine,
    linker: Linker<RuleState>,
}

impl RuleEngine {
    /// Creates the engine with epoch interruption enabled and WASI linked in.
    /// Rules get the WASI imports so that components built with Rust's
    /// standard library link, but each store withholds every capability.
    pub fn new() -> Result<RuleEngine, RuleLoadError> {
        let mut config = Config::new();
        config.wasm_component_model(true);
        config.epoch_interruption(true);
        let engine = Engine::new(&config).map_err(|error| RuleLoadError::Engine(error.to_string()))?;

        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker)
            .map_err(|error| RuleLoadError::Engine(error.to_string()))?;

        start_epoch_ticker(&engine);
        Ok(RuleEngine { engine, linker })
    }

    /// Compiles the component of rule `name` and pre-instantiates it.
    ///
    /// # Errors
    ///
    /// [`RuleLoadError`] when the source cannot be read, is not a component,
    /// or does not fit the `mailgate:rule` interface of this host.
    pub fn load(&self, name: &str, source: &RuleSource, limits: RuleLimits) -> Result<LoadedRule, RuleLoadError> {
        let bytes = match source {
            RuleSource::Shipped(shipped) => shipped_component(shipped)
                .ok_or_else(|| RuleLoadError::UnknownShippedRule {
                    rule: name.to_string(),
                    name: shipped.clone(),
                    available: SHIPPED_RULES.iter().map(|(name, _)| *name).collect::<Vec<_>>().join(", "),
                })?
                .to_vec(),
            RuleSource::File(path) => std::fs::read(path).map_err(|source| RuleLoadError::Read {
                rule: name.to_string(),
                path: path.clone(),
                source,
            })?,
        };
        let digest = Sha256::digest(&bytes).iter().map(|byte| format!("{byte:02x}")).collect();

        let component = Component::new(&self.engine, &bytes).map_err(|error| RuleLoadError::Compile {
            rule: name.to_string(),
            reason: format!("{error:#}"),
        })?;
        let instance_pre = self.linker.instantiate_pre(&component).map_err(|error| RuleLoadError::Interface {
            rule: name.to_string(),
            host_version: INTERFACE_VERSION,
            reason: format!("{error:#}"),
        })?;
        let pre = RulePre::new(instance_pre).map_err(|error| RuleLoadError::Interface {
            rule: name.to_string(),
            host_version: INTERFACE_VERSION,
            reason: format!("{error:#}"),
        })?;

        tracing::info!(rule = name, source = ?source, sha256 = %digest, "rule loaded");
        Ok(LoadedRule { name: name.to_string(), engine: self.engine.clone(), pre, limits, digest })
    }
}

/// Advances the epoch of `engine` every [`EPOCH_TICK`] while the engine is
/// alive. The thread holds only a weak reference.
fn start_epoch_ticker(engine: &Engine) {
    let weak = engine.weak();
    let spawned = std::thread::Builder::new().name("mailgate-epoch".to_string()).spawn(move || {
        loop {
            std::thread::sleep(EPOCH_TICK);
            match weak.upgrade() {
                Some(engine) => engine.increment_epoch(),
                None => break,
            }
        }
    });
    if let Err(error) = spawned {
        tracing::error!(%error, "cannot start the epoch thread; rule time limits will not be enforced");
    }
}

/// A compiled, pre-instantiated rule.
pub struct LoadedRule {
    name: String,
    engine: Engine,
    pre: RulePre<RuleState>,
    limits: RuleLimits,
    digest: String,
}

impl LoadedRule {
    /// Name of the rule in the configuration.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// SHA-256 of the component bytes, as lower-case hex.
    pub fn digest(&self) -> &str {
        &self.digest
    }

    /// Limits applied to each invocation.
    pub fn limits(&self) -> RuleLimits {
        self.limits
    }

    /// Runs the rule on one message in a fresh instance and returns its
    /// actions.
    ///
    /// Blocks the calling thread for at most about [`RuleLimits::timeout`];
    /// call it from a blocking-capable thread (`tokio::task::spawn_blocking`).
    pub fn evaluate(&self, input: &RuleInput) -> Result<Vec<Action>, RuleFailure> {
        let mut store = self.new_store();

        let rule = self.pre.instantiate(&mut store).map_err(|error| self.classify_error(error))?;
        let returned = rule
            .mailgate_rule_evaluator()
            .call_evaluate(&mut store, &input.message)
            .map_err(|error| self.classify_error(error))?;

        match returned {
            Ok(actions) => Ok(actions.into_iter().map(Action::from).collect()),
            Err(reason) => Err(RuleFailure::Returned {
                rule: self.name.clone(),
                reason: reason.chars().take(500).collect(),
            }),
        }
    }

    /// Creates a store with no WASI capability, the memory and table limits,
    /// and an epoch deadline that traps.
    fn new_store(&self) -> Store<RuleState> {
        let wasi = WasiCtxBuilder::new()
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false)
            .build();
        let limits = StoreLimitsBuilder::new()
            .memory_size(self.limits.max_memory_bytes)
            .instances(self.limits.max_instances)
            .tables(self.limits.max_tables)
            .table_elements(self.limits.max_table_elements)
            .memories(self.limits.max_instances)
            .trap_on_grow_failure(true)
            .build();

        let mut store = Store::new(&self.engine, RuleState { wasi, table: ResourceTable::new(), limits });
        store.limiter(|state| &mut state.limits);

        let ticks = self.limits.timeout.as_millis().div_ceil(EPOCH_TICK.as_millis()).max(1) as u64;
        // One extra tick: the deadline counts from the current epoch, which
        // may be about to advance.
        store.set_epoch_deadline(ticks + 1);
        store.epoch_deadline_trap();
        store
    }

    fn classify_error(&self, error: wasmtime::Error) -> RuleFailure {
        match error.downcast_ref::<Trap>() {
            Some(Trap::Interrupt) => RuleFailure::TimedOut {
                rule: self.name.clone(),
                limit_ms: self.limits.timeout.as_millis(),
            },
            Some(_) => RuleFailure::Trapped { rule: self.name.clone(), reason: format!("{error:#}") },
            None => RuleFailure::Instantiate { rule: self.name.clone(), reason: format!("{error:#}") },
        }
    }
}

impl std::fmt::Debug for LoadedRule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadedRule")
            .field("name", &self.name)
            .field("sha256", &self.digest)
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

// Compile-time check that the generated world type is used.
#[allow(dead_code)]
fn _uses_world(_: Rule) {}
