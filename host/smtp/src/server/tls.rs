//! TLS settings for STARTTLS: the server certificate chain and private key,
//! loaded from PEM files or generated as a self-signed certificate.
//!
//! The rustls configuration uses the `ring` crypto provider and rustls's safe
//! default protocol versions (TLS 1.2 and 1.3). Clients are not asked for a
//! certificate.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::ServerConfig;
use rustls_pki_types::pem::{self, PemObject};
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio_rustls::TlsAcceptor;

/// Certificate chain and key that the server presents after STARTTLS.
///
/// `Debug` shows the number of certificates only, never key material.
#[derive(Clone)]
pub struct TlsConfig {
    acceptor: TlsAcceptor,
    certificate_chain: Arc<[CertificateDer<'static>]>,
}

/// Failure to build a [`TlsConfig`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsError {
    #[error("failed to read TLS file {path}: {source}; check the path and its permissions")]
    ReadFile {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("invalid PEM in {path}: {reason}")]
    InvalidPem { path: PathBuf, reason: String },
    #[error(
        "no certificate found in {path}: expected PEM blocks that start with -----BEGIN CERTIFICATE-----"
    )]
    NoCertificate { path: PathBuf },
    #[error(
        "no private key found in {path}: expected a PEM block of type PRIVATE KEY, RSA PRIVATE KEY or EC PRIVATE KEY"
    )]
    NoPrivateKey { path: PathBuf },
    #[error(
        "certificate {certificate} and private key {key} cannot be used together: {source}; check that the key belongs to the first certificate"
    )]
    Unusable {
        certificate: PathBuf,
        key: PathBuf,
        #[source]
        source: rustls::Error,
    },
    #[error("failed to generate a self-signed certificate for {hostname:?}: {reason}")]
    SelfSigned { hostname: String, reason: String },
}

impl TlsConfig {
    /// Loads the certificate chain (server certificate first, then any
    /// intermediates) and the private key (PKCS #8, PKCS #1 or SEC1) from
    /// PEM files.
    ///
    /// Errors name the file: unreadable, invalid PEM, no certificate or key
    /// in it, or a key that does not match the certificate.
    pub fn from_pem_files(
        certificate_path: impl AsRef<Path>,
        key_path: impl AsRef<Path>,
    ) -> Result<TlsConfig, TlsError> {
        let certificate_path = certificate_path.as_ref();
        let key_path = key_path.as_ref();

        let certificate_pem = read_file(certificate_path)?;
        let chain = CertificateDer::pem_slice_iter(&certificate_pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|error| invalid_pem(certificate_path, &error))?;
        if chain.is_empty() {
            return Err(TlsError::NoCertificate {
                path: certificate_path.to_path_buf(),
            });
        }

        let key_pem = read_file(key_path)?;
        let key = match PrivateKeyDer::from_pem_slice(&key_pem) {
            Ok(key) => key,
            Err(pem::Error::NoItemsFound) => {
                return Err(TlsError::NoPrivateKey {
                    path: key_path.to_path_buf(),
                });
            }
            Err(error) => return Err(invalid_pem(key_path, &error)),
        };

        TlsConfig::from_der(chain, key).map_err(|source| TlsError::Unusable {
            certificate: certificate_path.to_path_buf(),
            key: key_path.to_path_buf(),
            source,
        })
    }

    /// Generates a self-signed certificate for `hostname` with a new key,
    /// for development and tests. Clients do not trust it unless they are
    /// given [`TlsConfig::certificate_chain`].
    pub fn self_signed(hostname: &str) -> Result<TlsConfig, TlsError> {
        let generation_error = |reason: String| TlsError::SelfSigned {
            hostname: hostname.to_string(),
            reason,
        };

        let generated = rcgen::generate_simple_self_signed(vec![hostname.to_string()])
            .map_err(|error| generation_error(error.to_string()))?;
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(
            generated.signing_key.serialize_der(),
        ));

        TlsConfig::from_der(vec![generated.cert.der().clone()], key)
            .map_err(|error| generation_error(error.to_string()))
    }

    /// Returns the certificates that the server presents, server certificate first.
    pub fn certificate_chain(&self) -> &[CertificateDer<'static>] {
        &self.certificate_chain
    }

    pub(crate) fn acceptor(&self) -> &TlsAcceptor {
        &self.acceptor
    }

    fn from_der(
        chain: Vec<CertificateDer<'static>>,
        key: PrivateKeyDer<'static>,
    ) -> Result<TlsConfig, rustls::Error> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let server_config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_single_cert(chain.clone(), key)?;

        Ok(TlsConfig {
            acceptor: TlsAcceptor::from(Arc::new(server_config)),
            certificate_chain: chain.into(),
        })
    }
}

impl fmt::Debug for TlsConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsConfig")
            .field("certificates", &self.certificate_chain.len())
            .finish_non_exhaustive()
    }
}

fn read_file(path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|source| TlsError::ReadFile {
        path: path.to_path_buf(),
        source,
    })
}

fn invalid_pem(path: &Path, error: &pem::Error) -> TlsError {
    TlsError::InvalidPem {
        path: path.to_path_buf(),
        reason: error.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write_temp(name: &str, contents: &[u8]) -> PathBuf {
        let directory = std::env::temp_dir().join(format!(
            "mailgate-smtp-tls-{}-{:x}",
            std::process::id(),
            rand::random::<u32>()
        ));
        std::fs::create_dir_all(&directory).unwrap();
        let path = directory.join(name);
        std::fs::write(&path, contents).unwrap();
        path
    }

    fn generated_pem() -> (String, String) {
        let generated = rcgen::generate_simple_self_signed(vec!["mx.test".to_string()]).unwrap();

        (generated.cert.pem(), generated.signing_key.serialize_pem())
    }

    #[test]
    fn loads_pem_files() {
        let (certificate, key) = generated_pem();
        let certificate_path = write_temp("cert.pem", certificate.as_bytes());
        let key_path = write_temp("key.pem", key.as_bytes());

        let config = TlsConfig::from_pem_files(&certificate_path, &key_path).unwrap();

        assert_eq!(config.certificate_chain().len(), 1);
        assert_eq!(format!("{config:?}"), "TlsConfig { certificates: 1, .. }");
    }

    #[test]
    fn missing_file_named_in_error() {
        let error =
            TlsConfig::from_pem_files("/nonexistent/cert.pem", "/nonexistent/key.pem").unwrap_err();

        assert!(matches!(error, TlsError::ReadFile { .. }), "{error:?}");
        assert!(
            error.to_string().contains("/nonexistent/cert.pem"),
            "{error}"
        );
    }

    #[test]
    fn key_file_without_key() {
        let (certificate, _) = generated_pem();
        let certificate_path = write_temp("cert.pem", certificate.as_bytes());

        let error = TlsConfig::from_pem_files(&certificate_path, &certificate_path).unwrap_err();

        assert!(matches!(error, TlsError::NoPrivateKey { .. }), "{error:?}");
    }

    #[test]
    fn certificate_file_without_certificate() {
        let (_, key) = generated_pem();
        let key_path = write_temp("key.pem", key.as_bytes());

        let error = TlsConfig::from_pem_files(&key_path, &key_path).unwrap_err();

        assert!(matches!(error, TlsError::NoCertificate { .. }), "{error:?}");
    }

    #[test]
    fn mismatched_key_rejected() {
        let (certificate, _) = generated_pem();
        let (_, other_key) = generated_pem();
        let certificate_path = write_temp("cert.pem", certificate.as_bytes());
        let key_path = write_temp("key.pem", other_key.as_bytes());

        let error = TlsConfig::from_pem_files(&certificate_path, &key_path).unwrap_err();

        assert!(matches!(error, TlsError::Unusable { .. }), "{error:?}");
        assert!(error.to_string().contains("key.pem"), "{error}");
    }

    #[test]
    fn self_signed_for_hostname() {
        let config = TlsConfig::self_signed("mx.test.example").unwrap();

        assert_eq!(config.certificate_chain().len(), 1);
    }
}
