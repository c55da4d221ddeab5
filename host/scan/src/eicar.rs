//! Recognition of the EICAR anti-virus test file.

/// The 68-byte EICAR test file, a harmless string that anti-virus products
/// detect as if it were a virus, so that a scanning setup can be tested.
///
/// The string is assembled from two halves so that scanners which search
/// source files for it do not flag this crate.
pub const EICAR_TEST_FILE: &[u8] = concat!(
    r"X5O!P%@AP[4\PZX54(P^)7CC)7}$",
    "EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
)
.as_bytes();

/// Maximum size of a file that counts as the test file, in bytes, as the
/// EICAR definition sets it.
const MAX_TEST_FILE_SIZE: usize = 128;

/// Returns true when `content` is the EICAR test file.
///
/// As the EICAR definition allows, the 68 bytes may be followed by space,
/// tab, LF, CR or CTRL-Z (0x1A) characters, up to 128 bytes in total. Content
/// that only contains the string elsewhere is not the test file.
pub(crate) fn is_eicar_test_file(content: &[u8]) -> bool {
    let Some(rest) = content.strip_prefix(EICAR_TEST_FILE) else {
        return false;
    };

    content.len() <= MAX_TEST_FILE_SIZE
        && rest
            .iter()
            .all(|byte| matches!(byte, b' ' | b'\t' | b'\n' | b'\r' | 0x1a))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_file_is_68_bytes() {
        assert_eq!(EICAR_TEST_FILE.len(), 68);
    }

    #[test]
    fn recognition_cases() {
        let with = |suffix: &[u8]| [EICAR_TEST_FILE, suffix].concat();
        let cases: Vec<(&str, Vec<u8>, bool)> = vec![
            ("exact", EICAR_TEST_FILE.to_vec(), true),
            ("trailing CR LF", with(b"\r\n"), true),
            ("trailing mixed whitespace", with(b" \t\n\x1a"), true),
            ("padded to 128 bytes", with(&[b' '; 60]), true),
            ("padded past 128 bytes", with(&[b' '; 61]), false),
            ("trailing text", with(b"\nhello"), false),
            ("leading space", [b" ", EICAR_TEST_FILE].concat(), false),
            ("truncated", EICAR_TEST_FILE[..67].to_vec(), false),
            ("empty", Vec::new(), false),
        ];

        for (name, content, expected) in cases {
            assert_eq!(is_eicar_test_file(&content), expected, "case {name}");
        }
    }
}
