//! Errors of the built-in vault: start-up failures and HTTP error responses.

use std::net::SocketAddr;
use std::path::PathBuf;

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};

/// Failure to start the built-in vault.
#[non_exhaustive]
#[derive(thiserror::Error, Debug)]
pub enum VaultServerError {
    /// The configuration cannot work, for example because no API key is set.
    #[error("invalid vault server configuration: {reason}")]
    InvalidConfig { reason: String },

    /// The data directory cannot be created or read.
    #[error("cannot use the vault data directory {}; check that it exists or can be created and is writable", path.display())]
    DataDir {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// The listen address cannot be bound.
    #[error("cannot listen on {addr}; check that the address is local and the port is free")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
}

/// An HTTP error response with the vault API's JSON body
/// `{"message": ..., "ui_message_key": ...}`.
#[derive(Debug)]
pub(crate) struct ApiError {
    status: StatusCode,
    message: String,
    ui_message_key: &'static str,
}

impl ApiError {
    pub(crate) fn new(
        status: StatusCode,
        ui_message_key: &'static str,
        message: impl Into<String>,
    ) -> ApiError {
        ApiError {
            status,
            message: message.into(),
            ui_message_key,
        }
    }

    pub(crate) fn bad_request(
        ui_message_key: &'static str,
        message: impl Into<String>,
    ) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, ui_message_key, message)
    }

    pub(crate) fn not_found(ui_message_key: &'static str, message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, ui_message_key, message)
    }

    /// Logs a failed disk operation and builds its 500 response, which tells
    /// the client only which operation failed.
    pub(crate) fn storage(operation: &str, id: &str, err: std::io::Error) -> ApiError {
        tracing::error!(id, error = %err, "vault storage failed to {operation}");

        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "STORAGE_FAILED",
            format!("the vault failed to {operation} for {id}; the vault's log has the cause"),
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if self.status.is_client_error() {
            tracing::info!(status = self.status.as_u16(), message = %self.message, "vault request rejected");
        }

        let body = serde_json::json!({
            "message": self.message,
            "ui_message_key": self.ui_message_key,
        });
        (self.status, Json(body)).into_response()
    }
}
