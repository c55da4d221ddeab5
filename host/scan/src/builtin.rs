//! The built-in engine, which needs no external service.

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use sha2::{Digest, Sha256};
use tracing::Instrument;

use crate::eicar::is_eicar_test_file;
use crate::filetype::{self, ContentKind};
use crate::{Blocklist, BlocklistError, ScanRequest, Scanner, Verdict, hex};

const ENGINE_NAME: &str = "builtin";

/// The default engine. It blocks, in this order of checks:
///
/// 1. the EICAR test file;
/// 2. content whose SHA-256 digest is on the block list;
/// 3. native executables (Windows PE, ELF, Mach-O);
/// 4. content whose magic bytes contradict the declared media type. Only
///    the signatures of [`ContentKind`] count, and content without one never
///    mismatches. Text types never mismatch, and neither does an image
///    declared as another image format, because mail clients often mislabel
///    images.
///
/// Everything else is clean. The engine never returns [`Verdict::Failed`].
#[derive(Debug, Default)]
pub struct BuiltinScanner {
    blocklist: RwLock<Arc<Blocklist>>,
    blocklist_path: Option<PathBuf>,
}

impl BuiltinScanner {
    /// Creates the engine with an empty block list.
    pub fn new() -> Self {
        BuiltinScanner::default()
    }

    /// Creates the engine with a block list that stays fixed.
    pub fn with_blocklist(blocklist: Blocklist) -> Self {
        BuiltinScanner {
            blocklist: RwLock::new(Arc::new(blocklist)),
            blocklist_path: None,
        }
    }

    /// Creates the engine with the block list read from `path`, which
    /// [`reload_blocklist`](Self::reload_blocklist) reads again.
    ///
    /// # Errors
    ///
    /// Any [`BlocklistError`] from [`Blocklist::load`].
    pub fn from_blocklist_file(path: &Path) -> Result<Self, BlocklistError> {
        let blocklist = Blocklist::load(path)?;

        Ok(BuiltinScanner {
            blocklist: RwLock::new(Arc::new(blocklist)),
            blocklist_path: Some(path.to_path_buf()),
        })
    }

    /// Reads the block list file again and swaps it in, returning the number
    /// of digests. Scans already running finish with the previous list.
    ///
    /// Without a block list file this does nothing and returns the size of
    /// the current list. The file is read synchronously.
    ///
    /// # Errors
    ///
    /// Any [`BlocklistError`] from [`Blocklist::load`]; the previous list
    /// stays in use.
    pub fn reload_blocklist(&self) -> Result<usize, BlocklistError> {
        let Some(path) = &self.blocklist_path else {
            return Ok(self.current_blocklist().len());
        };

        let blocklist = Blocklist::load(path)?;
        let count = blocklist.len();
        *self
            .blocklist
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = Arc::new(blocklist);

        tracing::info!(path = %path.display(), digests = count, "reloaded the block list");
        Ok(count)
    }

    /// Returns the block list in use.
    pub fn current_blocklist(&self) -> Arc<Blocklist> {
        self.blocklist
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    /// Scans synchronously; [`Scanner::scan`] does the same inside a tracing span.
    pub fn check(&self, request: ScanRequest<'_>) -> Verdict {
        if is_eicar_test_file(request.content) {
            return Verdict::blocked(ENGINE_NAME, "EICAR test file");
        }

        let digest: [u8; 32] = Sha256::digest(request.content).into();
        if self.current_blocklist().contains(&digest) {
            let reason = format!("SHA-256 {} is on the block list", hex::encode(&digest));
            return Verdict::blocked(ENGINE_NAME, reason);
        }

        let Some(kind) = ContentKind::detect(request.content) else {
            return Verdict::clean(ENGINE_NAME);
        };
        let mismatch = filetype::contradicts(request.declared_type, kind);

        if mismatch {
            let reason = format!(
                "declared {} but content is {}",
                declared_essence(request.declared_type),
                kind.description()
            );
            return Verdict::blocked(ENGINE_NAME, reason);
        }
        if kind.is_executable() {
            return Verdict::blocked(ENGINE_NAME, format!("content is {}", kind.description()));
        }

        Verdict::clean(ENGINE_NAME)
    }
}

impl Scanner for BuiltinScanner {
    fn name(&self) -> &str {
        ENGINE_NAME
    }

    async fn scan(&self, request: ScanRequest<'_>) -> Verdict {
        let span = request.span(ENGINE_NAME);

        async {
            let verdict = self.check(request);
            tracing::debug!(%verdict, "scanned");
            verdict
        }
        .instrument(span)
        .await
    }
}

/// Returns the media type without parameters, for verdict reasons.
fn declared_essence(declared_type: &str) -> &str {
    declared_type.split(';').next().unwrap_or("").trim()
}
