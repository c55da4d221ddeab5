//! The rules shipped inside the gateway binary.

/// Shipped rules by configuration name, with their component bytes.
pub const SHIPPED_RULES: &[(&str, &[u8])] = &[
    ("no-attachment", include_bytes!(concat!(env!("OUT_DIR"), "/no_attachment.wasm"))),
    ("secure-storage", include_bytes!(concat!(env!("OUT_DIR"), "/secure_storage.wasm"))),
    ("large-attachments", include_bytes!(concat!(env!("OUT_DIR"), "/large_attachments.wasm"))),
    ("offload-scanning", include_bytes!(concat!(env!("OUT_DIR"), "/offload_scanning.wasm"))),
    ("false-positives", include_bytes!(concat!(env!("OUT_DIR"), "/false_positives.wasm"))),
    ("sanitized-originals", include_bytes!(concat!(env!("OUT_DIR"), "/sanitized_originals.wasm"))),
];

/// Returns the component bytes of the shipped rule called `name`.
pub fn shipped_component(name: &str) -> Option<&'static [u8]> {
    SHIPPED_RULES.iter().find(|(shipped, _)| *shipped == name).map(|(_, bytes)| *bytes)
}
