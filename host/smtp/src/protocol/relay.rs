//! Relay control: which recipients a client may name in RCPT.
//!
//! A gateway must never be an open relay. A recipient is taken when one of
//! these holds, checked in this order:
//!
//! 1. its domain is one of the accepted domains (mail for the organisation,
//!    from anyone);
//! 2. the client may relay (it sends the organisation's outgoing mail, so
//!    any domain is fine);
//! 3. it is the bare `postmaster` without a domain, which RFC 5321 section
//!    4.5.1 requires every server to take.
//!
//! Anything else gets `550 5.7.1`. The owner of the socket decides from the
//! client's address whether the client may relay. This module receives only
//! that result, so it stays free of I/O and of address parsing.

use std::fmt;

use super::address::validate_domain;
use super::reply::Reply;

/// One entry of the accepted domains: a domain, or with a leading dot, all
/// of its subdomains.
///
/// `example.org` matches `user@example.org` only; `.example.org` matches
/// `user@mail.example.org` and `user@a.b.example.org` but not
/// `user@example.org`. Matching ignores ASCII case.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DomainPattern {
    /// The domain in lower case, without the leading dot.
    domain: String,
    subdomains: bool,
}

/// Error for a text that is not a valid [`DomainPattern`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("invalid accepted domain {0:?}: expected a domain such as example.org, or .example.org for its subdomains")]
pub struct DomainPatternError(String);

impl DomainPattern {
    /// Parses `example.org` or `.example.org`.
    ///
    /// # Errors
    ///
    /// [`DomainPatternError`] when the rest is not a valid domain name.
    pub fn parse(text: &str) -> Result<DomainPattern, DomainPatternError> {
        let (domain, subdomains) = match text.strip_prefix('.') {
            Some(rest) => (rest, true),
            None => (text, false),
        };
        if validate_domain(domain).is_err() {
            return Err(DomainPatternError(text.to_string()));
        }

        Ok(DomainPattern {
            domain: domain.to_ascii_lowercase(),
            subdomains,
        })
    }

    /// Returns whether `domain` (any case) matches.
    pub fn matches(&self, domain: &str) -> bool {
        let domain = domain.to_ascii_lowercase();
        if !self.subdomains {
            return domain == self.domain;
        }

        domain
            .strip_suffix(&self.domain)
            .is_some_and(|prefix| prefix.len() > 1 && prefix.ends_with('.'))
    }
}

impl fmt::Display for DomainPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.subdomains {
            f.write_str(".")?;
        }
        f.write_str(&self.domain)
    }
}

/// The relay rules of one session.
///
/// The default accepts no domain and lets the client relay: the state of an
/// SMTP library that does not know its clients. The server sets
/// `client_may_relay` from its relay networks for each connection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RelayPolicy {
    /// Domains whose recipients anyone may name.
    pub accepted_domains: Vec<DomainPattern>,
    /// Whether this session's client may name recipients in any domain.
    pub client_may_relay: bool,
}

impl Default for RelayPolicy {
    fn default() -> RelayPolicy {
        RelayPolicy {
            accepted_domains: Vec::new(),
            client_may_relay: true,
        }
    }
}

impl RelayPolicy {
    /// Checks a forward path as given in RCPT, without angle brackets.
    /// Returns `None` when the recipient may be taken, or the rejection.
    pub fn check(&self, recipient: &str) -> Option<Reply> {
        let Some((_, domain)) = recipient.rsplit_once('@') else {
            return if recipient.eq_ignore_ascii_case("postmaster") {
                None
            } else {
                Some(Reply::new(550, "5.1.3", "recipient must have a domain"))
            };
        };

        let accepted = self
            .accepted_domains
            .iter()
            .any(|pattern| pattern.matches(domain));
        if accepted || self.client_may_relay {
            return None;
        }

        Some(Reply::new(
            550,
            "5.7.1",
            "relaying denied: this server does not accept mail for that domain from your address",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(domains: &[&str], client_may_relay: bool) -> RelayPolicy {
        RelayPolicy {
            accepted_domains: domains
                .iter()
                .map(|domain| DomainPattern::parse(domain).unwrap())
                .collect(),
            client_may_relay,
        }
    }

    #[test]
    fn patterns_match_domain_or_subdomains() {
        let cases = [
            ("example.org", "example.org", true),
            ("example.org", "EXAMPLE.Org", true),
            ("example.org", "mail.example.org", false),
            ("example.org", "badexample.org", false),
            (".example.org", "mail.example.org", true),
            (".example.org", "a.b.example.org", true),
            (".example.org", "example.org", false),
            (".example.org", "badexample.org", false),
            (".example.org", ".example.org", false),
        ];

        for (pattern, domain, expected) in cases {
            let pattern = DomainPattern::parse(pattern).unwrap();
            assert_eq!(pattern.matches(domain), expected, "{pattern} against {domain}");
        }
    }

    #[test]
    fn bad_patterns_rejected() {
        for text in ["", ".", "..example.org", "exa mple.org", "user@example.org", "*.example.org"] {
            let error = DomainPattern::parse(text).unwrap_err();
            assert!(error.to_string().contains("invalid accepted domain"), "{error}");
        }
    }

    #[test]
    fn untrusted_client_reaches_accepted_domains_only() {
        let policy = policy(&["example.org", ".example.net"], false);

        assert_eq!(policy.check("bob@example.org"), None);
        assert_eq!(policy.check("bob@mx.example.net"), None);
        assert_eq!(policy.check("Postmaster"), None);

        let denied = policy.check("victim@elsewhere.test").expect("relaying is denied");
        assert_eq!(denied.code(), 550);
        assert!(denied.to_string().contains("5.7.1 relaying denied"), "{denied}");
        assert_eq!(policy.check("bob").map(|reply| reply.code()), Some(550));
    }

    #[test]
    fn relay_client_reaches_any_domain() {
        let policy = policy(&[], true);

        assert_eq!(policy.check("anyone@elsewhere.test"), None);
    }
}
