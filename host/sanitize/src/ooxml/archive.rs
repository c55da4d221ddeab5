//! Reading a ZIP archive under the [`Limits`], and writing its sanitized copy
//! with every untouched entry copied in its compressed form.

use std::collections::{HashMap, HashSet};
use std::io::{Cursor, Read, Write};

use zip::write::SimpleFileOptions;
use zip::{CompressionMethod, ZipArchive, ZipWriter};

use super::part_name::{is_safe_entry_name, key};
use crate::{Limits, SanitizeError};

/// One entry of the archive.
#[derive(Debug, Clone)]
pub(crate) struct Entry {
    pub index: usize,
    pub name: String,
    /// The comparison key of the name (see [`key`]).
    pub key: String,
    pub is_dir: bool,
}

/// An opened archive whose entry names, count and declared sizes passed the
/// checks.
pub(crate) struct Archive<'a> {
    zip: ZipArchive<Cursor<&'a [u8]>>,
    pub entries: Vec<Entry>,
    /// Bytes that may still be decompressed before the total limit is hit.
    read_budget: u64,
    limits: Limits,
}

impl<'a> Archive<'a> {
    /// Opens `content` and checks the entry count, the declared total size,
    /// and every entry name.
    pub(crate) fn open(content: &'a [u8], limits: &Limits) -> Result<Self, SanitizeError> {
        let mut zip = ZipArchive::new(Cursor::new(content)).map_err(invalid_archive)?;

        if zip.len() > limits.max_entries {
            return Err(SanitizeError::TooManyEntries {
                count: zip.len(),
                limit: limits.max_entries,
            });
        }
        if zip.has_duplicate_names() {
            return Err(SanitizeError::DuplicateEntryName(
                "an entry name occurs twice".to_string(),
            ));
        }

        let mut entries = Vec::with_capacity(zip.len());
        let mut keys = HashSet::new();
        let mut declared_total: u64 = 0;
        for index in 0..zip.len() {
            let file = zip.by_index_raw(index).map_err(invalid_archive)?;
            let name = file.name().map_err(invalid_archive)?.into_owned();

            if !is_safe_entry_name(&name) {
                return Err(SanitizeError::UnsafeEntryName(name));
            }
            let entry_key = key(&name);
            if !keys.insert(entry_key.trim_end_matches('/').to_string()) {
                return Err(SanitizeError::DuplicateEntryName(name));
            }
            declared_total = declared_total.saturating_add(file.size());
            if declared_total > limits.max_total_uncompressed {
                return Err(SanitizeError::TooLarge {
                    limit: limits.max_total_uncompressed,
                });
            }

            entries.push(Entry {
                index,
                key: entry_key,
                is_dir: file.is_dir(),
                name,
            });
        }

        Ok(Archive {
            zip,
            entries,
            read_budget: limits.max_total_uncompressed,
            limits: *limits,
        })
    }

    /// Returns the entry with the key `part_key`, if it is a file.
    pub(crate) fn find(&self, part_key: &str) -> Option<&Entry> {
        self.entries
            .iter()
            .find(|entry| !entry.is_dir && entry.key == part_key)
    }

    /// Decompresses one entry, counting its actual size against the total
    /// limit (declared sizes may lie).
    pub(crate) fn read(&mut self, index: usize) -> Result<Vec<u8>, SanitizeError> {
        let file = self.zip.by_index(index).map_err(invalid_archive)?;
        let mut content = Vec::new();
        file.take(self.read_budget.saturating_add(1))
            .read_to_end(&mut content)
            .map_err(invalid_archive)?;

        let read = content.len() as u64;
        if read > self.read_budget {
            return Err(SanitizeError::TooLarge {
                limit: self.limits.max_total_uncompressed,
            });
        }
        self.read_budget -= read;

        Ok(content)
    }

    /// Writes the sanitized archive: entries in their original order, the
    /// `removed` ones left out, the `replaced` ones compressed anew with
    /// their original method (DEFLATE unless they were stored) and
    /// modification time, and all others copied without recompression.
    pub(crate) fn write(
        mut self,
        removed: &HashSet<usize>,
        replaced: &HashMap<usize, Vec<u8>>,
    ) -> Result<Vec<u8>, SanitizeError> {
        let mut writer = ZipWriter::new(Cursor::new(Vec::new()));

        for entry in &self.entries {
            if removed.contains(&entry.index) {
                continue;
            }
            let original = self
                .zip
                .by_index_raw(entry.index)
                .map_err(invalid_archive)?;

            match replaced.get(&entry.index) {
                Some(content) => {
                    let method = match original.compression() {
                        CompressionMethod::Stored => CompressionMethod::Stored,
                        _ => CompressionMethod::Deflated,
                    };
                    let options = SimpleFileOptions::default()
                        .compression_method(method)
                        .last_modified_time(original.last_modified().unwrap_or_default());
                    drop(original);
                    writer
                        .start_file(entry.name.as_str(), options)
                        .map_err(write_failed)?;
                    writer.write_all(content).map_err(write_failed)?;
                }
                None => writer.raw_copy_file(original).map_err(write_failed)?,
            }
        }

        let cursor = writer.finish().map_err(write_failed)?;
        Ok(cursor.into_inner())
    }
}

fn invalid_archive(error: impl ToString) -> SanitizeError {
    SanitizeError::InvalidArchive(error.to_string())
}

fn write_failed(error: impl ToString) -> SanitizeError {
    SanitizeError::WriteArchive(error.to_string())
}
