//! Address of clamd and the limits of a scan.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

/// The socket clamd listens on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClamdAddress {
    /// `host:port`, as set by clamd's `TCPAddr` and `TCPSocket`.
    Tcp(String),

    /// A Unix socket path, as set by clamd's `LocalSocket`.
    #[cfg(unix)]
    Unix(PathBuf),
}

impl FromStr for ClamdAddress {
    type Err = String;

    /// Parses `unix:/path`, an absolute path, or `host:port`.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let unix_path = text
            .strip_prefix("unix:")
            .or(text.starts_with('/').then_some(text));
        if let Some(path) = unix_path {
            return unix_address(path);
        }

        match text.rsplit_once(':') {
            Some((host, port)) if !host.is_empty() && port.parse::<u16>().is_ok() => {
                Ok(ClamdAddress::Tcp(text.to_string()))
            }
            _ => Err(format!(
                "invalid clamd address {text:?}; expected host:port, unix:/path or an absolute socket path"
            )),
        }
    }
}

#[cfg(unix)]
fn unix_address(path: &str) -> Result<ClamdAddress, String> {
    Ok(ClamdAddress::Unix(PathBuf::from(path)))
}

#[cfg(not(unix))]
fn unix_address(path: &str) -> Result<ClamdAddress, String> {
    Err(format!(
        "invalid clamd address unix:{path}: Unix sockets are not available on this platform"
    ))
}

impl fmt::Display for ClamdAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClamdAddress::Tcp(address) => f.write_str(address),
            #[cfg(unix)]
            ClamdAddress::Unix(path) => write!(f, "unix:{}", path.display()),
        }
    }
}

/// Settings of the clamd engine.
#[derive(Debug, Clone)]
pub struct ClamdConfig {
    pub address: ClamdAddress,

    /// Maximum time to open the connection. Default: 5 seconds.
    pub connect_timeout: Duration,

    /// Maximum time for a whole scan or ping, from connecting to the reply.
    /// Default: 60 seconds.
    pub timeout: Duration,

    /// Size of each `INSTREAM` chunk in bytes. Default: 64 KiB.
    pub chunk_size: usize,

    /// Largest content sent to clamd, in bytes. Larger content fails without
    /// a connection. Set it to clamd's `StreamMaxLength`, whose default is
    /// 100 MiB in ClamAV 1.4 (`man 5 clamd.conf`); clamd rejects longer
    /// streams with `INSTREAM size limit exceeded`. Default: 100 MiB.
    pub max_stream_size: u64,
}

impl ClamdConfig {
    /// Creates the settings for `address` with the defaults.
    pub fn new(address: ClamdAddress) -> Self {
        ClamdConfig {
            address,
            connect_timeout: Duration::from_secs(5),
            timeout: Duration::from_secs(60),
            chunk_size: 64 * 1024,
            max_stream_size: 100 * 1024 * 1024,
        }
    }
}
