//! Upload step 3, `PATCH /transfer_file`: the content of one file, in one
//! `Stream` chunk or in several `Chunk` chunks with retries.

use std::time::Duration;

use bytes::Bytes;

use super::upload::md5_hex;
use super::{RequestContext, VaultClient, VaultError};
use crate::FileId;

/// Size of the chunks of a large file, in bytes (10 MiB), and the size above
/// which a file is sent in chunks. MetaDefender Managed File Transfer accepts
/// at most 100 MB per chunk, and its documentation advises about 10 MB.
pub const CHUNK_SIZE: usize = 10 * 1024 * 1024;

/// Maximum number of times one chunk of the `Chunk` method is sent, the first
/// attempt included.
pub const MAX_CHUNK_ATTEMPTS: u32 = 3;

/// Wait before the first retry of a chunk. It doubles for each further retry.
const FIRST_RETRY_DELAY: Duration = Duration::from_millis(200);

/// The `transfer_method` of a file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TransferMethod {
    /// One request with the whole content.
    Stream,

    /// Chunks of [`CHUNK_SIZE`] bytes, each with its `chunk_offset`.
    Chunk,
}

impl TransferMethod {
    /// Chooses `Chunk` for content of more than [`CHUNK_SIZE`] bytes.
    pub(crate) fn for_size(size: usize) -> TransferMethod {
        if size > CHUNK_SIZE {
            TransferMethod::Chunk
        } else {
            TransferMethod::Stream
        }
    }

    pub(crate) fn header_value(self) -> &'static str {
        match self {
            TransferMethod::Stream => "Stream",
            TransferMethod::Chunk => "Chunk",
        }
    }
}

impl VaultClient {
    /// Sends the content with `method` (step 3), as
    /// [`VaultClient::upload_group`] describes.
    ///
    /// The chunks are slices of `content`, so the content is not copied.
    pub(crate) async fn send_content(
        &self,
        group_id: &str,
        file_id: &FileId,
        method: TransferMethod,
        content: &Bytes,
    ) -> Result<(), VaultError> {
        match method {
            TransferMethod::Stream => {
                self.send_chunk(group_id, file_id, None, content.clone())
                    .await
            }
            TransferMethod::Chunk => {
                for offset in (0..content.len()).step_by(CHUNK_SIZE) {
                    let end = (offset + CHUNK_SIZE).min(content.len());
                    let chunk = content.slice(offset..end);
                    self.send_chunk_with_retries(group_id, file_id, offset as u64, chunk)
                        .await?;
                }
                Ok(())
            }
        }
    }

    /// Sends one `Chunk` chunk, again after a temporary error, at most
    /// [`MAX_CHUNK_ATTEMPTS`] times in all.
    async fn send_chunk_with_retries(
        &self,
        group_id: &str,
        file_id: &FileId,
        offset: u64,
        chunk: Bytes,
    ) -> Result<(), VaultError> {
        let mut attempt = 1;
        let mut delay = FIRST_RETRY_DELAY;

        loop {
            let outcome = self
                .send_chunk(group_id, file_id, Some(offset), chunk.clone())
                .await;

            match outcome {
                Err(err) if err.is_temporary() && attempt < MAX_CHUNK_ATTEMPTS => {
                    tracing::warn!(
                        group_id,
                        file_id = file_id.as_str(),
                        offset,
                        attempt,
                        error = %err,
                        "vault chunk failed; retrying"
                    );
                    tokio::time::sleep(delay).await;
                    attempt += 1;
                    delay *= 2;
                }
                outcome => return outcome,
            }
        }
    }

    /// Sends one `PATCH` with `chunk` and its MD5 checksum, at `offset` when given.
    async fn send_chunk(
        &self,
        group_id: &str,
        file_id: &FileId,
        offset: Option<u64>,
        chunk: Bytes,
    ) -> Result<(), VaultError> {
        let context = RequestContext {
            step: "send content",
            group_id: Some(group_id),
            file_id: Some(file_id),
        };

        let mut request = self
            .http
            .patch(self.endpoint(&["transfer_file"]))
            .header("group_id", group_id)
            .header("file_id", file_id.as_str())
            .header("chunk_checksum", md5_hex(&chunk));
        if let Some(offset) = offset {
            request = request.header("chunk_offset", offset.to_string());
        }

        self.send(context, request.body(chunk)).await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn method_by_size() {
        assert_eq!(TransferMethod::for_size(0), TransferMethod::Stream);
        assert_eq!(TransferMethod::for_size(CHUNK_SIZE), TransferMethod::Stream);
        assert_eq!(
            TransferMethod::for_size(CHUNK_SIZE + 1),
            TransferMethod::Chunk
        );
    }
}
