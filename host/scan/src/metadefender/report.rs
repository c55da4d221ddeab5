//! The result of a MetaDefender Core scan and its mapping to a [`Verdict`].

use serde::Deserialize;

use crate::{SanitizedCopy, Verdict};

/// The result code that Core reports while a scan is still running.
const IN_PROGRESS: i64 = 255;

/// A finished MetaDefender Core scan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetaDefenderReport {
    /// The id that `POST /file` returned.
    pub data_id: String,

    /// `scan_results.scan_all_result_i`; [`describe_result_code`] names it.
    pub scan_all_result: i64,

    /// `process_info.result`: `Allowed` or `Blocked`, when Core sent it.
    pub workflow_result: Option<String>,

    /// `process_info.blocked_reason`, when not empty.
    pub blocked_reason: Option<String>,

    /// True when `process_info.post_processing.actions_ran` contains `Sanitized`.
    pub sanitized: bool,
}

/// Returns the meaning of a `scan_all_result_i` code, such as "infected".
pub fn describe_result_code(code: i64) -> &'static str {
    match code {
        0 => "no threat found",
        1 => "infected",
        2 => "suspicious",
        3 => "scan failed",
        4 => "cleaned",
        7 => "skipped by the allow list",
        8 => "on the block list",
        9 | 13 | 14 | 16 => "archive limits exceeded",
        10 => "not scanned",
        12 => "encrypted archive",
        15 => "password-protected document",
        17 => "file type mismatch",
        18 => "potentially vulnerable file",
        19 => "scan cancelled",
        20 => "sensitive data found",
        21 => "YARA rule matched",
        22 => "potentially unwanted program",
        23 => "unsupported file type",
        IN_PROGRESS => "scan in progress",
        _ => "unknown result code",
    }
}

impl MetaDefenderReport {
    /// Maps the report to a verdict of `engine`.
    ///
    /// The mapping of `scan_results.scan_all_result_i`:
    ///
    /// | codes | meaning | verdict |
    /// |---|---|---|
    /// | 1, 2, 8, 21, 22 | infected, suspicious, on the block list, YARA rule matched, potentially unwanted program | blocked |
    /// | 3, 10, 19, 23 | scan failed, not scanned, cancelled, unsupported file type | failed |
    /// | 4 | cleaned | clean with the sanitized copy when `process_info.post_processing.actions_ran` contains `Sanitized` and `process_info.result` is not `Blocked`, otherwise blocked |
    /// | 0, 7 | no threat, skipped by the allow list | blocked when `process_info.result` is `Blocked`, otherwise clean |
    /// | 9, 12–18, 20 | archive limits, encrypted archive, password-protected document, file type mismatch, potentially vulnerable, sensitive data | clean when `process_info.result` is `Allowed`, otherwise blocked, because the workflow in Core decides whether these pass |
    /// | any other | unknown | failed |
    ///
    /// A clean verdict carries the data id, and the sanitized copy whenever
    /// `actions_ran` contains `Sanitized`.
    pub fn verdict(&self, engine: &str) -> Verdict {
        let code = self.scan_all_result;
        let meaning = describe_result_code(code);
        let described = format!("{meaning} (scan result {code})");
        let workflow_blocked = self.workflow_result.as_deref() == Some("Blocked");
        let workflow_allowed = self.workflow_result.as_deref() == Some("Allowed");

        match code {
            1 | 2 | 8 | 21 | 22 => Verdict::blocked(engine, self.with_blocked_reason(described)),

            3 | 10 | 19 | 23 => Verdict::failed(engine, described),

            4 if self.sanitized && !workflow_blocked => self.clean(engine),
            4 => Verdict::blocked(
                engine,
                self.with_blocked_reason(format!(
                    "{described}, but no sanitized copy is available"
                )),
            ),

            0 | 7 if workflow_blocked => {
                Verdict::blocked(engine, self.with_blocked_reason(described))
            }
            0 | 7 => self.clean(engine),

            9 | 12..=18 | 20 if workflow_allowed => self.clean(engine),
            9 | 12..=18 | 20 => Verdict::blocked(engine, self.with_blocked_reason(described)),

            _ => Verdict::failed(engine, described),
        }
    }

    fn clean(&self, engine: &str) -> Verdict {
        let sanitized = self.sanitized.then(|| SanitizedCopy {
            data_id: self.data_id.clone(),
        });

        Verdict::Clean {
            engine: engine.to_string(),
            sanitized,
            data_id: Some(self.data_id.clone()),
        }
    }

    fn with_blocked_reason(&self, described: String) -> String {
        match &self.blocked_reason {
            Some(reason) => format!("{described}: {reason}"),
            None => described,
        }
    }
}

/// The body of `GET /file/{data_id}`, with only the fields the engine reads.
#[derive(Debug, Deserialize)]
pub(crate) struct FileResponse {
    scan_results: Option<ScanResults>,
    process_info: Option<ProcessInfo>,
}

#[derive(Debug, Deserialize)]
struct ScanResults {
    progress_percentage: Option<u32>,
    scan_all_result_i: Option<i64>,
}

#[derive(Debug, Deserialize)]
struct ProcessInfo {
    result: Option<String>,
    blocked_reason: Option<String>,
    post_processing: Option<PostProcessing>,
}

#[derive(Debug, Deserialize)]
struct PostProcessing {
    /// A string such as `"Sanitized | Extracted"`, or a list of action names.
    actions_ran: Option<serde_json::Value>,
}

impl FileResponse {
    /// Returns the report once the scan and its post-processing have
    /// finished, `None` while they run.
    ///
    /// A scan has finished when `scan_results.progress_percentage` is 100, the
    /// result code is no longer 255 and `process_info.result` is no longer
    /// `Processing`.
    ///
    /// # Errors
    ///
    /// A description of the problem when a finished scan has no result code.
    pub(crate) fn into_report(self, data_id: &str) -> Result<Option<MetaDefenderReport>, String> {
        let Some(scan_results) = self.scan_results else {
            return Err("the response has no scan_results".to_string());
        };
        let process_info = self.process_info;

        let scanning = scan_results.progress_percentage.unwrap_or(0) < 100
            || scan_results.scan_all_result_i == Some(IN_PROGRESS);
        let post_processing = process_info
            .as_ref()
            .is_some_and(|info| info.result.as_deref() == Some("Processing"));
        if scanning || post_processing {
            return Ok(None);
        }

        let Some(scan_all_result) = scan_results.scan_all_result_i else {
            return Err("scan_results has no scan_all_result_i at 100 percent".to_string());
        };
        let (workflow_result, blocked_reason, sanitized) = match process_info {
            Some(info) => {
                let sanitized = info
                    .post_processing
                    .and_then(|post| post.actions_ran)
                    .is_some_and(|actions| lists_sanitized(&actions));
                let blocked_reason = info
                    .blocked_reason
                    .filter(|reason| !reason.trim().is_empty());
                (info.result, blocked_reason, sanitized)
            }
            None => (None, None, false),
        };

        Ok(Some(MetaDefenderReport {
            data_id: data_id.to_string(),
            scan_all_result,
            workflow_result,
            blocked_reason,
            sanitized,
        }))
    }
}

/// Checks `actions_ran`, a `|`- or `,`-separated string or a list of strings,
/// for the action `Sanitized`.
fn lists_sanitized(actions: &serde_json::Value) -> bool {
    let is_sanitized = |action: &str| action.trim().eq_ignore_ascii_case("Sanitized");

    match actions {
        serde_json::Value::String(text) => text.split(['|', ',']).any(is_sanitized),
        serde_json::Value::Array(items) => items
            .iter()
            .filter_map(|item| item.as_str())
            .any(is_sanitized),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report(code: i64, workflow: Option<&str>, sanitized: bool) -> MetaDefenderReport {
        MetaDefenderReport {
            data_id: "abc".to_string(),
            scan_all_result: code,
            workflow_result: workflow.map(str::to_string),
            blocked_reason: None,
            sanitized,
        }
    }

    #[test]
    fn verdict_mapping() {
        #[derive(Debug, PartialEq)]
        enum Expected {
            Clean,
            CleanSanitized,
            Blocked,
            Failed,
        }
        use Expected::*;

        let cases = [
            (0, None, false, Clean),
            (0, Some("Allowed"), true, CleanSanitized),
            (0, Some("Blocked"), false, Blocked),
            (1, Some("Allowed"), false, Blocked),
            (2, None, false, Blocked),
            (8, None, false, Blocked),
            (21, None, false, Blocked),
            (22, None, false, Blocked),
            (3, None, false, Failed),
            (10, None, false, Failed),
            (19, None, false, Failed),
            (23, None, false, Failed),
            (4, Some("Allowed"), true, CleanSanitized),
            (4, Some("Allowed"), false, Blocked),
            (4, Some("Blocked"), true, Blocked),
            (7, None, false, Clean),
            (12, Some("Allowed"), false, Clean),
            (12, Some("Blocked"), false, Blocked),
            (17, None, false, Blocked),
            (99, None, false, Failed),
        ];

        for (code, workflow, sanitized, expected) in cases {
            let verdict = report(code, workflow, sanitized).verdict("metadefender");
            let actual = match &verdict {
                Verdict::Clean {
                    sanitized: None, ..
                } => Clean,
                Verdict::Clean {
                    sanitized: Some(_), ..
                } => CleanSanitized,
                Verdict::Blocked { .. } => Blocked,
                Verdict::Failed { .. } => Failed,
            };
            assert_eq!(
                actual, expected,
                "code {code}, workflow {workflow:?}, sanitized {sanitized}: {verdict}"
            );
        }
    }

    #[test]
    fn blocked_reason_names_code_and_core_reason() {
        let mut infected = report(1, Some("Blocked"), false);
        infected.blocked_reason = Some("Infected".to_string());

        let verdict = infected.verdict("metadefender");

        assert_eq!(verdict.reason(), Some("infected (scan result 1): Infected"));
    }

    #[test]
    fn into_report_waits_for_progress_and_post_processing() {
        let parse = |json: &str| {
            serde_json::from_str::<FileResponse>(json)
                .unwrap()
                .into_report("abc")
        };

        assert_eq!(
            parse(r#"{"scan_results": {"progress_percentage": 40, "scan_all_result_i": 255}}"#),
            Ok(None)
        );
        assert_eq!(
            parse(r#"{"scan_results": {"progress_percentage": 100, "scan_all_result_i": 255}}"#),
            Ok(None)
        );
        assert_eq!(
            parse(
                r#"{"scan_results": {"progress_percentage": 100, "scan_all_result_i": 0}, "process_info": {"result": "Processing"}}"#
            ),
            Ok(None)
        );
        assert!(parse(r#"{"scan_results": {"progress_percentage": 100}}"#).is_err());
        assert!(parse(r#"{"data_id": "abc"}"#).is_err());
    }

    #[test]
    fn into_report_reads_sanitized_actions() {
        let with_actions = |actions: &str| {
            let json = format!(
                r#"{{"scan_results": {{"progress_percentage": 100, "scan_all_result_i": 0}},
                    "process_info": {{"result": "Allowed", "blocked_reason": "",
                                      "post_processing": {{"actions_ran": {actions}}}}}}}"#
            );
            serde_json::from_str::<FileResponse>(&json)
                .unwrap()
                .into_report("abc")
                .unwrap()
                .unwrap()
        };

        assert!(with_actions(r#""Sanitized""#).sanitized);
        assert!(with_actions(r#""Extracted | Sanitized""#).sanitized);
        assert!(with_actions(r#"["Sanitized"]"#).sanitized);
        assert!(!with_actions(r#""""#).sanitized);
        assert!(!with_actions("null").sanitized);
        assert_eq!(with_actions(r#""""#).blocked_reason, None);
    }
}
