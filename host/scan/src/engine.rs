//! Any one of the engines, chosen at run time.

use crate::{BuiltinScanner, ClamdScanner, MetaDefenderScanner, ScanRequest, Scanner, Verdict};

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

    async fn scan(&self, request: ScanRequest<'_>) -> Verdict {
        match self {
            Engine::Builtin(scanner) => scanner.scan(request).await,
            Engine::Clamd(scanner) => scanner.scan(request).await,
            Engine::MetaDefender(scanner) => scanner.scan(request).await,
        }
    }
}
