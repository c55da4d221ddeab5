//! Parsing of the `<path>` argument of MAIL and RCPT (RFC 5321 section 4.1.2).
//!
//! The checks follow the RFC grammar with two relaxations seen in real
//! clients: a dot-string local part may contain empty or trailing dots, and a
//! domain label may contain `_`.

use super::command::CommandError;

/// Maximum length in octets of a reverse or forward path, including the angle
/// brackets (RFC 5321 section 4.5.3.1.3).
pub const MAX_PATH_LENGTH: usize = 256;

/// Maximum length in octets of a domain (RFC 5321 section 4.5.3.1.2).
pub const MAX_DOMAIN_LENGTH: usize = 255;

/// Maximum length in octets of one domain label (RFC 1035 section 2.3.4).
const MAX_LABEL_LENGTH: usize = 63;

/// A parsed `<path>`: the mailbox without brackets and source route, and the
/// text after the closing bracket.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct ParsedPath<'a> {
    pub mailbox: String,
    pub rest: &'a str,
}

/// Parses `<mailbox>` at the start of `input` and drops a source route such
/// as `@relay.example:`, which RFC 5321 section 4.1.1.3 requires servers to
/// accept and to ignore.
///
/// The mailbox may be empty, and the caller decides whether `<>` is allowed.
/// Errors are [`CommandError::InvalidSyntax`] naming the problem.
pub(crate) fn parse_path(input: &str) -> Result<ParsedPath<'_>, CommandError> {
    let Some(inner_start) = input.strip_prefix('<') else {
        return Err(CommandError::InvalidSyntax(
            "address must be enclosed in angle brackets",
        ));
    };

    let Some(close) = find_closing_bracket(inner_start) else {
        return Err(CommandError::InvalidSyntax("missing closing angle bracket"));
    };
    if close + 2 > MAX_PATH_LENGTH {
        return Err(CommandError::InvalidSyntax(
            "address longer than 256 octets",
        ));
    }

    let inner = &inner_start[..close];
    let rest = &inner_start[close + 1..];
    if !rest.is_empty() && !rest.starts_with(' ') {
        return Err(CommandError::InvalidSyntax(
            "unexpected text after closing angle bracket",
        ));
    }

    let mailbox = strip_source_route(inner)?;
    if !mailbox.is_empty() {
        validate_mailbox(mailbox)?;
    }

    Ok(ParsedPath {
        mailbox: mailbox.to_string(),
        rest,
    })
}

/// Returns the index of the first `>` outside a quoted string.
fn find_closing_bracket(input: &str) -> Option<usize> {
    let mut in_quotes = false;
    let mut escaped = false;

    for (index, byte) in input.bytes().enumerate() {
        if escaped {
            escaped = false;
            continue;
        }
        match byte {
            b'\\' if in_quotes => escaped = true,
            b'"' => in_quotes = !in_quotes,
            b'>' if !in_quotes => return Some(index),
            _ => {}
        }
    }

    None
}

fn strip_source_route(inner: &str) -> Result<&str, CommandError> {
    if !inner.starts_with('@') {
        return Ok(inner);
    }

    match inner.split_once(':') {
        Some((_, mailbox)) if !mailbox.is_empty() => Ok(mailbox),
        _ => Err(CommandError::InvalidSyntax("source route without mailbox")),
    }
}

/// Checks `local-part "@" domain`, or the bare `postmaster` that RCPT allows
/// (RFC 5321 section 4.1.1.3). The caller rejects `postmaster` in MAIL.
fn validate_mailbox(mailbox: &str) -> Result<(), CommandError> {
    if mailbox.eq_ignore_ascii_case("postmaster") {
        return Ok(());
    }

    let domain = match mailbox.strip_prefix('"') {
        Some(quoted) => skip_quoted_local_part(quoted)?,
        None => {
            let Some((local, domain)) = mailbox.split_once('@') else {
                return Err(CommandError::InvalidSyntax("address has no @domain"));
            };
            if local.is_empty() || !local.bytes().all(|b| is_atext(b) || b == b'.') {
                return Err(CommandError::InvalidSyntax("invalid local part in address"));
            }
            domain
        }
    };

    validate_domain_or_literal(domain)
}

/// Skips a quoted local part (without its opening quote) and the `@` after
/// it, returning the domain.
fn skip_quoted_local_part(quoted: &str) -> Result<&str, CommandError> {
    let mut escaped = false;

    for (index, byte) in quoted.bytes().enumerate() {
        if !(b' '..=b'~').contains(&byte) {
            return Err(CommandError::InvalidSyntax(
                "invalid character in quoted local part",
            ));
        }
        if escaped {
            escaped = false;
            continue;
        }
        match byte {
            b'\\' => escaped = true,
            b'"' => {
                return quoted[index + 1..]
                    .strip_prefix('@')
                    .ok_or(CommandError::InvalidSyntax("address has no @domain"));
            }
            _ => {}
        }
    }

    Err(CommandError::InvalidSyntax(
        "unterminated quoted local part",
    ))
}

fn validate_domain_or_literal(domain: &str) -> Result<(), CommandError> {
    if let Some(literal) = domain.strip_prefix('[') {
        let valid = literal
            .strip_suffix(']')
            .is_some_and(|body| !body.is_empty() && body.bytes().all(is_dtext));
        return if valid {
            Ok(())
        } else {
            Err(CommandError::InvalidSyntax("invalid address literal"))
        };
    }

    validate_domain(domain)
}

/// Checks a domain name: dot-separated labels of letters, digits, `-` and
/// `_`, at most 63 octets each and [`MAX_DOMAIN_LENGTH`] in total.
pub(crate) fn validate_domain(domain: &str) -> Result<(), CommandError> {
    if domain.is_empty() || domain.len() > MAX_DOMAIN_LENGTH {
        return Err(CommandError::InvalidSyntax("invalid domain length"));
    }

    for label in domain.split('.') {
        let valid_characters = label
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if label.is_empty() || label.len() > MAX_LABEL_LENGTH || !valid_characters {
            return Err(CommandError::InvalidSyntax("invalid domain"));
        }
    }

    Ok(())
}

/// `atext` of RFC 5322 section 3.2.3.
fn is_atext(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || b"!#$%&'*+-/=?^_`{|}~".contains(&byte)
}

/// `dtext` of RFC 5321 section 4.1.3: printable ASCII except `[`, `\` and `]`.
fn is_dtext(byte: u8) -> bool {
    matches!(byte, 33..=90 | 94..=126)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mailbox(input: &str) -> Result<String, CommandError> {
        parse_path(input).map(|parsed| parsed.mailbox)
    }

    #[test]
    fn path_valid_cases() {
        let cases = [
            ("<user@example.com>", "user@example.com"),
            ("<>", ""),
            (
                "<first.last+tag@sub.example.org>",
                "first.last+tag@sub.example.org",
            ),
            (
                "<@relay.example,@other.example:user@example.com>",
                "user@example.com",
            ),
            ("<\"john doe\"@example.com>", "\"john doe\"@example.com"),
            ("<\"a>b\"@example.com>", "\"a>b\"@example.com"),
            (
                "<\"quote\\\"inside\"@example.com>",
                "\"quote\\\"inside\"@example.com",
            ),
            ("<user@[192.0.2.1]>", "user@[192.0.2.1]"),
            ("<user@[IPv6:2001:db8::1]>", "user@[IPv6:2001:db8::1]"),
            ("<Postmaster>", "Postmaster"),
            (
                "<under_score@mail_host.example>",
                "under_score@mail_host.example",
            ),
        ];

        for (input, expected) in cases {
            assert_eq!(mailbox(input).as_deref(), Ok(expected), "input {input:?}");
        }
    }

    #[test]
    fn path_invalid_cases() {
        let cases = [
            "user@example.com",
            "<user@example.com",
            "<user@example.com>x",
            "<user>",
            "<@example.com>",
            "<user@>",
            "<user@exa mple.com>",
            "<user@example..com>",
            "<us er@example.com>",
            "<\"unterminated@example.com>",
            "<\"quoted\"example.com>",
            "<user@[]>",
            "<user@[1.2.3.4>",
            "<@relay.example>",
            "<@relay.example:>",
            "<user@example.com\u{7f}>",
        ];

        for input in cases {
            assert!(mailbox(input).is_err(), "input {input:?} was accepted");
        }
    }

    #[test]
    fn path_returns_rest() {
        let parsed = parse_path("<a@example.com> SIZE=10").unwrap();

        assert_eq!(parsed.rest, " SIZE=10");
    }

    #[test]
    fn path_length_limit() {
        let domain = format!("{}.example", "a".repeat(60));
        let local = "l".repeat(256 - 2 - 1 - domain.len());
        let at_limit = format!("<{local}@{domain}>");
        let over_limit = format!("<{local}x@{domain}>");

        assert_eq!(at_limit.len(), MAX_PATH_LENGTH);
        assert!(parse_path(&at_limit).is_ok());
        assert!(parse_path(&over_limit).is_err());
    }

    #[test]
    fn domain_label_limit() {
        let label_63 = "a".repeat(63);
        let label_64 = "a".repeat(64);

        assert!(validate_domain(&format!("{label_63}.example")).is_ok());
        assert!(validate_domain(&format!("{label_64}.example")).is_err());
    }
}
