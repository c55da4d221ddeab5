//! MetaDefender Core, reached over its REST API.
//!
//! A scan uploads the content with `POST /file`, which returns a `data_id`,
//! and polls `GET /file/{data_id}` until the scan has finished. When Core
//! sanitized the file, `GET /file/converted/{data_id}` returns the
//! sanitized copy.

mod config;
mod error;
mod report;

use bytes::Bytes;
use reqwest::StatusCode;
use reqwest::header::{CONTENT_TYPE, HeaderValue};
use serde::Deserialize;
use tokio::time::Instant;
use tracing::Instrument;

use crate::{ScanRequest, Scanner, Verdict};
use report::FileResponse;

pub use config::MetaDefenderConfig;
pub use error::MetaDefenderError;
pub use report::{MetaDefenderReport, describe_result_code};

const ENGINE_NAME: &str = "metadefender";

/// Maximum length of an accepted data id, in characters.
const MAX_DATA_ID_LENGTH: usize = 128;

/// The MetaDefender Core engine.
#[derive(Debug, Clone)]
pub struct MetaDefenderScanner {
    config: MetaDefenderConfig,
    base_url: String,
    api_key: Option<HeaderValue>,
    client: reqwest::Client,
}

#[derive(Deserialize)]
struct SubmitResponse {
    data_id: Option<String>,
}

impl MetaDefenderScanner {
    /// Creates the engine. No request is sent until the first scan.
    ///
    /// # Errors
    ///
    /// [`MetaDefenderError::InvalidUrl`], [`MetaDefenderError::InvalidApiKey`]
    /// or [`MetaDefenderError::Client`].
    pub fn new(config: MetaDefenderConfig) -> Result<Self, MetaDefenderError> {
        let base_url = validate_base_url(&config.url)?;

        let api_key = match &config.api_key {
            Some(key) => {
                Some(HeaderValue::from_str(key).map_err(|_| MetaDefenderError::InvalidApiKey)?)
            }
            None => None,
        };

        let client = reqwest::Client::builder()
            .timeout(config.request_timeout)
            .connect_timeout(config.request_timeout)
            .build()
            .map_err(|source| MetaDefenderError::Client { source })?;

        Ok(MetaDefenderScanner {
            config,
            base_url,
            api_key,
            client,
        })
    }

    /// Uploads the content with `POST /file` and returns the `data_id`.
    ///
    /// # Errors
    ///
    /// [`MetaDefenderError::QueueFull`] for HTTP 503, and the other
    /// [`MetaDefenderError`] variants for transport and HTTP errors and a
    /// response without a valid `data_id`.
    pub async fn submit(&self, request: ScanRequest<'_>) -> Result<String, MetaDefenderError> {
        let url = format!("{}/file", self.base_url);
        let step = "POST /file";

        let mut builder = self
            .client
            .post(&url)
            .header(CONTENT_TYPE, "application/octet-stream")
            .body(Bytes::copy_from_slice(request.content));
        if let Some(file_name) = request.file_name {
            builder = builder.header("filename", encode_file_name(file_name));
        }
        if let Some(rule) = &self.config.rule {
            builder = builder.header("rule", rule.as_str());
        }
        let response = self.send(builder, &url).await?;

        let body = self.success_body(response, step, &url).await?;
        let submitted: SubmitResponse = parse_json(&body, step)?;
        let data_id = submitted
            .data_id
            .ok_or_else(|| MetaDefenderError::InvalidResponse {
                step: step.to_string(),
                reason: "the response has no data_id".to_string(),
            })?;
        validate_data_id(&data_id)?;

        tracing::debug!(data_id, "submitted to MetaDefender Core");
        Ok(data_id)
    }

    /// Requests the result of a scan once, with `GET /file/{data_id}`.
    ///
    /// Returns `None` while the scan or its post-processing runs.
    ///
    /// # Errors
    ///
    /// [`MetaDefenderError::NotFound`] for an unknown data id (HTTP 404), and
    /// the other variants for transport and HTTP errors and invalid responses.
    pub async fn fetch_report(
        &self,
        data_id: &str,
    ) -> Result<Option<MetaDefenderReport>, MetaDefenderError> {
        validate_data_id(data_id)?;
        let url = format!("{}/file/{data_id}", self.base_url);
        let step = format!("GET /file/{data_id}");

        let response = self.send(self.client.get(&url), &url).await?;
        if response.status() == StatusCode::NOT_FOUND {
            return Err(MetaDefenderError::NotFound {
                data_id: data_id.to_string(),
            });
        }

        let body = self.success_body(response, &step, &url).await?;
        let file: FileResponse = parse_json(&body, &step)?;
        file.into_report(data_id)
            .map_err(|reason| MetaDefenderError::InvalidResponse { step, reason })
    }

    /// Uploads the content and polls until the scan has finished, within
    /// [`MetaDefenderConfig::scan_timeout`].
    ///
    /// # Errors
    ///
    /// [`MetaDefenderError::ScanTimedOut`] when the result is not ready in
    /// time, and any error of [`submit`](Self::submit) or
    /// [`fetch_report`](Self::fetch_report).
    pub async fn scan_report(
        &self,
        request: ScanRequest<'_>,
    ) -> Result<MetaDefenderReport, MetaDefenderError> {
        let deadline = Instant::now() + self.config.scan_timeout;
        let timed_out = || MetaDefenderError::ScanTimedOut {
            after: self.config.scan_timeout,
        };

        let data_id = tokio::time::timeout_at(deadline, self.submit(request))
            .await
            .map_err(|_| timed_out())??;

        loop {
            let fetched = tokio::time::timeout_at(deadline, self.fetch_report(&data_id))
                .await
                .map_err(|_| timed_out())??;
            if let Some(report) = fetched {
                return Ok(report);
            }

            let now = Instant::now();
            if now >= deadline {
                return Err(timed_out());
            }
            tokio::time::sleep_until(deadline.min(now + self.config.poll_interval)).await;
        }
    }

    /// Downloads the sanitized copy with `GET /file/converted/{data_id}`.
    ///
    /// Returns `None` when Core has no sanitized copy for the data id (HTTP 404).
    ///
    /// # Errors
    ///
    /// [`MetaDefenderError::InvalidDataId`], and the variants for transport
    /// and HTTP errors.
    pub async fn fetch_sanitized(&self, data_id: &str) -> Result<Option<Bytes>, MetaDefenderError> {
        validate_data_id(data_id)?;
        let url = format!("{}/file/converted/{data_id}", self.base_url);
        let step = format!("GET /file/converted/{data_id}");

        let response = self.send(self.client.get(&url), &url).await?;
        if response.status() == StatusCode::NOT_FOUND {
            return Ok(None);
        }

        self.success_body(response, &step, &url).await.map(Some)
    }

    async fn send(
        &self,
        builder: reqwest::RequestBuilder,
        url: &str,
    ) -> Result<reqwest::Response, MetaDefenderError> {
        let builder = match &self.api_key {
            Some(key) => builder.header("apikey", key.clone()),
            None => builder,
        };

        builder
            .send()
            .await
            .map_err(|source| transport_error(url, source))
    }

    /// Returns the body of a 2xx response, or the error for any other status.
    async fn success_body(
        &self,
        response: reqwest::Response,
        step: &str,
        url: &str,
    ) -> Result<Bytes, MetaDefenderError> {
        let status = response.status();
        let body = response
            .bytes()
            .await
            .map_err(|source| transport_error(url, source))?;
        if status.is_success() {
            return Ok(body);
        }

        let message = error_message(&body);
        match status.as_u16() {
            503 => Err(MetaDefenderError::QueueFull),
            401 | 403 => Err(MetaDefenderError::Unauthorized {
                status: status.as_u16(),
                message,
            }),
            code => Err(MetaDefenderError::Rejected {
                step: step.to_string(),
                status: code,
                message,
            }),
        }
    }
}

impl Scanner for MetaDefenderScanner {
    fn name(&self) -> &str {
        ENGINE_NAME
    }

    async fn scan(&self, request: ScanRequest<'_>) -> Verdict {
        let span = request.span(ENGINE_NAME);

        async {
            // Core rejects an empty body with HTTP 422, and an empty file
            // carries nothing to scan.
            if request.content.is_empty() {
                return Verdict::clean(ENGINE_NAME);
            }

            let verdict = match self.scan_report(request).await {
                Ok(report) => {
                    tracing::debug!(
                        data_id = report.data_id,
                        code = report.scan_all_result,
                        "scan finished"
                    );
                    report.verdict(ENGINE_NAME)
                }
                Err(error) => {
                    tracing::warn!(%error, "MetaDefender Core scan failed");
                    Verdict::failed(ENGINE_NAME, error.to_string())
                }
            };

            tracing::debug!(%verdict, "scanned");
            verdict
        }
        .instrument(span)
        .await
    }
}

fn validate_base_url(url: &str) -> Result<String, MetaDefenderError> {
    let invalid = |reason: &str| MetaDefenderError::InvalidUrl {
        url: url.to_string(),
        reason: reason.to_string(),
    };

    let parsed = reqwest::Url::parse(url).map_err(|error| invalid(&error.to_string()))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(invalid("the scheme is not http or https"));
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(invalid("the host is missing"));
    }
    if parsed.query().is_some() || parsed.fragment().is_some() {
        return Err(invalid("a base URL cannot have a query or fragment"));
    }

    Ok(parsed.as_str().trim_end_matches('/').to_string())
}

/// Accepts the ids that Core generates (hexadecimal) and any other id that
/// is safe as one URL path segment.
fn validate_data_id(data_id: &str) -> Result<(), MetaDefenderError> {
    let valid = !data_id.is_empty()
        && data_id.len() <= MAX_DATA_ID_LENGTH
        && data_id
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'_');

    if valid {
        Ok(())
    } else {
        Err(MetaDefenderError::InvalidDataId {
            data_id: data_id.chars().take(MAX_DATA_ID_LENGTH).collect(),
        })
    }
}

/// Percent-encodes `%`, control characters and non-ASCII bytes (as UTF-8),
/// so that any file name fits into an HTTP header.
///
/// NOTE: how Core decodes non-ASCII names in the `filename` header is not
/// documented; plain ASCII names are sent unchanged.
fn encode_file_name(file_name: &str) -> String {
    let mut encoded = String::with_capacity(file_name.len());
    for byte in file_name.bytes() {
        if (0x20..0x7f).contains(&byte) && byte != b'%' {
            encoded.push(byte as char);
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

fn parse_json<T: serde::de::DeserializeOwned>(
    body: &[u8],
    step: &str,
) -> Result<T, MetaDefenderError> {
    serde_json::from_slice(body).map_err(|error| MetaDefenderError::InvalidResponse {
        step: step.to_string(),
        reason: format!("the body is not the expected JSON: {error}"),
    })
}

/// Extracts the message from an error body: the `err` or `message` field of a
/// JSON object, or else the start of the body as text.
fn error_message(body: &[u8]) -> String {
    const MAX_CHARS: usize = 200;

    if let Ok(serde_json::Value::Object(fields)) = serde_json::from_slice::<serde_json::Value>(body)
    {
        let message = ["err", "message", "error"]
            .iter()
            .find_map(|key| fields.get(*key).and_then(|value| value.as_str()));
        if let Some(message) = message {
            return message.chars().take(MAX_CHARS).collect();
        }
    }

    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if text.is_empty() {
        return "no error message".to_string();
    }
    text.chars().take(MAX_CHARS).collect()
}

fn transport_error(url: &str, source: reqwest::Error) -> MetaDefenderError {
    let url = url.to_string();

    if source.is_timeout() {
        MetaDefenderError::RequestTimedOut { url }
    } else if source.is_connect() {
        MetaDefenderError::Unreachable { url, source }
    } else {
        MetaDefenderError::Transport { url, source }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_url_validation() {
        let cases = [
            ("http://127.0.0.1:8008", Ok("http://127.0.0.1:8008")),
            ("http://127.0.0.1:8008/", Ok("http://127.0.0.1:8008")),
            (
                "https://core.example.com/metadefender/",
                Ok("https://core.example.com/metadefender"),
            ),
            ("ftp://127.0.0.1", Err(())),
            ("127.0.0.1:8008", Err(())),
            ("http://127.0.0.1:8008/?x=1", Err(())),
            ("", Err(())),
        ];

        for (url, expected) in cases {
            let actual = validate_base_url(url);
            assert_eq!(actual.as_deref().map_err(|_| ()), expected, "url {url:?}");
        }
    }

    #[test]
    fn data_id_validation() {
        assert!(validate_data_id("a1b2c3d4e5f6").is_ok());
        assert!(validate_data_id("id_with-dash").is_ok());
        assert!(validate_data_id("").is_err());
        assert!(validate_data_id("../admin").is_err());
        assert!(validate_data_id("a/b").is_err());
        assert!(validate_data_id(&"a".repeat(129)).is_err());
    }

    #[test]
    fn file_name_encoding() {
        assert_eq!(encode_file_name("Q3 report.pdf"), "Q3 report.pdf");
        assert_eq!(encode_file_name("100%.txt"), "100%25.txt");
        assert_eq!(encode_file_name("résumé.pdf"), "r%C3%A9sum%C3%A9.pdf");
        assert_eq!(encode_file_name("a\r\nb"), "a%0D%0Ab");
    }

    #[test]
    fn error_message_sources() {
        assert_eq!(
            error_message(br#"{"err": "Queue is full"}"#),
            "Queue is full"
        );
        assert_eq!(error_message(br#"{"message": "Bad"}"#), "Bad");
        assert_eq!(error_message(b"plain text\n"), "plain text");
        assert_eq!(error_message(b""), "no error message");
    }
}
