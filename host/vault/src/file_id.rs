//! The identifier that a vault assigns to a stored file.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Identifier of a file in a vault, kept as the string the vault returned.
///
/// The client treats it as opaque. The built-in vault issues 32 lowercase hex
/// digits (a v4 UUID without hyphens).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct FileId(String);

impl FileId {
    /// Wraps an identifier as the vault spells it.
    pub fn new(id: impl Into<String>) -> FileId {
        FileId(id.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Display for FileId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<String> for FileId {
    fn from(id: String) -> FileId {
        FileId(id)
    }
}

impl From<&str> for FileId {
    fn from(id: &str) -> FileId {
        FileId(id.to_owned())
    }
}

impl AsRef<str> for FileId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}
