//! The actions a rule returns, converted from the WIT types.

use mailgate_message::PartId;

use crate::bindings::mailgate::rule::types as wit;

/// Position of a rule's notice text in the bodies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NoticePosition {
    /// Before the body's content.
    Top,
    /// After the body's content.
    Bottom,
}

/// One action a rule returned. `wit/rule.wit` documents each one and the
/// stage in which the host honours it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// Remove these parts from the delivered message.
    RemoveParts(Vec<PartId>),
    /// Upload these parts to the vault.
    UploadParts(Vec<PartId>),
    /// Add a notice with links to the uploaded parts.
    LinkUploads,
    /// Reject the whole message with this reason.
    Block(String),
    /// Do not scan these attachments.
    SkipScan(Vec<PartId>),
    /// Sanitize these attachments.
    Sanitize(Vec<PartId>),
    /// Upload these blocked attachments to the vault.
    UploadBlocked(Vec<PartId>),
    /// Upload the originals of these sanitized attachments.
    UploadOriginals(Vec<PartId>),
    /// Remove every regular attachment larger than `max_bytes`, and upload
    /// them when `upload` is set.
    RemoveAboveSize { max_bytes: u64, upload: bool },
    /// Add `text` to the notice at `position`.
    AddNotice { text: String, position: NoticePosition },
}

impl std::fmt::Display for Action {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ids = |ids: &[PartId]| ids.iter().map(|id| id.0.to_string()).collect::<Vec<_>>().join(", ");
        match self {
            Action::RemoveParts(parts) => write!(f, "remove parts [{}]", ids(parts)),
            Action::UploadParts(parts) => write!(f, "upload parts [{}]", ids(parts)),
            Action::LinkUploads => f.write_str("link uploads"),
            Action::Block(reason) => write!(f, "block: {reason}"),
            Action::SkipScan(parts) => write!(f, "skip scan of parts [{}]", ids(parts)),
            Action::Sanitize(parts) => write!(f, "sanitize parts [{}]", ids(parts)),
            Action::UploadBlocked(parts) => write!(f, "upload blocked parts [{}]", ids(parts)),
            Action::UploadOriginals(parts) => write!(f, "upload originals of parts [{}]", ids(parts)),
            Action::RemoveAboveSize { max_bytes, upload: true } => write!(f, "remove and upload attachments above {max_bytes} bytes"),
            Action::RemoveAboveSize { max_bytes, upload: false } => write!(f, "remove attachments above {max_bytes} bytes"),
            Action::AddNotice { position, .. } => write!(f, "add notice at the {}", match position {
                NoticePosition::Top => "top",
                NoticePosition::Bottom => "bottom",
            }),
        }
    }
}

impl From<wit::Action> for Action {
    fn from(action: wit::Action) -> Action {
        let ids = |ids: Vec<u32>| ids.into_iter().map(PartId).collect();
        match action {
            wit::Action::RemoveParts(parts) => Action::RemoveParts(ids(parts)),
            wit::Action::UploadParts(parts) => Action::UploadParts(ids(parts)),
            wit::Action::LinkUploads => Action::LinkUploads,
            wit::Action::Block(reason) => Action::Block(reason),
            wit::Action::SkipScan(parts) => Action::SkipScan(ids(parts)),
            wit::Action::Sanitize(parts) => Action::Sanitize(ids(parts)),
            wit::Action::UploadBlocked(parts) => Action::UploadBlocked(ids(parts)),
            wit::Action::UploadOriginals(parts) => Action::UploadOriginals(ids(parts)),
            wit::Action::RemoveAboveSize(limit) => Action::RemoveAboveSize { max_bytes: limit.max_bytes, upload: limit.upload },
            wit::Action::AddNotice(notice) => Action::AddNotice {
                text: notice.text,
                position: match notice.position {
                    wit::NoticePosition::Top => NoticePosition::Top,
                    wit::NoticePosition::Bottom => NoticePosition::Bottom,
                },
            },
        }
    }
}
