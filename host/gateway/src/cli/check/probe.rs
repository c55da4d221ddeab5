//! Low-level network probes of `mailgate check`: name lookup and connect,
//! a raw HTTP request, and a TLS handshake that only records the server's
//! certificate. They tell which protocol a port speaks without trusting it.

use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;

/// Number of reply bytes the HTTP probe reads; enough for `HTTP/1.1 200`.
const PROBE_REPLY_BYTES: usize = 12;

/// Reason no TCP connection could be opened.
#[derive(Debug)]
pub enum ConnectError {
    /// The host name did not resolve to any address.
    Unresolved { host: String, reason: String },
    /// The name lookup did not finish within the time limit.
    LookupTimedOut { host: String },
    /// Every address of the host refused the connection.
    Refused { address: SocketAddr },
    /// No address accepted the connection within the time limit.
    TimedOut { address: SocketAddr },
    /// Another socket error, such as an unreachable network.
    Failed { address: SocketAddr, error: io::Error },
}

/// Resolves `host` and connects to the first address that accepts.
///
/// `host` is a name or an IP address without brackets. When every address
/// fails, the error of the last one is returned. `limit` applies to the
/// lookup and to each connection attempt.
pub async fn connect(host: &str, port: u16, limit: Duration) -> Result<TcpStream, ConnectError> {
    let addresses: Vec<SocketAddr> = match timeout(limit, tokio::net::lookup_host((host, port))).await {
        Err(_) => return Err(ConnectError::LookupTimedOut { host: host.to_string() }),
        Ok(Err(error)) => return Err(ConnectError::Unresolved { host: host.to_string(), reason: error.to_string() }),
        Ok(Ok(addresses)) => addresses.collect(),
    };

    let mut last_error = ConnectError::Unresolved { host: host.to_string(), reason: "no address found".to_string() };
    for address in addresses {
        match timeout(limit, TcpStream::connect(address)).await {
            Ok(Ok(stream)) => return Ok(stream),
            Ok(Err(error)) if error.kind() == io::ErrorKind::ConnectionRefused => {
                last_error = ConnectError::Refused { address };
            }
            Ok(Err(error)) => last_error = ConnectError::Failed { address, error },
            Err(_) => last_error = ConnectError::TimedOut { address },
        }
    }
    Err(last_error)
}

/// First bytes a server sent in reply to a plain HTTP request.
#[derive(Debug, PartialEq)]
pub enum HttpReply {
    /// The reply starts with `HTTP/`.
    Http,
    /// The reply is a TLS record, which a TLS server sends as an alert when
    /// it receives plain text.
    TlsRecord,
    /// Anything else, quoted.
    Other(String),
    /// The server closed the connection without a byte.
    Closed,
    /// No reply within the time limit.
    TimedOut,
}

/// Sends `GET path HTTP/1.1` on `stream` and classifies the start of the reply.
pub async fn http_request(mut stream: TcpStream, host: &str, path: &str, limit: Duration) -> HttpReply {
    let request = format!("GET {path} HTTP/1.1\r\nHost: {host}\r\nAccept: application/json\r\nConnection: close\r\n\r\n");
    if stream.write_all(request.as_bytes()).await.is_err() {
        return HttpReply::Closed;
    }

    let mut reply = Vec::with_capacity(PROBE_REPLY_BYTES);
    let read = async {
        let mut buffer = [0u8; PROBE_REPLY_BYTES];
        while reply.len() < PROBE_REPLY_BYTES {
            match stream.read(&mut buffer[..PROBE_REPLY_BYTES - reply.len()]).await {
                Ok(0) | Err(_) => break,
                Ok(count) => reply.extend_from_slice(&buffer[..count]),
            }
        }
    };
    if timeout(limit, read).await.is_err() && reply.is_empty() {
        return HttpReply::TimedOut;
    }

    classify_reply(&reply)
}

/// Classifies the first bytes of a reply to a plain HTTP request.
fn classify_reply(reply: &[u8]) -> HttpReply {
    if reply.is_empty() {
        HttpReply::Closed
    } else if reply.starts_with(b"HTTP/") {
        HttpReply::Http
    } else if is_tls_record(reply) {
        HttpReply::TlsRecord
    } else {
        HttpReply::Other(format!("{:?}", String::from_utf8_lossy(reply)))
    }
}

/// Returns true for the header of a TLS alert (21) or handshake (22) record
/// of TLS 1.0 to 1.3, whose version bytes are 3 and 1 to 4.
fn is_tls_record(bytes: &[u8]) -> bool {
    matches!(bytes, [21 | 22, 3, 0..=4, ..])
}

/// Result of a TLS handshake attempt.
#[derive(Debug)]
pub enum TlsReply {
    /// The server presented this end-entity certificate; the port speaks TLS.
    Certificate(CertificateDer<'static>),
    /// The handshake failed before a certificate arrived.
    Failed(String),
    /// No reply within the time limit.
    TimedOut,
}

/// Starts a TLS handshake for `server_name` on `stream` and stops it as soon
/// as the server's certificate arrives, without checking that certificate.
///
/// No application data is sent, so nothing depends on the certificate being
/// trusted; trust is judged later by the same HTTP client the gateway uses.
pub async fn tls_certificate(stream: TcpStream, server_name: &str, limit: Duration) -> TlsReply {
    let recorder = Arc::new(CertificateRecorder::default());
    let Ok(name) = ServerName::try_from(server_name.to_string()) else {
        return TlsReply::Failed(format!("{server_name:?} is not a valid TLS server name"));
    };

    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = match rustls::ClientConfig::builder_with_provider(provider).with_safe_default_protocol_versions() {
        Ok(builder) => builder.dangerous().with_custom_certificate_verifier(recorder.clone()).with_no_client_auth(),
        Err(error) => return TlsReply::Failed(error.to_string()),
    };
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));

    let handshake = timeout(limit, connector.connect(name, stream)).await;

    let recorded = recorder.certificate.lock().expect("no code panics while holding this lock").take();
    match (recorded, handshake) {
        (Some(certificate), _) => TlsReply::Certificate(certificate),
        (None, Err(_)) => TlsReply::TimedOut,
        (None, Ok(Err(error))) => TlsReply::Failed(error.to_string()),
        (None, Ok(Ok(_))) => TlsReply::Failed("the handshake finished without a certificate".to_string()),
    }
}

/// Certificate verifier that stores the end-entity certificate and then
/// aborts the handshake, so the probe never talks to an unverified server.
#[derive(Debug, Default)]
struct CertificateRecorder {
    certificate: Mutex<Option<CertificateDer<'static>>>,
}

impl ServerCertVerifier for CertificateRecorder {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        *self.certificate.lock().expect("no code panics while holding this lock") = Some(end_entity.clone().into_owned());
        Err(rustls::Error::General("certificate recorded; the probe ends here".to_string()))
    }

    fn verify_tls12_signature(
        &self,
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Err(rustls::Error::General("the probe ends at the certificate".to_string()))
    }

    fn verify_tls13_signature(
        &self,
        _message: &[u8],
        _cert: &CertificateDer<'_>,
        _dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        Err(rustls::Error::General("the probe ends at the certificate".to_string()))
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        rustls::crypto::ring::default_provider().signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reply_classification_table() {
        assert_eq!(classify_reply(b"HTTP/1.1 200"), HttpReply::Http);
        assert_eq!(classify_reply(&[21, 3, 3, 0, 2, 2, 50]), HttpReply::TlsRecord);
        assert_eq!(classify_reply(&[22, 3, 1, 0, 5]), HttpReply::TlsRecord);
        assert_eq!(classify_reply(b""), HttpReply::Closed);
        assert_eq!(classify_reply(b"220 mx ESMTP"), HttpReply::Other("\"220 mx ESMTP\"".to_string()));
    }
}
