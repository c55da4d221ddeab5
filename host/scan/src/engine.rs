//! Any one of the engines, chosen at run time.

use std::time::Instant;

use crate::{BuiltinScanner, ClamdScanner, MetaDefenderScanner, ScanRequest, Scanner, Verdict};

/// Name of the histogram of scan times in seconds, labelled with the
/// engine's [`Scanner::name`]. [`Engine::scan`] records it through the
/// `metrics` facade; it is a no-op until the process installs a recorder.
pub const SCAN_SECONDS_METRIC: &str = "mailgate_scan_seconds";

/// One of the scanning engines, for code that picks the engine from configuration.
#[derive(Debug)]
pub enum Engine {
    Builtin(BuiltinScanner),
    Clamd(ClamdScanner),
    MetaDefender(MetaDefenderScanner),
}

impl Default for Engine {
    /// Returns the built-in engine with an empty block list.
    fn default() -> Self {
        Engine::Builtin(BuiltinScanner::new())
    }
}

impl Scanner for Engine {
    fn name(&self) -> &str {
        match self {
            Engine::Builtin(scanner) => scanner.name(),
            Engine::Clamd(scanner) => scanner.name(),
            Engine::MetaDefender(scanner) => scanner.name(),
        }
    }

    /// Scans with the chosen engine and records the time in
    /// [`SCAN_SECONDS_METRIC`].
    async fn scan(&self, request: ScanRequest<'_>) -> Verdict {
        let started = Instant::now();
        let verdict = match self {
            Engine::Builtin(scanner) => scanner.scan(request).await,
            Engine::Clamd(scanner) => scanner.scan(request).await,
            Engine::MetaDefender(scanner) => scanner.scan(request).await,
        };

        metrics::histogram!(SCAN_SECONDS_METRIC, "engine" => self.name().to_string()).record(started.elapsed());
        verdict
    }
}
