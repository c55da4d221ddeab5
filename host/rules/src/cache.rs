//! On-disk cache of compiled components, so a restart does not compile
//! rules again.
//!
//! An entry is named after the SHA-256 of the component bytes and a hash of
//! the engine's settings and wasmtime version
//! (`Engine::precompile_compatibility_hash`), so a changed component, a
//! changed engine configuration or another wasmtime version never reads an
//! old entry. Entries are written to a temporary file and renamed into place.
//! A missing, unreadable or rejected entry only costs a compilation.

use std::hash::{DefaultHasher, Hash, Hasher};
use std::path::{Path, PathBuf};

use wasmtime::Engine;
use wasmtime::component::Component;

/// A directory of compiled components.
#[derive(Clone, Debug)]
pub(crate) struct ComponentCache {
    directory: PathBuf,
}

impl ComponentCache {
    /// Uses `directory`, creating it when missing.
    pub(crate) fn open(directory: &Path) -> std::io::Result<ComponentCache> {
        std::fs::create_dir_all(directory)?;
        Ok(ComponentCache { directory: directory.to_path_buf() })
    }

    fn entry_path(&self, engine: &Engine, digest: &str) -> PathBuf {
        let mut hasher = DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut hasher);
        self.directory.join(format!("{digest}-{:016x}.cwasm", hasher.finish()))
    }

    /// Loads the cached compilation of the component with SHA-256 `digest`.
    pub(crate) fn load(&self, engine: &Engine, digest: &str) -> Option<Component> {
        let path = self.entry_path(engine, digest);
        if !path.exists() {
            return None;
        }

        // SAFETY: wasmtime requires that deserialized bytes come from
        // `Component::serialize` of a compatible engine. Only this cache
        // writes into its directory, the file name carries the engine's
        // compatibility hash, and wasmtime checks the header again.
        match unsafe { Component::deserialize_file(engine, &path) } {
            Ok(component) => Some(component),
            Err(error) => {
                tracing::warn!(path = %path.display(), error = %format!("{error:#}"), "cached component rejected; compiling again");
                None
            }
        }
    }

    /// Stores the compilation of the component with SHA-256 `digest`.
    pub(crate) fn store(&self, engine: &Engine, digest: &str, component: &Component) {
        let path = self.entry_path(engine, digest);
        let temporary = path.with_extension(format!("tmp{}", std::process::id()));

        let written = component
            .serialize()
            .map_err(|error| std::io::Error::other(format!("{error:#}")))
            .and_then(|bytes| std::fs::write(&temporary, bytes))
            .and_then(|()| std::fs::rename(&temporary, &path));
        if let Err(error) = written {
            let _ = std::fs::remove_file(&temporary);
            tracing::warn!(path = %path.display(), %error, "cannot write the component cache");
        }
    }
}
