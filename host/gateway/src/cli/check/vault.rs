//! The check of an external vault (`vault.url`), one cause at a time.
//!
//! The steps are the URL's form, name lookup, connect, the URL's scheme
//! against the protocol of the port, the TLS certificate, the web UI port
//! in place of the REST port, and the API key.

use std::time::Duration;

use mailgate::Config;
use mailgate_vault::{VaultClient, VaultClientConfig};
use reqwest::Url;
use reqwest::header::CONTENT_TYPE;
use rustls::pki_types::{CertificateDer, ServerName};

use super::Diagnosis;
use super::probe::{self, ConnectError, HttpReply, TlsReply};

const NAME: &str = "vault";

/// Endpoint that needs the API key and changes nothing.
const AUTHENTICATED_ENDPOINT: &str = "root_folder";

/// Advice for a URL that reaches something other than the REST API.
const PORT_ADVICE: &str =
    "point vault.url at the vault's REST API, http(s)://<host>:<port>/vault_rest; its default port is 8010, while the web UI is on 8000";

/// Checks that the vault at `url` is reachable, speaks the URL's scheme and
/// accepts the configured API key. Each network step gets `limit`.
pub async fn check(url: &str, config: &Config, limit: Duration) -> Diagnosis {
    let api_key = config.vault_api_key().unwrap_or_default();
    let client_config = VaultClientConfig {
        base_url: url.to_string(),
        api_key: api_key.clone(),
        request_timeout: limit,
        ca_bundle: config.vault.ca_bundle.clone(),
    };
    let client = match VaultClient::new(client_config) {
        Ok(client) => client,
        Err(error) => {
            return Diagnosis::fail(
                NAME,
                error.to_string(),
                "set vault.url to http(s)://<host>:<port>/vault_rest and vault.api_key (or MAILGATE_VAULT_API_KEY) to the key the vault administrator created",
            );
        }
    };

    let base = Url::parse(client.base_url()).expect("VaultClient::new accepts only valid URLs");
    // IPv6 literals come back in brackets, which name lookup and TLS reject.
    let host = base.host_str().unwrap_or_default().trim_start_matches('[').trim_end_matches(']').to_string();
    let port = base.port_or_known_default().expect("http and https have default ports");
    let target = Target { base: &base, host: &host, port, limit };

    let certificate = match base.scheme() {
        "https" => match target.check_speaks_tls().await {
            Ok(certificate) => Some(certificate),
            Err(diagnosis) => return diagnosis,
        },
        _ => {
            if let Err(diagnosis) = target.check_speaks_http().await {
                return diagnosis;
            }
            None
        }
    };

    target.check_api(&api_key, certificate.as_ref(), config).await
}

/// The vault's address, split for the probes.
struct Target<'a> {
    base: &'a Url,
    host: &'a str,
    port: u16,
    limit: Duration,
}

impl Target<'_> {
    /// Opens a TCP connection, or explains why none could be opened.
    async fn connect(&self) -> Result<tokio::net::TcpStream, Diagnosis> {
        probe::connect(self.host, self.port, self.limit).await.map_err(|error| self.connect_failure(error))
    }

    fn connect_failure(&self, error: ConnectError) -> Diagnosis {
        let seconds = self.limit.as_secs();
        match error {
            ConnectError::Unresolved { host, reason } => Diagnosis::fail(
                NAME,
                format!("the host name {host:?} in vault.url does not resolve ({reason})"),
                "correct the host in vault.url, or check this machine's DNS settings",
            ),
            ConnectError::LookupTimedOut { host } => Diagnosis::fail(
                NAME,
                format!("looking up {host:?} took more than {seconds} s"),
                "check this machine's DNS settings, or raise --timeout-secs",
            ),
            ConnectError::Refused { address } => Diagnosis::fail(
                NAME,
                format!("{address} refused the connection: nothing listens on port {}", self.port),
                "start the vault, or correct the port in vault.url (the REST API's default port is 8010)",
            ),
            ConnectError::TimedOut { address } => Diagnosis::fail(
                NAME,
                format!("connecting to {address} timed out after {seconds} s"),
                "check that the vault is up and that firewalls let this machine reach that port, or raise --timeout-secs",
            ),
            ConnectError::Failed { address, error } => Diagnosis::fail(
                NAME,
                format!("cannot connect to {address}: {error}"),
                "check the network route from this machine to the vault",
            ),
        }
    }

    /// Checks an `http://` URL: the port must reply to a plain HTTP request.
    async fn check_speaks_http(&self) -> Result<(), Diagnosis> {
        let stream = self.connect().await?;
        let reply = probe::http_request(stream, self.host, self.base.path(), self.limit).await;
        if reply == HttpReply::Http {
            return Ok(());
        }

        // A TLS server may close the connection without an alert, so a
        // handshake on a new connection decides.
        let speaks_tls = reply == HttpReply::TlsRecord || {
            let stream = self.connect().await?;
            matches!(probe::tls_certificate(stream, self.host, self.limit).await, TlsReply::Certificate(_))
        };
        if speaks_tls {
            return Err(Diagnosis::fail(
                NAME,
                format!("port {} speaks TLS, but vault.url starts with http://", self.port),
                format!("use {}", self.with_scheme("https")),
            ));
        }

        let cause = match reply {
            HttpReply::TimedOut => format!("port {} sent no reply to an HTTP request within {} s", self.port, self.limit.as_secs()),
            HttpReply::Other(start) => format!("port {} replied {start}, which is not HTTP", self.port),
            _ => format!("port {} closed the connection without replying to an HTTP request", self.port),
        };
        Err(Diagnosis::fail(NAME, cause, PORT_ADVICE))
    }

    /// Checks an `https://` URL: the port must start a TLS handshake. Returns
    /// the server's certificate for the name check.
    async fn check_speaks_tls(&self) -> Result<CertificateDer<'static>, Diagnosis> {
        let stream = self.connect().await?;
        let failure = match probe::tls_certificate(stream, self.host, self.limit).await {
            TlsReply::Certificate(certificate) => return Ok(certificate),
            TlsReply::TimedOut => format!("the TLS handshake with port {} timed out after {} s", self.port, self.limit.as_secs()),
            TlsReply::Failed(error) => format!("the TLS handshake with port {} failed ({error})", self.port),
        };

        let stream = self.connect().await?;
        if probe::http_request(stream, self.host, self.base.path(), self.limit).await == HttpReply::Http {
            return Err(Diagnosis::fail(
                NAME,
                format!("port {} speaks plain HTTP, but vault.url starts with https://", self.port),
                format!("use {}, or enable TLS on the vault", self.with_scheme("http")),
            ));
        }
        Err(Diagnosis::fail(NAME, failure, PORT_ADVICE))
    }

    /// Calls an authenticated endpoint with the HTTP client the gateway uses
    /// and judges the certificate, the content type and the status.
    async fn check_api(&self, api_key: &str, certificate: Option<&CertificateDer<'static>>, config: &Config) -> Diagnosis {
        let endpoint = format!("{}/{AUTHENTICATED_ENDPOINT}", self.base.as_str().trim_end_matches('/'));
        let mut builder = reqwest::Client::builder().timeout(self.limit).redirect(reqwest::redirect::Policy::none());
        // The same trust as the gateway's vault client: the built-in public
        // roots plus vault.ca_bundle. VaultClient::new has already rejected
        // an unreadable or invalid bundle at this point.
        if let Some(bundle) = &config.vault.ca_bundle {
            let pem = std::fs::read(bundle).unwrap_or_default();
            for certificate in reqwest::Certificate::from_pem_bundle(&pem).unwrap_or_default() {
                builder = builder.add_root_certificate(certificate);
            }
        }
        let http = match builder.build() {
            Ok(http) => http,
            Err(error) => return Diagnosis::fail(NAME, format!("cannot build the HTTP client: {error}"), "report this as a bug"),
        };

        let response = match http.get(&endpoint).bearer_auth(api_key).send().await {
            Ok(response) => response,
            Err(error) => return self.request_failure(&endpoint, &error, certificate),
        };

        let status = response.status();
        let is_html = response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|value| value.to_str().ok())
            .is_some_and(|value| value.to_ascii_lowercase().starts_with("text/html"));
        let location = response.headers().get(reqwest::header::LOCATION).and_then(|value| value.to_str().ok()).map(str::to_string);
        let body = response.bytes().await.unwrap_or_default();
        let json: Option<serde_json::Value> = serde_json::from_slice(&body).ok();
        let vault_message = json.as_ref().and_then(|json| json["message"].as_str()).map(str::to_string);

        if is_html {
            return Diagnosis::fail(
                NAME,
                format!("{endpoint} returned an HTML page (HTTP {status}), so port {} serves a web page, such as the vault's web UI, not the REST API", self.port),
                PORT_ADVICE,
            );
        }

        if status.as_u16() == 401 || status.as_u16() == 403 {
            let source = if std::env::var("MAILGATE_VAULT_API_KEY").is_ok_and(|key| !key.is_empty()) {
                "MAILGATE_VAULT_API_KEY (which overrides vault.api_key)"
            } else {
                "vault.api_key"
            };
            let message = vault_message.unwrap_or_else(|| "no message".to_string());
            return Diagnosis::fail(
                NAME,
                format!("the vault rejected the API key from {source} with HTTP {status}: {message:?}"),
                format!("set {source} to a valid, unexpired API key created by the vault administrator"),
            );
        }

        if status.is_redirection() {
            return Diagnosis::fail(
                NAME,
                format!("{endpoint} redirects (HTTP {status}) to {}", location.as_deref().unwrap_or("no location")),
                PORT_ADVICE,
            );
        }

        if status == reqwest::StatusCode::NOT_FOUND {
            return Diagnosis::fail(NAME, format!("{endpoint} does not exist on this server (HTTP 404)"), PORT_ADVICE);
        }

        if !status.is_success() {
            let message = vault_message.unwrap_or_else(|| format!("{:?}", String::from_utf8_lossy(&body[..body.len().min(200)])));
            return Diagnosis::fail(NAME, format!("{endpoint} failed with HTTP {status}: {message}"), "check the vault's log for this request");
        }

        if json.is_none() {
            return Diagnosis::fail(NAME, format!("{endpoint} returned HTTP {status} but no JSON"), PORT_ADVICE);
        }

        Diagnosis::ok(NAME, format!("{} is reachable, serves the REST API and accepts the API key", config.vault.url.as_deref().unwrap_or_default()))
    }

    /// Explains a failed HTTP request, looking for a certificate error first.
    fn request_failure(&self, endpoint: &str, error: &reqwest::Error, certificate: Option<&CertificateDer<'static>>) -> Diagnosis {
        if let Some(rustls::Error::InvalidCertificate(problem)) = find_tls_error(error) {
            let name_problem = certificate.and_then(|certificate| self.name_mismatch(certificate));
            return certificate_failure(problem, name_problem);
        }

        if error.is_timeout() {
            return Diagnosis::fail(
                NAME,
                format!("{endpoint} sent no complete response within {} s", self.limit.as_secs()),
                "check the vault's load and log, or raise --timeout-secs",
            );
        }

        Diagnosis::fail(NAME, format!("the request to {endpoint} failed: {}", error_chain(error)), "check the vault's log and the network between this machine and the vault")
    }

    /// Returns the names the certificate is valid for, when the URL's host is not one of them.
    fn name_mismatch(&self, certificate: &CertificateDer<'static>) -> Option<String> {
        let server_name = ServerName::try_from(self.host.to_string()).ok()?;
        let parsed = rustls::server::ParsedCertificate::try_from(certificate).ok()?;

        match rustls::client::verify_server_name(&parsed, &server_name) {
            Ok(()) => None,
            Err(rustls::Error::InvalidCertificate(rustls::CertificateError::NotValidForNameContext { presented, .. })) => {
                let names: Vec<&str> = presented.iter().map(|name| unquote(name)).collect();
                Some(format!("the certificate names {}, not {}", names.join(", "), self.host))
            }
            Err(_) => Some(format!("the certificate does not name {}", self.host)),
        }
    }

    fn with_scheme(&self, scheme: &str) -> String {
        let mut url = self.base.clone();
        let _ = url.set_scheme(scheme);
        url.to_string()
    }
}

/// Builds the diagnosis of a certificate that the HTTP client rejected.
fn certificate_failure(problem: &rustls::CertificateError, name_problem: Option<String>) -> Diagnosis {
    use rustls::CertificateError as Problem;

    let name_note = name_problem.map(|text| format!("; also, {text}")).unwrap_or_default();
    let fix_name = "give the vault a certificate that names the host in vault.url, or use a host name the certificate names";
    match problem {
        Problem::NotValidForName | Problem::NotValidForNameContext { .. } => {
            Diagnosis::fail(NAME, format!("the vault's TLS certificate is not valid for the host in vault.url{name_note}"), fix_name)
        }
        Problem::Expired | Problem::ExpiredContext { .. } => {
            Diagnosis::fail(NAME, format!("the vault's TLS certificate has expired{name_note}"), "renew the vault's certificate")
        }
        Problem::NotValidYet | Problem::NotValidYetContext { .. } => Diagnosis::fail(
            NAME,
            format!("the vault's TLS certificate is not valid yet{name_note}"),
            "check the clocks of this machine and the vault",
        ),
        Problem::UnknownIssuer | Problem::BadSignature | Problem::BadEncoding => Diagnosis::fail(
            NAME,
            format!("the vault's TLS certificate is not trusted: no certificate authority that mailgate trusts issued it ({problem:?}){name_note}"),
            // The HTTP client trusts the Mozilla root certificates built into
            // mailgate (webpki-roots) and vault.ca_bundle, not the system's
            // certificate store.
            "set vault.ca_bundle to a PEM file with the CA that issued the vault's certificate, or give the vault a certificate from a public certificate authority; mailgate does not read the system's certificate store",
        ),
        other => Diagnosis::fail(NAME, format!("the vault's TLS certificate was rejected ({other:?}){name_note}"), "give the vault a valid certificate"),
    }
}

/// Finds the TLS error inside a request error. The connector wraps it in
/// nested `std::io::Error`s, whose `source` skips the wrapped error, so those
/// are opened with `get_ref`.
fn find_tls_error(error: &reqwest::Error) -> Option<&rustls::Error> {
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(error);

    while let Some(error) = current {
        if let Some(tls) = error.downcast_ref::<rustls::Error>() {
            return Some(tls);
        }

        let wrapped = error.downcast_ref::<std::io::Error>().and_then(std::io::Error::get_ref);
        current = match wrapped {
            Some(inner) => Some(inner),
            None => error.source(),
        };
    }
    None
}

/// Returns the quoted part of a name that rustls presents as `DnsName("host")`.
fn unquote(name: &str) -> &str {
    match (name.find('"'), name.rfind('"')) {
        (Some(start), Some(end)) if start < end => &name[start + 1..end],
        _ => name,
    }
}

fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut current = error.source();
    while let Some(cause) = current {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        current = cause.source();
    }
    text
}
