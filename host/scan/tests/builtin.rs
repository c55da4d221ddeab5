//! The built-in engine through the `Scanner` interface.

use std::io::Write;

use mailgate_scan::{BuiltinScanner, EICAR_TEST_FILE, Engine, ScanRequest, Scanner, Verdict};
use sha2::{Digest, Sha256};

fn pe_file() -> Vec<u8> {
    let mut content = vec![0u8; 0x80];
    content[..2].copy_from_slice(b"MZ");
    content[0x3c..0x40].copy_from_slice(&0x40u32.to_le_bytes());
    content[0x40..0x44].copy_from_slice(b"PE\0\0");
    content
}

fn sha256_hex(content: &[u8]) -> String {
    Sha256::digest(content)
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

#[tokio::test]
async fn verdicts_by_content_and_declared_type() {
    let scanner = BuiltinScanner::new();
    let eicar_with_newline = [EICAR_TEST_FILE, b"\r\n"].concat();
    let pe = pe_file();

    // (case, declared type, content, expected: None for clean, Some(reason) for blocked)
    let cases: Vec<(&str, &str, &[u8], Option<&str>)> = vec![
        (
            "eicar",
            "application/octet-stream",
            EICAR_TEST_FILE,
            Some("EICAR test file"),
        ),
        (
            "eicar as text",
            "text/plain",
            &eicar_with_newline,
            Some("EICAR test file"),
        ),
        (
            "pe",
            "application/octet-stream",
            &pe,
            Some("content is an executable (Windows PE)"),
        ),
        (
            "elf",
            "application/x-executable",
            b"\x7fELF\x02\x01\x01\0",
            Some("content is an executable (ELF)"),
        ),
        (
            "pe declared as pdf",
            "application/pdf",
            &pe,
            Some("declared application/pdf but content is an executable (Windows PE)"),
        ),
        (
            "zip declared as pdf",
            "application/pdf; name=\"invoice.pdf\"",
            b"PK\x03\x04\x14\0\0\0",
            Some("declared application/pdf but content is a ZIP archive"),
        ),
        (
            "pe declared as text",
            "text/plain",
            &pe,
            Some("content is an executable (Windows PE)"),
        ),
        (
            "pdf",
            "application/pdf",
            b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n",
            None,
        ),
        (
            "pdf as octet stream",
            "application/octet-stream",
            b"%PDF-1.4\n",
            None,
        ),
        (
            "png declared as jpeg",
            "image/jpeg",
            b"\x89PNG\r\n\x1a\n\0\0",
            None,
        ),
        ("pdf declared as text", "text/plain", b"%PDF-1.4\n", None),
        ("plain text", "text/plain", b"Hello, world\n", None),
        (
            "unknown bytes declared as pdf",
            "application/pdf",
            b"\0\x01\x02\x03",
            None,
        ),
        ("empty", "application/octet-stream", b"", None),
    ];

    for (name, declared_type, content, expected) in cases {
        let request = ScanRequest::new(declared_type, content).with_file_name("attachment");
        let verdict = scanner.scan(request).await;

        assert_eq!(verdict.engine(), "builtin", "case {name}");
        match expected {
            None => assert_eq!(verdict, Verdict::clean("builtin"), "case {name}"),
            Some(reason) => assert_eq!(verdict, Verdict::blocked("builtin", reason), "case {name}"),
        }
    }
}

#[tokio::test]
async fn blocklist_blocks_by_digest() {
    let blocked = b"a file on the block list";
    let digest = sha256_hex(blocked);
    let mut file = tempfile::NamedTempFile::new().unwrap();
    writeln!(
        file,
        "# test block list\n\n{}  # upper case is accepted",
        digest.to_uppercase()
    )
    .unwrap();

    let scanner = BuiltinScanner::from_blocklist_file(file.path()).unwrap();
    let verdict = scanner.scan(ScanRequest::new("text/plain", blocked)).await;
    let other = scanner
        .scan(ScanRequest::new("text/plain", b"another file"))
        .await;

    assert_eq!(
        verdict,
        Verdict::blocked("builtin", format!("SHA-256 {digest} is on the block list"))
    );
    assert!(other.is_clean());
}

#[tokio::test]
async fn reload_swaps_list_and_keeps_it_on_error() {
    let first = b"first blocked file";
    let second = b"second blocked file";
    let mut file = tempfile::NamedTempFile::new().unwrap();
    writeln!(file, "{}", sha256_hex(first)).unwrap();
    let scanner = BuiltinScanner::from_blocklist_file(file.path()).unwrap();

    std::fs::write(
        file.path(),
        format!("{}\n{}\n", sha256_hex(first), sha256_hex(second)),
    )
    .unwrap();
    let count = scanner.reload_blocklist().unwrap();

    assert_eq!(count, 2);
    assert!(
        scanner
            .scan(ScanRequest::new("text/plain", second))
            .await
            .is_blocked()
    );

    std::fs::write(file.path(), "not a digest\n").unwrap();
    let error = scanner.reload_blocklist().unwrap_err();

    assert!(error.to_string().contains("line 1"), "{error}");
    assert_eq!(scanner.current_blocklist().len(), 2);
    assert!(
        scanner
            .scan(ScanRequest::new("text/plain", second))
            .await
            .is_blocked()
    );
}

#[test]
fn missing_blocklist_file_is_an_error() {
    let error =
        BuiltinScanner::from_blocklist_file(std::path::Path::new("/nonexistent/blocklist.txt"))
            .unwrap_err();

    assert!(
        error
            .to_string()
            .contains("cannot read the block list /nonexistent/blocklist.txt"),
        "{error}"
    );
}

#[tokio::test]
async fn default_engine_is_builtin() {
    let engine = Engine::default();

    let verdict = engine
        .scan(ScanRequest::new("text/plain", EICAR_TEST_FILE))
        .await;

    assert_eq!(engine.name(), "builtin");
    assert_eq!(verdict, Verdict::blocked("builtin", "EICAR test file"));
}
