//! Upload steps 1, 2, 4 and 5 of the built-in vault, and the state of uploads
//! in progress. Step 3, the content, is in [`super::content`].
//!
//! Uploads in progress are kept in memory and are lost at a restart. A file's
//! content is collected in the store's `tmp/` directory and moved to its final
//! place when the file is finished. A group belongs to the principal that
//! started it, and other principals get 404 for it, as for an unknown group.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::{Extension, Json};
use serde_json::{Value, json};

use super::ApiError;
use super::auth::Principal;
use super::headers::{
    check_expires_after, check_file_name, check_folder_path, decoded_header, group_id_header,
    missing_header, optional_header, parse_file_size, required_header,
};
use super::rescan;
use super::routes::AppState;
use super::store::{FileRecord, FileState};

/// Uploads in progress, by group id and by file id.
#[derive(Default)]
pub(crate) struct Transfers {
    groups: Mutex<HashMap<String, OpenGroup>>,
    files: Mutex<HashMap<String, Arc<tokio::sync::Mutex<PendingFile>>>>,
}

/// A group between steps 1 and 5.
struct OpenGroup {
    owner: String,
    file_ids: Vec<String>,

    /// Time of the group's last request, which the abandoned-transfer cleanup
    /// measures from.
    last_activity: Instant,
}

/// Transfer method of a file, from the `transfer_method` header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TransferMethod {
    /// Chunks in order, each appended to the content received so far.
    Stream,

    /// Chunks in any order, each at its `chunk_offset`.
    Chunk,
}

/// A file between steps 2 and 5.
pub(crate) struct PendingFile {
    pub(crate) file_id: String,
    pub(crate) group_id: String,
    pub(crate) name: String,
    pub(crate) path: String,
    pub(crate) method: TransferMethod,

    /// Size announced in step 2, in bytes.
    pub(crate) declared_size: u64,

    /// `Stream`: bytes appended to the part file so far.
    pub(crate) received: u64,

    /// `Chunk`: the accepted byte ranges, as start offset to end offset
    /// (exclusive). A chunk sent again at the same offset replaces its range.
    pub(crate) chunks: BTreeMap<u64, u64>,

    /// Whether step 4 has completed.
    pub(crate) finished: bool,
}

/// A group that [`Transfers::take_abandoned`] removed.
pub(crate) struct AbandonedGroup {
    pub(crate) group_id: String,
    pub(crate) file_ids: Vec<String>,
}

impl Transfers {
    /// Marks a group as active now, so the cleanup does not remove it.
    fn touch(&self, group_id: &str) {
        if let Some(group) = self.lock_groups().get_mut(group_id) {
            group.last_activity = Instant::now();
        }
    }

    /// Removes the groups whose last request was at least `timeout` before
    /// `now`, with their files, and returns them.
    pub(crate) fn take_abandoned(
        &self,
        now: Instant,
        timeout: std::time::Duration,
    ) -> Vec<AbandonedGroup> {
        let mut abandoned = Vec::new();

        self.lock_groups().retain(|group_id, group| {
            let idle = now.saturating_duration_since(group.last_activity);
            if idle < timeout {
                return true;
            }

            abandoned.push(AbandonedGroup {
                group_id: group_id.clone(),
                file_ids: std::mem::take(&mut group.file_ids),
            });
            false
        });

        let mut files = self.lock_files();
        for group in &abandoned {
            for file_id in &group.file_ids {
                files.remove(file_id);
            }
        }

        abandoned
    }

    fn lock_groups(&self) -> std::sync::MutexGuard<'_, HashMap<String, OpenGroup>> {
        self.groups
            .lock()
            .expect("no code panics while holding this lock")
    }

    fn lock_files(
        &self,
    ) -> std::sync::MutexGuard<'_, HashMap<String, Arc<tokio::sync::Mutex<PendingFile>>>> {
        self.files
            .lock()
            .expect("no code panics while holding this lock")
    }
}

/// Step 1, `GET /transfer`: opens a group under the client's `group_id` (a
/// UUID) or under a new one.
pub(crate) async fn start_group(
    State(state): State<Arc<AppState>>,
    Extension(principal): Extension<Principal>,
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
        let mut groups = state.transfers.lock_groups();
        if groups.contains_key(&group_id) {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "GROUP_EXISTS",
                format!(
                    "group {group_id} is already open; start a new group with another group_id"
                ),
            ));
        }

        let group = OpenGroup {
            owner: principal.user_id.clone(),
            file_ids: Vec::new(),
            last_activity: Instant::now(),
        };
        groups.insert(group_id.clone(), group);
    }

    tracing::debug!(group_id, "upload group started");
    Ok(Json(json!({
        "group_id": group_id,
        "owner": { "user_id": principal.user_id },
        "shared_with": [],
    })))
}

/// Step 2, `GET /transfer_file`: announces a file of the group and returns its id.
pub(crate) async fn start_file(
    State(state): State<Arc<AppState>>,
    Extension(principal): Extension<Principal>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let method = match required_header(&headers, "transfer_method")? {
        "Stream" => TransferMethod::Stream,
        "Chunk" => TransferMethod::Chunk,
        other => {
            return Err(ApiError::bad_request(
                "INVALID_TRANSFER_METHOD",
                format!("the transfer_method header {other:?} is neither Stream nor Chunk"),
            ));
        }
    };

    let group_id = group_id_header(&headers)?.to_owned();
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
        let mut groups = state.transfers.lock_groups();
        let group = groups
            .get_mut(&group_id)
            .filter(|group| group.owner == principal.user_id);
        let Some(group) = group else {
            drop(groups);
            let _ = std::fs::remove_file(state.store.part_path(&file_id));
            return Err(unknown_group(&group_id));
        };

        group.file_ids.push(file_id.clone());
        group.last_activity = Instant::now();
    }

    let pending = PendingFile {
        file_id: file_id.clone(),
        group_id: group_id.clone(),
        name,
        path,
        method,
        declared_size,
        received: 0,
        chunks: BTreeMap::new(),
        finished: false,
    };
    state
        .transfers
        .lock_files()
        .insert(file_id.clone(), Arc::new(tokio::sync::Mutex::new(pending)));

    tracing::debug!(
        group_id,
        file_id,
        declared_size,
        ?method,
        "upload file started"
    );
    Ok(Json(json!({ "file_id": file_id })))
}

/// Step 4, `POST /transfer_file`: checks that all announced bytes arrived and
/// stores the file, still `Composing` until its group is finished.
///
/// With `Chunk`, the accepted ranges must cover the file exactly: an overlap or
/// a gap is rejected with 400 naming the range.
pub(crate) async fn finish_file(
    State(state): State<Arc<AppState>>,
    Extension(principal): Extension<Principal>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let pending = pending_file(&state, &principal, &headers).await?;
    let mut pending = pending.lock().await;
    check_not_finished(&pending)?;

    let received = match pending.method {
        TransferMethod::Stream => pending.received,
        TransferMethod::Chunk => check_chunk_coverage(&pending)?,
    };
    if received != pending.declared_size {
        return Err(ApiError::bad_request(
            "FILE_SIZE_MISMATCH",
            format!(
                "file {} has {received} bytes, but file_size announced {}; send the missing content before finishing",
                pending.file_id, pending.declared_size
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
        size: pending.declared_size,
        group_id: pending.group_id.clone(),
        created: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        state: FileState::Composing,
        owner: principal.user_id.clone(),
        last_scan: None,
        blocked_reason: None,
        locked_until: None,
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
        size = pending.declared_size,
        "vault stored file"
    );
    Ok(Json(json!({ "result": "success" })))
}

/// Checks that the accepted chunks of a `Chunk` file neither overlap nor leave
/// a gap before `file_size`, and returns the bytes they cover.
fn check_chunk_coverage(pending: &PendingFile) -> Result<u64, ApiError> {
    let mut covered = 0;

    for (&start, &end) in &pending.chunks {
        if start < covered {
            return Err(ApiError::bad_request(
                "CHUNKS_OVERLAP",
                format!(
                    "file {} has overlapping chunks: the chunk at {start}..{end} overlaps bytes up to {covered}; \
                     start the file again and send each range once",
                    pending.file_id
                ),
            ));
        }
        if start > covered {
            return Err(missing_range(pending, covered, start));
        }
        covered = end;
    }

    if covered < pending.declared_size {
        return Err(missing_range(pending, covered, pending.declared_size));
    }

    Ok(covered)
}

fn missing_range(pending: &PendingFile, start: u64, end: u64) -> ApiError {
    ApiError::bad_request(
        "CHUNKS_MISSING",
        format!(
            "file {} is missing bytes {start}..{end} of {}; send a chunk with chunk_offset {start} before finishing",
            pending.file_id, pending.declared_size
        ),
    )
}

/// Step 5, `POST /transfer`: makes all files of the group available, or scans
/// them first when a scanner is configured, and returns their links.
///
/// `expires_after` (`DD:HH:MM:SS`) is checked for its form but not applied.
pub(crate) async fn finish_group(
    State(state): State<Arc<AppState>>,
    Extension(principal): Extension<Principal>,
    headers: HeaderMap,
) -> Result<Json<Value>, ApiError> {
    let group_id = group_id_header(&headers)?.to_owned();
    if let Some(expires_after) = optional_header(&headers, "expires_after")? {
        // NOTE: files of the built-in vault never expire, whatever the value of this header.
        check_expires_after(expires_after)?;
    }

    let file_ids = state
        .transfers
        .lock_groups()
        .get(&group_id)
        .filter(|group| group.owner == principal.user_id)
        .map(|group| group.file_ids.clone())
        .ok_or_else(|| unknown_group(&group_id))?;
    state.transfers.touch(&group_id);
    if file_ids.is_empty() {
        return Err(ApiError::bad_request(
            "GROUP_EMPTY",
            format!("group {group_id} has no files; start and finish at least one file first"),
        ));
    }

    let mut records = Vec::with_capacity(file_ids.len());
    for file_id in &file_ids {
        let record = state.store.file(file_id).ok_or_else(|| {
            ApiError::bad_request(
                "FILE_NOT_FINISHED",
                format!(
                    "file {file_id} of group {group_id} is not finished; finish it before the group"
                ),
            )
        })?;
        records.push(record);
    }

    let mut listed = Vec::with_capacity(records.len());
    for mut record in records {
        rescan::scan_new_file(&state, &mut record).await;
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
    state.transfers.lock_groups().remove(group_id);

    let mut files = state.transfers.lock_files();
    for file_id in file_ids {
        files.remove(file_id);
    }
}

/// Finds the upload in progress named by the `group_id` and `file_id` headers,
/// and marks its group as active.
pub(crate) async fn pending_file(
    state: &AppState,
    principal: &Principal,
    headers: &HeaderMap,
) -> Result<Arc<tokio::sync::Mutex<PendingFile>>, ApiError> {
    let group_id = group_id_header(headers)?;
    let file_id = required_header(headers, "file_id")?;

    let pending = state
        .transfers
        .lock_files()
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

    let owned = state
        .transfers
        .lock_groups()
        .get(group_id)
        .is_some_and(|group| group.owner == principal.user_id);
    if !owned {
        return Err(unknown_group(group_id));
    }

    state.transfers.touch(group_id);
    Ok(pending)
}

pub(crate) fn check_not_finished(pending: &PendingFile) -> Result<(), ApiError> {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn chunked(declared_size: u64, ranges: &[(u64, u64)]) -> PendingFile {
        PendingFile {
            file_id: "f".to_owned(),
            group_id: "g".to_owned(),
            name: "n".to_owned(),
            path: String::new(),
            method: TransferMethod::Chunk,
            declared_size,
            received: 0,
            chunks: ranges.iter().copied().collect(),
            finished: false,
        }
    }

    #[test]
    fn chunk_coverage_complete() {
        assert_eq!(
            check_chunk_coverage(&chunked(10, &[(5, 10), (0, 5)])).unwrap(),
            10
        );
        assert_eq!(check_chunk_coverage(&chunked(0, &[])).unwrap(), 0);
    }

    #[test]
    fn chunk_coverage_gap_rejected() {
        let err = check_chunk_coverage(&chunked(10, &[(0, 4), (5, 10)])).unwrap_err();
        assert!(format!("{err:?}").contains("missing bytes 4..5"), "{err:?}");

        let err = check_chunk_coverage(&chunked(10, &[(0, 4)])).unwrap_err();
        assert!(
            format!("{err:?}").contains("missing bytes 4..10"),
            "{err:?}"
        );
    }

    #[test]
    fn chunk_coverage_overlap_rejected() {
        let err = check_chunk_coverage(&chunked(10, &[(0, 6), (5, 10)])).unwrap_err();

        assert!(format!("{err:?}").contains("CHUNKS_OVERLAP"), "{err:?}");
    }

    #[test]
    fn abandoned_groups_taken() {
        let transfers = Transfers::default();
        let start = Instant::now();
        transfers.lock_groups().insert(
            "old".to_owned(),
            OpenGroup {
                owner: "o".to_owned(),
                file_ids: vec!["f1".to_owned()],
                last_activity: start,
            },
        );

        let timeout = std::time::Duration::from_secs(60);
        assert!(transfers.take_abandoned(start, timeout).is_empty());

        let abandoned = transfers.take_abandoned(start + timeout, timeout);
        assert_eq!(abandoned.len(), 1);
        assert_eq!(abandoned[0].file_ids, ["f1"]);
        assert!(transfers.lock_groups().is_empty());
    }
}
