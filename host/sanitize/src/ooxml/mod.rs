//! Office Open XML (Word, Excel and PowerPoint) packages: removal of VBA
//! macro projects and ActiveX controls.
//!
//! The steps, in order:
//! 1. open the archive under the [`Limits`] and reject unsafe, duplicate or
//!    too many entries;
//! 2. parse `[Content_Types].xml` and every relationships part; a ZIP archive
//!    without `[Content_Types].xml` is not a package and is not sanitized;
//! 3. find the parts to remove ([`active_parts::find`]);
//! 4. remove the relationships to them from every relationships part, and the
//!    elements that refer to those relationships by id from their source
//!    parts;
//! 5. remove their `Override` entries and any `Default` entry of an active
//!    content type that no remaining part uses, and change a macro-enabled
//!    main part type to its macro-free counterpart;
//! 6. write the archive with every other entry copied in its compressed form.
//!
//! Edited XML parts are changed only inside the removed or changed elements;
//! everything else stays byte for byte.

mod active_content;
mod active_parts;
mod archive;
mod content_types;
mod part_name;
mod references;
mod relationships;
mod xml_edit;

use std::collections::{BTreeMap, HashMap, HashSet};

pub(crate) use active_content::MainType;
use active_content::{is_active_content_type, is_active_relationship, main_type};
use active_parts::RelationshipsPart;
use archive::Archive;
use content_types::{CONTENT_TYPES_PART, ContentTypes, EntryKind};
use part_name::{extension, key, rels_of, rels_source, resolve_target};
use xml_edit::{Edit, apply, decode_utf8, invalid_xml};

use crate::{Limits, SanitizeError};

/// The result of sanitizing a package.
#[derive(Debug)]
pub(crate) enum PackageOutcome {
    /// The archive is not an Office Open XML package.
    NotPackage,
    Unchanged,
    Sanitized {
        content: Vec<u8>,
        removed: Vec<String>,
        /// The main part type after sanitizing, when it is a known one.
        main_type: Option<&'static MainType>,
    },
}

/// Sanitizes a ZIP archive that may be an Office Open XML package.
pub(crate) fn sanitize(content: &[u8], limits: &Limits) -> Result<PackageOutcome, SanitizeError> {
    let mut archive = Archive::open(content, limits)?;

    let Some(types_entry) = archive.find(CONTENT_TYPES_PART).cloned() else {
        return Ok(PackageOutcome::NotPackage);
    };
    let types_bytes = archive.read(types_entry.index)?;
    let types_text = decode_utf8(&types_entry.name, &types_bytes)?;
    let types = ContentTypes::parse(&types_entry.name, types_text)?;
    let relationships_parts = read_relationships_parts(&mut archive)?;

    let removed_parts = active_parts::find(&archive.entries, &types, &relationships_parts);
    if removed_parts.is_empty() {
        return Ok(PackageOutcome::Unchanged);
    }

    let removed_entries = removed_entry_keys(&removed_parts);
    let mut replaced = HashMap::new();

    let removed_ids = edit_relationships(&relationships_parts, &removed_entries, &mut replaced);
    edit_referring_parts(
        &mut archive,
        &types,
        &removed_entries,
        &removed_ids,
        &mut replaced,
    )?;

    let (types_text, main_type) = edit_content_types(
        &types_entry.name,
        types_text,
        &types,
        &archive,
        &removed_entries,
    )?;
    replaced.insert(types_entry.index, types_text.into_bytes());

    let report = removed_parts
        .iter()
        .map(|(part, description)| {
            let name = archive
                .find(part)
                .map_or(part.as_str(), |entry| entry.name.as_str());
            format!("{description} ({name})")
        })
        .collect();
    let removed_indexes: HashSet<usize> = archive
        .entries
        .iter()
        .filter(|entry| removed_entries.contains(entry.key.trim_end_matches('/')))
        .map(|entry| entry.index)
        .collect();
    let content = archive.write(&removed_indexes, &replaced)?;

    Ok(PackageOutcome::Sanitized {
        content,
        removed: report,
        main_type,
    })
}

/// Reads and parses every relationships part of the archive.
fn read_relationships_parts(
    archive: &mut Archive<'_>,
) -> Result<Vec<RelationshipsPart>, SanitizeError> {
    let candidates: Vec<(usize, String, String)> = archive
        .entries
        .iter()
        .filter(|entry| !entry.is_dir)
        .filter_map(|entry| {
            rels_source(&entry.name).map(|source| (entry.index, entry.name.clone(), key(&source)))
        })
        .collect();

    let mut parts = Vec::with_capacity(candidates.len());
    for (index, name, source) in candidates {
        let bytes = archive.read(index)?;
        let text = decode_utf8(&name, &bytes)?.to_string();
        let relationships = relationships::parse(&name, &text)?;
        parts.push(RelationshipsPart {
            index,
            source,
            text,
            relationships,
        });
    }

    Ok(parts)
}

/// Returns the keys of all entries to remove: the removed parts and their
/// relationships parts.
fn removed_entry_keys(removed_parts: &BTreeMap<String, &'static str>) -> HashSet<String> {
    let mut keys = HashSet::new();
    for part in removed_parts.keys() {
        keys.insert(part.clone());
        keys.insert(key(&rels_of(part)));
    }
    keys
}

/// Removes the relationships to removed parts and of active types from every
/// kept relationships part. Returns the removed relationship ids by the key
/// of their source part.
fn edit_relationships(
    relationships_parts: &[RelationshipsPart],
    removed_entries: &HashSet<String>,
    replaced: &mut HashMap<usize, Vec<u8>>,
) -> HashMap<String, HashSet<String>> {
    let mut removed_ids: HashMap<String, HashSet<String>> = HashMap::new();

    for part in relationships_parts {
        if removed_entries.contains(&part.source) {
            continue;
        }

        let mut edits = Vec::new();
        for relationship in &part.relationships {
            let to_removed_part = !relationship.external
                && resolve_target(&part.source, &relationship.target)
                    .is_some_and(|target| removed_entries.contains(&target));
            if to_removed_part || is_active_relationship(&relationship.relationship_type) {
                edits.push(Edit::remove(relationship.span.clone()));
                removed_ids
                    .entry(part.source.clone())
                    .or_default()
                    .insert(relationship.id.clone());
            }
        }

        if !edits.is_empty() {
            replaced.insert(part.index, apply(&part.text, edits).into_bytes());
        }
    }

    removed_ids
}

/// Removes the elements that refer to removed relationships from their kept
/// XML source parts.
fn edit_referring_parts(
    archive: &mut Archive<'_>,
    types: &ContentTypes,
    removed_entries: &HashSet<String>,
    removed_ids: &HashMap<String, HashSet<String>>,
    replaced: &mut HashMap<usize, Vec<u8>>,
) -> Result<(), SanitizeError> {
    for (source, ids) in removed_ids {
        if source.is_empty() || removed_entries.contains(source) {
            continue;
        }
        let Some(entry) = archive.find(source).cloned() else {
            continue;
        };
        let is_xml = extension(source).as_deref() == Some("xml")
            || types
                .type_of(source)
                .is_some_and(|content_type| content_type.to_ascii_lowercase().ends_with("xml"));
        if !is_xml {
            continue;
        }

        let bytes = archive.read(entry.index)?;
        let text = decode_utf8(&entry.name, &bytes)?;
        if let Some(edited) = references::remove_referring_elements(&entry.name, text, ids)? {
            replaced.insert(entry.index, edited.into_bytes());
        }
    }

    Ok(())
}

/// Rewrites `[Content_Types].xml` for the removed entries and returns it with
/// the package's main part type after the change.
fn edit_content_types(
    part: &str,
    text: &str,
    types: &ContentTypes,
    archive: &Archive<'_>,
    removed_entries: &HashSet<String>,
) -> Result<(String, Option<&'static MainType>), SanitizeError> {
    let kept_by_default: HashSet<String> = archive
        .entries
        .iter()
        .filter(|entry| !entry.is_dir && !removed_entries.contains(&entry.key))
        .filter(|entry| !types.has_override(&entry.key))
        .filter_map(|entry| extension(&entry.key))
        .collect();

    let mut edits = Vec::new();
    let mut package_main_type = None;
    for entry in &types.entries {
        match &entry.kind {
            EntryKind::Override { part: name } if removed_entries.contains(name) => {
                edits.push(Edit::remove(entry.span.clone()));
            }
            EntryKind::Default { extension }
                if is_active_content_type(&entry.content_type)
                    && !kept_by_default.contains(extension) =>
            {
                edits.push(Edit::remove(entry.span.clone()));
            }
            EntryKind::Override { .. } => {
                let Some(main) = main_type(&entry.content_type) else {
                    continue;
                };
                package_main_type = Some(main);
                if entry.content_type.eq_ignore_ascii_case(main.macro_enabled) {
                    edits.push(replace_content_type(
                        part,
                        text,
                        entry.span.clone(),
                        &entry.content_type,
                        main.regular,
                    )?);
                }
            }
            EntryKind::Default { .. } => {}
        }
    }

    Ok((apply(text, edits), package_main_type))
}

/// Replaces the content type value inside one `Override` element.
fn replace_content_type(
    part: &str,
    text: &str,
    span: std::ops::Range<usize>,
    old: &str,
    new: &str,
) -> Result<Edit, SanitizeError> {
    let element = &text[span.clone()];
    if !element.contains(old) {
        return Err(invalid_xml(
            part,
            format!("cannot find content type {old:?} as written"),
        ));
    }
    let replacement = element.replacen(old, new, 1);
    Ok(Edit { span, replacement })
}
