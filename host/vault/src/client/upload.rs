//! Upload of files as one group transfer, in the five steps of the vault API.

use bytes::Bytes;
use md5::{Digest, Md5};
use serde_json::Value;

use super::content::TransferMethod;
use super::{RequestContext, VaultClient, VaultError, id_field, read_json};
use crate::{FileId, header_value};

/// A file to store in the vault.
#[derive(Clone, Debug)]
pub struct UploadFile {
    /// Folder path inside the vault, with `/` between folders, for example
    /// `Email Gateway/2026-09-28/Report_<alice@example.com>_<123@example.com>`.
    /// Empty means the root folder. Sent percent-encoded in the `path` header,
    /// as [`crate::header_value`] describes.
    pub folder: String,

    /// File name, sent percent-encoded in the `file_name` header.
    pub file_name: String,

    pub content: Bytes,
}

/// A file that the vault stored, with the links it generated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UploadedFile {
    pub file_id: FileId,

    /// File name as it was uploaded.
    pub file_name: String,

    /// Download link, exactly as the vault returned it.
    pub file_url: String,

    /// Link to the file's folder in the vault's web UI, when the vault returned one.
    pub folder_url: Option<String>,
}

impl VaultClient {
    /// Uploads all files as one group transfer and returns one [`UploadedFile`]
    /// per input, in input order.
    ///
    /// The steps are: start the group, then for each file start it, send its
    /// content and finish it, and last finish the group, which returns the
    /// links. A file of at most [`super::CHUNK_SIZE`] bytes goes in one `PATCH` with
    /// the `Stream` method. A larger one goes with the `Chunk` method in chunks
    /// of [`super::CHUNK_SIZE`] bytes, each with its offset. Every chunk carries its
    /// MD5 checksum. An empty slice returns an empty list without contacting
    /// the vault.
    ///
    /// Only chunks of the `Chunk` method are retried, because sending the same
    /// bytes at the same offset again leaves the file as one success would. A
    /// chunk is sent at most [`super::MAX_CHUNK_ATTEMPTS`] times, and only after
    /// a temporary error. Starting a group or a file, a `Stream` chunk and the
    /// finishing steps are not retried, because a request whose response was
    /// lost may have changed the vault's state already.
    ///
    /// Errors: the first failing step ends the upload. The API has no call to
    /// cancel a group, so the files started until then stay unfinished in the
    /// vault until it removes them.
    pub async fn upload_group(
        &self,
        files: &[UploadFile],
    ) -> Result<Vec<UploadedFile>, VaultError> {
        if files.is_empty() {
            return Ok(Vec::new());
        }

        let group_id = self.start_group().await?;

        let mut file_ids = Vec::with_capacity(files.len());
        for file in files {
            let method = TransferMethod::for_size(file.content.len());
            let file_id = self.start_file(&group_id, file, method).await?;
            self.send_content(&group_id, &file_id, method, &file.content)
                .await?;
            self.finish_file(&group_id, &file_id).await?;
            file_ids.push(file_id);
        }

        let listed = self.finish_group(&group_id).await?;

        match_listed_files(files, file_ids, &listed)
    }

    /// Step 1, `GET /transfer`: opens a group under a v4 UUID chosen here and
    /// returns the group id that the vault confirms.
    async fn start_group(&self) -> Result<String, VaultError> {
        let proposed = uuid::Uuid::new_v4().to_string();
        let context = RequestContext {
            step: "start group",
            group_id: Some(&proposed),
            file_id: None,
        };

        let request = self
            .http
            .get(self.endpoint(&["transfer"]))
            .header("group_id", &proposed);
        let response = self.send(context, request).await?;
        let body: Value = read_json(context, response).await?;

        // The vault may assign its own id, in which case the later steps must use it.
        Ok(id_field(&body, "group_id").unwrap_or(proposed))
    }

    /// Step 2, `GET /transfer_file`: announces one file and returns its id.
    async fn start_file(
        &self,
        group_id: &str,
        file: &UploadFile,
        method: TransferMethod,
    ) -> Result<FileId, VaultError> {
        let context = RequestContext {
            step: "start file",
            group_id: Some(group_id),
            file_id: None,
        };

        let request = self
            .http
            .get(self.endpoint(&["transfer_file"]))
            .header("transfer_method", method.header_value())
            .header("group_id", group_id)
            .header("file_size", file.content.len().to_string())
            .header("file_name", header_value::encode(&file.file_name))
            .header("path", header_value::encode(&file.folder));
        let response = self.send(context, request).await?;
        let body: Value = read_json(context, response).await?;

        let file_id = id_field(&body, "file_id").ok_or_else(|| VaultError::InvalidResponse {
            step: context.step,
            reason: format!("the response has no file_id: {body}"),
        })?;
        Ok(FileId::from(file_id))
    }

    /// Step 4, `POST /transfer_file`: marks the file as complete.
    async fn finish_file(&self, group_id: &str, file_id: &FileId) -> Result<(), VaultError> {
        let context = RequestContext {
            step: "finish file",
            group_id: Some(group_id),
            file_id: Some(file_id),
        };

        let request = self
            .http
            .post(self.endpoint(&["transfer_file"]))
            .header("group_id", group_id)
            .header("file_id", file_id.as_str());
        self.send(context, request).await?;

        Ok(())
    }

    /// Step 5, `POST /transfer`: closes the group and returns the `files` list.
    async fn finish_group(&self, group_id: &str) -> Result<Vec<Value>, VaultError> {
        let context = RequestContext {
            step: "finish group",
            group_id: Some(group_id),
            file_id: None,
        };

        let request = self
            .http
            .post(self.endpoint(&["transfer"]))
            .header("group_id", group_id);
        let response = self.send(context, request).await?;
        let mut body: Value = read_json(context, response).await?;

        match body.get_mut("files").map(Value::take) {
            Some(Value::Array(files)) => Ok(files),
            _ => Err(VaultError::InvalidResponse {
                step: context.step,
                reason: format!("the response has no files list: {body}"),
            }),
        }
    }
}

/// Pairs each uploaded file with its entry in the `files` list of step 5.
fn match_listed_files(
    files: &[UploadFile],
    file_ids: Vec<FileId>,
    listed: &[Value],
) -> Result<Vec<UploadedFile>, VaultError> {
    let missing = |file_id: &FileId, what: &str| VaultError::InvalidResponse {
        step: "finish group",
        reason: format!("{what} for file {file_id}"),
    };

    let mut uploaded = Vec::with_capacity(files.len());
    for (file, file_id) in files.iter().zip(file_ids) {
        let entry = listed
            .iter()
            .find(|entry| id_field(entry, "file_id").as_deref() == Some(file_id.as_str()))
            .ok_or_else(|| missing(&file_id, "the files list has no entry"))?;

        let file_url = match entry.get("file_url") {
            Some(Value::String(url)) if !url.is_empty() => url.clone(),
            _ => return Err(missing(&file_id, "the files list has no file_url")),
        };
        let folder_url = entry
            .get("folder_url")
            .and_then(Value::as_str)
            .map(str::to_owned);

        uploaded.push(UploadedFile {
            file_id,
            file_name: file.file_name.clone(),
            file_url,
            folder_url,
        });
    }

    Ok(uploaded)
}

/// Returns the MD5 digest of `content` as lowercase hex, the form of `chunk_checksum`.
pub(crate) fn md5_hex(content: &[u8]) -> String {
    let digest = Md5::digest(content);
    digest.iter().map(|byte| format!("{byte:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn md5_hex_known_values() {
        assert_eq!(md5_hex(b""), "d41d8cd98f00b204e9800998ecf8427e");
        assert_eq!(md5_hex(b"abc"), "900150983cd24fb0d6963f7d28e17f72");
    }

    #[test]
    fn listed_files_matched_in_input_order() {
        let files = vec![
            UploadFile {
                folder: String::new(),
                file_name: "a".to_owned(),
                content: Bytes::new(),
            },
            UploadFile {
                folder: String::new(),
                file_name: "b".to_owned(),
                content: Bytes::new(),
            },
        ];
        let ids = vec![FileId::from("1"), FileId::from("2")];
        let listed = vec![
            serde_json::json!({"file_id": 2, "file_url": "http://v/2"}),
            serde_json::json!({"file_id": "1", "file_url": "http://v/1", "folder_url": "http://v/f"}),
        ];

        let uploaded = match_listed_files(&files, ids, &listed).unwrap();

        assert_eq!(uploaded[0].file_url, "http://v/1");
        assert_eq!(uploaded[0].folder_url.as_deref(), Some("http://v/f"));
        assert_eq!(uploaded[1].file_url, "http://v/2");
        assert_eq!(uploaded[1].folder_url, None);
    }

    #[test]
    fn listed_files_missing_entry_rejected() {
        let files = vec![UploadFile {
            folder: String::new(),
            file_name: "a".to_owned(),
            content: Bytes::new(),
        }];
        let listed = vec![serde_json::json!({"file_id": "9", "file_url": "http://v/9"})];

        let err = match_listed_files(&files, vec![FileId::from("1")], &listed).unwrap_err();

        assert!(matches!(err, VaultError::InvalidResponse { .. }), "{err}");
    }
}
