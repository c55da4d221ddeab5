//! Conversion between the gateway's message model and the WIT types.

use mailgate_message::{Disposition, Envelope, ParsedMessage, PartId, PartKind};

use crate::bindings::mailgate::rule::types as wit;

/// The read-only view of one message handed to every rule.
///
/// Built once per message and shared by all rules that run on it.
pub struct RuleInput {
    pub(crate) message: wit::Message,
}

impl RuleInput {
    /// Builds the view of `message` as received with `envelope`.
    pub fn new(message: &ParsedMessage, envelope: &Envelope) -> RuleInput {
        let parts = message
            .parts
            .iter()
            .map(|part| wit::Part {
                id: part.id.0,
                parent: part.parent.map(|parent| parent.0),
                content_type: part.content_type.clone(),
                file_name: part.file_name.clone(),
                size: part.size(),
                disposition: match part.disposition {
                    Disposition::None => wit::Disposition::None,
                    Disposition::Inline => wit::Disposition::Inline,
                    Disposition::Attachment => wit::Disposition::Attachment,
                },
                content_id: part.content_id.clone(),
                is_inline_image: part.kind == PartKind::InlineImage,
                is_body: part.kind == PartKind::Body,
                is_attachment: part.kind == PartKind::Attachment,
            })
            .collect();

        RuleInput {
            message: wit::Message {
                envelope: wit::Envelope {
                    client_address: envelope.client_address.clone(),
                    helo: envelope.helo.clone(),
                    mail_from: envelope.mail_from.clone(),
                    rcpt_to: envelope.rcpt_to.clone(),
                },
                headers: message
                    .headers
                    .iter()
                    .map(|header| wit::Header { name: header.name.clone(), value: header.value.clone() })
                    .collect(),
                subject: message.subject.clone(),
                message_id: message.message_id.clone(),
                date: message.date.map(|date| date.to_rfc3339()),
                parts,
            },
        }
    }
}

/// One action a rule returned.
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
}

impl std::fmt::Display for Action {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ids = |ids: &[PartId]| ids.iter().map(|id| id.0.to_string()).collect::<Vec<_>>().join(", ");
        match self {
            Action::RemoveParts(parts) => write!(f, "remove parts [{}]", ids(parts)),
            Action::UploadParts(parts) => write!(f, "upload parts [{}]", ids(parts)),
            Action::LinkUploads => f.write_str("link uploads"),
            Action::Block(reason) => write!(f, "block: {reason}"),
        }
    }
}

impl From<wit::Action> for Action {
    fn from(action: wit::Action) -> Action {
        match action {
            wit::Action::RemoveParts(ids) => Action::RemoveParts(ids.into_iter().map(PartId).collect()),
            wit::Action::UploadParts(ids) => Action::UploadParts(ids.into_iter().map(PartId).collect()),
            wit::Action::LinkUploads => Action::LinkUploads,
            wit::Action::Block(reason) => Action::Block(reason),
        }
    }
}
