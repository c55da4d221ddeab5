//! The consistency check of a sanitized package and readers of its entries,
//! shared by the integration tests. The package builders are in
//! `mailgate_sanitize::testing`.

#![allow(dead_code)]

use std::collections::{HashMap, HashSet};
use std::io::{Cursor, Read};

use quick_xml::Reader;
use quick_xml::events::Event;
use zip::{CompressionMethod, ZipArchive};

pub use mailgate_sanitize::testing::*;

/// Reads the entry names with their compression method and compressed bytes.
pub fn read_raw_entries(archive: &[u8]) -> HashMap<String, (CompressionMethod, Vec<u8>)> {
    let mut zip = ZipArchive::new(Cursor::new(archive)).unwrap();
    (0..zip.len())
        .map(|index| {
            let mut file = zip.by_index_raw(index).unwrap();
            let mut content = Vec::new();
            file.read_to_end(&mut content).unwrap();
            (
                file.name().unwrap().to_string(),
                (file.compression(), content),
            )
        })
        .collect()
}

/// Finds the elements with a given local name in an XML text and returns
/// their attributes.
pub fn elements(xml: &[u8], local_name: &str) -> Vec<HashMap<String, String>> {
    let mut reader = Reader::from_str(std::str::from_utf8(xml).unwrap());
    let mut found = Vec::new();
    loop {
        match reader.read_event().unwrap() {
            Event::Eof => break,
            Event::Start(element) | Event::Empty(element)
                if element.local_name().as_ref() == local_name =>
            {
                let attributes = element
                    .attributes()
                    .map(|attribute| {
                        let attribute = attribute.unwrap();
                        let value = attribute
                            .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                            .unwrap();
                        (
                            attribute.key.local_name().as_ref().to_string(),
                            value.into_owned(),
                        )
                    })
                    .collect();
                found.push(attributes);
            }
            _ => {}
        }
    }
    found
}

fn resolve(source: &str, target: &str) -> String {
    let mut segments: Vec<&str> = Vec::new();
    if !target.starts_with('/') {
        segments.extend(
            source
                .rsplit_once('/')
                .map(|(folder, _)| folder.split('/').collect::<Vec<_>>())
                .unwrap_or_default(),
        );
    }
    for segment in target.split('/') {
        match segment {
            "" | "." => {}
            ".." => {
                segments.pop();
            }
            other => segments.push(other),
        }
    }
    segments.join("/").to_ascii_lowercase()
}

fn rels_source(name: &str) -> String {
    let (folder, file) = name.rsplit_once('/').unwrap();
    let file = file.strip_suffix(".rels").unwrap();
    match folder.strip_suffix("_rels").unwrap().strip_suffix('/') {
        Some(parent) => format!("{parent}/{file}"),
        None => file.to_string(),
    }
}

/// Checks the package rules that a sanitized file must keep: every internal
/// relationship target exists, every `Override` names an existing part,
/// every part has a content type. Returns the main part's content type.
pub fn check_consistent(archive: &[u8]) -> String {
    let entries = read_entries(archive);
    let names: HashSet<String> = entries
        .iter()
        .map(|(name, _)| name.to_ascii_lowercase())
        .collect();
    let content = |wanted: &str| {
        entries
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(wanted))
            .map(|(_, content)| content.clone())
    };

    let mut main_part = None;
    for (name, xml) in entries.iter().filter(|(name, _)| name.ends_with(".rels")) {
        let source = rels_source(name);
        for relationship in elements(xml, "Relationship") {
            if relationship
                .get("TargetMode")
                .is_some_and(|mode| mode == "External")
            {
                continue;
            }
            let target = resolve(&source, &relationship["Target"]);
            assert!(
                names.contains(&target),
                "{name}: relationship {} points to missing {target}",
                relationship["Id"]
            );
            if relationship["Type"] == OFFICE_DOCUMENT {
                main_part = Some(target);
            }
        }
    }

    let types = content("[Content_Types].xml").expect("no [Content_Types].xml");
    let overrides: HashMap<String, String> = elements(&types, "Override")
        .into_iter()
        .map(|entry| {
            (
                entry["PartName"]
                    .trim_start_matches('/')
                    .to_ascii_lowercase(),
                entry["ContentType"].clone(),
            )
        })
        .collect();
    let defaults: HashMap<String, String> = elements(&types, "Default")
        .into_iter()
        .map(|entry| {
            (
                entry["Extension"].to_ascii_lowercase(),
                entry["ContentType"].clone(),
            )
        })
        .collect();
    for part in overrides.keys() {
        assert!(names.contains(part), "Override for missing part {part}");
    }
    for name in names
        .iter()
        .filter(|name| *name != "[content_types].xml" && !name.ends_with('/'))
    {
        let extension = name
            .rsplit_once('.')
            .map(|(_, extension)| extension)
            .unwrap_or_default();
        assert!(
            overrides.contains_key(name) || defaults.contains_key(extension),
            "part {name} has no content type"
        );
    }

    let main_part = main_part.expect("no officeDocument relationship");
    overrides
        .get(&main_part)
        .cloned()
        .expect("main part has no Override")
}
