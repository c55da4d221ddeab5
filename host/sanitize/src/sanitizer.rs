//! The entry point: recognise the type of an attachment and run its
//! sanitizer.

use crate::detect::{DocumentKind, detect, essence};
use crate::html;
use crate::ooxml::{self, MainType, PackageOutcome};
use crate::{Limits, SanitizeError, SanitizeOutcome, SanitizedFile};

/// The built-in sanitizer for Office Open XML packages and HTML documents.
///
/// It keeps no state between calls, so one instance can serve every message.
#[derive(Debug)]
pub struct Sanitizer {
    limits: Limits,
    cleaner: ammonia::Builder<'static>,
}

impl Default for Sanitizer {
    fn default() -> Self {
        Sanitizer::new(Limits::default())
    }
}

impl Sanitizer {
    /// Creates a sanitizer with the given limits.
    pub fn new(limits: Limits) -> Self {
        Sanitizer {
            limits,
            cleaner: html::cleaner(),
        }
    }

    /// Returns the limits in force.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Sanitizes one attachment.
    ///
    /// `file_name` and `declared_type` come from the message and may be
    /// empty. The type is recognised from `content` first. Corrupt or
    /// hostile input gives [`SanitizeOutcome::Failed`] instead of a panic.
    pub fn sanitize(
        &self,
        file_name: &str,
        declared_type: &str,
        content: &[u8],
    ) -> SanitizeOutcome {
        match detect(file_name, declared_type, content) {
            None => SanitizeOutcome::NotApplicable,
            Some(DocumentKind::Zip) => self.sanitize_package(file_name, declared_type, content),
            Some(DocumentKind::Html) => self.sanitize_html(file_name, declared_type, content),
        }
    }

    fn sanitize_package(
        &self,
        file_name: &str,
        declared_type: &str,
        content: &[u8],
    ) -> SanitizeOutcome {
        match ooxml::sanitize(content, &self.limits) {
            Ok(PackageOutcome::NotPackage) => SanitizeOutcome::NotApplicable,
            Ok(PackageOutcome::Unchanged) => SanitizeOutcome::Unchanged,
            Ok(PackageOutcome::Sanitized {
                content,
                removed,
                main_type,
            }) => {
                tracing::info!(
                    removed = removed.len(),
                    "removed active content from an Office document"
                );
                SanitizeOutcome::Sanitized(SanitizedFile {
                    content,
                    removed,
                    file_name: package_file_name(file_name, main_type),
                    content_type: package_media_type(declared_type, main_type),
                })
            }
            Err(reason) => failed(reason),
        }
    }

    fn sanitize_html(
        &self,
        file_name: &str,
        declared_type: &str,
        content: &[u8],
    ) -> SanitizeOutcome {
        if content.len() > self.limits.max_html_size {
            return failed(SanitizeError::HtmlTooLarge {
                size: content.len(),
                limit: self.limits.max_html_size,
            });
        }

        match html::sanitize(&self.cleaner, declared_type, content) {
            None => SanitizeOutcome::Unchanged,
            Some(clean) => {
                tracing::info!(
                    removed = clean.removed.len(),
                    "removed active content from an HTML document"
                );
                SanitizeOutcome::Sanitized(SanitizedFile {
                    content: clean.content,
                    removed: clean.removed,
                    file_name: file_name.to_string(),
                    content_type: "text/html; charset=utf-8".to_string(),
                })
            }
        }
    }
}

fn failed(reason: SanitizeError) -> SanitizeOutcome {
    tracing::warn!(%reason, "sanitizing an attachment failed");
    SanitizeOutcome::Failed { reason }
}

/// Replaces a macro-enabled extension with the macro-free one of the
/// package's main part type; other names stay as they are.
fn package_file_name(file_name: &str, main_type: Option<&MainType>) -> String {
    let Some(main) = main_type else {
        return file_name.to_string();
    };
    match file_name.rsplit_once('.') {
        Some((stem, extension)) if extension.eq_ignore_ascii_case(main.macro_extension) => {
            format!("{stem}.{}", main.regular_extension)
        }
        _ => file_name.to_string(),
    }
}

/// Returns the media type of the macro-free package, or the declared type
/// (without parameters) when the main part type is not a known one.
fn package_media_type(declared_type: &str, main_type: Option<&MainType>) -> String {
    match main_type {
        Some(main) => main.regular_media_type.to_string(),
        None if essence(declared_type).is_empty() => "application/octet-stream".to_string(),
        None => essence(declared_type),
    }
}
