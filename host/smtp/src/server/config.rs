//! Settings of the SMTP server and their checks.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use ipnet::IpNet;

use super::tls::TlsConfig;
use crate::protocol::address::validate_domain;
use crate::protocol::{
    DEFAULT_MAX_DATA_LINE_LENGTH, DEFAULT_MAX_HEADER_SIZE, DomainPattern, RelayPolicy,
    SessionConfig,
};

/// Smallest allowed `max_line_length`: RFC 5321 section 4.5.3.1.4 requires
/// command lines of 512 octets including CR LF to be accepted.
pub const MIN_LINE_LENGTH: usize = 512;

/// Smallest allowed `max_data_line_length`: RFC 5321 section 4.5.3.1.6
/// requires text lines of 1000 octets including CR LF to be accepted.
pub const MIN_DATA_LINE_LENGTH: usize = 1000;

/// Settings of [`super::SmtpServer`].
#[derive(Clone, Debug)]
pub struct SmtpServerConfig {
    /// Address to listen on; port 0 picks a free port.
    /// Default `127.0.0.1:2525`.
    pub listen: SocketAddr,
    /// Host name in the greeting and the EHLO reply; must be a valid domain
    /// name. Default `localhost`.
    pub hostname: String,
    /// Maximum message size in bytes after dot-unstuffing, advertised as
    /// `SIZE`. Default 25 MiB.
    pub max_message_size: usize,
    /// Maximum recipients per message. Default 100, the minimum that
    /// RFC 5321 section 4.5.3.1.8 requires servers to accept.
    pub max_recipients: usize,
    /// How long to wait for the next command, for more data inside DATA, and
    /// for a reply write to finish. Default 5 minutes, as RFC 5321 section
    /// 4.5.3.2.7 suggests for the server.
    pub command_timeout: Duration,
    /// Maximum command line length in bytes including CR LF. Default 4096,
    /// which is above the 512 of RFC 5321 to leave room for ESMTP parameters.
    /// At least [`MIN_LINE_LENGTH`].
    pub max_line_length: usize,
    /// Maximum number of concurrent sessions; more connections get
    /// `421 4.3.2` and are closed. Default 100. Each session can buffer up to
    /// `max_message_size` bytes, so the memory bound is the product.
    pub max_connections: usize,
    /// After shutdown, how long sessions get to finish before they are
    /// aborted. Default 30 seconds.
    pub shutdown_grace_period: Duration,
    /// Maximum number of concurrent sessions from one client IP address;
    /// more connections from it get `421 4.7.0` and are closed. Default 20.
    pub max_connections_per_client: usize,
    /// Maximum size in bytes of a message's header block, from the start of
    /// the data to the first empty line. A larger header gets
    /// `552 5.3.4` after the end of the data. Default 1 MiB
    /// ([`DEFAULT_MAX_HEADER_SIZE`]).
    pub max_header_size: usize,
    /// Maximum length in bytes of one line inside DATA, including its line
    /// end. A longer line gets `554 5.6.0` after the end of the data.
    /// Default 1 MiB ([`DEFAULT_MAX_DATA_LINE_LENGTH`] gives the reason it is
    /// above the 1000 of RFC 5321); at least [`MIN_DATA_LINE_LENGTH`].
    pub max_data_line_length: usize,
    /// Certificate and key for STARTTLS. When set, EHLO offers STARTTLS.
    /// Default `None`: no TLS.
    pub tls: Option<TlsConfig>,
    /// Whether MAIL is rejected with `530 5.7.0` until the client has
    /// started TLS. Needs `tls`. Default `false`.
    pub require_tls: bool,
    /// How long the TLS handshake after STARTTLS may take before the
    /// connection is closed. Default 30 seconds.
    pub tls_handshake_timeout: Duration,
    /// Domains whose recipients any client may name in RCPT. Default none.
    pub accepted_domains: Vec<DomainPattern>,
    /// Client networks that may name recipients in any domain. Others only
    /// reach `accepted_domains` and get `550 5.7.1` for anything else.
    /// Default loopback only ([`loopback_networks`]), so a server that
    /// listens on a public address is no open relay.
    pub relay_networks: Vec<IpNet>,
    /// Whether every recipient that passes the relay check is handed to
    /// [`super::MessageHandler::verify_recipient`] before it is taken.
    /// Default `false`.
    pub verify_recipients: bool,
}

/// `127.0.0.0/8` and `::1/128`: the clients on the same machine.
pub fn loopback_networks() -> Vec<IpNet> {
    vec![
        IpNet::new_assert(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 0)), 8),
        IpNet::new_assert(IpAddr::V6(Ipv6Addr::LOCALHOST), 128),
    ]
}

impl Default for SmtpServerConfig {
    fn default() -> SmtpServerConfig {
        SmtpServerConfig {
            listen: SocketAddr::from((Ipv4Addr::LOCALHOST, 2525)),
            hostname: "localhost".to_string(),
            max_message_size: 25 * 1024 * 1024,
            max_recipients: 100,
            command_timeout: Duration::from_secs(5 * 60),
            max_line_length: 4096,
            max_connections: 100,
            shutdown_grace_period: Duration::from_secs(30),
            max_connections_per_client: 20,
            max_header_size: DEFAULT_MAX_HEADER_SIZE,
            max_data_line_length: DEFAULT_MAX_DATA_LINE_LENGTH,
            tls: None,
            require_tls: false,
            tls_handshake_timeout: Duration::from_secs(30),
            accepted_domains: Vec::new(),
            relay_networks: loopback_networks(),
            verify_recipients: false,
        }
    }
}

/// A setting of [`SmtpServerConfig`] that cannot work.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    #[error("invalid hostname {0:?}: expected a domain name such as mx.example.com")]
    InvalidHostname(String),
    #[error("max_line_length {0} is below the minimum of {MIN_LINE_LENGTH} bytes")]
    LineLengthTooSmall(usize),
    #[error("{0} must be greater than zero")]
    Zero(&'static str),
    #[error(
        "max_data_line_length {0} is below the minimum of {MIN_DATA_LINE_LENGTH} bytes that RFC 5321 requires"
    )]
    DataLineLengthTooSmall(usize),
    #[error(
        "require_tls is set but tls is not: configure a certificate and key, or unset require_tls"
    )]
    TlsRequiredWithoutCertificate,
}

impl SmtpServerConfig {
    /// Checks that the settings can work.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if validate_domain(&self.hostname).is_err() {
            return Err(ConfigError::InvalidHostname(self.hostname.clone()));
        }
        if self.max_line_length < MIN_LINE_LENGTH {
            return Err(ConfigError::LineLengthTooSmall(self.max_line_length));
        }
        if self.max_data_line_length < MIN_DATA_LINE_LENGTH {
            return Err(ConfigError::DataLineLengthTooSmall(
                self.max_data_line_length,
            ));
        }
        if self.require_tls && self.tls.is_none() {
            return Err(ConfigError::TlsRequiredWithoutCertificate);
        }

        let positive = [
            ("max_message_size", self.max_message_size > 0),
            ("max_recipients", self.max_recipients > 0),
            ("max_connections", self.max_connections > 0),
            (
                "max_connections_per_client",
                self.max_connections_per_client > 0,
            ),
            ("max_header_size", self.max_header_size > 0),
            ("command_timeout", !self.command_timeout.is_zero()),
            (
                "tls_handshake_timeout",
                !self.tls_handshake_timeout.is_zero(),
            ),
        ];
        for (name, valid) in positive {
            if !valid {
                return Err(ConfigError::Zero(name));
            }
        }

        Ok(())
    }

    /// Builds the settings of a session with a client at `client`.
    pub(crate) fn session_config(&self, client: IpAddr) -> SessionConfig {
        let client = canonical(client);
        SessionConfig {
            hostname: self.hostname.clone(),
            max_message_size: self.max_message_size,
            max_recipients: self.max_recipients,
            max_line_length: self.max_line_length,
            max_header_size: self.max_header_size,
            max_data_line_length: self.max_data_line_length,
            starttls: self.tls.is_some(),
            require_tls: self.require_tls,
            relay: RelayPolicy {
                accepted_domains: self.accepted_domains.clone(),
                client_may_relay: self
                    .relay_networks
                    .iter()
                    .any(|network| network.contains(&client)),
            },
            verify_recipients: self.verify_recipients,
        }
    }
}

/// Maps an IPv4-mapped IPv6 address (`::ffff:192.0.2.1`, as a dual-stack
/// listener reports IPv4 clients) to its IPv4 form, so IPv4 networks match.
fn canonical(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(address, IpAddr::V4),
        IpAddr::V4(_) => address,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_is_valid() {
        assert_eq!(SmtpServerConfig::default().validate(), Ok(()));
    }

    #[test]
    fn invalid_settings_rejected() {
        type Change = fn(&mut SmtpServerConfig);
        let cases: [(Change, ConfigError); 7] = [
            (
                |c| c.hostname = "bad host".into(),
                ConfigError::InvalidHostname("bad host".into()),
            ),
            (
                |c| c.max_line_length = 100,
                ConfigError::LineLengthTooSmall(100),
            ),
            (
                |c| c.max_recipients = 0,
                ConfigError::Zero("max_recipients"),
            ),
            (
                |c| c.command_timeout = Duration::ZERO,
                ConfigError::Zero("command_timeout"),
            ),
            (
                |c| c.max_data_line_length = 998,
                ConfigError::DataLineLengthTooSmall(998),
            ),
            (
                |c| c.require_tls = true,
                ConfigError::TlsRequiredWithoutCertificate,
            ),
            (
                |c| c.max_connections_per_client = 0,
                ConfigError::Zero("max_connections_per_client"),
            ),
        ];

        for (change, expected) in cases {
            let mut config = SmtpServerConfig::default();
            change(&mut config);

            assert_eq!(config.validate(), Err(expected));
        }
    }
}
