//! Finding the parts to remove: active content and what only it uses.

use std::collections::{BTreeMap, HashSet};

use super::active_content::{
    describe_by_content_type, describe_by_name, is_active_content_type, is_active_relationship,
};
use super::archive::Entry;
use super::content_types::ContentTypes;
use super::part_name::{key, resolve_target};
use super::relationships::Relationship;

/// A parsed relationships part.
#[derive(Debug, Clone)]
pub(crate) struct RelationshipsPart {
    pub index: usize,
    /// Key of the part the relationships belong to; empty for the package.
    pub source: String,
    pub text: String,
    pub relationships: Vec<Relationship>,
}

/// Returns the keys of the parts to remove with a description of each:
/// parts that are active by name, content type or the type of a relationship
/// to them, then, repeatedly, parts that only removed parts refer to.
///
/// Relationships parts of removed parts are not included: the caller removes
/// them with their source part.
pub(crate) fn find(
    entries: &[Entry],
    types: &ContentTypes,
    relationships_parts: &[RelationshipsPart],
) -> BTreeMap<String, &'static str> {
    let existing: HashSet<&str> = entries
        .iter()
        .filter(|entry| !entry.is_dir)
        .map(|entry| entry.key.as_str())
        .collect();
    let mut removed = BTreeMap::new();

    for entry in entries.iter().filter(|entry| !entry.is_dir) {
        let by_name = describe_by_name(&entry.key);
        let by_type = types
            .type_of(&entry.key)
            .filter(|content_type| is_active_content_type(content_type))
            .map(describe_by_content_type);
        if let Some(description) = by_name.or(by_type) {
            removed.insert(entry.key.clone(), description);
        }
    }

    for part in relationships_parts {
        for relationship in internal(part) {
            if !is_active_relationship(&relationship.relationship_type) {
                continue;
            }
            let Some(target) = resolve_target(&part.source, &relationship.target) else {
                continue;
            };
            if existing.contains(target.as_str()) {
                let description = describe_by_name(&target)
                    .unwrap_or_else(|| describe_by_content_type(&relationship.relationship_type));
                removed.entry(target).or_insert(description);
            }
        }
    }

    add_parts_used_only_by_removed(&existing, relationships_parts, &mut removed);
    removed
}

/// Adds the parts that only removed parts refer to, until none is left.
fn add_parts_used_only_by_removed(
    existing: &HashSet<&str>,
    relationships_parts: &[RelationshipsPart],
    removed: &mut BTreeMap<String, &'static str>,
) {
    loop {
        let mut kept_targets = HashSet::new();
        let mut removed_targets = HashSet::new();
        for part in relationships_parts {
            let source_removed = removed.contains_key(&key(&part.source));
            for relationship in internal(part) {
                let Some(target) = resolve_target(&part.source, &relationship.target) else {
                    continue;
                };
                if source_removed {
                    removed_targets.insert(target);
                } else {
                    kept_targets.insert(target);
                }
            }
        }

        let newly_removed: Vec<String> = removed_targets
            .into_iter()
            .filter(|target| existing.contains(target.as_str()))
            .filter(|target| !kept_targets.contains(target) && !removed.contains_key(target))
            .collect();
        if newly_removed.is_empty() {
            return;
        }
        for target in newly_removed {
            removed.insert(target, "part used only by removed content");
        }
    }
}

fn internal(part: &RelationshipsPart) -> impl Iterator<Item = &Relationship> {
    part.relationships
        .iter()
        .filter(|relationship| !relationship.external)
}
