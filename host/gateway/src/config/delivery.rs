//! Delivery settings beyond the single relay: several relays with failover
//! or round robin, and outbound STARTTLS.

use std::time::Duration;

use mailgate_delivery::{Balance, NextHop, OutboundTls, RelayConfig, RelayGroup, TlsConnectors};
use serde::Deserialize;

use super::{Config, ConfigError, parse_host_port};

/// `delivery.balance`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum BalanceConfig {
    /// The first relay that takes the message, in the configured order.
    #[default]
    Failover,
    /// Each message starts at the next relay.
    RoundRobin,
}

/// `delivery.tls`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OutboundTlsConfig {
    /// Plain text only.
    Off,
    /// STARTTLS when offered, certificate not checked.
    #[default]
    Opportunistic,
    /// STARTTLS with a valid certificate, or no delivery.
    Required,
}

impl Config {
    /// Returns the relays as `host:port`: `delivery.relay` followed by
    /// `delivery.relays`.
    pub fn relay_addresses(&self) -> Vec<String> {
        self.delivery.relay.iter().chain(self.delivery.relays.iter()).cloned().collect()
    }

    /// Builds the next hop: the relays, or the Maildir when there is none.
    ///
    /// # Errors
    ///
    /// [`ConfigError::Invalid`] for an address that is not `host:port` or a
    /// CA bundle that cannot be used.
    pub fn next_hop(&self) -> Result<NextHop, ConfigError> {
        let addresses = self.relay_addresses();
        if addresses.is_empty() {
            return Ok(NextHop::Maildir(self.delivery.maildir.clone()));
        }

        let connectors = TlsConnectors::new(self.delivery.tls_ca_bundle.as_deref())
            .map_err(|error| invalid("delivery.tls_ca_bundle", error.to_string()))?;
        let tls = match self.delivery.tls {
            OutboundTlsConfig::Off => OutboundTls::Off,
            OutboundTlsConfig::Opportunistic => OutboundTls::Opportunistic,
            OutboundTlsConfig::Required => OutboundTls::Required,
        };
        let timeout = Duration::from_secs(self.delivery.timeout_secs);

        let mut relays = Vec::new();
        for address in &addresses {
            let (host, port) = parse_host_port(address).map_err(|reason| invalid(self.relay_setting(), reason))?;
            let mut relay = RelayConfig::new(host, port, self.smtp.hostname.clone(), timeout);
            relay.tls = tls;
            relay.connectors = connectors.clone();
            relays.push(relay);
        }

        let balance = match self.delivery.balance {
            BalanceConfig::Failover => Balance::Failover,
            BalanceConfig::RoundRobin => Balance::RoundRobin,
        };
        RelayGroup::new(relays, balance)
            .map(NextHop::Relays)
            .ok_or_else(|| invalid("delivery.relays", "is empty".to_string()))
    }

    pub(super) fn validate_delivery(&self) -> Result<(), ConfigError> {
        if self.delivery.relay.is_some() && !self.delivery.relays.is_empty() {
            return Err(invalid("delivery.relays", "set either delivery.relay or delivery.relays, not both".to_string()));
        }
        for address in self.relay_addresses() {
            parse_host_port(&address).map_err(|reason| invalid(self.relay_setting(), reason))?;
        }
        if let Some(bundle) = &self.delivery.tls_ca_bundle
            && !bundle.is_file()
        {
            return Err(invalid("delivery.tls_ca_bundle", format!("{} is not a readable file", bundle.display())));
        }
        Ok(())
    }

    fn relay_setting(&self) -> &'static str {
        if self.delivery.relays.is_empty() { "delivery.relay" } else { "delivery.relays" }
    }
}

fn invalid(setting: &str, reason: String) -> ConfigError {
    ConfigError::Invalid { setting: setting.to_string(), reason }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relays_build_a_group() {
        let config = Config::from_toml(
            "[delivery]\nrelays = [\"mx1.example.org:25\", \"127.0.0.1:2526\"]\nbalance = \"round-robin\"\ntls = \"required\"\n",
        )
        .unwrap();

        let NextHop::Relays(group) = config.next_hop().unwrap() else { panic!("expected relays") };
        assert_eq!(group.balance(), Balance::RoundRobin);
        let addresses: Vec<String> = group.relays().iter().map(RelayConfig::address).collect();
        assert_eq!(addresses, ["mx1.example.org:25", "127.0.0.1:2526"]);
        assert!(group.relays().iter().all(|relay| relay.tls == OutboundTls::Required));
    }

    #[test]
    fn no_relay_means_maildir() {
        let config = Config::default();

        assert!(matches!(config.next_hop().unwrap(), NextHop::Maildir(_)));
    }

    #[test]
    fn bad_delivery_settings_name_the_setting() {
        let cases = [
            ("[delivery]\nrelay = \"a:25\"\nrelays = [\"b:25\"]\n", "delivery.relays"),
            ("[delivery]\nrelays = [\"mail.example.com\"]\n", "delivery.relays"),
            ("[delivery]\nrelay = \"mail.example.com\"\n", "delivery.relay"),
            ("[delivery]\ntls = \"sometimes\"\n", "tls"),
            ("[delivery]\ntls_ca_bundle = \"/nonexistent/ca.pem\"\n", "delivery.tls_ca_bundle"),
        ];

        for (toml, setting) in cases {
            let error = Config::from_toml(toml).unwrap_err();
            assert!(error.to_string().contains(setting), "{toml}: {error}");
        }
    }
}
