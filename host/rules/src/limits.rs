//! Resource limits for one rule invocation.

use std::time::Duration;

/// Limits applied to every instance of a rule.
///
/// The defaults suit rules that inspect metadata: 64 MiB of linear memory
/// and 1 second of run time per message. A rule that needs more must have its
/// limits raised in the configuration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RuleLimits {
    /// Maximum linear memory of one instance, in bytes.
    pub max_memory_bytes: usize,
    /// Maximum wall-clock run time of one `evaluate` call. Enforced through
    /// epoch interruption with a tick of [`EPOCH_TICK`](crate::engine::EPOCH_TICK),
    /// so the effective limit is rounded up to a whole number of ticks.
    pub timeout: Duration,
    /// Maximum number of tables, memories and instances per store; small
    /// numbers stop a component from exhausting host memory through them.
    pub max_instances: usize,
    /// Maximum number of tables per store.
    pub max_tables: usize,
    /// Maximum number of elements in one table.
    pub max_table_elements: usize,
}

impl Default for RuleLimits {
    fn default() -> Self {
        RuleLimits {
            max_memory_bytes: 64 * 1024 * 1024,
            timeout: Duration::from_secs(1),
            max_instances: 32,
            max_tables: 32,
            max_table_elements: 100_000,
        }
    }
}
