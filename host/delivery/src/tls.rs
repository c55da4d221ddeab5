//! TLS on the way out: whether the relay connection is upgraded with
//! STARTTLS, and how the relay's certificate is checked.

use std::path::{Path, PathBuf};

use mail_send::smtp::tls::build_tls_connector;
use rustls::RootCertStore;
use rustls_pki_types::CertificateDer;
use rustls_pki_types::pem::PemObject;
use tokio_rustls::TlsConnector;

/// STARTTLS policy for the connection to a relay.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum OutboundTls {
    /// Never: the message goes in plain text.
    Off,
    /// STARTTLS when the relay offers it, without checking the certificate
    /// (RFC 7435 opportunistic security): this protects against passive
    /// listeners only. A failed handshake falls back to plain text on a new
    /// connection. The default.
    #[default]
    Opportunistic,
    /// STARTTLS must be offered and the certificate must be valid for the
    /// relay's host name; otherwise the attempt fails as a temporary error.
    Required,
}

/// Errors of setting up outbound TLS.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsSetupError {
    /// The CA bundle file could not be read.
    #[error("cannot read the CA bundle {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },

    /// The CA bundle contains no usable certificate.
    #[error("the CA bundle {path} contains no usable PEM certificate{}", detail.as_deref().map(|detail| format!(": {detail}")).unwrap_or_default())]
    NoCertificate { path: PathBuf, detail: Option<String> },
}

/// The TLS connectors of a relay: one that checks certificates and one that
/// does not.
#[derive(Clone)]
pub struct TlsConnectors {
    pub(crate) verified: TlsConnector,
    pub(crate) unverified: TlsConnector,
}

impl std::fmt::Debug for TlsConnectors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TlsConnectors")
    }
}

impl TlsConnectors {
    /// Builds the connectors that check certificates against the Mozilla
    /// root certificates only.
    pub fn mozilla_roots() -> TlsConnectors {
        TlsConnectors { verified: build_tls_connector(false), unverified: build_tls_connector(true) }
    }

    /// Builds the connectors. Certificates are checked against the Mozilla
    /// root certificates (`webpki-roots`) and, when given, the certificates
    /// in the PEM file `ca_bundle`.
    ///
    /// # Errors
    ///
    /// [`TlsSetupError`] when `ca_bundle` cannot be read or contains no
    /// certificate.
    pub fn new(ca_bundle: Option<&Path>) -> Result<TlsConnectors, TlsSetupError> {
        let Some(path) = ca_bundle else {
            return Ok(TlsConnectors::mozilla_roots());
        };

        let mut roots = RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        for certificate in read_bundle(path)? {
            roots.add(certificate).map_err(|error| TlsSetupError::NoCertificate {
                path: path.to_path_buf(),
                detail: Some(error.to_string()),
            })?;
        }

        let config = rustls::ClientConfig::builder().with_root_certificates(roots).with_no_client_auth();
        Ok(TlsConnectors { verified: TlsConnector::from(std::sync::Arc::new(config)), unverified: build_tls_connector(true) })
    }
}

fn read_bundle(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsSetupError> {
    let pem = std::fs::read(path).map_err(|source| TlsSetupError::Read { path: path.to_path_buf(), source })?;
    let certificates = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|error| TlsSetupError::NoCertificate { path: path.to_path_buf(), detail: Some(error.to_string()) })?;

    if certificates.is_empty() {
        return Err(TlsSetupError::NoCertificate { path: path.to_path_buf(), detail: None });
    }
    Ok(certificates)
}
