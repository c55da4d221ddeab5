//! The wasmtime engine and the loading of rule components.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use sha2::{Digest, Sha256};
use wasmtime::component::{Component, Linker};
use wasmtime::{Config, Enabled, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

use crate::bindings::RulePre;
use crate::cache::ComponentCache;
use crate::definition::{RuleDefinition, RuleSource};
use crate::error::RuleLoadError;
use crate::output::OutputLog;
use crate::bindings::mailgate::rule::types::Setting;
use crate::rule::{LoadedRule, RuleExports, RuleState};
use crate::shipped::{SHIPPED_RULES, shipped_component};
use crate::version::{INTERFACE_VERSION, VersionCheck, check_version};

/// Interval at which the engine's epoch advances; the granularity of
/// [`RuleLimits::timeout`](crate::RuleLimits::timeout).
pub const EPOCH_TICK: Duration = Duration::from_millis(10);

/// Compiles and links rule components.
///
/// One engine serves any number of rules. Creating it starts a background
/// thread that advances the epoch every [`EPOCH_TICK`]; the thread ends when
/// the engine and every rule loaded from it are dropped.
pub struct RuleEngine {
    engine: Engine,
    linker: Linker<RuleState>,
    cache: Option<ComponentCache>,
    pool: Option<PoolSize>,
}

/// Bytes of each pooled linear memory kept resident between instances.
/// Rule components built in `plugins/` use a 128 KiB stack at the start of
/// memory, followed by their data and heap, so the pages a typical rule
/// touches fit in this; pages beyond it go back to the kernel. Where the
/// kernel supports `PAGEMAP_SCAN`, only the pages an instance wrote are
/// reset, up to this many bytes; elsewhere all of it is.
const MEMORY_KEEP_RESIDENT_BYTES: usize = 192 * 1024;

/// Bytes of each pooled table kept resident between instances; rule
/// components have tables of a few hundred entries.
const TABLE_KEEP_RESIDENT_BYTES: usize = 16 * 1024;

/// Size of the pooling allocator's slots, for [`RuleEngine::with_pool`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PoolSize {
    /// Maximum number of rule instances alive at once. Each running rule
    /// invocation uses one; an invocation beyond the pool fails to
    /// instantiate.
    pub max_instances: u32,
    /// Linear memory of one slot, in bytes: the largest memory limit any
    /// rule may have.
    pub max_memory_bytes: usize,
}

impl RuleEngine {
    /// Creates the engine with epoch interruption enabled and WASI linked in.
    /// Rules get the WASI imports so that components built with Rust's
    /// standard library link, but each store withholds every capability.
    ///
    /// Instances are allocated on demand, which costs a few memory mappings
    /// per invocation; [`RuleEngine::with_pool`] avoids that.
    pub fn new() -> Result<RuleEngine, RuleLoadError> {
        RuleEngine::build(None)
    }

    /// Creates the engine like [`RuleEngine::new`], but with wasmtime's
    /// pooling allocator: memory and instance slots are reserved once and
    /// reused, which makes instantiation per message much cheaper. It
    /// reserves virtual address space for `pool.max_instances` memories at
    /// start.
    pub fn with_pool(pool: PoolSize) -> Result<RuleEngine, RuleLoadError> {
        RuleEngine::build(Some(pool))
    }

    fn build(pool: Option<PoolSize>) -> Result<RuleEngine, RuleLoadError> {
        let mut config = Config::new();
        config.wasm_component_model(true);
        config.epoch_interruption(true);
        if let Some(pool) = pool {
            let mut pooling = PoolingAllocationConfig::default();
            // A Rust rule component contains a few core instances, one memory
            // and a few tables; the totals leave room for that per instance.
            pooling
                .total_component_instances(pool.max_instances)
                .total_core_instances(pool.max_instances.saturating_mul(8))
                .total_memories(pool.max_instances.saturating_mul(2))
                .total_tables(pool.max_instances.saturating_mul(8))
                .total_stacks(pool.max_instances)
                .max_memory_size(pool.max_memory_bytes)
                // Reset the first bytes of a freed slot with memset instead
                // of returning the pages to the kernel: page faults and TLB
                // flushes otherwise dominate a rule invocation.
                .linear_memory_keep_resident(MEMORY_KEEP_RESIDENT_BYTES)
                .table_keep_resident(TABLE_KEEP_RESIDENT_BYTES)
                // Where Linux supports PAGEMAP_SCAN (6.7 and later), reset
                // only the pages the instance wrote instead of the whole
                // resident region.
                .pagemap_scan(Enabled::Auto);
            config.allocation_strategy(InstanceAllocationStrategy::Pooling(pooling));
        }
        let engine = Engine::new(&config).map_err(|error| RuleLoadError::Engine(error.to_string()))?;

        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker)
            .map_err(|error| RuleLoadError::Engine(error.to_string()))?;

        start_epoch_ticker(&engine);
        Ok(RuleEngine { engine, linker, cache: None, pool })
    }

    /// Keeps compiled components in `directory`, so a later start loads them
    /// without compiling. A directory that cannot be created only disables
    /// the cache, with a warning.
    pub fn with_cache(mut self, directory: &Path) -> RuleEngine {
        match ComponentCache::open(directory) {
            Ok(cache) => self.cache = Some(cache),
            Err(error) => {
                tracing::warn!(directory = %directory.display(), %error, "cannot use the component cache; rules are compiled at every start");
            }
        }
        self
    }

    /// Compiles (or loads from the cache) the component of `definition`,
    /// checks its interface version and settings, and pre-instantiates it.
    ///
    /// # Errors
    ///
    /// [`RuleLoadError`] when the source cannot be read, differs from its
    /// pinned digest, is not a component, was built for another interface
    /// version, or rejects its settings.
    pub fn load(&self, definition: &RuleDefinition) -> Result<LoadedRule, RuleLoadError> {
        let name = definition.name.as_str();
        if let Some(pool) = self.pool {
            if definition.limits.max_memory_bytes > pool.max_memory_bytes {
                return Err(RuleLoadError::MemoryAbovePool {
                    rule: name.to_string(),
                    requested: definition.limits.max_memory_bytes,
                    slot: pool.max_memory_bytes,
                });
            }
        }
        let bytes = read_source(name, &definition.source)?;
        let digest: String = Sha256::digest(&bytes).iter().map(|byte| format!("{byte:02x}")).collect();

        if let Some(expected) = &definition.sha256 {
            if !expected.trim().eq_ignore_ascii_case(&digest) {
                return Err(RuleLoadError::DigestMismatch {
                    rule: name.to_string(),
                    expected: expected.trim().to_ascii_lowercase(),
                    actual: digest,
                });
            }
        }

        let component = self.compile(name, &digest, &bytes)?;
        match check_version(&self.engine, &component) {
            VersionCheck::Compatible => {}
            VersionCheck::Incompatible(component_version) => {
                return Err(RuleLoadError::IncompatibleVersion {
                    rule: name.to_string(),
                    component_version,
                    host_version: INTERFACE_VERSION,
                });
            }
            VersionCheck::Missing => {
                return Err(RuleLoadError::Interface {
                    rule: name.to_string(),
                    host_version: INTERFACE_VERSION,
                    reason: "the component does not export mailgate:rule/evaluator".to_string(),
                });
            }
        }

        let interface_error = |error: wasmtime::Error| RuleLoadError::Interface {
            rule: name.to_string(),
            host_version: INTERFACE_VERSION,
            reason: format!("{error:#}"),
        };
        let instance_pre = self.linker.instantiate_pre(&component).map_err(interface_error)?;
        let exports = evaluator_exports(&component).map_err(interface_error)?;
        let pre = RulePre::new(instance_pre).map_err(interface_error)?;

        let rule = LoadedRule {
            definition: definition.clone(),
            engine: self.engine.clone(),
            pre,
            exports,
            settings: definition
                .settings
                .iter()
                .map(|(name, value)| Setting { name: name.clone(), value: value.clone() })
                .collect(),
            digest,
            output_log: Arc::new(OutputLog::default()),
        };
        rule.validate_settings()?;

        tracing::info!(rule = name, source = ?definition.source, sha256 = %rule.digest(), "rule loaded");
        Ok(rule)
    }

    fn compile(&self, name: &str, digest: &str, bytes: &[u8]) -> Result<Component, RuleLoadError> {
        if let Some(component) = self.cache.as_ref().and_then(|cache| cache.load(&self.engine, digest)) {
            tracing::debug!(rule = name, sha256 = digest, "component loaded from the cache");
            return Ok(component);
        }

        let component = Component::new(&self.engine, bytes).map_err(|error| RuleLoadError::Compile {
            rule: name.to_string(),
            reason: format!("{error:#}"),
        })?;
        if let Some(cache) = &self.cache {
            cache.store(&self.engine, digest, &component);
        }
        Ok(component)
    }
}

/// Finds the evaluator's functions among the exports of `component`. The
/// interface is looked up by this host's version; wasmtime matches a
/// component built for another patch version of it as well.
fn evaluator_exports(component: &Component) -> wasmtime::Result<RuleExports> {
    let interface_name = format!("mailgate:rule/evaluator@{INTERFACE_VERSION}");
    let interface = component
        .get_export_index(None, &interface_name)
        .ok_or_else(|| wasmtime::format_err!("the component does not export `{interface_name}`"))?;
    let function = |name: &str| {
        component
            .get_export_index(Some(&interface), name)
            .ok_or_else(|| wasmtime::format_err!("`{interface_name}` lacks the function `{name}`"))
    };
    Ok(RuleExports { validate_settings: function("validate-settings")?, evaluate: function("evaluate")? })
}

fn read_source(name: &str, source: &RuleSource) -> Result<Vec<u8>, RuleLoadError> {
    match source {
        RuleSource::Shipped(shipped) => shipped_component(shipped).map(<[u8]>::to_vec).ok_or_else(|| {
            RuleLoadError::UnknownShippedRule {
                rule: name.to_string(),
                name: shipped.clone(),
                available: SHIPPED_RULES.iter().map(|(name, _)| *name).collect::<Vec<_>>().join(", "),
            }
        }),
        RuleSource::File(path) => std::fs::read(path).map_err(|source| RuleLoadError::Read {
            rule: name.to_string(),
            path: path.clone(),
            source,
        }),
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
