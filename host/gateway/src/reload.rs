//! Loading a new rule set while the gateway runs.
//!
//! A reload reads the configuration file again, loads every rule (compile,
//! check the interface version, validate settings) on a blocking thread, and
//! only then swaps the new set in. A set that fails to load leaves the
//! running one in place. Only the `[[rules]]` part of the configuration
//! takes effect on reload; listeners, vault and delivery settings need a
//! restart.
//!
//! Triggers: SIGHUP (in `mailgate run`), `POST /admin/reload` (see
//! [`crate::admin`]), and changes to the configuration file or a rule's
//! component file when `rule_set.watch` is on.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use mailgate_rules::{RuleEngine, RuleLoadError};
use tokio::sync::Mutex;

use crate::config::{Config, ConfigError};
use crate::rule_set::{RuleSet, RuleSetId, SharedRuleSet};

/// Time to wait after a file change before reloading, so that an editor's
/// several writes cause one reload.
const WATCH_SETTLE_TIME: Duration = Duration::from_millis(300);

/// Errors that stop a reload. The running rule set stays.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReloadError {
    /// The configuration file is unreadable or invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),

    /// A rule did not load.
    #[error(transparent)]
    Rule(#[from] RuleLoadError),

    /// The loading thread failed.
    #[error("rule loading failed: {0}")]
    Internal(String),
}

/// Loads and swaps rule sets.
pub struct Reloader {
    engine: Arc<RuleEngine>,
    rule_set: SharedRuleSet,
    config_path: Option<PathBuf>,
    /// The configuration used when there is no file to read again.
    fallback_config: Config,
    /// Serialises reloads, so two triggers at once load one after the other.
    running: Mutex<()>,
    /// Number of reloads attempted since start.
    attempts: AtomicU64,
}

impl Reloader {
    /// Creates a reloader for `rule_set` that reads `config_path` on every
    /// reload, or uses `fallback_config` when the gateway runs without a file.
    pub fn new(engine: Arc<RuleEngine>, rule_set: SharedRuleSet, config_path: Option<PathBuf>, fallback_config: Config) -> Reloader {
        Reloader { engine, rule_set, config_path, fallback_config, running: Mutex::new(()), attempts: AtomicU64::new(0) }
    }

    /// Returns the id of the rule set in use.
    pub fn current_id(&self) -> RuleSetId {
        self.rule_set.load().id().clone()
    }

    /// Returns the number of reloads attempted since start, failed ones
    /// included.
    pub fn attempts(&self) -> u64 {
        self.attempts.load(Ordering::Relaxed)
    }

    /// Loads the rules again and swaps them in when all of them load.
    ///
    /// # Errors
    ///
    /// [`ReloadError`] when the configuration or a rule fails to load; the
    /// running rule set then stays in place.
    pub async fn reload(&self) -> Result<RuleSetId, ReloadError> {
        let _serialised = self.running.lock().await;
        self.attempts.fetch_add(1, Ordering::Relaxed);
        let previous = self.current_id();
        tracing::info!(rule_set = %previous, "reloading rules");

        let loaded = self.load().await;
        match loaded {
            Ok(rule_set) => {
                let id = rule_set.id().clone();
                self.rule_set.store(Arc::new(rule_set));
                if id == previous {
                    tracing::info!(rule_set = %id, "rules reloaded; the rule set is unchanged");
                } else {
                    tracing::info!(previous = %previous, rule_set = %id, "rule set swapped");
                }
                Ok(id)
            }
            Err(error) => {
                tracing::error!(rule_set = %previous, %error, "reload failed; the running rule set stays");
                Err(error)
            }
        }
    }

    async fn load(&self) -> Result<RuleSet, ReloadError> {
        let config = match &self.config_path {
            Some(path) => Config::load(path)?,
            None => self.fallback_config.clone(),
        };
        let engine = Arc::clone(&self.engine);

        tokio::task::spawn_blocking(move || RuleSet::load(&engine, &config))
            .await
            .map_err(|error| ReloadError::Internal(error.to_string()))?
            .map_err(ReloadError::from)
    }

    /// Files whose change triggers a reload: the configuration file and the
    /// component files of the rules loaded from paths.
    pub fn watched_files(&self) -> Vec<PathBuf> {
        let mut files: Vec<PathBuf> = self.config_path.iter().cloned().collect();
        let config = self
            .config_path
            .as_deref()
            .and_then(|path| Config::load(path).ok())
            .unwrap_or_else(|| self.fallback_config.clone());
        files.extend(config.rules.iter().filter_map(|rule| rule.path.clone()));
        files.iter().map(|path| absolute(path)).collect()
    }
}

fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

/// Watches the files of `reloader` and reloads after each change. Runs
/// until the returned task is aborted.
pub fn spawn_watcher(reloader: Arc<Reloader>) -> Option<tokio::task::JoinHandle<()>> {
    use notify::{RecursiveMode, Watcher};

    let (sender, mut receiver) = tokio::sync::mpsc::unbounded_channel::<PathBuf>();
    let mut watcher = match notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
        // Only changes count: the inotify backend also reports opening and
        // reading a file, and every reload reads the watched files itself.
        let Ok(event) = event else { return };
        if !matches!(event.kind, notify::EventKind::Create(_) | notify::EventKind::Modify(_) | notify::EventKind::Remove(_)) {
            return;
        }
        if matches!(event.kind, notify::EventKind::Modify(notify::event::ModifyKind::Metadata(_))) {
            return;
        }
        for path in event.paths {
            let _ = sender.send(path);
        }
    }) {
        Ok(watcher) => watcher,
        Err(error) => {
            tracing::warn!(%error, "cannot watch rule files; reload with SIGHUP or the admin endpoint");
            return None;
        }
    };

    let watched = reloader.watched_files();
    let mut directories: Vec<PathBuf> = watched.iter().filter_map(|file| file.parent().map(Path::to_path_buf)).collect();
    directories.sort();
    directories.dedup();
    for directory in &directories {
        if let Err(error) = watcher.watch(directory, RecursiveMode::NonRecursive) {
            tracing::warn!(directory = %directory.display(), %error, "cannot watch directory");
        }
    }
    tracing::info!(files = watched.len(), "watching rule files for changes");

    Some(tokio::spawn(async move {
        let _watcher = watcher;
        let mut watched = watched;
        while let Some(path) = receiver.recv().await {
            if !watched.contains(&absolute(&path)) {
                continue;
            }

            tokio::time::sleep(WATCH_SETTLE_TIME).await;
            while receiver.try_recv().is_ok() {}

            tracing::info!(path = %path.display(), "rule file changed");
            let _ = reloader.reload().await;
            watched = reloader.watched_files();
        }
    }))
}
