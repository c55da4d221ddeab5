//! Upload step 3 of the built-in vault, `PATCH /transfer_file`: one chunk of a
//! file's content per request, the raw bytes as the body.
//!
//! - `Stream`: chunks arrive in order and are appended. `chunk_offset` is
//!   optional and, when sent, must equal the bytes received so far.
//! - `Chunk`: chunks arrive in any order. `chunk_offset` is required, and the
//!   chunk must end within the announced `file_size`. Sending a chunk again at
//!   the same offset replaces it, so a client may retry a chunk whose response
//!   it did not get. Overlaps and gaps are rejected when the file is finished.
//!
//! A chunk is at most [`MAX_CHUNK_SIZE`] bytes. A chunk whose MD5 differs from
//! `chunk_checksum` (32 hex digits, any case) is rejected with 400. With
//! `Stream`, its bytes are cut off again. With `Chunk`, every accepted range
//! that the rejected chunk overwrote counts as missing and must be sent again.

use std::io::SeekFrom;
use std::sync::Arc;

use axum::Extension;
use axum::body::Body;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::http::header::CONTENT_LENGTH;
use futures_util::StreamExt;
use md5::{Digest, Md5};
use tokio::io::{AsyncSeekExt, AsyncWriteExt};

use super::auth::Principal;
use super::headers::{missing_header, optional_header};
use super::routes::AppState;
use super::transfer::{PendingFile, TransferMethod, check_not_finished, pending_file};
use super::{ApiError, MAX_CHUNK_SIZE};

/// Step 3, `PATCH /transfer_file`: writes one chunk, as the module describes.
pub(crate) async fn send_content(
    State(state): State<Arc<AppState>>,
    Extension(principal): Extension<Principal>,
    headers: HeaderMap,
    body: Body,
) -> Result<(), ApiError> {
    let pending = pending_file(&state, &principal, &headers).await?;
    let mut pending = pending.lock().await;
    check_not_finished(&pending)?;

    check_content_length(&headers)?;
    let offset = chunk_offset(&headers, &pending)?;
    let expected_checksum = chunk_checksum(&headers)?;

    let file_id = pending.file_id.clone();
    let mut part = tokio::fs::OpenOptions::new()
        .write(true)
        .open(state.store.part_path(&file_id))
        .await
        .map_err(|err| ApiError::storage("open the upload file", &file_id, err))?;
    part.seek(SeekFrom::Start(offset))
        .await
        .map_err(|err| ApiError::storage("seek in the upload file", &file_id, err))?;

    let room = pending.declared_size - offset;
    let (written, outcome) = write_body(&file_id, &mut part, body, room).await;
    let outcome = outcome.and_then(|checksum| match &expected_checksum {
        Some(expected) if *expected != checksum => Err(ApiError::bad_request(
            "CHUNK_CHECKSUM_MISMATCH",
            format!("the chunk's MD5 is {checksum}, but chunk_checksum is {expected}"),
        )),
        _ => Ok(()),
    });

    if let Err(rejection) = outcome {
        discard_chunk(&mut pending, &mut part, offset, written).await?;
        return Err(rejection);
    }

    match pending.method {
        TransferMethod::Stream => pending.received += written,
        TransferMethod::Chunk if written > 0 => {
            pending.chunks.insert(offset, offset + written);
        }
        TransferMethod::Chunk => {}
    }

    tracing::debug!(
        file_id,
        group_id = pending.group_id,
        offset,
        size = written,
        "vault received chunk"
    );
    Ok(())
}

/// Rejects a chunk whose `Content-Length` is above [`MAX_CHUNK_SIZE`] before
/// its body is read.
fn check_content_length(headers: &HeaderMap) -> Result<(), ApiError> {
    let length = headers
        .get(CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());

    match length {
        Some(length) if length > MAX_CHUNK_SIZE => Err(chunk_too_large()),
        _ => Ok(()),
    }
}

fn chunk_too_large() -> ApiError {
    ApiError::bad_request(
        "CHUNK_TOO_LARGE",
        format!(
            "the chunk is larger than the maximum of {MAX_CHUNK_SIZE} bytes; split the content into smaller chunks"
        ),
    )
}

/// Returns the offset at which the chunk is written, from the `chunk_offset`
/// header and the transfer method.
fn chunk_offset(headers: &HeaderMap, pending: &PendingFile) -> Result<u64, ApiError> {
    let invalid = |message: String| ApiError::bad_request("INVALID_CHUNK_OFFSET", message);

    let offset = optional_header(headers, "chunk_offset")?
        .map(|value| {
            value.parse::<u64>().map_err(|_| {
                invalid(format!(
                    "the chunk_offset header {value:?} is not a byte count"
                ))
            })
        })
        .transpose()?;

    match (pending.method, offset) {
        (TransferMethod::Stream, None) => Ok(pending.received),
        (TransferMethod::Stream, Some(offset)) if offset != pending.received => {
            Err(invalid(format!(
                "chunk_offset is {offset}, but the Stream method expects the next chunk at {}",
                pending.received
            )))
        }
        (TransferMethod::Stream, Some(offset)) => Ok(offset),
        (TransferMethod::Chunk, None) => Err(missing_header("chunk_offset")),
        (TransferMethod::Chunk, Some(offset)) if offset > pending.declared_size => {
            Err(invalid(format!(
                "chunk_offset is {offset}, beyond the file_size of {} bytes",
                pending.declared_size
            )))
        }
        (TransferMethod::Chunk, Some(offset)) => Ok(offset),
    }
}

/// Reads the optional `chunk_checksum` header as lowercase hex.
fn chunk_checksum(headers: &HeaderMap) -> Result<Option<String>, ApiError> {
    let Some(value) = optional_header(headers, "chunk_checksum")? else {
        return Ok(None);
    };

    if value.len() != 32 || !value.bytes().all(|byte| byte.is_ascii_hexdigit()) {
        return Err(ApiError::bad_request(
            "INVALID_CHUNK_CHECKSUM",
            format!("the chunk_checksum header {value:?} is not an MD5 digest of 32 hex digits"),
        ));
    }

    Ok(Some(value.to_ascii_lowercase()))
}

/// Writes the request body to `part` at its current position, at most `room`
/// bytes and at most [`MAX_CHUNK_SIZE`], and returns the number of bytes
/// written with either their MD5 as lowercase hex or the rejection.
async fn write_body(
    file_id: &str,
    part: &mut tokio::fs::File,
    body: Body,
    room: u64,
) -> (u64, Result<String, ApiError>) {
    let mut stream = body.into_data_stream();
    let mut hasher = Md5::new();
    let mut written: u64 = 0;

    while let Some(frame) = stream.next().await {
        let data = match frame {
            Ok(data) => data,
            Err(err) => {
                let rejection = ApiError::bad_request(
                    "BODY_READ_FAILED",
                    format!("reading the chunk failed: {err}"),
                );
                return (written, Err(rejection));
            }
        };

        let total = written + data.len() as u64;
        if total > MAX_CHUNK_SIZE {
            return (written, Err(chunk_too_large()));
        }
        if total > room {
            let rejection = ApiError::bad_request(
                "FILE_SIZE_EXCEEDED",
                format!(
                    "the chunk goes beyond the file_size announced when the file was started ({room} bytes were left)"
                ),
            );
            return (written, Err(rejection));
        }

        hasher.update(&data);
        if let Err(err) = part.write_all(&data).await {
            // Part of the frame may be on disk, so the whole frame counts as written.
            return (
                total,
                Err(ApiError::storage("write the upload file", file_id, err)),
            );
        }
        written = total;
    }

    if let Err(err) = part.flush().await {
        return (
            written,
            Err(ApiError::storage("write the upload file", file_id, err)),
        );
    }

    let checksum = hasher
        .finalize()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect();
    (written, Ok(checksum))
}

/// Undoes a rejected chunk of `written` bytes at `offset`. `Stream` cuts the
/// content back, and `Chunk` removes every accepted range that the chunk overwrote.
async fn discard_chunk(
    pending: &mut PendingFile,
    part: &mut tokio::fs::File,
    offset: u64,
    written: u64,
) -> Result<(), ApiError> {
    match pending.method {
        TransferMethod::Stream => part
            .set_len(pending.received)
            .await
            .map_err(|err| ApiError::storage("discard a rejected chunk", &pending.file_id, err)),
        TransferMethod::Chunk => {
            let end = offset + written;
            pending
                .chunks
                .retain(|&start, &mut range_end| range_end <= offset || start >= end);
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    fn pending(method: TransferMethod) -> PendingFile {
        PendingFile {
            file_id: "f".to_owned(),
            group_id: "g".to_owned(),
            name: "n".to_owned(),
            path: String::new(),
            method,
            declared_size: 100,
            received: 40,
            chunks: BTreeMap::new(),
            finished: false,
        }
    }

    fn with_header(name: &'static str, value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(name, value.parse().unwrap());
        headers
    }

    #[test]
    fn stream_offset_rules() {
        let file = pending(TransferMethod::Stream);

        assert_eq!(chunk_offset(&HeaderMap::new(), &file).unwrap(), 40);
        assert_eq!(
            chunk_offset(&with_header("chunk_offset", "40"), &file).unwrap(),
            40
        );
        assert!(chunk_offset(&with_header("chunk_offset", "0"), &file).is_err());
    }

    #[test]
    fn chunk_offset_rules() {
        let file = pending(TransferMethod::Chunk);

        assert!(chunk_offset(&HeaderMap::new(), &file).is_err());
        assert_eq!(
            chunk_offset(&with_header("chunk_offset", "0"), &file).unwrap(),
            0
        );
        assert_eq!(
            chunk_offset(&with_header("chunk_offset", "100"), &file).unwrap(),
            100
        );
        assert!(chunk_offset(&with_header("chunk_offset", "101"), &file).is_err());
        assert!(chunk_offset(&with_header("chunk_offset", "-1"), &file).is_err());
    }

    #[test]
    fn content_length_limit() {
        let at_limit = with_header("content-length", &MAX_CHUNK_SIZE.to_string());
        let above = with_header("content-length", &(MAX_CHUNK_SIZE + 1).to_string());

        assert!(check_content_length(&at_limit).is_ok());
        assert!(check_content_length(&above).is_err());
        assert!(check_content_length(&HeaderMap::new()).is_ok());
    }

    #[test]
    fn checksum_form_checked() {
        let upper = with_header("chunk_checksum", "900150983CD24FB0D6963F7D28E17F72");

        assert_eq!(
            chunk_checksum(&upper).unwrap().as_deref(),
            Some("900150983cd24fb0d6963f7d28e17f72")
        );
        assert!(chunk_checksum(&with_header("chunk_checksum", "abc")).is_err());
        assert_eq!(chunk_checksum(&HeaderMap::new()).unwrap(), None);
    }
}
