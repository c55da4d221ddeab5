//! The files of one message that go to the vault, and what their upload
//! gives back.
//!
//! Three kinds of file go into the message's folder, as one group:
//! - attachments that rules upload (`upload-parts`, `remove-above-size`), in
//!   the form the recipients get: a sanitized attachment is uploaded
//!   sanitized;
//! - blocked attachments that a rule uploads with `upload-blocked`, as
//!   received; the vault keeps them unavailable until its own scan finds
//!   them clean;
//! - originals of sanitized attachments (`upload-originals`), as received.
//!
//! Every attachment that is removed or uploaded gets an entry in the
//! history record; storage names are unique within the folder.
//!
//! A file uploaded as received shares its bytes with the parsed message
//! instead of copying them, so a large attachment is not held twice while
//! it is uploaded. Sanitized files are copied.

use std::collections::BTreeMap;
use std::sync::Arc;

use bytes::Bytes;
use mailgate_history::{AttachmentRecord, UploadStatus};
use mailgate_message::{ParsedMessage, PartId, StorageNames};
use mailgate_vault::{UploadFile, UploadedFile};

use crate::plan::Plan;
use crate::sanitizing::SanitizedPart;
use crate::report::ProcessReport;

/// Reason for uploading a file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum UploadKind {
    /// An attachment a rule uploads.
    Attachment,
    /// An attachment the scan blocked.
    Blocked,
    /// The original of a sanitized attachment.
    Original,
}

/// One file of the upload group.
#[derive(Debug)]
pub(crate) struct PlannedUpload {
    pub(crate) part: PartId,
    pub(crate) kind: UploadKind,
    pub(crate) file: UploadFile,
    /// Index of the file's entry in `ProcessReport::attachments`.
    record: usize,
}

/// Lists the files to upload for `plan` into `folder` and adds an entry per
/// removed or uploaded attachment to `report`.
pub(crate) fn planned_uploads(
    message: &Arc<ParsedMessage>,
    plan: &Plan,
    blocked: &dyn Fn(PartId) -> bool,
    sanitized: &BTreeMap<PartId, SanitizedPart>,
    folder: &str,
    report: &mut ProcessReport,
) -> Vec<PlannedUpload> {
    let mut names = StorageNames::new();
    let mut uploads = Vec::new();

    for id in plan.remove.union(&plan.upload) {
        let Some(part) = message.part(*id) else { continue };
        let uploading = plan.upload.contains(id);
        let delivered = sanitized.get(id).filter(|_| !blocked(*id));
        let file_name = match delivered {
            Some(file) => names.assign_as(part, file.file_name.as_deref().or(part.file_name.as_deref())),
            None => names.assign(part),
        };
        let size = delivered.map_or(part.content.len(), |file| file.content.len());

        report.attachments.push(AttachmentRecord {
            part_id: id.0,
            file_name: file_name.clone(),
            size: size as u64,
            folder: if uploading { folder.to_string() } else { String::new() },
            upload: UploadStatus::NotUploaded,
        });
        if uploading {
            let kind = if blocked(*id) { UploadKind::Blocked } else { UploadKind::Attachment };
            let content = match delivered {
                Some(file) => Bytes::copy_from_slice(&file.content),
                None => part_content(message, *id),
            };
            uploads.push(planned(*id, kind, folder, file_name, content, report.attachments.len() - 1));
        }
    }

    for id in plan.upload_originals.iter().filter(|id| sanitized.contains_key(id)) {
        let Some(part) = message.part(*id) else { continue };
        let file_name = names.assign(part);
        report.attachments.push(AttachmentRecord {
            part_id: id.0,
            file_name: file_name.clone(),
            size: part.size(),
            folder: folder.to_string(),
            upload: UploadStatus::NotUploaded,
        });
        uploads.push(planned(*id, UploadKind::Original, folder, file_name, part_content(message, *id), report.attachments.len() - 1));
    }

    uploads
}

fn planned(part: PartId, kind: UploadKind, folder: &str, file_name: String, content: Bytes, record: usize) -> PlannedUpload {
    let file = UploadFile { folder: folder.to_string(), file_name, content };
    PlannedUpload { part, kind, file, record }
}

/// Returns the decoded content of part `id` as [`Bytes`] that keep `message`
/// alive, without a copy. The bytes are empty when the part does not exist.
fn part_content(message: &Arc<ParsedMessage>, id: PartId) -> Bytes {
    Bytes::from_owner(PartContent { message: Arc::clone(message), part: id })
}

/// Owner of the bytes that [`part_content`] returns.
struct PartContent {
    message: Arc<ParsedMessage>,
    part: PartId,
}

impl AsRef<[u8]> for PartContent {
    fn as_ref(&self) -> &[u8] {
        self.message.part(self.part).map_or(&[], |part| part.content.as_slice())
    }
}

/// Marks every planned file as uploaded in `report`, in group order.
pub(crate) fn record_uploaded(uploads: &[PlannedUpload], stored: &[UploadedFile], report: &mut ProcessReport) {
    for (upload, stored) in uploads.iter().zip(stored) {
        if let Some(record) = report.attachments.get_mut(upload.record) {
            record.upload = UploadStatus::Uploaded { file_id: stored.file_id.to_string(), file_url: stored.file_url.clone() };
        }
    }
}

/// Marks every planned file with the same failed `status` in `report`.
pub(crate) fn record_failed(uploads: &[PlannedUpload], status: &UploadStatus, report: &mut ProcessReport) {
    for upload in uploads {
        if let Some(record) = report.attachments.get_mut(upload.record) {
            record.upload = status.clone();
        }
    }
}
