//! The scanning engine checks: each configured engine must block the EICAR
//! test file within the time limit.
//!
//! Scanning the industry-standard harmless test file shows that the engine
//! can be reached, answers, and has signatures. One check runs for the scan
//! of attachments in the mail flow (`[scan]`, unless `scan.enabled` is
//! false) and one for the built-in vault's scans (`builtin_vault.scan`).

use std::time::Duration;

use mailgate::Config;
use mailgate_vault::VaultServerConfig;
use mailgate_vault::mailgate_scan::{EICAR_TEST_FILE, Engine, ScanRequest, Scanner, Verdict};

use super::Diagnosis;

/// Checks the engine of the mail flow and the engine of the built-in vault,
/// as far as they are configured.
pub async fn check(config: &Config, limit: Duration) -> Vec<Diagnosis> {
    let mut diagnoses = Vec::new();

    if config.scan.enabled {
        diagnoses.push(match config.scan.build_engine() {
            Ok(engine) => probe("scan", &engine, limit, "scan.clamd_address or scan.metadefender_url").await,
            Err(reason) => Diagnosis::fail("scan", reason, "correct the [scan] settings"),
        });
    }

    let vault = &config.builtin_vault;
    if vault.scan && config.vault.url.is_none() {
        diagnoses.push(match vault.apply_scan_settings(VaultServerConfig::default()) {
            Ok(VaultServerConfig { scanner: Some(engine), .. }) => {
                probe("vault scanner", &engine, limit, "builtin_vault.clamd_address or metadefender_url").await
            }
            Ok(_) => return diagnoses,
            Err(reason) => Diagnosis::fail("vault scanner", reason, "correct the builtin_vault scanning settings"),
        });
    }

    diagnoses
}

/// Scans the EICAR test file with `engine`; `settings` names what to correct
/// when the engine cannot be reached.
async fn probe(name: &'static str, engine: &Engine, limit: Duration, settings: &str) -> Diagnosis {
    let engine_name = engine.name().to_string();

    let request = ScanRequest::new("application/octet-stream", EICAR_TEST_FILE).with_file_name("eicar.com");
    let verdict = match tokio::time::timeout(limit, engine.scan(request)).await {
        Ok(verdict) => verdict,
        Err(_) => {
            return Diagnosis::fail(
                name,
                format!("the {engine_name} engine did not return a verdict for the EICAR test file within {} s", limit.as_secs()),
                "check that the engine runs and is not overloaded, or raise --timeout-secs",
            );
        }
    };

    match verdict {
        Verdict::Blocked { reason, .. } => Diagnosis::ok(name, format!("the {engine_name} engine blocks the EICAR test file ({reason})")),
        Verdict::Failed { reason, .. } => {
            Diagnosis::fail(name, format!("the {engine_name} engine failed: {reason}"), &format!("correct {settings}, or start the engine"))
        }
        Verdict::Clean { .. } => Diagnosis::fail(
            name,
            format!("the {engine_name} engine let the EICAR test file pass"),
            "check the engine's signature database and its policy",
        ),
    }
}
