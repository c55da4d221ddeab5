//! Client for the vault REST API of MetaDefender Managed File Transfer.
//!
//! [`VaultClient::upload_group`] stores files as one group transfer and returns
//! the download links that the vault generated. Every request carries the API key
//! as a bearer token and runs inside a `vault_request` tracing span that names the
//! step, the group id and the file id. Spans and events never contain the key or
//! file content.

mod config;
mod content;
mod error;
mod status;
mod upload;

use std::time::Instant;

use bytes::Bytes;
use reqwest::header::{AUTHORIZATION, HeaderValue};
use reqwest::{RequestBuilder, Response, Url};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use tracing::Instrument;

use crate::FileId;

pub use config::{DEFAULT_REQUEST_TIMEOUT, VaultClientConfig};
pub use content::{CHUNK_SIZE, MAX_CHUNK_ATTEMPTS};
pub use error::VaultError;
pub use status::{AvailabilityState, FileStatus};
pub use upload::{UploadFile, UploadedFile};

/// Maximum length of the non-JSON error body quoted in an error message, in characters.
const MAX_QUOTED_BODY: usize = 300;

/// Client for one vault. Cloning is cheap, and clones share connections.
#[derive(Clone, Debug)]
pub struct VaultClient {
    http: reqwest::Client,
    base_url: Url,
    authorization: HeaderValue,
}

/// The ids that a request's tracing span records.
#[derive(Clone, Copy)]
struct RequestContext<'a> {
    step: &'static str,
    group_id: Option<&'a str>,
    file_id: Option<&'a FileId>,
}

/// Error body of the vault API.
#[derive(Deserialize)]
struct ErrorBody {
    message: Option<String>,
    ui_message_key: Option<String>,
}

impl VaultClient {
    /// Creates a client after checking the base URL and the API key.
    ///
    /// Errors: [`VaultError::InvalidUrl`] names the value and the expected form,
    /// and [`VaultError::InvalidApiKey`] is returned for an empty key or one with
    /// characters that a header cannot carry. No request is sent.
    pub fn new(config: VaultClientConfig) -> Result<VaultClient, VaultError> {
        let base_url = config::parse_base_url(&config.base_url)?;

        config::check_api_key(&config.api_key)?;
        let mut authorization = HeaderValue::from_str(&format!("Bearer {}", config.api_key))
            .map_err(|err| VaultError::InvalidApiKey {
                reason: err.to_string(),
            })?;
        authorization.set_sensitive(true);

        let mut builder = reqwest::Client::builder()
            .timeout(config.request_timeout)
            .connect_timeout(config.request_timeout);
        if let Some(path) = &config.ca_bundle {
            for certificate in read_ca_bundle(path)? {
                builder = builder.add_root_certificate(certificate);
            }
        }
        let http = builder
            .build()
            .map_err(|err| VaultError::InvalidInput {
                reason: format!("cannot build the HTTP client: {err}"),
            })?;

        Ok(VaultClient {
            http,
            base_url,
            authorization,
        })
    }

    /// Base URL of the REST API, without a trailing slash.
    pub fn base_url(&self) -> &str {
        self.base_url.as_str()
    }

    /// Reads the status of a file with `GET /file/status/{file_id}`.
    ///
    /// Errors: an unknown id is [`VaultError::Rejected`] with status 404.
    pub async fn file_status(&self, id: &FileId) -> Result<FileStatus, VaultError> {
        let context = RequestContext {
            step: "file status",
            group_id: None,
            file_id: Some(id),
        };
        let url = self.endpoint(&["file", "status", id.as_str()]);

        let response = self.send(context, self.http.get(url)).await?;

        read_json(context, response).await
    }

    /// Builds `{base_url}/{segments...}`, percent-encoding each segment.
    fn endpoint(&self, segments: &[&str]) -> Url {
        let mut url = self.base_url.clone();
        url.path_segments_mut()
            .expect("base_url is an http(s) URL, checked in new()")
            .extend(segments);
        url
    }

    /// Sends a request with the bearer token and returns the response if its
    /// status is a success.
    async fn send(
        &self,
        context: RequestContext<'_>,
        request: RequestBuilder,
    ) -> Result<Response, VaultError> {
        let span = tracing::info_span!(
            "vault_request",
            step = context.step,
            group_id = context.group_id,
            file_id = context.file_id.map(FileId::as_str),
        );

        async {
            let request = request
                .header(AUTHORIZATION, self.authorization.clone())
                .build()
                .map_err(|err| VaultError::InvalidInput {
                    reason: format!("cannot build the request for {}: {err}", context.step),
                })?;
            let method = request.method().clone();
            let url = request.url().to_string();
            let started = Instant::now();

            let response = self
                .http
                .execute(request)
                .await
                .map_err(|err| transport_error(&url, err))?;

            let status = response.status();
            tracing::debug!(
                %method,
                status = status.as_u16(),
                elapsed_ms = started.elapsed().as_millis() as u64,
                "vault request finished"
            );

            if status.is_success() {
                Ok(response)
            } else {
                Err(error_from_response(context.step, &url, response).await)
            }
        }
        .instrument(span)
        .await
    }
}

/// Reads a success body as JSON of type `T`.
async fn read_json<T: DeserializeOwned>(
    context: RequestContext<'_>,
    response: Response,
) -> Result<T, VaultError> {
    let url = response.url().to_string();
    let body = response
        .bytes()
        .await
        .map_err(|err| transport_error(&url, err))?;

    serde_json::from_slice(&body).map_err(|err| VaultError::InvalidResponse {
        step: context.step,
        reason: format!(
            "the body is not the expected JSON ({err}): {}",
            quote_body(&body)
        ),
    })
}

/// Classifies a failed request by whether it timed out, never connected, or broke later.
fn transport_error(url: &str, err: reqwest::Error) -> VaultError {
    let url = url.to_owned();

    if err.is_timeout() {
        VaultError::TimedOut { url }
    } else if err.is_connect() {
        VaultError::Unreachable { url, source: err }
    } else {
        VaultError::Transport { url, source: err }
    }
}

/// Turns an HTTP error response into an error that carries the vault's message.
async fn error_from_response(step: &'static str, url: &str, response: Response) -> VaultError {
    let status = response.status();

    let body = match response.bytes().await {
        Ok(body) => body,
        Err(err) => return transport_error(url, err),
    };

    let (message, ui_message_key) = match serde_json::from_slice::<ErrorBody>(&body) {
        Ok(ErrorBody {
            message: Some(message),
            ui_message_key,
        }) => (message, ui_message_key),
        Ok(ErrorBody {
            message: None,
            ui_message_key,
        }) => (quote_body(&body), ui_message_key),
        Err(_) if body.is_empty() => {
            let reason = status.canonical_reason().unwrap_or("no message");
            (reason.to_owned(), None)
        }
        Err(_) => (quote_body(&body), None),
    };

    if status.as_u16() == 401 || status.as_u16() == 403 {
        VaultError::Unauthorized {
            status: status.as_u16(),
            message,
        }
    } else {
        VaultError::Rejected {
            step,
            status: status.as_u16(),
            message,
            ui_message_key,
        }
    }
}

/// Quotes the start of a body for an error message.
fn quote_body(body: &Bytes) -> String {
    let text = String::from_utf8_lossy(body);
    let mut quoted: String = text.chars().take(MAX_QUOTED_BODY).collect();

    if text.chars().count() > MAX_QUOTED_BODY {
        quoted.push_str("...");
    }

    format!("{quoted:?}")
}

/// Returns a string or number field of a JSON object as a string.
///
/// The API documents ids only by name, so both JSON forms are accepted.
fn id_field(object: &serde_json::Value, field: &str) -> Option<String> {
    match object.get(field)? {
        serde_json::Value::String(id) if !id.is_empty() => Some(id.clone()),
        serde_json::Value::Number(id) => Some(id.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_hides_api_key() {
        let config = VaultClientConfig::new("http://127.0.0.1:8010/vault_rest", "secret-key-123");
        let client = VaultClient::new(config).unwrap();

        let debug = format!("{client:?}");

        assert!(!debug.contains("secret-key-123"), "{debug}");
    }

    #[test]
    fn endpoint_encodes_segments() {
        let config = VaultClientConfig::new("http://127.0.0.1:8010/vault_rest/", "key");
        let client = VaultClient::new(config).unwrap();

        let url = client.endpoint(&["file", "status", "../a b"]);

        assert_eq!(
            url.as_str(),
            "http://127.0.0.1:8010/vault_rest/file/status/..%2Fa%20b"
        );
    }
}

/// Reads the CA certificates of a PEM bundle; at least one is required.
fn read_ca_bundle(path: &std::path::Path) -> Result<Vec<reqwest::Certificate>, VaultError> {
    let invalid = |reason: String| VaultError::InvalidCaBundle { path: path.to_path_buf(), reason };

    let pem = std::fs::read(path).map_err(|error| invalid(error.to_string()))?;
    let certificates = reqwest::Certificate::from_pem_bundle(&pem).map_err(|error| invalid(error.to_string()))?;
    if certificates.is_empty() {
        return Err(invalid("the file contains no certificate".to_string()));
    }
    Ok(certificates)
}
