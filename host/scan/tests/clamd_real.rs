//! The clamd engine against a real clamd.
//!
//! Runs only when `MAILGATE_CLAMD` is set to the `host:port` of a clamd that
//! loaded the test database of `scripts/clamd-for-tests.sh`, for example:
//!
//!     scripts/clamd-for-tests.sh cargo test -p mailgate-scan --test clamd_real
//!
//! Without the variable each test prints that it was skipped and passes.

use std::time::Duration;

use mailgate_scan::{ClamdConfig, ClamdScanner, EICAR_TEST_FILE, ScanRequest, Scanner, Verdict};

/// Equal to the file of the same name in `scripts/clamd-for-tests.sh`.
const HASH_TEST_FILE_SHA256: &[u8] =
    b"mailgate clamd test file, blocked by a SHA-256 hash signature";

/// Equal to the file of the same name in `scripts/clamd-for-tests.sh`.
const HASH_TEST_FILE_MD5: &[u8] = b"mailgate clamd test file, blocked by an MD5 hash signature";

fn real_clamd(test: &str) -> Option<ClamdScanner> {
    let Ok(address) = std::env::var("MAILGATE_CLAMD") else {
        eprintln!(
            "skipped {test}: MAILGATE_CLAMD is not set; run it through scripts/clamd-for-tests.sh"
        );
        return None;
    };

    let mut config = ClamdConfig::new(
        address
            .parse()
            .expect("MAILGATE_CLAMD is host:port or unix:/path"),
    );
    config.timeout = Duration::from_secs(30);
    if let Ok(limit) = std::env::var("MAILGATE_CLAMD_STREAM_MAX") {
        // Send more than clamd accepts, so that clamd itself rejects the stream.
        config.max_stream_size = limit
            .parse::<u64>()
            .expect("MAILGATE_CLAMD_STREAM_MAX is a number")
            * 4;
    }
    Some(ClamdScanner::new(config))
}

#[tokio::test]
async fn real_clamd_ping() {
    let Some(scanner) = real_clamd("real_clamd_ping") else {
        return;
    };

    scanner.ping().await.unwrap();
}

#[tokio::test]
async fn real_clamd_verdicts() {
    let Some(scanner) = real_clamd("real_clamd_verdicts") else {
        return;
    };
    let eicar_with_newline = [EICAR_TEST_FILE, b"\n"].concat();

    let cases: Vec<(&str, &[u8], Option<&str>)> = vec![
        (
            "eicar",
            EICAR_TEST_FILE,
            Some("ClamAV found Mailgate.Test.EICAR.UNOFFICIAL"),
        ),
        (
            "eicar with newline",
            &eicar_with_newline,
            Some("ClamAV found Mailgate.Test.EICAR.UNOFFICIAL"),
        ),
        (
            "sha-256 hash",
            HASH_TEST_FILE_SHA256,
            Some("ClamAV found Mailgate.Test.Sha256Hash.UNOFFICIAL"),
        ),
        (
            "md5 hash",
            HASH_TEST_FILE_MD5,
            Some("ClamAV found Mailgate.Test.Md5Hash.UNOFFICIAL"),
        ),
        ("text", b"Hello, this is a harmless attachment.\n", None),
        ("empty", b"", None),
    ];

    for (name, content, expected) in cases {
        let verdict = scanner
            .scan(ScanRequest::new("application/octet-stream", content))
            .await;

        match expected {
            None => assert_eq!(verdict, Verdict::clean("clamd"), "case {name}"),
            Some(reason) => assert_eq!(verdict, Verdict::blocked("clamd", reason), "case {name}"),
        }
    }
}

#[tokio::test]
async fn real_clamd_size_limit() {
    let Some(scanner) = real_clamd("real_clamd_size_limit") else {
        return;
    };
    let Ok(limit) = std::env::var("MAILGATE_CLAMD_STREAM_MAX") else {
        eprintln!("skipped real_clamd_size_limit: MAILGATE_CLAMD_STREAM_MAX is not set");
        return;
    };
    let content = vec![b'x'; limit.parse::<usize>().unwrap() * 2];

    let verdict = scanner.scan(ScanRequest::new("text/plain", &content)).await;

    assert!(verdict.is_failed(), "{verdict}");
    eprintln!("verdict for a stream over the limit: {verdict}");
}
