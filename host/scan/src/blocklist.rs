//! A block list of SHA-256 digests read from a text file.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use crate::hex;

/// A set of SHA-256 digests whose files are blocked.
///
/// The text form has one digest per line as 64 hexadecimal characters in
/// either case. `#` starts a comment that runs to the end of the line, and
/// blank lines are ignored.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Blocklist {
    digests: HashSet<[u8; 32]>,
}

/// Failure to read or parse a block list.
#[non_exhaustive]
#[derive(thiserror::Error, Debug)]
pub enum BlocklistError {
    /// The file could not be read.
    #[error("cannot read the block list {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// A line is neither blank, a comment nor a SHA-256 digest.
    #[error(
        "invalid line {line} in the block list {origin}: {reason}; expected one SHA-256 \
         digest (64 hexadecimal characters) per line"
    )]
    InvalidLine {
        origin: String,
        line: usize,
        reason: String,
    },
}

impl Blocklist {
    /// Creates an empty block list.
    pub fn new() -> Self {
        Blocklist::default()
    }

    /// Parses the text form.
    ///
    /// # Errors
    ///
    /// [`BlocklistError::InvalidLine`] for the first line that is not a
    /// digest, a comment or blank.
    pub fn parse(text: &str) -> Result<Self, BlocklistError> {
        parse_with_origin(text, "text")
    }

    /// Reads and parses the file at `path`.
    ///
    /// # Errors
    ///
    /// [`BlocklistError::Read`] when the file cannot be read or is not UTF-8,
    /// [`BlocklistError::InvalidLine`] as for [`Blocklist::parse`].
    pub fn load(path: &Path) -> Result<Self, BlocklistError> {
        let text = std::fs::read_to_string(path).map_err(|source| BlocklistError::Read {
            path: path.to_path_buf(),
            source,
        })?;

        parse_with_origin(&text, &path.display().to_string())
    }

    /// Adds a digest.
    pub fn insert(&mut self, digest: [u8; 32]) {
        self.digests.insert(digest);
    }

    /// Returns true when the digest is on the list.
    pub fn contains(&self, digest: &[u8; 32]) -> bool {
        self.digests.contains(digest)
    }

    /// Returns the number of digests.
    pub fn len(&self) -> usize {
        self.digests.len()
    }

    /// Returns true when the list has no digests.
    pub fn is_empty(&self) -> bool {
        self.digests.is_empty()
    }
}

fn parse_with_origin(text: &str, origin: &str) -> Result<Blocklist, BlocklistError> {
    let mut blocklist = Blocklist::new();

    for (index, line) in text.lines().enumerate() {
        let entry = match line.split_once('#') {
            Some((before_comment, _)) => before_comment,
            None => line,
        };
        let entry = entry.trim();
        if entry.is_empty() {
            continue;
        }

        let digest = hex::decode::<32>(entry).ok_or_else(|| BlocklistError::InvalidLine {
            origin: origin.to_string(),
            line: index + 1,
            reason: describe_invalid_entry(entry),
        })?;
        blocklist.insert(digest);
    }

    Ok(blocklist)
}

fn describe_invalid_entry(entry: &str) -> String {
    let length = entry.chars().count();
    if length != 64 {
        return format!("{length} characters instead of 64");
    }
    "contains a character that is not hexadecimal".to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    const DIGEST_A: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    const DIGEST_B: &str = "9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08";

    #[test]
    fn parse_digests_comments_and_blanks() {
        let text = format!(
            "# block list\n\n{DIGEST_A}\n  {DIGEST_B}  # test digest\r\n   \n# {DIGEST_A}\n"
        );

        let blocklist = Blocklist::parse(&text).unwrap();

        assert_eq!(blocklist.len(), 2);
        assert!(blocklist.contains(&hex::decode(DIGEST_A).unwrap()));
        assert!(blocklist.contains(&hex::decode(&DIGEST_B.to_lowercase()).unwrap()));
    }

    #[test]
    fn parse_rejects_invalid_lines() {
        let non_hex = format!("zz{}", &DIGEST_A[2..]);
        let two_digests = format!("{DIGEST_A} {DIGEST_A}");
        let cases = [
            ("short", "abc123", "6 characters instead of 64"),
            ("non-hex", non_hex.as_str(), "not hexadecimal"),
            ("two digests", two_digests.as_str(), "129 characters"),
        ];

        for (name, line, expected_reason) in cases {
            let text = format!("{DIGEST_A}\n{line}\n");
            let error = Blocklist::parse(&text).unwrap_err();
            let message = error.to_string();
            assert!(message.contains("line 2"), "case {name}: {message}");
            assert!(message.contains(expected_reason), "case {name}: {message}");
        }
    }

    #[test]
    fn empty_text_gives_empty_list() {
        assert!(Blocklist::parse("").unwrap().is_empty());
        assert!(Blocklist::parse("# nothing\n\n").unwrap().is_empty());
    }
}
