//! The check that a component was built for this host's interface version.
//!
//! A rule exports `mailgate:rule/evaluator@<version>`. The package is at
//! 0.x, where every minor version may change shapes. So the host accepts
//! only its own major and minor version, and the patch level may differ.

use wasmtime::Engine;
use wasmtime::component::Component;

/// Version of the `mailgate:rule` WIT package this host implements.
pub const INTERFACE_VERSION: &str = "0.3.0";

/// Interface name without the version.
const EXPORT_PREFIX: &str = "mailgate:rule/evaluator@";

/// Result of inspecting a component's exports.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum VersionCheck {
    /// The component exports a compatible evaluator.
    Compatible,
    /// The component exports the evaluator at another version.
    Incompatible(String),
    /// The component does not export the evaluator at all.
    Missing,
}

/// Inspects which evaluator version `component` exports.
pub(crate) fn check_version(engine: &Engine, component: &Component) -> VersionCheck {
    let exported = component
        .component_type()
        .exports(engine)
        .find_map(|(name, _)| name.strip_prefix(EXPORT_PREFIX).map(str::to_string));

    match exported {
        None => VersionCheck::Missing,
        Some(version) if same_major_minor(&version, INTERFACE_VERSION) => VersionCheck::Compatible,
        Some(version) => VersionCheck::Incompatible(version),
    }
}

fn same_major_minor(left: &str, right: &str) -> bool {
    let key = |version: &str| {
        let mut numbers = version.split('.');
        (numbers.next().map(str::to_string), numbers.next().map(str::to_string))
    };
    key(left) == key(right)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_patch_may_differ() {
        assert!(same_major_minor("0.2.0", "0.2.7"));
    }

    #[test]
    fn version_minor_must_match() {
        assert!(!same_major_minor("0.1.0", "0.2.0"));
        assert!(!same_major_minor("1.2.0", "0.2.0"));
    }
}
