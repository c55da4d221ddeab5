//! The five upload steps of the built-in vault and the state of uploads in progress.
//!
//! Uploads in progress are kept in memory and are lost at a restart. A file's
//! content is collected in the store's `tmp/` directory and moved to its final
//! place when the file is finished.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Json;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use futures_util::StreamExt;
use md5::{Digest, Md5};
use serde_json::{Value, json};
use tokio::io::AsyncWriteExt;

use super::ApiError;
use super::headers::{
    check_expires_after, check_file_name, check_folder_path, decoded_header, missing_header,
    optional_header, parse_file_size, required_header,
};
use super::routes::AppState;
use super::store::{FileRecord, FileState};

/// Uploads in progress, by group id and by file id.
#[derive(Default)]
pub(crate) struct Transfers {
    groups: Mutex<HashMap<String, Vec<String>>>,
    files: Mutex<HashMap<String, Arc<tokio::sync::Mutex<PendingFile>>>>,
}

/// A file between steps 2 and 5.
struct PendingFile {
    file_id: String,
    group_id: String,
    name: String,
    path: String,

    /// Size announced in step 2, in bytes.
    declared_size: u64,

    /// Bytes written to the part file so far.
    received: u64,

    /// Whether step 4 has completed.
    finished: bool,
}

/// Step 1, `GET /transfer`: opens a group under the client's `group_id` (a
/// UUID) or under a new one.
pub(crate) async fn start_group(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let group_id = match optional_header(&headers, "group_id")? {
        Some(proposed) => uuid::Uuid::parse_str(proposed)
            .map_err(|_| {
                ApiError::bad_request(
                    "INVALID_GROUP_ID",
                    format!("the group_id header {proposed:?} is not a UUID"),
                )
            })?
            .to_string(),
        None => uuid::Uuid::new_v4().to_string(),
    };

    {
        let mut groups = state
            .transfers
            .groups
            .lock()
            .expect("no code panics while holding this lock");
        if groups.contains_key(&group_id) {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "GROUP_EXISTS",
                format!(
                    "group {group_id} is already open; start a new group with another group_id"
                ),
            ));
        }
        groups.insert(group_id.clone(), Vec::new());
    }

    tracing::debug!(group_id, "upload group started");
    Ok(Json(
        json!({ "group_id": group_id, "owner": {}, "shared_with": [] }),
    ))
}

/// Step 2, `GET /transfer_file`: announces a file of the group and returns its id.
pub(crate) async fn start_file(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let transfer_method = required_header(&headers, "transfer_method")?;
    match transfer_method {
        "Stream" => {}
        "Chunk" => {
            return Err(ApiError::bad_request(
                "TRANSFER_METHOD_NOT_SUPPORTED",
                "the built-in vault supports only transfer_method Stream, not Chunk",
            ));
        }
        other => {
            return Err(ApiError::bad_request(
                "INVALID_TRANSFER_METHOD",
                format!("the transfer_method header {other:?} is neither Stream nor Chunk"),
            ));
        }
    }

    let group_id = required_header(&headers, "group_id")?.to_owned();
    let declared_size = parse_file_size(required_header(&headers, "file_size")?)?;
    let name = decoded_header(&headers, "file_name")?.ok_or_else(|| missing_header("file_name"))?;
    check_file_name(&name)?;
    let path = decoded_header(&headers, "path")?.unwrap_or_default();
    check_folder_path(&path)?;

    let file_id = uuid::Uuid::new_v4().simple().to_string();
    tokio::fs::File::create(state.store.part_path(&file_id))
        .await
        .map_err(|err| ApiError::storage("create the upload file", &file_id, err))?;

    {
        let mut groups = state
            .transfers
            .groups
            .lock()
            .expect("no code panics while holding this lock");
        let Some(group_files) = groups.get_mut(&group_id) else {
            drop(groups);
            let _ = std::fs::remove_file(state.store.part_path(&file_id));
            return Err(unknown_group(&group_id));
        };
        group_files.push(file_id.clone());
    }

    let pending = PendingFile {
        file_id: file_id.clone(),
        group_id: group_id.clone(),
        name,
        path,
        declared_size,
        received: 0,
        finished: false,
    };
    state
        .transfers
        .files
        .lock()
        .expect("no code panics while holding this lock")
        .insert(file_id.clone(), Arc::new(tokio::sync::Mutex::new(pending)));

    tracing::debug!(group_id, file_id, declared_size, "upload file started");
    Ok(Json(json!({ "file_id": file_id })))
}

/// Step 3, `PATCH /transfer_file`: appends the body to the file's content.
///
/// With `Stream`, chunks arrive in order, so `chunk_offset` is optional and, when
/// sent, must equal the bytes received so far. A chunk that would exceed the
/// announced `file_size` or whose MD5 differs from `chunk_checksum` is rejected
/// with 400, and the content is left as it was before the chunk.
pub(crate) async fn send_content(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Body,
) -> Result<(), ApiError> {
    let pending = pending_file(&state, &headers).await?;
    let mut pending = pending.lock().await;
    check_not_finished(&pending)?;

    if let Some(offset) = optional_header(&headers, "chunk_offset")? {
        let offset: u64 = offset.parse().map_err(|_| {
            ApiError::bad_request(
                "INVALID_CHUNK_OFFSET",
                format!("the chunk_offset header {offset:?} is not a byte count"),
            )
        })?;
        if offset != pending.received {
            return Err(ApiError::bad_request(
                "INVALID_CHUNK_OFFSET",
                format!(
                    "chunk_offset is {offset}, but the Stream method expects the next chunk at {}",
                    pending.received
                ),
            ));
        }
    }
    let expected_checksum =
        optional_header(&headers, "chunk_checksum")?.map(str::to_ascii_lowercase);

    let part_path = state.store.part_path(&pending.file_id);
    let mut part = tokio::fs::OpenOptions::new()
        .append(true)
        .open(&part_path)
        .await
        .map_err(|err| ApiError::storage("open the upload file", &pending.file_id, err))?;

    let outcome = append_body(
        &pending.file_id,
        &mut part,
        body,
        pending.declared_size - pending.received,
    )
    .await;
    let rejection = match outcome {
        Ok((_, checksum))
            if expected_checksum
                .as_ref()
                .is_some_and(|expected| *expected != checksum) =>
        {
            Some(ApiError::bad_request(
                "CHUNK_CHECKSUM_MISMATCH",
                format!(
                    "the chunk's MD5 is {checksum}, but chunk_checksum is {}",
                    expected_checksum.unwrap_or_default()
                ),
            ))
        }
        Ok((written, _)) => {
            pending.received += written;
            None
        }
        Err(rejection) => Some(rejection),
    };

    if let Some(rejection) = rejection {
        part.set_len(pending.received)
            .await
            .map_err(|err| ApiError::storage("discard a rejected chunk", &pending.file_id, err))?;
        return Err(rejection);
    }

    Ok(())
}

/// Writes the request body to `part`, the upload file of `file_id`, at most `room` bytes, and returns the
/// number of bytes written and their MD5 as lowercase hex.
async fn append_body(
    file_id: &str,
    part: &mut tokio::fs::File,
    body: Body,
    room: u64,
) -> Result<(u64, String), ApiError> {
    let mut stream = body.into_data_stream();
    let mut hasher = Md5::new();
    let mut written: u64 = 0;

    while let Some(frame) = stream.next().await {
        let data = frame.map_err(|err| {
            ApiError::bad_request(
                "BODY_READ_FAILED",
                format!("reading the chunk failed: {err}"),
            )
        })?;

        written += data.len() as u64;
        if written > room {
            return Err(ApiError::bad_request(
                "FILE_SIZE_EXCEEDED",
                format!(
                    "the chunk goes beyond the file_size announced when the file was started ({room} bytes were left)"
                ),
            ));
        }

        hasher.update(&data);
        part.write_all(&data)
            .await
            .map_err(|err| ApiError::storage("write the upload file", file_id, err))?;
    }

    part.flush()
        .await
        .map_err(|err| ApiError::storage("write the upload file", file_id, err))?;

    let checksum = hasher
        .finalize()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect();
    Ok((written, checksum))
}

/// Step 4, `POST /transfer_file`: checks that all announced bytes arrived and
/// stores the file, still `Composing` until its group is finished.
pub(crate) async fn finish_file(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let pending = pending_file(&state, &headers).await?;
    let mut pending = pending.lock().await;
    check_not_finished(&pending)?;

    if pending.received != pending.declared_size {
        return Err(ApiError::bad_request(
            "FILE_SIZE_MISMATCH",
            format!(
                "file {} has {} bytes, but file_size announced {}; send the missing content before finishing",
                pending.file_id, pending.received, pending.declared_size
            ),
        ));
    }

    let file_id = pending.file_id.clone();
    let folder_id = state
        .store
        .ensure_folder(&pending.path)
        .await
        .map_err(|err| ApiError::storage("create the folder", &file_id, err))?;
    state
        .store
        .commit_content(&file_id)
        .await
        .map_err(|err| ApiError::storage("store the content", &file_id, err))?;

    let record = FileRecord {
        file_id: file_id.clone(),
        name: pending.name.clone(),
        path: pending.path.clone(),
        folder_id,
        size: pending.received,
        group_id: pending.group_id.clone(),
        created: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        state: FileState::Composing,
    };
    state
        .store
        .write_file(&record)
        .await
        .map_err(|err| ApiError::storage("write the file record", &file_id, err))?;
    pending.finished = true;

    tracing::info!(
        file_id,
        group_id = pending.group_id,
        path = pending.path,
        size = pending.received,
        "vault stored file"
    );
    Ok(Json(json!({ "result": "success" })))
}

/// Step 5, `POST /transfer`: makes all files of the group available and returns their links.
///
/// `expires_after` (`DD:HH:MM:SS`) is checked for its form but not applied.
pub(crate) async fn finish_group(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let group_id = required_header(&headers, "group_id")?.to_owned();
    if let Some(expires_after) = optional_header(&headers, "expires_after")? {
        // NOTE: files of the built-in vault never expire, whatever the value of this header.
        check_expires_after(expires_after)?;
    }

    let file_ids = state
        .transfers
        .groups
        .lock()
        .expect("no code panics while holding this lock")
        .get(&group_id)
        .cloned()
        .ok_or_else(|| unknown_group(&group_id))?;
    if file_ids.is_empty() {
        return Err(ApiError::bad_request(
            "GROUP_EMPTY",
            format!("group {group_id} has no files; start and finish at least one file first"),
        ));
    }

    let mut records = Vec::with_capacity(file_ids.len());
    for file_id in &file_ids {
        let record = state
            .store
            .read_file(file_id)
            .await
            .map_err(|err| ApiError::storage("read the file record", file_id, err))?
            .ok_or_else(|| {
                ApiError::bad_request("FILE_NOT_FINISHED", format!("file {file_id} of group {group_id} is not finished; finish it before the group"))
            })?;
        records.push(record);
    }

    let mut listed = Vec::with_capacity(records.len());
    for mut record in records {
        record.state = FileState::Available;
        state
            .store
            .write_file(&record)
            .await
            .map_err(|err| ApiError::storage("write the file record", &record.file_id, err))?;

        listed.push(json!({
            "file_id": record.file_id,
            "name": record.name,
            "path": record.path,
            "size": record.size,
            "file_url": state.file_url(&record.file_id),
            "folder_url": state.folder_url(&record.folder_id),
        }));
    }

    forget_group(&state, &group_id, &file_ids);

    tracing::info!(
        group_id,
        files = listed.len(),
        "vault finished upload group"
    );
    Ok(Json(json!({ "group_id": group_id, "files": listed })))
}

/// Removes a finished group and its files from the uploads in progress.
fn forget_group(state: &AppState, group_id: &str, file_ids: &[String]) {
    state
        .transfers
        .groups
        .lock()
        .expect("no code panics while holding this lock")
        .remove(group_id);

    let mut files = state
        .transfers
        .files
        .lock()
        .expect("no code panics while holding this lock");
    for file_id in file_ids {
        files.remove(file_id);
    }
}

/// Finds the upload in progress named by the `group_id` and `file_id` headers.
async fn pending_file(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<Arc<tokio::sync::Mutex<PendingFile>>, ApiError> {
    let group_id = required_header(headers, "group_id")?;
    let file_id = required_header(headers, "file_id")?;

    let pending = state
        .transfers
        .files
        .lock()
        .expect("no code panics while holding this lock")
        .get(file_id)
        .cloned()
        .ok_or_else(|| {
            ApiError::not_found(
                "FILE_NOT_FOUND",
                format!("file {file_id:?} is not an upload in progress"),
            )
        })?;

    if pending.lock().await.group_id != group_id {
        return Err(ApiError::bad_request(
            "FILE_NOT_IN_GROUP",
            format!("file {file_id} does not belong to group {group_id:?}"),
        ));
    }

    Ok(pending)
}

fn check_not_finished(pending: &PendingFile) -> Result<(), ApiError> {
    if pending.finished {
        return Err(ApiError::bad_request(
            "FILE_ALREADY_FINISHED",
            format!("file {} is already finished", pending.file_id),
        ));
    }
    Ok(())
}

fn unknown_group(group_id: &str) -> ApiError {
    ApiError::not_found(
        "GROUP_NOT_FOUND",
        format!("group {group_id:?} is not open; start it with GET /transfer first"),
    )
}
