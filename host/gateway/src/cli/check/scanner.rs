//! The scanning engine check: the configured engine must block the EICAR
//! test file within the time limit.
//!
//! Scanning the industry-standard harmless test file shows that the engine
//! can be reached, answers, and has signatures. It runs only when the
//! built-in vault scans stored files (`builtin_vault.scan`).

use std::time::Duration;

use mailgate::Config;
use mailgate_vault::VaultServerConfig;
use mailgate_vault::mailgate_scan::{EICAR_TEST_FILE, ScanRequest, Scanner, Verdict};

use super::Diagnosis;

const NAME: &str = "scanner";

/// Checks the scanning engine of the built-in vault; `None` when the
/// configuration scans nothing.
pub async fn check(config: &Config, limit: Duration) -> Option<Diagnosis> {
    let settings = &config.builtin_vault;
    if !settings.scan || config.vault.url.is_some() {
        return None;
    }

    let engine = match settings.apply_scan_settings(VaultServerConfig::default()) {
        Ok(server) => server.scanner?,
        Err(reason) => {
            return Some(Diagnosis::fail(NAME, reason, "correct the builtin_vault scanning settings"));
        }
    };
    let engine_name = engine.name().to_string();

    let request = ScanRequest::new("application/octet-stream", EICAR_TEST_FILE).with_file_name("eicar.com");
    let verdict = match tokio::time::timeout(limit, engine.scan(request)).await {
        Ok(verdict) => verdict,
        Err(_) => {
            return Some(Diagnosis::fail(
                NAME,
                format!("the {engine_name} engine did not return a verdict for the EICAR test file within {} s", limit.as_secs()),
                "check that the engine runs and is not overloaded, or raise --timeout-secs",
            ));
        }
    };

    Some(match verdict {
        Verdict::Blocked { reason, .. } => {
            Diagnosis::ok(NAME, format!("the {engine_name} engine blocks the EICAR test file ({reason})"))
        }
        Verdict::Failed { reason, .. } => Diagnosis::fail(
            NAME,
            format!("the {engine_name} engine failed: {reason}"),
            "correct builtin_vault.clamd_address or metadefender_url, or start the engine",
        ),
        Verdict::Clean { .. } => Diagnosis::fail(
            NAME,
            format!("the {engine_name} engine let the EICAR test file pass"),
            "check the engine's signature database and its policy",
        ),
    })
}
