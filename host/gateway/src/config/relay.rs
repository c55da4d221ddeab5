//! Relay control settings: accepted domains, relay networks and recipient
//! look-ahead, checked and turned into what the SMTP server uses.

use std::time::Duration;

use ipnet::IpNet;
use mailgate_smtp::DomainPattern;
use serde::Deserialize;

use super::{Config, ConfigError};

/// Recipient check at RCPT time, after the relay check.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LookaheadMode {
    /// Every recipient that passes the relay check is taken.
    #[default]
    Off,
    /// The next hop in `delivery.relay` is asked about each recipient.
    NextHop,
}

impl Config {
    /// Parses the accepted domains into patterns.
    ///
    /// # Errors
    ///
    /// [`ConfigError::Invalid`] naming `smtp.accepted_domains` and the entry.
    pub fn accepted_domains(&self) -> Result<Vec<DomainPattern>, ConfigError> {
        self.smtp
            .accepted_domains
            .iter()
            .map(|text| {
                DomainPattern::parse(text.trim())
                    .map_err(|error| ConfigError::Invalid { setting: "smtp.accepted_domains".to_string(), reason: error.to_string() })
            })
            .collect()
    }

    /// Networks whose clients may send to any domain: `relay_networks` and
    /// `trusted_networks`, since the organisation's own senders relay
    /// outbound mail.
    pub fn relay_networks(&self) -> Vec<IpNet> {
        let mut networks = self.smtp.relay_networks.clone();
        networks.extend(self.smtp.trusted_networks.iter().copied());
        networks
    }

    /// Returns the time a next hop's reply to a look-ahead probe is cached.
    pub fn lookahead_cache_duration(&self) -> Duration {
        Duration::from_secs(self.smtp.lookahead_cache_secs)
    }

    pub(super) fn validate_relay(&self) -> Result<(), ConfigError> {
        self.accepted_domains()?;

        if self.smtp.recipient_lookahead == LookaheadMode::NextHop && self.delivery.relay.is_none() {
            return Err(ConfigError::Invalid {
                setting: "smtp.recipient_lookahead".to_string(),
                reason: "`next-hop` needs an SMTP next hop in delivery.relay".to_string(),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relay_settings_parse() {
        let config = Config::from_toml(
            "[smtp]\naccepted_domains = [\"example.org\", \".example.net\"]\nrelay_networks = [\"192.0.2.0/24\"]\n\
             trusted_networks = [\"10.0.0.0/8\"]\nrecipient_lookahead = \"next-hop\"\n\
             [delivery]\nrelay = \"127.0.0.1:2526\"\n",
        )
        .unwrap();

        assert_eq!(config.accepted_domains().unwrap().len(), 2);
        let networks: Vec<String> = config.relay_networks().iter().map(ToString::to_string).collect();
        assert_eq!(networks, ["192.0.2.0/24", "10.0.0.0/8"]);
        assert_eq!(config.smtp.recipient_lookahead, LookaheadMode::NextHop);
    }

    #[test]
    fn relay_defaults_to_loopback_only() {
        let config = Config::default();

        let networks: Vec<String> = config.relay_networks().iter().map(ToString::to_string).collect();
        assert_eq!(networks, ["127.0.0.0/8", "::1/128"]);
        assert!(config.accepted_domains().unwrap().is_empty());
    }

    #[test]
    fn bad_relay_settings_name_the_setting() {
        let cases = [
            ("[smtp]\naccepted_domains = [\"exa mple.org\"]\n", "smtp.accepted_domains"),
            ("[smtp]\nrecipient_lookahead = \"next-hop\"\n", "smtp.recipient_lookahead"),
            ("[smtp]\nrecipient_lookahead = \"always\"\n", "recipient_lookahead"),
        ];

        for (toml, setting) in cases {
            let error = Config::from_toml(toml).unwrap_err();
            assert!(error.to_string().contains(setting), "{toml}: {error}");
        }
    }
}
