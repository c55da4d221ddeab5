//! Builds the rule components in `plugins/` for `wasm32-wasip2` and copies
//! them into `OUT_DIR`, where `src/shipped.rs` embeds the shipped ones.
//!
//! The plugins are their own Cargo workspace with their own target directory
//! (`plugins/target`), so this nested build does not wait on the lock of the
//! outer one. When the toolchain lacks the `wasm32-wasip2` target, the script
//! adds it with rustup (`scripts/test` adds it before cargo starts).

use std::env;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Components built from the plugins workspace, by crate file name.
const COMPONENTS: &[&str] = &[
    "no_attachment",
    "secure_storage",
    "large_attachments",
    "offload_scanning",
    "false_positives",
    "sanitized_originals",
    "endless_loop",
    "trap",
    "memory_bomb",
    "sandbox_probe",
    "old_interface",
    "notice",
];

const TARGET: &str = "wasm32-wasip2";

fn main() {
    let manifest_dir = PathBuf::from(env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let workspace = manifest_dir.join("../..").canonicalize().expect("workspace root exists");
    let plugins = workspace.join("plugins");
    let out_dir = PathBuf::from(env::var("OUT_DIR").expect("cargo sets OUT_DIR"));

    watch_sources(&plugins, &workspace.join("wit"));
    ensure_target_installed(&workspace);
    build_plugins(&plugins);

    let built = plugins.join("target").join(TARGET).join("release");
    for name in COMPONENTS {
        let source = built.join(format!("{name}.wasm"));
        let destination = out_dir.join(format!("{name}.wasm"));
        std::fs::copy(&source, &destination)
            .unwrap_or_else(|error| panic!("cannot copy {} to {}: {error}", source.display(), destination.display()));
    }

    println!("cargo:rustc-env=MAILGATE_COMPONENT_DIR={}", out_dir.display());
}

/// Re-runs this script when a plugin source, a plugin manifest or the WIT
/// package changes. `plugins/target` is left out: watching it would make
/// every build trigger the next one.
fn watch_sources(plugins: &Path, wit: &Path) {
    println!("cargo:rerun-if-changed={}", wit.display());
    let entries = std::fs::read_dir(plugins).expect("plugins directory is readable");
    for entry in entries.flatten() {
        if entry.file_name() != "target" {
            println!("cargo:rerun-if-changed={}", entry.path().display());
        }
    }
}

fn ensure_target_installed(workspace: &Path) {
    if target_installed() {
        return;
    }

    // `rustup target add` adds only the target's standard library. It runs
    // first because `rustup toolchain install` may reinstall the running
    // toolchain's components, which removes `rustc` for a moment and fails
    // the compilers that cargo runs beside this script.
    println!("cargo:warning=installing the {TARGET} target with rustup");
    let mut command = Command::new("rustup");
    command.args(["target", "add", TARGET]).current_dir(workspace);
    if let Ok(toolchain) = env::var("RUSTUP_TOOLCHAIN") {
        command.args(["--toolchain", &toolchain]);
    }
    let _ = command.status();

    // Without rustup's toolchain variable, `rustup toolchain install` in the
    // workspace installs what `rust-toolchain.toml` names, targets included.
    if !target_installed() {
        let _ = Command::new("rustup").args(["toolchain", "install"]).current_dir(workspace).status();
    }

    assert!(
        target_installed(),
        "the {TARGET} target is missing and rustup could not install it; run `rustup target add {TARGET}`"
    );
}

fn target_installed() -> bool {
    let rustc = env::var("RUSTC").unwrap_or_else(|_| "rustc".to_string());
    let Ok(output) = Command::new(&rustc).args(["--print", "sysroot"]).output() else {
        return false;
    };
    let sysroot = PathBuf::from(String::from_utf8_lossy(&output.stdout).trim());
    sysroot.join("lib/rustlib").join(TARGET).exists()
}

fn build_plugins(plugins: &Path) {
    let cargo = env::var("CARGO").unwrap_or_else(|_| "cargo".to_string());
    let mut command = Command::new(cargo);
    command
        .args(["build", "--release", "--locked", "--target", TARGET])
        .arg("--manifest-path")
        .arg(plugins.join("Cargo.toml"))
        .current_dir(plugins);

    // The outer build's settings (flags, target, profile, target directory)
    // are for the host, not for the components.
    for (key, _) in env::vars() {
        if (key.starts_with("CARGO_") && key != "CARGO_HOME") || key.starts_with("RUSTC_") || key.contains("RUSTFLAGS") {
            command.env_remove(key);
        }
    }

    let status = command.status().expect("cargo runs");
    assert!(status.success(), "building the rule components in {} failed", plugins.display());
}
