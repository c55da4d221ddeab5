//! Match conditions of rules: direction, senders, recipients and client
//! networks.

use std::net::IpAddr;

use ipnet::IpNet;
use mailgate_message::Envelope;

use crate::config::{DirectionConfig, MatchConfig};

/// Direction of a message, decided by its client address.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    /// From a client outside the organisation's networks.
    Inbound,
    /// From a client inside `smtp.trusted_networks`.
    Outbound,
}

impl Direction {
    /// Returns the direction of a message from `client`.
    pub fn of(client: Option<IpAddr>, trusted_networks: &[IpNet]) -> Direction {
        match client {
            Some(address) if trusted_networks.iter().any(|network| network.contains(&address)) => Direction::Outbound,
            _ => Direction::Inbound,
        }
    }
}

/// The compiled match conditions of one rule.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MatchConditions {
    direction: DirectionConfig,
    senders: Vec<AddressPattern>,
    recipients: Vec<AddressPattern>,
    client_networks: Vec<IpNet>,
}

/// A full address or a domain, lower-cased.
#[derive(Clone, Debug, PartialEq, Eq)]
enum AddressPattern {
    Address(String),
    Domain(String),
}

impl AddressPattern {
    fn new(pattern: &str) -> AddressPattern {
        let pattern = pattern.trim().to_lowercase();
        match pattern.strip_prefix('@') {
            Some(domain) => AddressPattern::Domain(domain.to_string()),
            None if pattern.contains('@') => AddressPattern::Address(pattern),
            None => AddressPattern::Domain(pattern),
        }
    }

    fn matches(&self, address: &str) -> bool {
        let address = address.to_lowercase();
        match self {
            AddressPattern::Address(expected) => address == *expected,
            AddressPattern::Domain(domain) => address.rsplit_once('@').is_some_and(|(_, actual)| actual == domain),
        }
    }
}

impl MatchConditions {
    /// Compiles the configured conditions.
    pub fn new(config: &MatchConfig) -> MatchConditions {
        MatchConditions {
            direction: config.direction,
            senders: config.senders.iter().map(|pattern| AddressPattern::new(pattern)).collect(),
            recipients: config.recipients.iter().map(|pattern| AddressPattern::new(pattern)).collect(),
            client_networks: config.client_networks.clone(),
        }
    }

    /// Returns whether a message with `envelope` and `direction` satisfies
    /// every condition.
    pub fn matches(&self, envelope: &Envelope, direction: Direction) -> bool {
        let direction_matches = match self.direction {
            DirectionConfig::Any => true,
            DirectionConfig::Inbound => direction == Direction::Inbound,
            DirectionConfig::Outbound => direction == Direction::Outbound,
        };
        let sender_matches =
            self.senders.is_empty() || self.senders.iter().any(|pattern| pattern.matches(&envelope.mail_from));
        let recipient_matches = self.recipients.is_empty()
            || envelope.rcpt_to.iter().any(|recipient| self.recipients.iter().any(|pattern| pattern.matches(recipient)));
        let client_matches = self.client_networks.is_empty()
            || envelope
                .client_address
                .parse::<IpAddr>()
                .is_ok_and(|address| self.client_networks.iter().any(|network| network.contains(&address)));

        direction_matches && sender_matches && recipient_matches && client_matches
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn envelope(client: &str, from: &str, to: &[&str]) -> Envelope {
        Envelope {
            client_address: client.to_string(),
            helo: "client.test".to_string(),
            mail_from: from.to_string(),
            rcpt_to: to.iter().map(|recipient| recipient.to_string()).collect(),
        }
    }

    fn conditions(toml_text: &str) -> MatchConditions {
        let config: MatchConfig = toml::from_str(toml_text).unwrap();
        MatchConditions::new(&config)
    }

    #[test]
    fn match_empty_matches_everything() {
        let any = conditions("");
        assert!(any.matches(&envelope("192.0.2.1", "", &["a@example.org"]), Direction::Inbound));
        assert!(any.matches(&envelope("10.0.0.1", "x@y", &[]), Direction::Outbound));
    }

    #[test]
    fn match_direction() {
        let inbound = conditions("direction = \"inbound\"");
        let message = envelope("192.0.2.1", "a@example.com", &["b@example.org"]);
        assert!(inbound.matches(&message, Direction::Inbound));
        assert!(!inbound.matches(&message, Direction::Outbound));
    }

    #[test]
    fn match_sender_address_and_domain() {
        let by_address = conditions("senders = [\"Alice@Example.com\"]");
        let by_domain = conditions("senders = [\"example.com\"]");
        let alice = envelope("192.0.2.1", "alice@example.com", &["b@example.org"]);
        let bob = envelope("192.0.2.1", "bob@sub.example.com", &["b@example.org"]);

        assert!(by_address.matches(&alice, Direction::Inbound));
        assert!(!by_address.matches(&bob, Direction::Inbound));
        assert!(by_domain.matches(&alice, Direction::Inbound));
        assert!(!by_domain.matches(&bob, Direction::Inbound), "subdomains are not included");
    }

    #[test]
    fn match_any_recipient() {
        let rule = conditions("recipients = [\"@example.org\"]");
        let mixed = envelope("192.0.2.1", "a@x", &["c@other.net", "d@example.org"]);
        let none = envelope("192.0.2.1", "a@x", &["c@other.net"]);
        assert!(rule.matches(&mixed, Direction::Inbound));
        assert!(!rule.matches(&none, Direction::Inbound));
    }

    #[test]
    fn match_client_network() {
        let rule = conditions("client_networks = [\"192.0.2.0/24\", \"2001:db8::/32\"]");
        assert!(rule.matches(&envelope("192.0.2.77", "a@x", &[]), Direction::Inbound));
        assert!(rule.matches(&envelope("2001:db8::5", "a@x", &[]), Direction::Inbound));
        assert!(!rule.matches(&envelope("198.51.100.1", "a@x", &[]), Direction::Inbound));
    }

    #[test]
    fn direction_from_trusted_networks() {
        let trusted: Vec<IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        assert_eq!(Direction::of("10.1.2.3".parse().ok(), &trusted), Direction::Outbound);
        assert_eq!(Direction::of("192.0.2.1".parse().ok(), &trusted), Direction::Inbound);
        assert_eq!(Direction::of(None, &trusted), Direction::Inbound);
    }
}
