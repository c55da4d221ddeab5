//! Parsing of one SMTP command line (RFC 5321 section 4.1) into a [`Command`].
//!
//! Verbs and parameter keywords are case-insensitive. Arguments must be
//! printable ASCII because SMTPUTF8 is not offered; a MAIL or RCPT line with
//! UTF-8 in it gives [`CommandError::NonAsciiAddress`]. As many clients do, the
//! parser tolerates spaces after `FROM:` and `TO:` and around the arguments.

use super::address::{self, parse_path};

/// One parsed SMTP command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    Ehlo {
        domain: String,
    },
    Helo {
        domain: String,
    },
    /// `MAIL FROM:<reverse_path>`; an empty `reverse_path` is the null sender `<>`.
    Mail {
        reverse_path: String,
        parameters: MailParameters,
    },
    Rcpt {
        forward_path: String,
    },
    Data,
    Rset,
    Noop,
    Quit,
    Vrfy,
    Help,
    /// `STARTTLS` (RFC 3207), offered only when TLS is configured.
    StartTls,
    /// `BDAT <chunk_size> [LAST]` (RFC 3030). CHUNKING is not offered, so the
    /// session rejects it, but it must skip the `chunk_size` octets that
    /// follow the command line to stay in sync.
    Bdat {
        chunk_size: u64,
        last: bool,
    },
    /// A standard command this server does not offer, such as AUTH.
    NotImplemented {
        verb: String,
    },
}

/// ESMTP parameters of MAIL that this server accepts.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MailParameters {
    /// `SIZE=n`: the size in bytes that the client declares (RFC 1870).
    pub size: Option<u64>,
    /// `BODY=7BIT` or `BODY=8BITMIME` (RFC 6152).
    pub body: Option<BodyType>,
}

/// The `BODY` parameter of MAIL.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BodyType {
    SevenBit,
    EightBitMime,
}

/// Error from parsing a command line. Each variant maps to one reply.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CommandError {
    /// The verb is not an SMTP command (reply 500 5.5.2).
    #[error("command not recognized")]
    UnknownCommand,
    /// The arguments do not match the command's syntax (reply 501 5.5.4).
    #[error("invalid syntax: {0}")]
    InvalidSyntax(&'static str),
    /// An ESMTP parameter that this server does not offer (reply 555 5.5.4).
    #[error("unsupported parameter {0}")]
    UnsupportedParameter(String),
    /// MAIL or RCPT with a non-ASCII address, which needs SMTPUTF8
    /// (RFC 6531); this server does not offer it (reply 553 5.6.7).
    #[error("non-ASCII address requires SMTPUTF8, which this server does not offer")]
    NonAsciiAddress,
}

/// Standard verbs that are recognized but not offered.
const NOT_IMPLEMENTED: [&str; 6] = ["AUTH", "EXPN", "TURN", "ETRN", "ATRN", "BURL"];

/// Parses one command line, given without its line ending.
pub fn parse_command(line: &[u8]) -> Result<Command, CommandError> {
    let (verb, arguments) = match line.iter().position(|&b| b == b' ') {
        Some(space) => (&line[..space], &line[space + 1..]),
        None => (line, &[][..]),
    };

    if verb.is_empty() || !verb.iter().all(u8::is_ascii_alphabetic) {
        return Err(CommandError::UnknownCommand);
    }
    let verb = std::str::from_utf8(verb)
        .map_err(|_| CommandError::UnknownCommand)?
        .to_ascii_uppercase();

    let has_control = arguments.iter().any(|&b| b < b' ' || b == 0x7f);
    let has_non_ascii = arguments.iter().any(|&b| b > 0x7f);
    if has_non_ascii && !has_control && (verb == "MAIL" || verb == "RCPT") {
        return Err(CommandError::NonAsciiAddress);
    }
    if has_control || has_non_ascii {
        return Err(CommandError::InvalidSyntax(
            "command contains non-ASCII or control characters",
        ));
    }
    let arguments = std::str::from_utf8(arguments)
        .map_err(|_| CommandError::InvalidSyntax("command contains non-ASCII characters"))?
        .trim_matches(' ');

    parse_verb(&verb, arguments)
}

fn parse_verb(verb: &str, arguments: &str) -> Result<Command, CommandError> {
    match verb {
        "EHLO" => Ok(Command::Ehlo {
            domain: parse_helo_domain(arguments)?,
        }),
        "HELO" => Ok(Command::Helo {
            domain: parse_helo_domain(arguments)?,
        }),
        "MAIL" => parse_mail(arguments),
        "RCPT" => parse_rcpt(arguments),
        "DATA" => without_arguments(arguments, Command::Data),
        "RSET" => without_arguments(arguments, Command::Rset),
        "QUIT" => without_arguments(arguments, Command::Quit),
        "NOOP" => Ok(Command::Noop),
        "HELP" => Ok(Command::Help),
        "VRFY" if arguments.is_empty() => {
            Err(CommandError::InvalidSyntax("VRFY requires an argument"))
        }
        "VRFY" => Ok(Command::Vrfy),
        "STARTTLS" => without_arguments(arguments, Command::StartTls),
        "BDAT" => parse_bdat(arguments),
        _ if NOT_IMPLEMENTED.contains(&verb) => Ok(Command::NotImplemented {
            verb: verb.to_string(),
        }),
        _ => Err(CommandError::UnknownCommand),
    }
}

fn without_arguments(arguments: &str, command: Command) -> Result<Command, CommandError> {
    if arguments.is_empty() {
        Ok(command)
    } else {
        Err(CommandError::InvalidSyntax("command takes no arguments"))
    }
}

/// Parses `chunk-size [SP "LAST"]` (RFC 3030 section 2).
fn parse_bdat(arguments: &str) -> Result<Command, CommandError> {
    let mut words = arguments.split(' ').filter(|word| !word.is_empty());
    let size = words.next().unwrap_or_default();
    let last = match words.next() {
        None => false,
        Some(word) if word.eq_ignore_ascii_case("LAST") => true,
        Some(_) => return Err(CommandError::InvalidSyntax("expected BDAT <size> [LAST]")),
    };

    let valid_size =
        !size.is_empty() && size.len() <= 20 && size.bytes().all(|b| b.is_ascii_digit());
    let chunk_size = valid_size
        .then(|| size.parse().ok())
        .flatten()
        .ok_or(CommandError::InvalidSyntax("expected BDAT <size> [LAST]"))?;
    if words.next().is_some() {
        return Err(CommandError::InvalidSyntax("expected BDAT <size> [LAST]"));
    }

    Ok(Command::Bdat { chunk_size, last })
}

/// Accepts one domain or address literal. The value is not resolved, so a
/// client may name any host here.
fn parse_helo_domain(arguments: &str) -> Result<String, CommandError> {
    if arguments.is_empty() {
        return Err(CommandError::InvalidSyntax("domain name required"));
    }
    if arguments.contains(' ') || arguments.len() > address::MAX_DOMAIN_LENGTH {
        return Err(CommandError::InvalidSyntax("expected one domain name"));
    }

    Ok(arguments.to_string())
}

fn parse_mail(arguments: &str) -> Result<Command, CommandError> {
    let path = strip_keyword(arguments, "FROM:")
        .ok_or(CommandError::InvalidSyntax("expected MAIL FROM:<address>"))?;
    let parsed = parse_path(path.trim_start_matches(' '))?;

    if parsed.mailbox.eq_ignore_ascii_case("postmaster") {
        return Err(CommandError::InvalidSyntax("sender address has no @domain"));
    }
    let parameters = parse_mail_parameters(parsed.rest)?;

    Ok(Command::Mail {
        reverse_path: parsed.mailbox,
        parameters,
    })
}

fn parse_rcpt(arguments: &str) -> Result<Command, CommandError> {
    let path = strip_keyword(arguments, "TO:")
        .ok_or(CommandError::InvalidSyntax("expected RCPT TO:<address>"))?;
    let parsed = parse_path(path.trim_start_matches(' '))?;

    if parsed.mailbox.is_empty() {
        return Err(CommandError::InvalidSyntax(
            "recipient address must not be empty",
        ));
    }

    // No RCPT parameter is offered, so the first one found is rejected.
    if let Some(parameter) = split_parameters(parsed.rest).next() {
        let (keyword, _) = split_parameter(parameter)?;
        return Err(CommandError::UnsupportedParameter(
            keyword.to_ascii_uppercase(),
        ));
    }

    Ok(Command::Rcpt {
        forward_path: parsed.mailbox,
    })
}

/// Strips a case-insensitive ASCII `keyword` from the start of `input`.
fn strip_keyword<'a>(input: &'a str, keyword: &str) -> Option<&'a str> {
    let head = input.get(..keyword.len())?;
    head.eq_ignore_ascii_case(keyword)
        .then(|| &input[keyword.len()..])
}

fn parse_mail_parameters(text: &str) -> Result<MailParameters, CommandError> {
    let mut parameters = MailParameters::default();

    for parameter in split_parameters(text) {
        let (keyword, value) = split_parameter(parameter)?;
        let keyword = keyword.to_ascii_uppercase();

        match keyword.as_str() {
            "SIZE" => {
                if parameters.size.is_some() {
                    return Err(CommandError::InvalidSyntax("duplicate SIZE parameter"));
                }
                parameters.size = Some(parse_size(value)?);
            }
            "BODY" => {
                if parameters.body.is_some() {
                    return Err(CommandError::InvalidSyntax("duplicate BODY parameter"));
                }
                parameters.body = Some(parse_body(value)?);
            }
            _ => return Err(CommandError::UnsupportedParameter(keyword)),
        }
    }

    Ok(parameters)
}

fn split_parameters(text: &str) -> impl Iterator<Item = &str> {
    text.split(' ').filter(|parameter| !parameter.is_empty())
}

/// Splits `esmtp-keyword["=" esmtp-value]` (RFC 5321 section 4.1.2).
fn split_parameter(parameter: &str) -> Result<(&str, Option<&str>), CommandError> {
    let (keyword, value) = match parameter.split_once('=') {
        Some((keyword, value)) => (keyword, Some(value)),
        None => (parameter, None),
    };

    let keyword_valid = keyword.starts_with(|c: char| c.is_ascii_alphanumeric())
        && keyword
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-');
    if !keyword_valid {
        return Err(CommandError::InvalidSyntax("invalid parameter keyword"));
    }
    if value.is_some_and(|value| value.is_empty() || value.contains('=')) {
        return Err(CommandError::InvalidSyntax("invalid parameter value"));
    }

    Ok((keyword, value))
}

/// Parses the value of `SIZE`: 1 to 20 decimal digits (RFC 1870).
fn parse_size(value: Option<&str>) -> Result<u64, CommandError> {
    let digits = value.ok_or(CommandError::InvalidSyntax("SIZE requires a value"))?;

    if digits.len() > 20 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(CommandError::InvalidSyntax("SIZE must be a decimal number"));
    }

    digits
        .parse()
        .map_err(|_| CommandError::InvalidSyntax("SIZE value too large"))
}

fn parse_body(value: Option<&str>) -> Result<BodyType, CommandError> {
    match value {
        Some(value) if value.eq_ignore_ascii_case("7BIT") => Ok(BodyType::SevenBit),
        Some(value) if value.eq_ignore_ascii_case("8BITMIME") => Ok(BodyType::EightBitMime),
        _ => Err(CommandError::InvalidSyntax("BODY must be 7BIT or 8BITMIME")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mail(reverse_path: &str, size: Option<u64>, body: Option<BodyType>) -> Command {
        Command::Mail {
            reverse_path: reverse_path.to_string(),
            parameters: MailParameters { size, body },
        }
    }

    fn rcpt(forward_path: &str) -> Command {
        Command::Rcpt {
            forward_path: forward_path.to_string(),
        }
    }

    #[test]
    fn parse_valid_commands() {
        let cases: Vec<(&str, Command)> = vec![
            (
                "EHLO client.example",
                Command::Ehlo {
                    domain: "client.example".into(),
                },
            ),
            (
                "ehlo [192.0.2.7]",
                Command::Ehlo {
                    domain: "[192.0.2.7]".into(),
                },
            ),
            (
                "HELO client.example",
                Command::Helo {
                    domain: "client.example".into(),
                },
            ),
            (
                "HeLo   client.example  ",
                Command::Helo {
                    domain: "client.example".into(),
                },
            ),
            (
                "MAIL FROM:<a@example.com>",
                mail("a@example.com", None, None),
            ),
            (
                "mail from:<a@example.com>",
                mail("a@example.com", None, None),
            ),
            (
                "MAIL FROM: <a@example.com>",
                mail("a@example.com", None, None),
            ),
            ("MAIL FROM:<>", mail("", None, None)),
            (
                "MAIL FROM:<a@example.com> SIZE=1000",
                mail("a@example.com", Some(1000), None),
            ),
            (
                "MAIL FROM:<a@example.com> body=8bitmime",
                mail("a@example.com", None, Some(BodyType::EightBitMime)),
            ),
            (
                "MAIL FROM:<a@example.com> BODY=7BIT  SIZE=0",
                mail("a@example.com", Some(0), Some(BodyType::SevenBit)),
            ),
            ("RCPT TO:<b@example.org>", rcpt("b@example.org")),
            ("rcpt to: <b@example.org>", rcpt("b@example.org")),
            ("RCPT TO:<postmaster>", rcpt("postmaster")),
            ("DATA", Command::Data),
            ("data", Command::Data),
            ("RSET", Command::Rset),
            ("NOOP", Command::Noop),
            ("NOOP anything at all", Command::Noop),
            ("QUIT", Command::Quit),
            ("VRFY user", Command::Vrfy),
            ("HELP", Command::Help),
            ("HELP MAIL", Command::Help),
            (
                "BDAT 100 LAST",
                Command::Bdat {
                    chunk_size: 100,
                    last: true,
                },
            ),
            (
                "bdat 72",
                Command::Bdat {
                    chunk_size: 72,
                    last: false,
                },
            ),
            ("starttls", Command::StartTls),
            (
                "AUTH PLAIN",
                Command::NotImplemented {
                    verb: "AUTH".into(),
                },
            ),
        ];

        for (line, expected) in cases {
            assert_eq!(
                parse_command(line.as_bytes()),
                Ok(expected),
                "line {line:?}"
            );
        }
    }

    #[test]
    fn parse_invalid_commands() {
        let syntax = |reason| Err(CommandError::InvalidSyntax(reason));
        let unsupported = |name: &str| Err(CommandError::UnsupportedParameter(name.to_string()));
        let cases: Vec<(&[u8], Result<Command, CommandError>)> = vec![
            (b"", Err(CommandError::UnknownCommand)),
            (b"FOO bar", Err(CommandError::UnknownCommand)),
            (b"EHL0 x", Err(CommandError::UnknownCommand)),
            (b" EHLO x", Err(CommandError::UnknownCommand)),
            (
                b"MAIL\tFROM:<a@b.example>",
                Err(CommandError::UnknownCommand),
            ),
            (b"GET / HTTP/1.1", Err(CommandError::UnknownCommand)),
            (b"EHLO", syntax("domain name required")),
            (b"HELO two words", syntax("expected one domain name")),
            (
                b"EHLO caf\xc3\xa9.example",
                syntax("command contains non-ASCII or control characters"),
            ),
            (
                b"EHLO a\x00b",
                syntax("command contains non-ASCII or control characters"),
            ),
            (
                b"MAIL FROM:<j\xc3\xb6rg@b\xc3\xbccher.example>",
                Err(CommandError::NonAsciiAddress),
            ),
            (
                b"RCPT TO:<\xe7\x94\xa8\xe6\x88\xb7@example.org>",
                Err(CommandError::NonAsciiAddress),
            ),
            (
                b"MAIL FROM:<j\xc3\xb6rg@example.com>\x01",
                syntax("command contains non-ASCII or control characters"),
            ),
            (b"STARTTLS now", syntax("command takes no arguments")),
            (b"BDAT", syntax("expected BDAT <size> [LAST]")),
            (b"BDAT ten", syntax("expected BDAT <size> [LAST]")),
            (b"BDAT 10 FIRST", syntax("expected BDAT <size> [LAST]")),
            (b"BDAT 10 LAST x", syntax("expected BDAT <size> [LAST]")),
            (
                b"MAIL <a@example.com>",
                syntax("expected MAIL FROM:<address>"),
            ),
            (
                b"MAIL FROM:a@example.com",
                syntax("address must be enclosed in angle brackets"),
            ),
            (
                b"MAIL FROM:<a@example.com",
                syntax("missing closing angle bracket"),
            ),
            (
                b"MAIL FROM:<postmaster>",
                syntax("sender address has no @domain"),
            ),
            (
                b"MAIL FROM:<a@example.com> SIZE",
                syntax("SIZE requires a value"),
            ),
            (
                b"MAIL FROM:<a@example.com> SIZE=ten",
                syntax("SIZE must be a decimal number"),
            ),
            (
                b"MAIL FROM:<a@example.com> SIZE=-1",
                syntax("SIZE must be a decimal number"),
            ),
            (
                b"MAIL FROM:<a@example.com> SIZE=99999999999999999999",
                syntax("SIZE value too large"),
            ),
            (
                b"MAIL FROM:<a@example.com> SIZE=1 SIZE=2",
                syntax("duplicate SIZE parameter"),
            ),
            (
                b"MAIL FROM:<a@example.com> BODY=BINARYMIME",
                syntax("BODY must be 7BIT or 8BITMIME"),
            ),
            (
                b"MAIL FROM:<a@example.com> =x",
                syntax("invalid parameter keyword"),
            ),
            (
                b"MAIL FROM:<a@example.com> SIZE=",
                syntax("invalid parameter value"),
            ),
            (
                b"MAIL FROM:<a@example.com> SMTPUTF8",
                unsupported("SMTPUTF8"),
            ),
            (b"MAIL FROM:<a@example.com> auth=<>", unsupported("AUTH")),
            (b"MAIL FROM:<a@example.com> RET=HDRS", unsupported("RET")),
            (
                b"RCPT <b@example.org>",
                syntax("expected RCPT TO:<address>"),
            ),
            (b"RCPT TO:<>", syntax("recipient address must not be empty")),
            (
                b"RCPT TO:<b@example.org> NOTIFY=NEVER",
                unsupported("NOTIFY"),
            ),
            (b"RCPT TO:<b@example.org> smtputf8", unsupported("SMTPUTF8")),
            (b"DATA now", syntax("command takes no arguments")),
            (b"RSET x", syntax("command takes no arguments")),
            (b"QUIT x", syntax("command takes no arguments")),
            (b"VRFY", syntax("VRFY requires an argument")),
        ];

        for (line, expected) in cases {
            assert_eq!(
                parse_command(line),
                expected,
                "line {:?}",
                String::from_utf8_lossy(line)
            );
        }
    }

    #[test]
    fn error_messages_name_cause() {
        let error = CommandError::UnsupportedParameter("SMTPUTF8".into());

        assert_eq!(error.to_string(), "unsupported parameter SMTPUTF8");
    }
}
